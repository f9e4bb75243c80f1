/**
 * Crash tests in forked children: a sink program (test/fixtures/programs/crash-sink.ts) writes a
 * replayable source — a CSV file, or a Kafka topic — with a fixed sink name; it is SIGKILLed at
 * random points after its first records of the run are acknowledged, started again, five times,
 * then left to finish. The topic is
 * read back with kcat: at-least-once keeps every row (repeats allowed, first appearances in order
 * per key); exactly-once, restarted under the same name, skips what it had committed, so a
 * read_committed reader sees every row exactly once, in order per key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKafkaWriter, createTopic } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { type CrashSinkArguments, crashCycles, seededRandom, writeRowsCsv } from '../helpers/crash-cycles.ts';
import { Guarantee } from '../helpers/delivery-invariants.ts';
import { bootstrapServers, randomTopic } from '../helpers/kafka.ts';
import { assertTopicKeeps } from './fault-stream.ts';

const CYCLES = 5;

describe('a sink SIGKILLed and restarted', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-crash-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const cases = [
    { delivery: 'at-least-once', guarantee: Guarantee.AtLeastOnce, outcome: 'nothing is missing (repeats allowed)', fileRows: 60_000 },
    // Enough rows for many epochs, so each killed run has committed some and the next resumes after them.
    { delivery: 'exactly-once', guarantee: Guarantee.ExactlyOnce, outcome: 'a read_committed reader sees every row once, in order per key', fileRows: 120_000 },
  ] as const;

  for (const { delivery, guarantee, outcome, fileRows } of cases) {
    it(`from a CSV file, ${delivery}, ${CYCLES} kills: ${outcome}`, async (t) => {
      const total = fileRows;
      const input = join(dir, `rows-${delivery}.csv`);
      writeRowsCsv(input, total);
      const topic = randomTopic('crash-csv');
      await createTopic([bootstrapServers()], topic, { partitions: 3 });
      const args: CrashSinkArguments = {
        servers: bootstrapServers(), source: 'csv', input, topic, name: `crash-csv-${topic}`, delivery, total, ...(delivery === 'exactly-once' ? { progressTopic: randomTopic('crash-progress') } : {}),
      };
      const report = await crashCycles(args, { cycles: CYCLES, killFrom: 'writing', minMs: 50, maxMs: 500, random: seededRandom(12) });
      t.diagnostic(`runs: ${report.runs.map((run) => `${run.end} after ${run.ms} ms`).join(', ')}`);
      assert.ok(report.killed >= 3, `only ${report.killed} of ${CYCLES} runs were killed before they finished`);
      const rows = await assertTopicKeeps(bootstrapServers(), topic, total, guarantee);
      t.diagnostic(`${rows.length} records for ${total} rows`);
    });

    it(`from a Kafka topic, ${delivery}, ${CYCLES} kills: ${outcome}`, async (t) => {
      // Exactly-once writes fast once recovered: enough rows that a run is still writing when it is killed.
      const total = delivery === 'exactly-once' ? 100_000 : 40_000;
      const input = randomTopic('crash-input');
      const topic = randomTopic('crash-kafka');
      await createTopic([bootstrapServers()], input, { partitions: 1 });
      await createTopic([bootstrapServers()], topic, { partitions: 3 });
      const writer = createKafkaWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers() }, { sink: 'crash-input' }).settings);
      try {
        const records = [];
        for (let i = 0; i < total; i++) {
          records.push({ topic: input, partition: 0, key: null, value: Buffer.from(JSON.stringify({ key: `k${i % 8}`, seq: Math.floor(i / 8) })) });
        }
        await writer.write(records);
      } finally {
        await writer.close();
      }
      const args: CrashSinkArguments = {
        servers: bootstrapServers(), source: 'kafka', input, topic, name: `crash-kafka-${topic}`, delivery, total, ...(delivery === 'exactly-once' ? { progressTopic: randomTopic('crash-progress') } : {}),
      };
      const report = await crashCycles(args, { cycles: CYCLES, killFrom: 'writing', minMs: 50, maxMs: 800, random: seededRandom(34) });
      t.diagnostic(`runs: ${report.runs.map((run) => `${run.end} after ${run.ms} ms`).join(', ')}`);
      assert.ok(report.killed >= 3, `only ${report.killed} of ${CYCLES} runs were killed before they finished`);
      const rows = await assertTopicKeeps(bootstrapServers(), topic, total, guarantee);
      t.diagnostic(`${rows.length} records for ${total} rows`);
    });
  }
});
