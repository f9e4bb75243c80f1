/**
 * Deephaven's produce(), end to end against the real broker, read back with kcat: the two
 * examples of the Deephaven seed in TypeScript form, the snapshot-then-changes order, and the
 * errors a user meets first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { produce, produceSpec } from '../../src/dialects/deephaven.ts';
import { KeyValueSpec, jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { timeTable } from '../../src/sources/time-table.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('produce() on the real broker', () => {
  it('writes a 0.1 s time table with X = i as 4-byte big-endian keys, values ignored (seed example 1)', async () => {
    const topic = randomTopic('dh-time');
    const ticks = timeTable('PT00:00:00.1');
    const source = ticks.update({ X: (_r, i) => i });
    const sink = produce(source, { 'bootstrap.servers': bootstrapServers() }, topic, simpleSpec('X'), KeyValueSpec.IGNORE);
    await sleep(1500);
    await sink.stop();
    ticks.close();
    const records = await kcatRead(topic);
    assert.ok(records.length >= 10, `only ${records.length} records`);
    assert.equal(records.length, sink.metrics.records);
    // Every row, once, in order: X = 0, 1, 2, … with no gap and no duplicate.
    assert.deepEqual(records.map((r) => r.key?.readInt32BE()), records.map((_r, i) => i));
    assert.ok(records.every((r) => r.key?.length === 4 && r.value === null));
  });

  it('writes only the last row per key with json key and value specs (seed example 2)', async () => {
    const topic = randomTopic('dh-group');
    const ticks = timeTable('PT00:00:00.1');
    const source = ticks.update({ X: () => 1 + Math.floor(Math.random() * 5), Y: (_r, i) => i });
    // The test folds the source's rows at the end; a stream does not keep them unless asked.
    source.retainRows();
    const sink = produce(source, { 'bootstrap.servers': bootstrapServers() }, topic, jsonSpec(['X']), jsonSpec(['X', 'Y']), true);
    await sleep(1500);
    await sink.stop();
    ticks.close();
    const records = await kcatRead(topic);
    const parsed = records.map((r) => ({ key: JSON.parse(r.key?.toString() ?? 'null') as { X: number }, value: JSON.parse(r.value?.toString() ?? 'null') as { X: number; Y: number } }));
    assert.ok(parsed.length >= 10);
    for (const { key, value } of parsed) {
      assert.deepEqual(Object.keys(key), ['X']);
      assert.equal(key.X, value.X);
      assert.ok(value.X >= 1 && value.X <= 5);
    }
    // Each tick makes its row the last for its key, so each record is that newest row, in order.
    assert.deepEqual(parsed.map((p) => p.value.Y), parsed.map((_p, i) => i));
    // Folding the topic by key gives the last row per key of the source.
    const folded = new Map(parsed.map((p) => [p.key.X, p.value.Y]));
    const expected = new Map<number, number>();
    for (const [, row] of source.rows()) if ((row.Y as number) < parsed.length) expected.set(row.X as number, row.Y as number);
    assert.deepEqual(folded, expected);
    // One key, one partition: the same key always lands on the same partition.
    const partitionOfKey = new Map<number, number>();
    for (const [i, r] of records.entries()) {
      const x = parsed[i]?.key.X as number;
      assert.equal(partitionOfKey.get(x) ?? r.partition, r.partition);
      partitionOfKey.set(x, r.partition);
    }
  });

  it('writes the initial snapshot first, then changes; a deleted key becomes a tombstone', async () => {
    const topic = randomTopic('dh-snapshot');
    await createTopic([bootstrapServers()], topic, { partitions: 3 });
    const table = inputTable(defineSchema({ id: 'int64', name: 'string' }, { primaryKey: ['id'] }));
    table.add([{ id: 1n, name: 'one' }, { id: 2n, name: 'two' }]);
    const sink = produce(table, { 'bootstrap.servers': bootstrapServers() }, topic, simpleSpec('id'), jsonSpec());
    table.add({ id: 3n, name: 'three' });
    table.add({ id: 1n, name: 'uno' });
    table.delete({ id: 2n });
    table.close();
    await sink.done;
    assert.equal(sink.state, 'stopped');
    const records = await kcatRead(topic);
    const byKey = new Map<bigint, (string | null)[]>();
    for (const record of records) {
      const id = record.key?.readBigInt64BE() ?? -1n;
      byKey.set(id, [...(byKey.get(id) ?? []), record.value?.toString() ?? null]);
    }
    assert.deepEqual(byKey.get(1n), ['{"id":1,"name":"one"}', '{"id":1,"name":"uno"}']);
    assert.deepEqual(byKey.get(2n), ['{"id":2,"name":"two"}', null]);
    assert.deepEqual(byKey.get(3n), ['{"id":3,"name":"three"}']);
    assert.equal(sink.metrics.records, 5);
  });

  it('fails within the delivery timeout when no broker answers, naming the addresses tried', async () => {
    const table = inputTable(defineSchema({ v: 'string' }));
    table.add({ v: 'x' });
    const started = Date.now();
    const sink = produce(table, { 'bootstrap.servers': '127.0.0.1:1,127.0.0.1:2', 'delivery.timeout.ms': 1500 }, 'nowhere', KeyValueSpec.IGNORE, simpleSpec('v'));
    await assert.rejects(sink.done, (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.BrokerUnreachable);
      assert.match(error.message, /no Kafka broker answered within 1500 ms; tried 127\.0\.0\.1:1: connection refused; 127\.0\.0\.1:2: connection refused\./);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    assert.equal(sink.state, 'failed');
    await assert.rejects(sink.stop(), { code: ErrorCode.BrokerUnreachable });
  });

  it('refuses bad configuration before connecting, naming what is wrong', () => {
    const table = inputTable(defineSchema({ v: 'string' }));
    assert.throws(() => produce(table, { 'bootstrap.server': bootstrapServers() }, 't', KeyValueSpec.IGNORE, simpleSpec('v')), (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.InvalidConfig);
      assert.match(error.message, /bootstrap\.server/);
      assert.match(error.message, /bootstrap\.servers/);
      return true;
    });
    assert.throws(() => produce(table, { 'bootstrap.servers': bootstrapServers() }, 't', KeyValueSpec.IGNORE, simpleSpec('V')), {
      code: ErrorCode.UnknownColumn,
      message: 'simpleSpec for the value names "V", which the table lacks; its columns are: v',
    });
    assert.throws(() => produce(table, { 'bootstrap.servers': bootstrapServers() }, 'bad topic!', KeyValueSpec.IGNORE, simpleSpec('v')), {
      code: ErrorCode.InvalidConfig,
      message: /sink "produce-bad topic!" is misconfigured:\n {2}- topic: a topic name is 1–249 letters, digits/,
    });
    assert.throws(() => produce(table, { 'bootstrap.servers': bootstrapServers() }, 't', KeyValueSpec.IGNORE, simpleSpec('v'), true), {
      code: ErrorCode.InvalidConfig,
      message: 'sink "produce-t": lastByKeyColumns needs a key spec (simpleSpec or jsonSpec), not KeyValueSpec.IGNORE',
    });
    // A name made from the topic would be shared by every exactly-once sink on that topic.
    assert.throws(() => produce({ table, kafkaConfig: { 'bootstrap.servers': bootstrapServers() }, topic: 't', valueSpec: simpleSpec('v'), delivery: 'exactly-once' }), {
      code: ErrorCode.InvalidConfig,
      message:
        "produce(): exactly-once delivery needs a name of the sink's own — its transactional id and progress key, the same on every restart; pass name: 'orders-to-kafka' in the options. A name made from the topic would be shared by every sink writing that topic",
    });
  });

  it("refuses the sink spec's kafka, key and value in the options, and unknown options with the nearest name", () => {
    const table = inputTable(defineSchema({ v: 'string' }));
    const kafkaConfig = { 'bootstrap.servers': bootstrapServers() };
    // A JavaScript caller's spec names were overwritten by kafkaConfig / valueSpec: zstd and the json value were lost.
    assert.throws(() => produce({ table, kafkaConfig, topic: 't', valueSpec: simpleSpec('v'), kafka: { 'compression.type': 'zstd' }, value: jsonSpec() } as never), {
      code: ErrorCode.InvalidConfig,
      message:
        "produce(): option \"kafka\" is kafkaConfig here, option \"value\" is valueSpec here; produce() takes the sink spec's kafka, key and value as kafkaConfig, keySpec and valueSpec: rename them",
    });
    assert.throws(() => produce({ table, kafkaConfig, topic: 't', valueSpec: simpleSpec('v'), key: simpleSpec('v') } as never), {
      code: ErrorCode.InvalidConfig,
      message: "produce(): option \"key\" is keySpec here; produce() takes the sink spec's kafka, key and value as kafkaConfig, keySpec and valueSpec: rename them",
    });
    assert.throws(() => produce({ table, kafkaConfig, topic: 't', valueSpec: simpleSpec('v'), lastByKeyColumn: true, 'linger.ms': 5 } as never), {
      code: ErrorCode.InvalidConfig,
      message: 'produce(): unknown option(s) "lastByKeyColumn" (did you mean "lastByKeyColumns"?), "linger.ms"; Kafka properties go in kafkaConfig',
    });
    // The sink spec's other options are produce()'s under their own names.
    const spec = produceSpec({ kafkaConfig, topic: 't', valueSpec: simpleSpec('v'), mode: 'append', trigger: 'once', errorPolicy: 'skip' });
    assert.deepEqual([spec.mode, spec.trigger, spec.errorPolicy, spec.kafka], ['append', 'once', 'skip', kafkaConfig]);
  });

  it('waits for the topic to hold every record when the table ends', async () => {
    const topic = randomTopic('dh-many');
    const table = inputTable(defineSchema({ n: 'int32' }));
    const sink = produce(table, { 'bootstrap.servers': bootstrapServers() }, topic, simpleSpec('n'), simpleSpec('n'));
    for (let batch = 0; batch < 20; batch++) table.add(Array.from({ length: 500 }, (_v, i) => ({ n: batch * 500 + i })));
    table.close();
    await sink.done;
    const records = await eventually(() => kcatRead(topic), (r) => r.length >= 10_000);
    assert.equal(records.length, 10_000);
    assert.deepEqual(new Set(records.map((r) => r.value?.readInt32BE())).size, 10_000);
  });
});
