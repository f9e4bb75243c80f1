/**
 * The native batch producer against the real broker: what the writer's records become (several
 * topics in one write, headers, a write larger than its first buffers), and the refusals of the
 * addon itself (a wrong layout is refused, never read past).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RdKafka } from '@confluentinc/kafka-javascript';
import { BatchLayouts, BatchProducer, laidOutRecord, loadNativeBatchProducer } from '../../src/kafka/batch-producer.ts';
import { createKafkaWriter, createTopic } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

it('writes records for several topics in one write, in order, with their headers, past the size of its first buffers', async () => {
  const first = randomTopic('batch-a');
  const second = randomTopic('batch-b');
  await createTopic([bootstrapServers()], first, { partitions: 2 });
  await createTopic([bootstrapServers()], second, { partitions: 1 });
  const writer = createKafkaWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers() }, { sink: 'batch-test' }).settings);
  const value = Buffer.alloc(1_000, 'v');
  // 3,000 records of 1 kB (3 MB, past the first 1 MiB of bytes) and one with 400 headers (past
  // the first layout of 5 fields a record).
  const records = Array.from({ length: 3_000 }, (_, i) => ({
    topic: i % 3 === 0 ? second : first,
    partition: i % 3 === 0 ? 0 : i % 2,
    key: Buffer.from(`k${i}`),
    value: i === 7 ? Buffer.from('héllo') : value,
    ...(i === 7 ? { headers: Array.from({ length: 400 }, (_, h) => ({ key: `h${h}-ü`, value: Buffer.from(`${h}`) })) } : {}),
    // The last record's headers end exactly where the bytes given end.
    ...(i === 2_999 ? { headers: [{ key: 'last', value: Buffer.from('1') }] } : {}),
  }));
  await writer.write(records);
  await writer.close();
  const read = await kcatRead(first);
  const secondRead = await kcatRead(second);
  assert.equal(read.length, 2_000);
  assert.equal(secondRead.length, 1_000);
  const keysOf = (partition: number) => read.filter((r) => r.partition === partition).map((r) => r.key?.toString());
  assert.deepEqual(keysOf(1), records.filter((r) => r.topic === first && r.partition === 1).map((r) => r.key.toString()));
  assert.deepEqual(secondRead.map((r) => r.key?.toString()), records.filter((r) => r.topic === second).map((r) => r.key.toString()));
  const withHeaders = read.find((r) => r.key?.toString() === 'k7');
  assert.equal(withHeaders?.value?.toString(), 'héllo');
  assert.equal(withHeaders?.headers.split(',').length, 400);
  assert.ok(withHeaders?.headers.startsWith('h0-ü=0,h1-ü=1,'), withHeaders?.headers);
  assert.equal(read.find((r) => r.key?.toString() === 'k2999')?.headers, 'last=1');
  assert.ok(read.filter((r) => !['k7', 'k2999'].includes(r.key?.toString() ?? '')).every((r) => r.value?.equals(value) === true && r.headers === ''));
});

it('refuses a missing addon with how to build it', () => {
  assert.throws(
    () => loadNativeBatchProducer('../../build/Release/no-such-addon.node'),
    /^SpillwayError: Spillway's native batch producer \(\.\.\/\.\.\/build\/Release\/no-such-addon\.node\) could not be loaded: Cannot find module .*\. It is built when Spillway is installed, against the Node that runs it; build it again with `npm rebuild spillway`/,
  );
});

it("refuses what is not the client's connected producer, wrong arguments, and a layout that does not fit its bytes", async () => {
  const native = loadNativeBatchProducer();
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const layout = new Int32Array([0, 0, -1, 4, 0]);
  const timestamps = new Float64Array(1);
  const noop = () => {};
  const producer = new RdKafka.Producer({ 'bootstrap.servers': bootstrapServers() });
  const client = (producer as unknown as { _client: object })._client;
  assert.throws(() => native.produce({}, ['t'], 1, layout, timestamps, Buffer.from('abcd'), 0, stop, noop), /^Error: produce: the first argument must be the Kafka client's native producer$/);
  assert.throws(() => native.produce(client, ['t'], 1, layout, timestamps, Buffer.from('abcd'), 0, stop, noop), /^Error: produce: the producer is not connected$/);
  await new Promise<void>((resolve, reject) => producer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())));
  try {
    assert.throws(
      () => native.produce(client, ['t'], 1, layout, timestamps, 'abcd' as unknown as Buffer, 0, stop, noop),
      /^Error: produce\(client, topics, count, layout, timestamps, bytes, maxBlockMs, stop, callback\): wrong arguments$/,
    );
    assert.throws(() => native.produce(client, ['t'], 2, layout, timestamps, Buffer.from('abcd'), 0, stop, noop), /^Error: produce: the layout, timestamps or stop flag are shorter than the records$/);
    const topic = randomTopic('batch-refused');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const produce = (bytes: Buffer, entries: number[]) =>
      new Promise<[number, number, string]>((resolve) => native.produce(client, [topic], entries.length / 5, new Int32Array(entries), new Float64Array(entries.length / 5), bytes, 0, stop, (...outcome) => resolve(outcome)));
    // The second record's value would end past the bytes given; its topic index past the topics.
    assert.deepEqual(await produce(Buffer.from('abcdef'), [0, 0, -1, 4, 0, 0, 0, -1, 4, 0]), [1, -186, 'Local: Invalid argument or configuration']);
    assert.deepEqual(await produce(Buffer.from('abcd'), [1, 0, -1, 4, 0]), [0, -186, 'Local: Invalid argument or configuration']);
    const batches = new BatchProducer(client);
    const layouts = new BatchLayouts();
    const first = batches.produce(layouts.layOut([{ topic, partition: 0, key: null, value: Buffer.from('x') }]), 0);
    const second = batches.produce(layouts.layOut([{ topic, partition: 0, key: null, value: Buffer.from('y') }]), 0);
    await assert.rejects(batches.produce(layouts.layOut([]), 0), /^Error: 2 batches are being produced; wait for room\(\)$/);
    await batches.room();
    assert.deepEqual(await first, { produced: 1, errorCode: 0, errorText: 'Success' });
    assert.deepEqual(await second, { produced: 1, errorCode: 0, errorText: 'Success' });
    await batches.idle();
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
});

it('keeps the order of writes given at once, each handed over while the last one is produced', async () => {
  const topic = randomTopic('batch-order');
  await createTopic([bootstrapServers()], topic, { partitions: 2 });
  const writer = createKafkaWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers() }, { sink: 'batch-order' }).settings);
  const writes = Array.from({ length: 20 }, (_, w) =>
    writer.write(Array.from({ length: 500 }, (_, i) => ({ topic, partition: i % 2, key: Buffer.from(`${w * 500 + i}`), value: Buffer.from('v') }))),
  );
  await Promise.all(writes);
  await writer.close();
  const read = await kcatRead(topic);
  assert.equal(read.length, 10_000);
  for (const partition of [0, 1]) {
    const keys = read.filter((record) => record.partition === partition).map((record) => Number(record.key?.toString()));
    assert.deepEqual(keys, Array.from({ length: 5_000 }, (_, k) => 2 * k + partition));
  }
});

it("keeps the plugins a user names in plugin.library.paths beside Spillway's own: one that does not exist is refused by librdkafka", () => {
  const properties = { 'bootstrap.servers': bootstrapServers(), 'plugin.library.paths': '/no/such/plugin.so' };
  assert.throws(
    () => createKafkaWriter(parseKafkaProperties(properties, { sink: 'plugins' }).settings),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INVALID_CONFIG');
      assert.match(error.message, /^librdkafka refused the Kafka properties: .*\/no\/such\/plugin\.so/);
      return true;
    },
  );
});

it('lays a write out at once, reusing the buffers of a released batch, and names any record of it by topic and partition', () => {
  const layouts = new BatchLayouts();
  const records = [
    { topic: 'a', partition: 2, key: Buffer.from('k'), value: null, headers: [{ key: 'h', value: Buffer.from('1') }, { key: 'i', value: Buffer.from('2') }] },
    { topic: 'b', partition: 0, key: null, value: Buffer.from('vv'), timestamp: 1_700_000_000_000n },
    { topic: 'a', partition: 1, key: Buffer.from('x'), value: Buffer.from('y') },
  ];
  const batch = layouts.layOut(records);
  assert.deepEqual(batch.topics, ['a', 'b']);
  assert.equal(batch.count, 3);
  assert.deepEqual([...batch.layout.subarray(0, 19)], [0, 2, 1, -1, 2, 1, 1, 1, 1, 1, 0, -1, 2, 0, 0, 1, 1, 1, 0]);
  assert.equal(batch.bytes.subarray(0, batch.used).toString(), 'kh1i2vvxy');
  assert.deepEqual([...batch.timestamps.subarray(0, 3)], [0, 1_700_000_000_000, 0]);
  assert.deepEqual([0, 1, 2].map((index) => laidOutRecord(batch, index)), [{ topic: 'a', partition: 2 }, { topic: 'b', partition: 0 }, { topic: 'a', partition: 1 }]);
  layouts.release(batch);
  const again = layouts.layOut(records.slice(2));
  assert.equal(again.bytes, batch.bytes);
  assert.equal(again.bytes.subarray(0, again.used).toString(), 'xy');
  // One that does not fit the first buffers gets larger ones.
  const large = layouts.layOut([{ topic: 'a', partition: 0, key: null, value: Buffer.alloc(1 << 19, 'v') }]);
  assert.notEqual(large.bytes, batch.bytes);
  assert.equal(large.used, 1 << 19);
});

