/**
 * Feldera's csv and avro output formats, translated into the sink spec and written through the
 * in-memory writer (no broker): the row itself, the change in the `op` header; every Feldera
 * option without a counterpart refused by name with the reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { felderaConnectorSpec, felderaOutputConnector } from '../../src/dialects/feldera.ts';
import { ErrorCode } from '../../src/errors.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { sum } from '../../src/model/aggregations.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';

const transport = { name: 'kafka_output', config: { 'bootstrap.servers': '127.0.0.1:9', topic: 'sales' } } as const;
const connector = (format: unknown) => ({ config: { transport, format } });

describe('Feldera csv and avro output formats', () => {
  it('translates csv (delimiter) into a csv value in retract mode with the op header', () => {
    assert.deepEqual(felderaConnectorSpec('c', connector({ name: 'csv' })), {
      name: 'c', topic: 'sales', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, mode: 'retract', value: { kind: 'csv', fieldDelimiter: ',' }, changeHeader: 'op',
    });
    assert.deepEqual(felderaConnectorSpec('c', connector({ name: 'csv', config: { delimiter: ';' } })).value, { kind: 'csv', fieldDelimiter: ';' });
  });

  it('translates avro: schema, namespace, registry_urls, subject_name_strategy, skip_schema_id', () => {
    assert.deepEqual(felderaConnectorSpec('c', connector({ name: 'avro' })).value, { kind: 'avro', wireFormat: 'confluent', registry: { subjectNameStrategy: 'record' } });
    const spec = felderaConnectorSpec('c', connector({ name: 'avro', config: { update_format: 'raw', namespace: 'com.books', registry_urls: ['http://r1:8081', 'http://r2:8081'], subject_name_strategy: 'topic_name' } }));
    assert.deepEqual(spec.value, { kind: 'avro', namespace: 'com.books', wireFormat: 'confluent', registry: { url: 'http://r1:8081,http://r2:8081', subjectNameStrategy: 'topic' } });
    assert.equal(spec.changeHeader, 'op');
    assert.equal(spec.mode, 'retract');
    const schema = '{"type":"record","name":"total","fields":[{"name":"total","type":"long"}]}';
    assert.deepEqual(felderaConnectorSpec('c', connector({ name: 'avro', config: { schema, skip_schema_id: true } })).value, { kind: 'avro', schema, wireFormat: 'plain' });
    assert.deepEqual((felderaConnectorSpec('c', connector({ name: 'avro', config: { subject_name_strategy: 'topic_record_name' } })).value as { registry: unknown }).registry, { subjectNameStrategy: 'topic-record' });
  });

  it('writes csv rows with the op header: inserts and deletes of a view', async () => {
    const writer = new MemoryWriter();
    const sales = inputTable(defineSchema({ sale: 'int32', book: 'string', amount: 'int64' }, { primaryKey: ['sale'] }));
    const byBook = sales.aggBy({ total: sum('amount') }, ['book']);
    const sink = felderaOutputConnector(byBook, 'c', connector({ name: 'csv', config: { delimiter: '|' } }) as never, { createWriter: () => writer });
    sales.add([{ sale: 1, book: 'Dune', amount: 10n }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    sales.add([{ sale: 2, book: 'Dune', amount: 5n }]);
    sales.close();
    await sink.done;
    const records = writer.records('sales').map((r) => `${r.headers?.find((h) => h.key === 'op')?.value.toString()} ${r.value?.toString().trimEnd()}`);
    assert.deepEqual(records, ['insert Dune|10', 'delete Dune|10', 'insert Dune|15']);
  });

  const refusals: { name: string; format: unknown; message: RegExp }[] = [
    { name: 'csv buffer_size_records', format: { name: 'csv', config: { buffer_size_records: 100 } }, message: /config\.format\.config\.buffer_size_records is refused: Spillway writes one CSV record per Kafka message; batch messages with the librdkafka properties/ },
    { name: 'a csv delimiter of two characters', format: { name: 'csv', config: { delimiter: ';;' } }, message: /config\.format\.config\.delimiter: one ASCII character/ },
    { name: 'avro debezium', format: { name: 'avro', config: { update_format: 'debezium' } }, message: /config\.format\.config\.update_format is refused: "debezium": Spillway's Avro format has no Debezium envelope/ },
    { name: 'avro confluent_jdbc', format: { name: 'avro', config: { update_format: 'confluent_jdbc' } }, message: /update_format is refused: "confluent_jdbc": Spillway's Avro format has no Confluent JDBC envelope/ },
    { name: 'avro key_mode', format: { name: 'avro', config: { key_mode: 'key_fields' } }, message: /config\.format\.config\.key_mode is refused: the message key is not written/ },
    { name: 'avro cdc_field', format: { name: 'avro', config: { cdc_field: 'op' } }, message: /cdc_field is refused: the change is marked in the op header/ },
    { name: 'avro registry_username', format: { name: 'avro', config: { registry_username: 'u', registry_password: 'hunter2' } }, message: /registry_username is refused: registry authentication is not supported/ },
    { name: 'avro registry_proxy', format: { name: 'avro', config: { registry_proxy: 'http://p' } }, message: /registry_proxy is refused/ },
    { name: 'avro skip_schema_id with registry_urls', format: { name: 'avro', config: { skip_schema_id: true, registry_urls: ['http://r:8081'] } }, message: /registry_urls is refused: with skip_schema_id true the messages carry no schema id/ },
    { name: 'avro skip_schema_id with subject_name_strategy', format: { name: 'avro', config: { skip_schema_id: true, subject_name_strategy: 'topic_name' } }, message: /subject_name_strategy is refused: with skip_schema_id true no schema is registered/ },
    { name: 'avro schema with namespace', format: { name: 'avro', config: { schema: '{"type":"record","name":"r","fields":[]}', namespace: 'a.b' } }, message: /namespace is refused: namespace names the generated schema/ },
    { name: 'an unknown avro option', format: { name: 'avro', config: { compression: 'snappy' } }, message: /config\.format\.config: unknown option\(s\) "compression"/ },
    { name: 'an unknown format', format: { name: 'parquet' }, message: /config\.format\.name/ },
  ];
  for (const { name, format, message } of refusals) {
    it(`refuses ${name}, naming the field`, () => {
      assert.throws(() => felderaConnectorSpec('c', connector(format)), (error: Error & { code?: string }) => {
        assert.equal(error.code, ErrorCode.InvalidConfig);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      });
    });
  }
});
