/**
 * planSink refuses options it would accept and ignore: per-row options with a value of array:
 * true, changeHeader / dropRetractions / progressTopic where their mode, format or guarantee is
 * not in force, and registry options that another one would silently beat or that no format uses.
 * Each is also shown accepted where it has its effect.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { KeyValueSpec, avroSpec, jsonSpec, protobufSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { defineSchema } from '../../src/model/schema.ts';
import type { Table } from '../../src/model/table.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { planSink } from '../../src/sink/plan.ts';
import { runSink } from '../../src/sink/sink.ts';

const schema = defineSchema({ id: 'int32', t: 'string', p: 'int32', at: 'timestamp', h: 'json' });
const rows = [{ id: 1, t: 'a', p: 0, at: 1_700_000_000_000_000_000n, h: {} }];
const base = { name: 'r', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, value: jsonSpec(['id']) };
const arrays = { ...base, mode: 'retract', value: jsonSpec(['id'], { updateFormat: 'insert_delete', array: true }) };
const changing = () => inputTable(defineSchema({ id: 'int32', v: 'string' }, { primaryKey: ['id'] }));

function refused(spec: object, field: string, message: string, table: Table = newTable(schema, rows)): void {
  assert.throws(() => planSink(table, spec), (error: unknown) => {
    assert.ok(error instanceof SpillwayError);
    assert.equal(error.code, ErrorCode.InvalidConfig);
    assert.equal(error.message, message);
    assert.equal(error.details.sink, 'r');
    assert.equal(error.details.field, field);
    return true;
  });
}

describe('a value of array: true', () => {
  it('is refused with a key spec: an array message has no per-row key', () => {
    refused(
      { ...arrays, key: simpleSpec('id') },
      'key',
      'sink "r": a simple key spec with a value of array: true: an array message holds many rows, so it has no per-row key (it is written with a null key); drop the key spec (KeyValueSpec.IGNORE) or array: true',
    );
  });

  const options: [string, object, string][] = [
    ['topicColumn', { topicColumn: 't' }, 'topic'],
    ['partitionColumn', { partitionColumn: 'p' }, 'partition'],
    ['partitionBy', { partitionBy: ['id'] }, 'partition'],
    ['timestampColumn', { timestampColumn: 'at' }, 'timestamp'],
    ['headerColumns', { headerColumns: ['t'] }, 'headers'],
    ['headersColumn', { headersColumn: 'h' }, 'headers'],
  ];
  for (const [option, extra, part] of options) {
    it(`is refused with ${option}: an array message has no per-row ${part}`, () => {
      refused(
        { ...arrays, ...extra },
        option,
        `sink "r": ${option} with a value of array: true: an array message holds many rows, so it has no per-row ${part}; drop ${option} or array: true`,
      );
    });
  }

  it('is refused with an explicit changeHeader: no header can mark one row of an array', () => {
    refused(
      { ...arrays, value: jsonSpec(['id'], { array: true }), changeHeader: 'op' },
      'changeHeader',
      "sink \"r\": changeHeader names the header that marks each record's change in retract mode with a value format that writes rows only, and the value has array: true, and an array message holds many rows, so no header can mark one row's change; drop changeHeader or array: true",
    );
  });

  it('is written with a key spec of IGNORE, a fixed topic and constant headers', async () => {
    const writer = new MemoryWriter({ partitions: 1 });
    await runSink(planSink(newTable(schema, rows), { ...arrays, key: KeyValueSpec.IGNORE, headers: { source: 'test' } }), writer).done;
    const [record] = writer.records('out');
    assert.equal(record?.key, null);
    assert.equal(record?.value?.toString(), '[{"insert":{"id":1}}]');
    assert.deepEqual(record?.headers?.map((header) => [header.key, header.value.toString()]), [['source', 'test']]);
  });
});

describe('options that one mode, format or guarantee uses', () => {
  it('refuses changeHeader outside retract mode, naming the mode', () => {
    refused(
      { ...base, changeHeader: 'op' },
      'changeHeader',
      "sink \"r\": changeHeader names the header that marks each record's change in retract mode with a value format that writes rows only, and the mode is \"append\" (the default for this table); set mode \"retract\", or drop changeHeader",
    );
    refused(
      { ...base, key: simpleSpec('id'), mode: 'upsert', changeHeader: 'op' },
      'changeHeader',
      "sink \"r\": changeHeader names the header that marks each record's change in retract mode with a value format that writes rows only, and the mode is \"upsert\"; set mode \"retract\", or drop changeHeader",
      changing(),
    );
  });

  it('refuses changeHeader with a value format whose envelope says the change', () => {
    refused(
      { ...base, mode: 'retract', value: jsonSpec(['id'], { updateFormat: 'insert_delete' }), changeHeader: 'op' },
      'changeHeader',
      "sink \"r\": changeHeader names the header that marks each record's change in retract mode with a value format that writes rows only, and the value format \"json\" says the change in the value itself (insert-delete); drop changeHeader",
    );
  });

  it('writes changeHeader in retract mode with a row format, and plans other modes with its default', async () => {
    const writer = new MemoryWriter({ partitions: 1 });
    await runSink(planSink(newTable(schema, rows), { ...base, mode: 'retract', changeHeader: 'op' }), writer).done;
    assert.deepEqual(writer.records('out')[0]?.headers?.map((header) => [header.key, header.value.toString()]), [['op', 'insert']]);
    assert.equal(planSink(changing(), { ...base, key: simpleSpec('id'), mode: 'upsert' }).mode, 'upsert');
  });

  it('refuses dropRetractions outside append mode, naming the mode', () => {
    refused(
      { ...base, key: simpleSpec('id'), dropRetractions: true },
      'dropRetractions',
      'sink "r": dropRetractions drops the updates and deletes that append mode cannot write, and the mode is "upsert" (the default for this table); set mode "append", or drop dropRetractions',
      changing(),
    );
    refused(
      { ...base, mode: 'retract', dropRetractions: true },
      'dropRetractions',
      'sink "r": dropRetractions drops the updates and deletes that append mode cannot write, and the mode is "retract"; set mode "append", or drop dropRetractions',
      changing(),
    );
    assert.equal(planSink(changing(), { ...base, mode: 'append', dropRetractions: true }).mode, 'append');
  });

  it('refuses progressTopic without exactly-once, naming the guarantee', () => {
    for (const delivery of [undefined, 'at-least-once', 'none'] as const) {
      refused(
        { ...base, ...(delivery === undefined ? {} : { delivery }), progressTopic: 'my-progress' },
        'progressTopic',
        `sink "r": progressTopic is where exactly-once delivery commits the source position with the records, and delivery is "${delivery ?? 'at-least-once'}"; set delivery "exactly-once", or drop progressTopic`,
      );
    }
    assert.equal(planSink(newTable(schema, rows), { ...base, delivery: 'exactly-once', progressTopic: 'my-progress' }).spec.progressTopic, 'my-progress');
  });
});

describe('registry options', () => {
  const registry = 'http://127.0.0.1:8081';

  it('refuses registry.subject together with registry.subjectNameStrategy (avro and protobuf)', () => {
    for (const spec of [avroSpec, protobufSpec]) {
      assert.throws(() => planSink(newTable(schema, rows), { ...base, value: spec({ columns: ['id'], registry: { subject: 's', subjectNameStrategy: 'record' } }) }), {
        code: ErrorCode.InvalidConfig,
        message:
          'sink "r" is misconfigured:\n  - value.registry.subjectNameStrategy: `subject` names the subject itself, so `subjectNameStrategy` would name nothing; give one of `subject` or `subjectNameStrategy`',
      });
    }
  });

  it('refuses registry.url together with the Kafka property schema.registry.url', () => {
    for (const spec of [avroSpec, protobufSpec]) {
      refused(
        { ...base, kafka: { ...base.kafka, 'schema.registry.url': registry }, value: spec({ columns: ['id'], registry: { url: registry } }) },
        'value.registry.url',
        'sink "r": the value\'s registry.url and the Kafka property schema.registry.url both name the schema registry; give one of value.registry.url or schema.registry.url',
      );
    }
    refused(
      { ...base, kafka: { ...base.kafka, 'schema.registry.url': registry }, key: avroSpec({ columns: ['id'], registry: { url: registry } }), value: avroSpec({ columns: ['id'] }) },
      'key.registry.url',
      'sink "r": the key\'s registry.url and the Kafka property schema.registry.url both name the schema registry; give one of key.registry.url or schema.registry.url',
    );
  });

  it('refuses schema.registry.url when neither key nor value uses a registry', () => {
    refused(
      { ...base, kafka: { ...base.kafka, 'schema.registry.url': registry } },
      'kafka.schema.registry.url',
      'sink "r": the Kafka property schema.registry.url is used by a key or value of avro or protobuf with wireFormat "confluent" (which registers its schema), and the key is ignore and the value is json; drop schema.registry.url',
    );
    refused(
      { ...base, kafka: { ...base.kafka, 'schema.registry.url': registry }, key: simpleSpec('id'), value: avroSpec({ columns: ['id'], wireFormat: 'plain' }) },
      'kafka.schema.registry.url',
      'sink "r": the Kafka property schema.registry.url is used by a key or value of avro or protobuf with wireFormat "confluent" (which registers its schema), and the key is simple and the value is avro with wireFormat "plain"; drop schema.registry.url',
    );
  });

  it('plans schema.registry.url with a key or value that uses it, and registry.url alone', () => {
    planSink(newTable(schema, rows), { ...base, kafka: { ...base.kafka, 'schema.registry.url': registry }, value: avroSpec({ columns: ['id'] }) });
    planSink(newTable(schema, rows), { ...base, kafka: { ...base.kafka, 'schema.registry.url': registry }, key: protobufSpec({ columns: ['id'] }) });
    planSink(newTable(schema, rows), { ...base, value: avroSpec({ columns: ['id'], registry: { url: registry, subject: 'orders-value' } }) });
  });

  it('refuses a subject named after the topic when a topicColumn routes rows and there is no fixed topic', () => {
    const routed = { name: 'r', kafka: { 'bootstrap.servers': '127.0.0.1:9', 'schema.registry.url': registry }, topicColumn: 't' };
    refused(
      { ...routed, value: avroSpec({ columns: ['id'] }) },
      'value.registry.subjectNameStrategy',
      'sink "r": the value\'s avro subject is named by TopicNameStrategy (subjectNameStrategy "topic", the default) after the topic, and this sink has no fixed topic (topicColumn "t" routes each row); ' +
        'set value.registry.subject, or value.registry.subjectNameStrategy "record" (RecordNameStrategy)',
    );
    refused(
      { ...routed, key: protobufSpec({ columns: ['id'], registry: { subjectNameStrategy: 'topic-record' } }), value: jsonSpec(['id']) },
      'key.registry.subjectNameStrategy',
      'sink "r": the key\'s protobuf subject is named by TopicRecordNameStrategy (subjectNameStrategy "topic-record") after the topic, and this sink has no fixed topic (topicColumn "t" routes each row); ' +
        'set key.registry.subject, or key.registry.subjectNameStrategy "record" (RecordNameStrategy)',
    );
    planSink(newTable(schema, rows), { ...routed, value: avroSpec({ columns: ['id'], registry: { subjectNameStrategy: 'record' } }) });
    planSink(newTable(schema, rows), { ...routed, value: avroSpec({ columns: ['id'], registry: { subject: 'routed-value' } }) });
    planSink(newTable(schema, rows), { ...routed, topic: 'out', value: avroSpec({ columns: ['id'] }) });
  });
});
