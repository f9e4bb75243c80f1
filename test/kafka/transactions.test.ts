/**
 * The transactional writer against the broker: read_committed readers (kcat, independent of the
 * writer's client) see committed records only, aborted records never, and a second writer with
 * the same transactional.id fences the first. Illegal calls fail with INVALID_STATE.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKafkaWriter, createTopic, createTransactionalWriter } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import type { KafkaRecord, TransactionalRecordWriter } from '../../src/kafka/record-writer.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

const settings = (transactionalId: string, extra: Record<string, unknown> = {}) =>
  parseKafkaProperties({ 'bootstrap.servers': bootstrapServers(), 'transactional.id': transactionalId, ...extra }, { sink: 'transactions' }).settings;
const newId = () => `spillway-test-${randomBytes(6).toString('hex')}`;
const records = (topic: string, values: readonly string[]): KafkaRecord[] =>
  values.map((value, i) => ({ topic, partition: i % 2, key: Buffer.from(value), value: Buffer.from(value) }));
const values = async (topic: string, readCommitted: boolean) =>
  (await kcatRead(topic, { readCommitted })).map((r) => r.value?.toString() ?? '').sort();

describe('transactional writer', () => {
  it('shows read_committed readers committed records only; aborted records never appear', async () => {
    const topic = randomTopic('tx-commit');
    await createTopic([bootstrapServers()], topic, { partitions: 2 });
    const writer = createTransactionalWriter(settings(newId()));
    await writer.beginTransaction();
    await writer.write(records(topic, ['a1', 'a2']));
    // Acknowledged but not committed: invisible to read_committed, there for read_uncommitted.
    assert.deepEqual(await values(topic, true), []);
    assert.deepEqual(await values(topic, false), ['a1', 'a2']);
    await writer.commitTransaction();
    assert.equal(writer.transactionState, 'ready');
    await writer.beginTransaction();
    await writer.write(records(topic, ['b1', 'b2', 'b3']));
    await writer.abortTransaction();
    await writer.beginTransaction();
    await writer.write(records(topic, ['c1']));
    await writer.commitTransaction();
    await writer.close();
    assert.deepEqual(await values(topic, true), ['a1', 'a2', 'c1']);
    assert.deepEqual(await values(topic, false), ['a1', 'a2', 'b1', 'b2', 'b3', 'c1'], 'the aborted records were written, and are filtered by isolation');
  });

  it('is fenced by a second writer with the same transactional.id, failing with a clear error', async () => {
    const topic = randomTopic('tx-fence');
    await createTopic([bootstrapServers()], topic, { partitions: 2 });
    const id = newId();
    const first = createTransactionalWriter(settings(id));
    await first.beginTransaction();
    await first.write(records(topic, ['zombie']));
    const second = createTransactionalWriter(settings(id));
    await second.initTransactions();
    const fenced = {
      code: 'DELIVERY_FAILED',
      message: `the writer with transactional.id "${id}" was fenced: another writer with the same transactional.id started after it, so this one can no longer write or commit. Stop this writer; the newer one carries on.`,
    };
    await assert.rejects(first.commitTransaction(), fenced);
    assert.equal(first.transactionState, 'fenced');
    await assert.rejects(first.beginTransaction(), {
      code: 'INVALID_STATE',
      message: `cannot begin a transaction with transactional.id "${id}" in state fenced: another writer with the same transactional.id took over; stop this one`,
    });
    await second.beginTransaction();
    await second.write(records(topic, ['survivor']));
    await second.commitTransaction();
    await Promise.all([first.close(), second.close()]);
    assert.deepEqual(await values(topic, true), ['survivor']);
  });

  it('refuses calls the state does not allow, with INVALID_STATE', async () => {
    const topic = randomTopic('tx-state');
    await createTopic([bootstrapServers()], topic, { partitions: 2 });
    const id = newId();
    const writer = createTransactionalWriter(settings(id));
    await assert.rejects(writer.commitTransaction(), {
      code: 'INVALID_STATE',
      message: `cannot commit with transactional.id "${id}" in state uninitialized: begin a transaction first`,
    });
    await assert.rejects(writer.write(records(topic, ['x'])), {
      code: 'INVALID_STATE',
      message: `cannot write with transactional.id "${id}" in state uninitialized; begin a transaction first`,
    });
    await writer.beginTransaction();
    await assert.rejects(writer.beginTransaction(), {
      code: 'INVALID_STATE',
      message: `cannot begin a transaction with transactional.id "${id}" in state in-transaction: commit or abort the open transaction first`,
    });
    await writer.abortTransaction();
    await assert.rejects(writer.abortTransaction(), {
      code: 'INVALID_STATE',
      message: `cannot abort with transactional.id "${id}" in state ready: begin a transaction first`,
    });
    await writer.close();
    assert.equal(writer.transactionState, 'closed');
    await assert.rejects(writer.beginTransaction(), { code: 'INVALID_STATE', message: 'cannot begin a transaction: the writer is closed' });

    const plain = createKafkaWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers() }, { sink: 'plain' }).settings);
    assert.ok(!('beginTransaction' in plain) || typeof (plain as { beginTransaction?: unknown }).beginTransaction === 'function');
    assert.throws(() => createTransactionalWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers() }, { sink: 'plain' }).settings), {
      code: 'INVALID_CONFIG',
      message: 'a transactional writer needs `transactional.id`; set it in the Kafka properties',
    });
    await plain.close();
  });

  it('hands records over without waiting for their acknowledgement; the commit acknowledges them, and fails if one was refused', async () => {
    // The broker refuses batches over 2,000 bytes; the producer itself would build them up to 1 MiB.
    const topic = randomTopic('tx-hand-over');
    await createTopic([bootstrapServers()], topic, { partitions: 1, config: { 'max.message.bytes': '2000' } });
    const id = newId();
    const writer = createTransactionalWriter(settings(id));
    await assert.rejects(writer.handOver(records(topic, ['early'])), {
      code: 'INVALID_STATE',
      message: `cannot hand records over with transactional.id "${id}" in state uninitialized; begin a transaction first`,
    });
    await writer.beginTransaction();
    await writer.handOver([{ topic, partition: 0, key: null, value: Buffer.from('ok-1') }]);
    await writer.commitTransaction();
    assert.deepEqual(await values(topic, true), ['ok-1'], 'committed, so acknowledged');

    await writer.beginTransaction();
    await writer.handOver([
      { topic, partition: 0, key: null, value: Buffer.from('lost-1') },
      { topic, partition: 0, key: null, value: Buffer.alloc(5_000, 'x') },
    ]);
    await assert.rejects(writer.commitTransaction(), {
      code: 'DELIVERY_FAILED',
      message: new RegExp(`^the broker refused a batch of records for ${topic}\\[0\\] as too large: the topic's max.message.bytes is below the batches this producer builds`),
    });
    assert.equal(writer.transactionState, 'abort-required');
    await assert.rejects(writer.handOver(records(topic, ['after'])), { code: 'DELIVERY_FAILED', message: /^the broker refused a batch/ });
    await writer.abortTransaction();
    await writer.close();
    assert.deepEqual(await values(topic, true), ['ok-1'], 'nothing of the refused transaction is visible');

    const plain = createKafkaWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers() }, { sink: 'plain' }).settings) as unknown as TransactionalRecordWriter;
    await assert.rejects(plain.handOver(records(topic, ['x'])), {
      code: 'INVALID_STATE',
      message: 'cannot hand records over: this writer has no transactional.id; set one to use transactions',
    });
    await plain.close();
  });

  it('a hand-over librdkafka refuses after a refused record, before its report arrived, fails with that record\'s cause', async () => {
    const topic = randomTopic('tx-refused-state');
    await createTopic([bootstrapServers()], topic, { partitions: 1, config: { 'max.message.bytes': '2000' } });
    const writer = createTransactionalWriter(settings(newId()));
    await writer.beginTransaction();
    await writer.handOver([{ topic, partition: 0, key: null, value: Buffer.alloc(5_000, 'x') }]);
    // Block this thread while the broker refuses the batch: librdkafka's transaction is then in
    // its error state, and the delivery report waits here for the thread to poll.
    const until = Date.now() + 1_500;
    while (Date.now() < until) {
      // busy: no event is served
    }
    await assert.rejects(writer.handOver([{ topic, partition: 0, key: null, value: Buffer.from('late') }]), {
      code: 'DELIVERY_FAILED',
      message: new RegExp(`^the broker refused a batch of records for ${topic}\\[0\\] as too large`),
    });
    await assert.rejects(writer.commitTransaction(), { code: 'DELIVERY_FAILED', message: /^the broker refused a batch/ });
    await writer.abortTransaction();
    await writer.close();
    assert.deepEqual(await values(topic, true), []);
  });

  it('checks transaction.timeout.ms against the broker\'s transaction.max.timeout.ms when it starts', async () => {
    // The broker's default maximum is 900000 ms (15 minutes).
    const writer = createTransactionalWriter(settings(newId(), { 'transaction.timeout.ms': 900_001 }));
    await assert.rejects(writer.beginTransaction(), {
      code: 'INVALID_CONFIG',
      message:
        "transaction.timeout.ms (900001 ms) is larger than the broker's transaction.max.timeout.ms; lower transaction.timeout.ms, or raise transaction.max.timeout.ms on the brokers",
    });
    assert.equal(writer.transactionState, 'failed');
    await writer.close();
  });
});
