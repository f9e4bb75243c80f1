/**
 * A Kafka-topic table's properties go through the consumer catalog (they were checked against the
 * producer's, and their warnings dropped): isolation.level and auto.offset.reset take effect
 * against the broker, group.id is refused, and a producer property comes back as a warning.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createTopic, createTransactionalWriter } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { kafkaTopicTable } from '../../src/sources/kafka-topic-table.ts';
import { bootstrapServers, eventually, randomTopic } from '../helpers/kafka.ts';

const schema = defineSchema({ id: 'int64' });

describe('kafkaTopicTable() consumer properties', () => {
  it('reads an open transaction only with isolation.level=read_uncommitted', async () => {
    const topic = randomTopic('src-isolation');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const writer = createTransactionalWriter(
      parseKafkaProperties({ 'bootstrap.servers': bootstrapServers(), 'transactional.id': `src-${randomBytes(6).toString('hex')}` }, { sink: 'src' }).settings,
    );
    await writer.beginTransaction();
    await writer.write([{ topic, partition: 0, key: null, value: Buffer.from('{"id":1}') }]);
    const dirty = kafkaTopicTable({ kafkaConfig: { 'bootstrap.servers': bootstrapServers(), 'isolation.level': 'read_uncommitted' }, topic, schema, mode: 'append' });
    const committed = kafkaTopicTable({ kafkaConfig: { 'bootstrap.servers': bootstrapServers() }, topic, schema, mode: 'append' });
    await eventually(() => Promise.resolve(dirty.metrics.records), (n) => n === 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(committed.metrics.records, 0, 'read_committed (the default) does not see an open transaction');
    await writer.commitTransaction();
    await eventually(() => Promise.resolve(committed.metrics.records), (n) => n === 1);
    await Promise.all([dirty.close(), committed.close(), writer.close()]);
  });

  it('starts at the end with auto.offset.reset=latest, and refuses a startFrom that disagrees', async () => {
    const topic = randomTopic('src-reset');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const writer = createTransactionalWriter(
      parseKafkaProperties({ 'bootstrap.servers': bootstrapServers(), 'transactional.id': `src-${randomBytes(6).toString('hex')}` }, { sink: 'src' }).settings,
    );
    const write = async (id: number) => {
      await writer.beginTransaction();
      await writer.write([{ topic, partition: 0, key: null, value: Buffer.from(`{"id":${id}}`) }]);
      await writer.commitTransaction();
    };
    await write(1);
    const table = kafkaTopicTable({ kafkaConfig: { 'bootstrap.servers': bootstrapServers(), 'auto.offset.reset': 'latest' }, topic, schema, mode: 'append' });
    await table.ready;
    await write(2);
    await eventually(() => Promise.resolve(table.metrics.records), (n) => n === 1);
    assert.deepEqual([...table.rows()].map(([, row]) => row), [{ id: 2n }]);
    await Promise.all([table.close(), writer.close()]);
    assert.throws(
      () => kafkaTopicTable({ kafkaConfig: { 'bootstrap.servers': bootstrapServers(), 'auto.offset.reset': 'latest' }, topic, schema, mode: 'append', startFrom: 'earliest' }),
      { code: 'INVALID_CONFIG', message: `kafkaTopicTable(): topic "${topic}": startFrom "earliest" and auto.offset.reset (latest) disagree; keep one` },
    );
  });

  it('refuses group.id and warns about a producer property', async () => {
    assert.throws(() => kafkaTopicTable({ kafkaConfig: { 'bootstrap.servers': bootstrapServers(), 'group.id': 'orders' }, topic: 't', schema, mode: 'append' }), {
      code: 'INVALID_CONFIG',
      message: /`group\.id` is refused: a Kafka-topic table reads every partition itself/,
    });
    const topic = randomTopic('src-warn');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const table = kafkaTopicTable({ kafkaConfig: { 'bootstrap.servers': bootstrapServers(), 'linger.ms': 5 }, topic, schema, mode: 'append' });
    assert.deepEqual(table.warnings, ['`linger.ms` is a producer property; a Kafka-topic table only reads, so it has no effect']);
    await table.close();
  });
});
