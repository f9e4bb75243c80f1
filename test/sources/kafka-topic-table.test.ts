/**
 * A Kafka topic as a live table, against the real broker: records written by kcat (an independent
 * client) read as rows in append and upsert mode, tombstones, following new records, bad records,
 * and Kafka→Kafka pipelines read back with kcat.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { produce } from '../../src/dialects/deephaven.ts';
import { jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { type Row, defineSchema } from '../../src/model/schema.ts';
import type { Change } from '../../src/model/table.ts';
import { kafkaTopicTable } from '../../src/sources/kafka-topic-table.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';

/** Writes records with kcat, in order, to partition 0: [key, value], null for a null key or a tombstone. */
async function kcatWrite(topic: string, records: readonly (readonly [string | null, string | null])[]): Promise<void> {
  const input = records.map(([key, value]) => `${key ?? ''}\t${value ?? ''}\n`).join('');
  await new Promise<void>((resolve, reject) => {
    // -Z: an empty key or value is sent as null (a tombstone), not as zero bytes.
    const child = spawn('kcat', ['-P', '-b', bootstrapServers(), '-t', topic, '-p', '0', '-K', '\t', '-Z'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited with ${code}: ${stderr}`))));
    child.stdin.end(input);
  });
}

const kafkaConfig = () => ({ 'bootstrap.servers': bootstrapServers() });
const orderSchema = defineSchema({ id: 'int64', item: 'string', qty: 'int32', price: { type: 'float64', nullable: true } });
const order = (id: number | bigint, item: string, qty: number, price: number | null = 1.5) =>
  JSON.stringify({ id: typeof id === 'bigint' ? Number(id) : id, item, qty, price });

async function newTopic(prefix: string, partitions = 1): Promise<string> {
  const topic = randomTopic(prefix);
  await createTopic([bootstrapServers()], topic, { partitions });
  return topic;
}

function rowsOf(table: { rows(): IterableIterator<[unknown, Row]> }): Row[] {
  return [...table.rows()].map(([, row]) => row);
}

describe('kafkaTopicTable() on the real broker', () => {
  it('append: every record with a value is a row, tombstones are ignored, new records keep coming', async () => {
    const topic = await newTopic('src-append');
    await kcatWrite(topic, [
      ['a', order(1, 'apple', 3)],
      [null, '{"id":9007199254740993,"item":"big","qty":1,"price":null}'],
      ['a', null],
    ]);
    const table = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: orderSchema, mode: 'append' });
    assert.equal(table.appendOnly, true);
    await eventually(() => Promise.resolve(table.metrics.records), (count) => count === 3);
    assert.deepEqual(rowsOf(table), [
      { id: 1n, item: 'apple', qty: 3, price: 1.5 },
      // Integers beyond 2^53 arrive exactly.
      { id: 9007199254740993n, item: 'big', qty: 1, price: null },
    ]);
    assert.equal(table.metrics.tombstonesIgnored, 1);
    await kcatWrite(topic, [['b', order(2, 'pear', 5)]]);
    await eventually(() => Promise.resolve(table.size), (size) => size === 3);
    await table.close();
    assert.equal(table.ended, true);
    await table.done;
  });

  it('upsert: inserts and updates by key, a tombstone deletes the row its key wrote', async () => {
    const topic = await newTopic('src-upsert');
    await kcatWrite(topic, [
      ['k1', order(1, 'apple', 1)],
      ['k2', order(2, 'pear', 2)],
      ['k1', order(1, 'apple', 10)],
      ['k2', null],
      ['k3', null],
      ['k4', order(4, 'fig', 4)],
    ]);
    const table = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: orderSchema, mode: 'upsert', key: ['id'] });
    assert.equal(table.appendOnly, false);
    assert.deepEqual(table.schema.primaryKey, ['id']);
    const changes: Change[] = [];
    table.subscribe({ onChanges: (batch) => changes.push(...batch) });
    await eventually(() => Promise.resolve(table.metrics.records), (count) => count === 6);
    assert.deepEqual(
      changes.map((change) => [change.kind, change.row.id, change.row.qty]),
      [['insert', 1n, 1], ['insert', 2n, 2], ['update', 1n, 10], ['delete', 2n, 2], ['insert', 4n, 4]],
    );
    assert.deepEqual(rowsOf(table), [{ id: 1n, item: 'apple', qty: 10, price: 1.5 }, { id: 4n, item: 'fig', qty: 4, price: 1.5 }]);
    // k3 never wrote a row.
    assert.equal(table.metrics.tombstonesIgnored, 1);
    // A key now holding a row with other key columns replaces its old row, as compaction would.
    await kcatWrite(topic, [['k4', order(5, 'kiwi', 5)], ['k4', null]]);
    await eventually(() => Promise.resolve(table.metrics.records), (count) => count === 8);
    assert.deepEqual(rowsOf(table), [{ id: 1n, item: 'apple', qty: 10, price: 1.5 }]);
    await table.close();
  });

  it('latest: starts at the end of the topic once ready', async () => {
    const topic = await newTopic('src-latest');
    await kcatWrite(topic, [['a', order(1, 'old', 1)]]);
    const table = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: orderSchema, mode: 'append', startFrom: 'latest' });
    await table.ready;
    await kcatWrite(topic, [['a', order(2, 'new', 2)]]);
    await eventually(() => Promise.resolve(table.size), (size) => size >= 1);
    assert.deepEqual(rowsOf(table).map((row) => row.item), ['new']);
    await table.close();
  });

  it('pauses fetching while a sink downstream is full, and goes on when it has room', async () => {
    const topic = await newTopic('src-pause');
    await kcatWrite(topic, [[null, order(1, 'a', 1)]]);
    const table = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: orderSchema, mode: 'append' });
    try {
      await eventually(() => Promise.resolve(table.size), (size) => size === 1);
      let open = false;
      let letThrough!: () => void;
      const opened = new Promise<void>((resolve) => (letThrough = resolve));
      table.addGate({ get open() { return open; }, whenOpen: () => opened });
      // The fetch in flight when the gate closes is still applied; after it, fetching waits.
      await kcatWrite(topic, [[null, order(2, 'b', 2)]]);
      await eventually(() => Promise.resolve(table.size), (size) => size === 2);
      await kcatWrite(topic, [[null, order(3, 'c', 3)]]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(table.size, 2, 'a record arrived while the gate was closed');
      open = true;
      letThrough();
      await eventually(() => Promise.resolve(table.size), (size) => size === 3);
    } finally {
      await table.close();
    }
  });

  it('decodes with a function of the value bytes', async () => {
    const topic = await newTopic('src-decode');
    await kcatWrite(topic, [[null, '7;plum;2'], [null, '8;lime;3']]);
    const table = kafkaTopicTable({
      kafkaConfig: kafkaConfig(),
      topic,
      schema: orderSchema,
      mode: 'append',
      decode: (value) => {
        const [id, item, qty] = value.toString().split(';');
        return { id: BigInt(id ?? ''), item, qty: Number(qty), price: null };
      },
    });
    await eventually(() => Promise.resolve(table.size), (size) => size === 2);
    assert.deepEqual(rowsOf(table).map((row) => [row.id, row.item, row.qty]), [[7n, 'plum', 2], [8n, 'lime', 3]]);
    await table.close();
  });

  it('stops at a bad record, naming topic, partition and offset; skip counts and leaves it out', async () => {
    const topic = await newTopic('src-bad');
    await kcatWrite(topic, [
      [null, order(1, 'ok', 1)],
      [null, '{"id": 2, "item": "no qty"'],
      [null, '{"id":3,"item":"wrong","qty":"three","price":1}'],
      [null, order(4, 'fine', 4)],
    ]);
    const failing = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: orderSchema, mode: 'append' });
    await assert.rejects(failing.done, (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INVALID_VALUE');
      assert.match(error.message, new RegExp(`^topic "${topic}" partition 0 offset 1: the value is not JSON \\(`));
      return true;
    });
    // Everything before the bad record is in the table, which has ended with the failure.
    assert.deepEqual(rowsOf(failing).map((row) => row.id), [1n]);
    assert.equal(failing.ended, true);
    assert.equal(failing.failure?.code, 'INVALID_VALUE');
    await assert.rejects(failing.close(), { code: 'INVALID_VALUE' });

    // A sink on a table that fails writes what came before, then fails naming the record.
    const target = await newTopic('src-bad-out');
    const again = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: orderSchema, mode: 'append' });
    const sink = produce(again, kafkaConfig(), target, simpleSpec('item'), jsonSpec(['id']));
    await assert.rejects(sink.done, (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INVALID_VALUE');
      assert.match(error.message, new RegExp(`its source failed: topic "${topic}" partition 0 offset 1: the value is not JSON`));
      return true;
    });
    assert.deepEqual((await kcatRead(target)).map((record) => record.value?.toString()), ['{"id":1}']);

    const skipping = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: orderSchema, mode: 'append', errorPolicy: 'skip' });
    await eventually(() => Promise.resolve(skipping.metrics.records), (count) => count === 4);
    assert.deepEqual(rowsOf(skipping).map((row) => row.id), [1n, 4n]);
    assert.equal(skipping.metrics.skipped, 2);
    await skipping.close();

    const typed = kafkaTopicTable({
      kafkaConfig: kafkaConfig(),
      topic,
      schema: orderSchema,
      mode: 'append',
      decode: (value) => (value.toString().includes('"wrong"') ? (JSON.parse(value.toString()) as Record<string, unknown>) : { id: 0, item: 'x', qty: 0, price: null }),
    });
    await assert.rejects(typed.done, {
      code: 'INVALID_VALUE',
      message: `topic "${topic}" partition 0 offset 2: column "qty" is int32 but got "three" (string); expected an integer from -2147483648 to 2147483647 (use int64 for larger values)`,
    });
    await typed.close().catch(() => {});
  });

  it('fails within request.timeout.ms when no broker answers, naming the addresses', async () => {
    const table = kafkaTopicTable({ kafkaConfig: { 'bootstrap.servers': '127.0.0.1:1', 'request.timeout.ms': 1500 }, topic: 'nowhere', schema: orderSchema, mode: 'append' });
    await assert.rejects(table.ready, { code: 'BROKER_UNREACHABLE' });
    await assert.rejects(table.done, (error: Error & { code?: string }) => {
      assert.equal(error.code, 'BROKER_UNREACHABLE');
      assert.match(error.message, /^no Kafka broker answered within 1500 ms; tried 127\.0\.0\.1:1: connection refused\. /);
      return true;
    });
    await assert.rejects(table.close(), { code: 'BROKER_UNREACHABLE' });
    assert.equal(table.ended, true);
  });

  it('refuses an upsert record without a key, naming where it is', async () => {
    const topic = await newTopic('src-nokey');
    await kcatWrite(topic, [[null, order(1, 'a', 1)]]);
    const table = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: orderSchema, mode: 'upsert', key: ['id'] });
    await assert.rejects(table.done, {
      code: 'INVALID_VALUE',
      message: `topic "${topic}" partition 0 offset 0: the record has no key, so upsert mode cannot tell which row it writes`,
    });
    await table.close().catch(() => {});
  });
});

describe('Kafka→Kafka pipelines', () => {
  it('topic A as a table, where and update, written with produce() to topic B', async () => {
    const source = await newTopic('pipe-a');
    const target = await newTopic('pipe-b', 3);
    await kcatWrite(source, [
      ['o1', order(1, 'apple', 3, 2)],
      ['o2', order(2, 'pear', 1, 4)],
      ['o3', order(3, 'fig', 5, 0.5)],
    ]);
    const orders = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic: source, schema: orderSchema, mode: 'append' });
    const bulk = orders
      .where((row) => (row.qty as number) > 1)
      .update({ total: { type: 'float64', formula: (row) => (row.qty as number) * ((row.price as number | null) ?? 0) } });
    const sink = produce(bulk, kafkaConfig(), target, simpleSpec('item'), jsonSpec(['id', 'item', 'total']));
    let records;
    try {
      await kcatWrite(source, [['o4', order(4, 'kiwi', 2, 3)], ['o5', order(5, 'lime', 1, 9)]]);
      records = await eventually(() => kcatRead(target), (read) => read.length >= 3);
    } finally {
      await orders.close();
      await sink.done;
    }
    const written = (await kcatRead(target)).map((record) => [record.key?.toString(), JSON.parse(record.value?.toString() ?? 'null') as unknown]);
    assert.ok(records.length <= written.length);
    assert.deepEqual(
      written.sort(([left], [right]) => String(left).localeCompare(String(right))),
      [
        ['apple', { id: 1, item: 'apple', total: 6 }],
        ['fig', { id: 3, item: 'fig', total: 2.5 }],
        ['kiwi', { id: 4, item: 'kiwi', total: 6 }],
      ],
    );
  });

  it('an upsert topic stays an upsert topic: updates and tombstones flow through', async () => {
    const source = await newTopic('pipe-upsert-a');
    const target = await newTopic('pipe-upsert-b');
    await kcatWrite(source, [['1', order(1, 'apple', 1)], ['2', order(2, 'pear', 2)]]);
    const latest = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic: source, schema: orderSchema, mode: 'upsert', key: ['id'] });
    await eventually(() => Promise.resolve(latest.size), (size) => size === 2);
    const sink = produce(latest.select(['id', 'qty']), kafkaConfig(), target, simpleSpec('id'), jsonSpec(['id', 'qty']));
    try {
      await kcatWrite(source, [['1', order(1, 'apple', 7)], ['2', null]]);
      await eventually(() => Promise.resolve(latest.metrics.records), (count) => count === 4);
    } finally {
      await latest.close();
      await sink.done;
    }
    const records = await kcatRead(target);
    assert.deepEqual(
      records.map((record) => [record.key?.readBigInt64BE(), record.value === null ? null : (JSON.parse(record.value.toString()) as unknown)]),
      [[1n, { id: 1, qty: 1 }], [2n, { id: 2, qty: 2 }], [1n, { id: 1, qty: 7 }], [2n, null]],
    );
  });
});

describe('kafkaTopicTable() options', () => {
  const base = { kafkaConfig: { 'bootstrap.servers': '127.0.0.1:1' }, topic: 't', schema: orderSchema };

  it('needs key columns in upsert mode, and existing ones, and refuses a key in append mode', () => {
    assert.throws(() => kafkaTopicTable({ ...base, mode: 'upsert' }), {
      code: 'INVALID_CONFIG',
      message: 'kafkaTopicTable(): topic "t": upsert mode needs the columns that identify a row; pass key: [\'id\'] or declare a primary key in the schema',
    });
    assert.throws(() => kafkaTopicTable({ ...base, mode: 'append', key: ['id'] }), {
      code: 'INVALID_CONFIG',
      message: 'kafkaTopicTable(): topic "t": key applies to upsert mode, where it identifies the row a record writes; in append mode every record is a new row, so remove key or set mode: \'upsert\'',
    });
    assert.throws(() => kafkaTopicTable({ ...base, mode: 'upsert', key: ['sku'] }), {
      code: 'UNKNOWN_COLUMN',
      message: 'kafkaTopicTable() option key names "sku", which the table lacks; its columns are: id, item, qty, price',
    });
  });

  it('names bad and unknown options', () => {
    assert.throws(() => kafkaTopicTable({ ...base, mode: 'replace' as never, startFrom: 'middle' as never }), {
      code: 'INVALID_CONFIG',
      message: 'kafkaTopicTable(): option mode: Invalid option: expected one of "append"|"upsert"; option startFrom: Invalid option: expected one of "earliest"|"latest"',
    });
    assert.throws(() => kafkaTopicTable({ ...base, mode: 'append', groupId: 'g' } as never), {
      code: 'INVALID_CONFIG',
      message: 'kafkaTopicTable(): unknown option(s) "groupId"',
    });
  });
});
