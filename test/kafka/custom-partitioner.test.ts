/**
 * Custom partitioners: a function in the TypeScript API, a module path where configuration is
 * text; every answer checked (out of range, not an integer, a throw fail the sink naming it and
 * the value). Against the in-memory writer, then on the broker read back with kcat.
 */
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { produce } from '../../src/dialects/deephaven.ts';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { createKafkaWriter, createTopic } from '../../src/kafka/kafka-client.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import type { PartitionerFunction } from '../../src/kafka/partitioners.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { startSink } from '../../src/sink/sink.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

const schema = defineSchema({ id: 'string', payload: 'string' });
const rows = Array.from({ length: 12 }, (_, n) => ({ id: String(n), payload: 'x'.repeat(n) }));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/partitioners/${name}`, import.meta.url));

function sinkWith(partitioner: unknown, writer = new MemoryWriter({ partitions: 4 })) {
  const sink = startSink(
    newTable(schema, rows),
    { name: 'custom', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, key: simpleSpec('id'), value: simpleSpec('payload'), partitioner },
    { createWriter: () => writer },
  );
  return { sink, writer };
}

/** Each record's key → the partition it landed on. */
function placement(writer: MemoryWriter): Map<string, number> {
  const placed = new Map<string, number>();
  writer.topics.get('out')?.forEach((records, partition) => {
    for (const record of records) placed.set(record.key?.toString() ?? 'null', partition);
  });
  return placed;
}

async function failure(promise: Promise<unknown>): Promise<SpillwayError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SpillwayError, String(error));
    return error;
  }
  assert.fail('expected the sink to fail');
}

describe('a partitioner function', () => {
  it('gets the key bytes, the value bytes and the partition count, and its answer is the partition', async () => {
    const calls: [string | null, string | null, number][] = [];
    const partitioner: PartitionerFunction = (key, value, partitions) => {
      calls.push([key?.toString() ?? null, value?.toString() ?? null, partitions]);
      return (Number(key?.toString()) * 3) % partitions;
    };
    const { sink, writer } = sinkWith(partitioner);
    await sink.done;
    assert.deepEqual(calls[5], ['5', 'xxxxx', 4]);
    assert.deepEqual([...placement(writer)].sort(([a], [b]) => Number(a) - Number(b)), rows.map((row) => [row.id, (Number(row.id) * 3) % 4]));
  });

  for (const [answer, shown] of [
    [4, '4'],
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    ['1', 'the string "1"'],
    [1n, '1n (a bigint)'],
    [undefined, 'undefined'],
  ] as const) {
    it(`an answer of ${shown} fails the sink, naming it and the value`, async () => {
      const { sink } = sinkWith(() => answer);
      const error = await failure(sink.done);
      assert.equal(error.code, ErrorCode.InvalidValue);
      assert.equal(
        error.message,
        `sink "custom": the partitioner function returned ${shown}, which is not a partition of a topic with 4 partition(s); return an integer from 0 to 3 (partitions − 1)`,
      );
    });
  }

  it('with partitionBy, the function gets the partitionBy columns\' bytes instead of the record key', async () => {
    const seen = new Map<string, Set<string>>();
    const writer = new MemoryWriter({ partitions: 4 });
    const regions = newTable(defineSchema({ id: 'string', region: 'string' }), ['eu', 'us', 'eu', 'us', 'ap'].map((region, n) => ({ id: String(n), region })));
    const sink = startSink(
      regions,
      { name: 'custom', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, key: simpleSpec('id'), value: simpleSpec('region'), partitionBy: ['region'],
        partitioner: (key: Buffer | null, value: Buffer | null) => {
          const region = value?.toString() ?? '';
          seen.set(region, (seen.get(region) ?? new Set()).add(key?.toString('hex') ?? 'null'));
          return 0;
        } },
      { createWriter: () => writer },
    );
    await sink.done;
    const keys = [...seen.values()].map((set) => [...set]);
    assert.deepEqual(keys.map((set) => set.length), [1, 1, 1], 'each region gives the function one key');
    assert.equal(new Set(keys.flat()).size, 3, 'and the regions give different keys');
    for (const id of ['0', '1', '2', '3', '4']) assert.ok(!keys.flat().includes(Buffer.from(id).toString('hex')), 'not the record key');
  });

  it('a partitioner that throws fails the sink, naming it and quoting the error', async () => {
    const { sink } = sinkWith(() => {
      throw new Error('no region');
    });
    const error = await failure(sink.done);
    assert.equal(error.message, 'sink "custom": the partitioner function threw: no region');
  });

  it('an unknown partitioner name is refused before anything runs, listing what to use', () => {
    assert.throws(
      () => sinkWith('murmur'),
      (error: unknown) =>
        error instanceof SpillwayError &&
        error.code === ErrorCode.InvalidConfig &&
        error.message.includes('partitioner: unknown partitioner "murmur"; use one of hash, round-robin, least-bytes, fixed, kafka-go-hash, a function (key, value, partitions) => partition, or the path of a module exporting one'),
    );
    assert.throws(() => sinkWith(7), /partitioner: a partitioner cannot be number; use one of hash/);
  });
});

describe('a partitioner module', () => {
  it('a relative path (from the working directory) imports its default export', async () => {
    const { sink, writer } = sinkWith(`./${relative(process.cwd(), fixture('by-number.js'))}`);
    await sink.done;
    for (const [key, partition] of placement(writer)) assert.equal(partition, Number(key) % 4, key);
  });

  it('an absolute path or file: URL with #name takes that export; a TypeScript module its `partition`', async () => {
    const named = sinkWith(`${pathToFileURL(fixture('by-number.js')).href}#last`);
    await named.sink.done;
    assert.deepEqual(new Set(placement(named.writer).values()), new Set([3]));
    const typescript = sinkWith(fixture('by-value-length.ts'));
    await typescript.sink.done;
    for (const [key, partition] of placement(typescript.writer)) assert.equal(partition, Number(key) % 4, key);
  });

  it("a module's out-of-range answer fails the sink, naming the module's export", async () => {
    const { sink } = sinkWith(`${fixture('by-number.js')}#outOfRange`);
    const error = await failure(sink.done);
    assert.match(error.message, /^sink "custom": the partitioner "outOfRange" of ".*by-number\.js#outOfRange" returned 99, which is not a partition of a topic with 4 partition\(s\)/);
  });

  it('a missing module, a module without a function, or a missing export is refused when the sink is planned', () => {
    assert.throws(
      () => sinkWith('./no/such/partitioner.js'),
      (error: unknown) =>
        error instanceof SpillwayError &&
        error.code === ErrorCode.InvalidConfig &&
        error.message.startsWith('sink "custom": cannot import the partitioner module "./no/such/partitioner.js" (') &&
        error.message.endsWith('give the path of a JavaScript or TypeScript module (relative paths start from the working directory)'),
    );
    assert.throws(
      () => sinkWith(fixture('not-a-partitioner.js')),
      /the partitioner module ".*not-a-partitioner\.js" has no default or "partition" export that is a function \(its function exports: none\); export a function/,
    );
    assert.throws(
      () => sinkWith(`${fixture('by-number.js')}#nope`),
      /has no function export "nope" \(its function exports: last, outOfRange\)/,
    );
  });
});

