/**
 * Crash soak: a sink program (test/fixtures/programs/crash-sink.ts) writes a CSV file of
 * 1,000,000 keyed rows with a fixed sink name and is SIGKILLed at random points, 20 times, each
 * time started again, then left to finish. The topic is read back with kcat (read_committed) and
 * every row counted: lost, duplicated, and out of order per key. With exactly-once all three are 0.
 *
 *   npm run bench:crash
 *   SOAK_ROWS=2000000 SOAK_CYCLES=30 SOAK_DELIVERY=at-least-once SOAK_SEED=7 npm run bench:crash
 *
 * The broker is KAFKA_BOOTSTRAP_SERVERS, or an embedded one of its own in a temporary directory.
 * Kill points are drawn from SOAK_SEED, uniformly in [SOAK_MIN_MS, SOAK_MAX_MS) after the
 * run's first records are acknowledged (defaults 50 and 500), so every kill lands while the
 * sink writes (a restart first reads the file again and skips what was committed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startBroker, stopBroker } from '../src/broker/embedded-broker.ts';
import { createTopic } from '../src/kafka/kafka-client.ts';
import { crashCycles, seededRandom, writeRowsCsv } from '../test/helpers/crash-cycles.ts';
import { deliveredFrom, findOrderViolations } from '../test/helpers/delivery-invariants.ts';
import { kcatRead } from '../test/helpers/kafka.ts';
import { decodeRow } from '../test/faults/fault-stream.ts';

const rows = Number(process.env.SOAK_ROWS ?? 1_000_000);
const cycles = Number(process.env.SOAK_CYCLES ?? 20);
const delivery = (process.env.SOAK_DELIVERY ?? 'exactly-once') as 'exactly-once' | 'at-least-once';
const seed = Number(process.env.SOAK_SEED ?? 1);
const minMs = Number(process.env.SOAK_MIN_MS ?? 50);
const maxMs = Number(process.env.SOAK_MAX_MS ?? 500);
const keys = 8;

for (const [name, value] of Object.entries({ SOAK_ROWS: rows, SOAK_CYCLES: cycles, SOAK_SEED: seed, SOAK_MIN_MS: minMs, SOAK_MAX_MS: maxMs })) {
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, not ${String(process.env[name])}`);
}
if (delivery !== 'exactly-once' && delivery !== 'at-least-once') throw new Error(`SOAK_DELIVERY must be exactly-once or at-least-once, not ${String(delivery)}`);

const dir = mkdtempSync(join(tmpdir(), 'spillway-crash-soak-'));
const brokerDir = join(dir, 'broker');
let servers = process.env.KAFKA_BOOTSTRAP_SERVERS;
const ownBroker = servers === undefined || servers === '';
try {
  if (ownBroker) servers = (await startBroker({ brokerDir, port: await freePort() })).bootstrapServers;
  const brokers = servers as string;
  const input = join(dir, 'rows.csv');
  writeRowsCsv(input, rows, keys);
  // The sink's name and progress topic are its identity: a new soak must not resume an old one.
  const topic = `crash-soak-${Date.now()}`;
  await createTopic([brokers], topic, { partitions: 3 });
  const started = Date.now();
  process.stdout.write(`crash soak: ${rows} rows, ${cycles} SIGKILLs, ${delivery}, seed ${seed}, broker ${brokers}\n`);
  const report = await crashCycles(
    { servers: brokers, source: 'csv', input, topic, name: topic, delivery, total: rows, ...(delivery === 'exactly-once' ? { progressTopic: `${topic}-progress`, checkpointLocation: join(dir, 'checkpoint') } : {}) },
    {
      cycles,
      killFrom: 'writing',
      minMs,
      maxMs,
      random: seededRandom(seed),
      limitMs: 600_000,
      onRun: (run, index) => process.stdout.write(`  run ${index + 1}: ${run.end} after ${run.ms} ms\n`),
    },
  );
  const seconds = (Date.now() - started) / 1000;

  const records = await kcatRead(topic, { brokers, readCommitted: true });
  const delivered = deliveredFrom(records, decodeRow);
  const counts = new Map<string, Uint32Array>();
  for (let k = 0; k < keys; k++) counts.set(`k${k}`, new Uint32Array(Math.ceil(rows / keys)));
  let foreign = 0;
  for (const row of delivered) {
    const perKey = counts.get(row.key);
    if (perKey === undefined || !Number.isInteger(row.sequence) || row.sequence < 0 || row.sequence >= perKey.length) {
      foreign++;
      continue;
    }
    const index = row.sequence * keys + Number(row.key.slice(1));
    if (index >= rows) foreign++;
    else perKey[row.sequence] = (perKey[row.sequence] ?? 0) + 1;
  }
  let lost = 0;
  let duplicated = 0;
  for (const [key, perKey] of counts) {
    const k = Number(key.slice(1));
    for (let sequence = 0; sequence < perKey.length; sequence++) {
      if (sequence * keys + k >= rows) break;
      const count = perKey[sequence] ?? 0;
      if (count === 0) lost++;
      else duplicated += count - 1;
    }
  }
  const outOfOrder = findOrderViolations(delivered, { firstAppearances: delivery !== 'exactly-once' }).length;
  const summary = { rows, cycles, killed: report.killed, delivery, records: records.length, lost, duplicated, outOfOrder, foreign, seconds };
  process.stdout.write(
    `crash soak: ${report.killed} of ${cycles} runs killed mid-write; ${records.length} records read back for ${rows} rows: ` +
      `${lost} lost, ${duplicated} duplicated, ${outOfOrder} out of order per key, ${foreign} never produced (${seconds.toFixed(0)} s)\n`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (lost > 0 || foreign > 0 || outOfOrder > 0 || (delivery === 'exactly-once' && duplicated > 0)) process.exitCode = 1;
} finally {
  if (ownBroker) await stopBroker({ brokerDir });
  rmSync(dir, { recursive: true, force: true });
}
