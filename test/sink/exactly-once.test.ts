/**
 * Exactly-once delivery against the broker: a transaction per epoch with the progress record in
 * it; a restart under the same name fences, reads the committed progress and skips what the
 * replaying source gives again; a read_committed reader (kcat) sees every row once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureKafkaJars } from '../../src/broker/embedded-broker.ts';
import { ErrorCode } from '../../src/errors.ts';
import { jsonSpec } from '../../src/formats/key-value-spec.ts';
import { createTopic, createTopicLog, createTransactionalWriter } from '../../src/kafka/kafka-client.ts';
import type { KafkaRecord } from '../../src/kafka/record-writer.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { fromFile } from '../../src/sources/file-table.ts';
import { kafkaTopicTable } from '../../src/sources/kafka-topic-table.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { openSink } from '../../src/sink/open-sink.ts';
import { TransactionalDelivery } from '../../src/sink/delivery.ts';
import { decodeProgress, progressKey } from '../../src/sink/progress.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';

const run = promisify(execFile);
const schema = defineSchema({ n: 'int32', name: 'string' });
const values = async (topic: string) => (await kcatRead(topic, { readCommitted: true })).map((r) => JSON.parse(r.value?.toString() ?? 'null') as { n: number });
const sortedNumbers = async (topic: string) => (await values(topic)).map((v) => v.n).sort((a, b) => a - b);
/**
 * The topic's numbers once at least `count` are visible: a commit returns before the broker has
 * written its markers into every partition, so a read_committed reader may see them a moment later.
 */
const numbers = async (topic: string, count: number) => eventually(() => sortedNumbers(topic), (got) => got.length >= count);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const csvLines = (from: number, to: number) => range(from, to).map((n) => `${n},row-${n}\n`).join('');

function spec(name: string, topic: string, progressTopic: string | undefined, extra: Record<string, unknown> = {}) {
  return { name, topic, ...(progressTopic === undefined ? {} : { progressTopic }), kafka: { 'bootstrap.servers': bootstrapServers() }, value: jsonSpec(), delivery: 'exactly-once', trigger: { interval: '50 ms' }, ...extra };
}

/** Runs one sink over a CSV file to its end, as a restarted program would: the file read from its start. */
async function runOverFile(path: string, name: string, topic: string, progressTopic: string | undefined, extra: Record<string, unknown> = {}) {
  const sink = openSink(fromFile(path, { format: 'csv', schema, csv: { header: false } }), spec(name, topic, progressTopic, extra));
  await sink.done;
  return sink;
}