describe('custom partitioners on the broker', () => {
  it('records land on the partitions the function chose (kcat)', async () => {
    const topic = randomTopic('custom-partitioner');
    await createTopic([bootstrapServers()], topic, { partitions: 5 });
    const choose: PartitionerFunction = (key, _value, partitions) => (partitions - 1 - (Number(key?.toString()) % partitions));
    const sink = produce({
      table: newTable(schema, rows),
      kafkaConfig: { 'bootstrap.servers': bootstrapServers() },
      topic,
      keySpec: simpleSpec('id'),
      valueSpec: jsonSpec(),
      partitioner: choose,
    });
    await sink.done;
    const records = await kcatRead(topic);
    assert.equal(records.length, rows.length);
    for (const record of records) assert.equal(record.partition, 4 - (Number(record.key?.toString()) % 5), `key ${record.key?.toString()}`);
    assert.equal(new Set(records.map((record) => record.partition)).size, 5);
  });

  it('a module path given as text puts records where the module says (kcat)', async () => {
    const topic = randomTopic('module-partitioner');
    await createTopic([bootstrapServers()], topic, { partitions: 3 });
    const sink = startSink(
      newTable(schema, rows),
      { name: 'module', topic, kafka: { 'bootstrap.servers': bootstrapServers() }, key: simpleSpec('id'), value: simpleSpec('payload'), partitioner: fixture('by-value-length.ts') },
      { createWriter: createKafkaWriter },
    );
    await sink.done;
    const records = await kcatRead(topic);
    assert.equal(records.length, rows.length);
    for (const record of records) assert.equal(record.partition, (record.value?.length ?? 0) % 3);
  });
});