describe('exactly-once delivery', () => {
  it('commits each epoch with its progress; a restart under the same name writes only what is new', async () => {
    const topic = randomTopic('eos-file');
    const progressTopic = randomTopic('eos-progress');
    await createTopic([bootstrapServers()], topic, { partitions: 3 });
    const name = `eos-file-${randomBytes(4).toString('hex')}`;
    const path = join(mkdtempSync(join(tmpdir(), 'spillway-eos-')), 'rows.csv');
    writeFileSync(path, csvLines(0, 500));

    const first = await runOverFile(path, name, topic, progressTopic);
    assert.equal(first.metrics.records, 500);
    assert.ok(first.metrics.transactions >= 1);
    assert.deepEqual(await numbers(topic, 500), range(0, 500));

    // The same program again: the file is replayed from its start and nothing is written twice.
    const again = await runOverFile(path, name, topic, progressTopic);
    assert.equal(again.metrics.records, 0);
    assert.deepEqual(await numbers(topic, 500), range(0, 500));

    // Rows appended since: only they are written.
    appendFileSync(path, csvLines(500, 650));
    const more = await runOverFile(path, name, topic, progressTopic);
    assert.equal(more.metrics.records, 150);
    assert.deepEqual(await numbers(topic, 650), range(0, 650));

    // The progress topic holds the sink's position, keyed by its name, readable by anyone.
    const rowsOfLast = async () => {
      const progress = (await kcatRead(progressTopic, { readCommitted: true })).filter((r) => r.key?.equals(progressKey(name, 0)));
      const last = decodeProgress(progress.at(-1)?.value ?? Buffer.alloc(0), 'the last progress record');
      return last.position.kind === 'file' ? last.position.rows : -1;
    };
    assert.equal(await eventually(rowsOfLast, (rows) => rows === 650), 650);
  });

  it('mirrors the committed progress into the checkpoint location, and refuses another query\'s location', async () => {
    const topic = randomTopic('eos-checkpoint');
    const progressTopic = randomTopic('eos-progress');
    const name = `eos-checkpoint-${randomBytes(4).toString('hex')}`;
    const checkpointLocation = mkdtempSync(join(tmpdir(), 'spillway-checkpoint-'));
    const path = join(checkpointLocation, '..', `${name}.csv`);
    writeFileSync(path, csvLines(0, 20));
    await runOverFile(path, name, topic, progressTopic, { checkpointLocation });
    const mirrored = decodeProgress(readFileSync(join(checkpointLocation, 'progress-0.json')), 'progress-0.json');
    assert.equal(mirrored.sink, name);
    assert.equal(mirrored.position.kind === 'file' ? mirrored.position.rows : -1, 20);

    const other = openSink(newTable(schema, [{ n: 1, name: 'x' }]), spec(`${name}-other`, topic, progressTopic, { checkpointLocation }));
    await assert.rejects(other.done, (error: Error & { code?: string }) => {
      assert.equal(error.code, ErrorCode.InvalidConfig);
      assert.match(error.message, new RegExp(`^checkpoint location ".*" belongs to another query: sink "${name}" writing topic "${topic}" .*not sink "${name}-other" writing topic "${topic}"; give each query its own checkpoint location`));
      return true;
    });
  });

  it('at-least-once with a checkpoint location resumes after the acknowledged position', async (t) => {
    const topic = randomTopic('alo-checkpoint');
    const name = `alo-checkpoint-${randomBytes(4).toString('hex')}`;
    const directory = mkdtempSync(join(tmpdir(), 'spillway-alo-'));
    t.after(() => rmSync(directory, { recursive: true, force: true }));
    const checkpointLocation = join(directory, 'checkpoint');
    mkdirSync(checkpointLocation);
    const path = join(directory, `${name}.csv`);
    writeFileSync(path, csvLines(0, 30));
    const alo = { delivery: 'at-least-once', checkpointLocation };
    await runOverFile(path, name, topic, undefined, alo);
    appendFileSync(path, csvLines(30, 40));
    const second = await runOverFile(path, name, topic, undefined, alo);
    assert.equal(second.metrics.records, 10);
    assert.deepEqual(await numbers(topic, 40), range(0, 40));
  });

  it('refuses to resume a name that committed its progress writing another topic', async () => {
    const progressTopic = randomTopic('eos-progress');
    const name = `eos-rename-${randomBytes(4).toString('hex')}`;
    const rows = () => newTable(schema, [{ n: 1, name: 'a' }]);
    const first = randomTopic('eos-first');
    await openSink(rows(), spec(name, first, progressTopic, { trigger: 'once' })).done;
    const second = randomTopic('eos-second');
    await assert.rejects(openSink(rows(), spec(name, second, progressTopic, { trigger: 'once' })).done, {
      code: ErrorCode.InvalidConfig,
      message:
        `sink "${name}" committed its progress writing topic "${first}" and now writes "${second}"; under exactly-once a name is one sink's identity, so resuming would skip rows the new topic never got: ` +
        `give this sink a name of its own, or write a tombstone for key "spillway-sink:${name}:0" in "${progressTopic}" to start it over`,
    });
  });

  it('with maxRows, ends a transaction at the first source batch that reaches it', async () => {
    const topic = randomTopic('eos-max-rows');
    const table = inputTable(schema);
    const sink = openSink(table, spec(`eos-max-rows-${randomBytes(4).toString('hex')}`, topic, randomTopic('eos-progress'), { trigger: { interval: '10 seconds', maxRows: 25 } }));
    // Ten source batches of ten rows each, queued while the sink recovers.
    for (let batch = 0; batch < 10; batch++) table.add(range(batch * 10, batch * 10 + 10).map((n) => ({ n, name: `r${n}` })));
    await eventually(() => Promise.resolve(sink.metrics.records), (records) => records >= 90);
    table.close();
    await sink.done;
    // Batches of 10: three of them (30 rows) reach 25, three times; the last 10 close the sink.
    assert.equal(sink.metrics.transactions, 4);
    assert.deepEqual(await numbers(topic, 100), range(0, 100));
  });

  it('holds what is sent while an epoch commits, and commits it in the next transaction with the next position', async () => {
    const topic = randomTopic('eos-overlap');
    const progressTopic = randomTopic('eos-progress');
    await createTopic([bootstrapServers()], topic, { partitions: 2 });
    const name = `eos-overlap-${randomBytes(4).toString('hex')}`;
    const { settings } = parseKafkaProperties({ 'bootstrap.servers': bootstrapServers(), 'transactional.id': `spillway-${name}-0` }, { sink: name });
    const writer = createTransactionalWriter(settings);
    const delivered: number[] = [];
    const delivery = new TransactionalDelivery(writer, {
      sink: name,
      checkpoint: undefined,
      maxWritesInFlight: 4,
      maxHeldRecords: 3,
      onDelivered: (records) => delivered.push(records),
      onFailure: (error) => assert.fail(error),
      log: createTopicLog(settings),
      progressTopic,
      shard: 0,
      topic,
      consumerGroup: `spillway-${name}`,
      onWarning: (warning) => assert.fail(warning),
    });
    const rows = (from: number, to: number): KafkaRecord[] => range(from, to).map((n) => ({ topic, partition: n % 2, key: null, value: Buffer.from(JSON.stringify({ n })) }));
    const committedRows = async () => {
      const progress = (await kcatRead(progressTopic, { readCommitted: true })).map((r) => decodeProgress(r.value ?? Buffer.alloc(0), 'a progress record'));
      return progress.map((p) => (p.position.kind === 'item' ? p.position.index : -1));
    };
    assert.equal(await delivery.open(), undefined);
    await delivery.send(rows(0, 2), 0);
    const first = delivery.endEpoch({ kind: 'item', index: 2 });
    // Sent while the first epoch commits: held, so the first transaction holds rows 0-1 only.
    await delivery.send(rows(2, 4), 0);
    await first;
    assert.deepEqual(delivered, [2], 'the first epoch counts its own records');
    assert.deepEqual(await numbers(topic, 2), [0, 1], 'rows 2-3 are in the open second transaction');
    const second = delivery.endEpoch({ kind: 'item', index: 4 });
    // Past maxHeldRecords, a send waits for the commit (and the hand-over of what was held).
    let sent = false;
    const waiting = delivery.send(rows(4, 8), 0).then(() => (sent = true));
    await second;
    await waiting;
    assert.ok(sent);
    await delivery.endEpoch({ kind: 'item', index: 8 });
    await delivery.close();
    assert.deepEqual(delivered, [2, 2, 4]);
    assert.equal(delivery.transactions, 3);
    assert.deepEqual(await committedRows(), [2, 4, 8], 'each position committed with exactly the rows before it');
    assert.deepEqual(await numbers(topic, 8), range(0, 8));
  });

  it('a record the broker refuses aborts its epoch and fails the sink; read_committed shows nothing of that epoch', async () => {
    // The broker refuses batches over 2,000 bytes; the producer builds them up to 1 MiB, so the
    // refusal comes in a delivery report after the records were handed over.
    const topic = randomTopic('eos-refused');
    await createTopic([bootstrapServers()], topic, { partitions: 1, config: { 'max.message.bytes': '2000' } });
    const table = inputTable(schema);
    const sink = openSink(table, spec(`eos-refused-${randomBytes(4).toString('hex')}`, topic, randomTopic('eos-progress'), { trigger: { continuous: '100 ms' } }));
    table.add(range(0, 10).map((n) => ({ n, name: `r${n}` })));
    await eventually(() => Promise.resolve(sink.metrics.records), (records) => records >= 10);
    table.add([...range(10, 15).map((n) => ({ n, name: `r${n}` })), { n: 15, name: 'x'.repeat(5_000) }]);
    await assert.rejects(sink.done, {
      code: ErrorCode.DeliveryFailed,
      message: new RegExp(`^the broker refused a batch of records for ${topic}\\[0\\] as too large: the topic's max.message.bytes is below the batches this producer builds`),
    });
    assert.equal(sink.state, 'failed');
    assert.equal(sink.metrics.records, 10, 'records count once committed');
    assert.deepEqual(await numbers(topic, 10), range(0, 10));
  });

  it('a newer sink with the same name fences the older one, which fails saying so', async () => {
    const topic = randomTopic('eos-fence');
    const progressTopic = randomTopic('eos-progress');
    const name = `eos-fence-${randomBytes(4).toString('hex')}`;
    const id = `spillway-${name}-0`;
    // The zombie: a writer with the sink's transactional id and an open transaction.
    const zombie = createTransactionalWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers(), 'transactional.id': id }, { sink: name }).settings);
    await zombie.beginTransaction();
    await zombie.write([{ topic, partition: 0, key: null, value: Buffer.from('{"n":-1,"name":"zombie"}') }]);
    const sink = openSink(newTable(schema, [{ n: 1, name: 'a' }, { n: 2, name: 'b' }]), spec(name, topic, progressTopic, { trigger: 'once' }));
    await sink.done;
    await assert.rejects(zombie.commitTransaction(), { code: ErrorCode.DeliveryFailed, message: new RegExp(`^the writer with transactional.id "${id}" was fenced`) });
    await zombie.close();
    // The zombie's open transaction was aborted by the fence: a read_committed reader never sees it.
    assert.deepEqual(await numbers(topic, 2), [1, 2]);
  });

  it('copies a Kafka topic exactly once across a restart, skipping the replayed records it committed', async () => {
    const input = randomTopic('eos-in');
    const output = randomTopic('eos-out');
    const progressTopic = randomTopic('eos-progress');
    await createTopic([bootstrapServers()], input, { partitions: 2 });
    const name = `eos-copy-${randomBytes(4).toString('hex')}`;
    const feed = createTransactionalWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers(), 'transactional.id': `${name}-feed` }, { sink: 'feed' }).settings);
    const produce = async (from: number, to: number) => {
      await feed.beginTransaction();
      await feed.write(range(from, to).map((n) => ({ topic: input, partition: n % 2, key: null, value: Buffer.from(JSON.stringify({ n, name: `r${n}` })) })));
      await feed.commitTransaction();
    };
    const copy = async (expected: number) => {
      const source = kafkaTopicTable({ topic: input, kafkaConfig: { 'bootstrap.servers': bootstrapServers() }, schema, mode: 'append', startFrom: 'earliest' });
      const sink = openSink(source, spec(name, output, progressTopic));
      const deadline = Date.now() + 30_000;
      while (sink.metrics.rows < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await source.close();
      await sink.done;
      return sink;
    };
    await produce(0, 100);
    await copy(100);
    await produce(100, 160);
    const second = await copy(60);
    assert.equal(second.metrics.records, 60);
    assert.deepEqual(await numbers(output, 160), range(0, 160));
    await feed.close();
    // The input's offsets committed with the records, for the sink's group, as Kafka's own tool reads them:
    // each partition holds 80 records and 2 commit markers, so the next record to read is at 81, the end at 82.
    const { stdout } = await run('java', ['-cp', `${ensureKafkaJars()}/*`, 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', '--bootstrap-server', bootstrapServers(), '--describe', '--group', `spillway-${name}`]);
    const committed = stdout
      .split('\n')
      .filter((line) => line.includes(input))
      .map((line) => line.trim().split(/\s+/))
      .map(([, topic, partition, current, end]) => [topic, Number(partition), Number(current), Number(end)]);
    assert.deepEqual(committed.sort(), [[input, 0, 81, 82], [input, 1, 81, 82]]);
  });
});
