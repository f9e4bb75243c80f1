/**
 * Feldera's csv and avro output formats, translated into the sink spec. csv is written through the
 * real broker and read back with kcat: each record is the row's columns and Feldera's weight (1 for
 * an insert, -1 for a delete), ending in a newline, one per message, with no op header. avro keeps
 * the row itself with the change in the `op` header. Every Feldera option without a counterpart is
 * refused by name with the reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { felderaConnectorSpec, felderaOutputConnector } from '../../src/dialects/feldera.ts';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { csvEncoder, csvSpecSchema } from '../../src/formats/csv.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

const transport = { name: 'kafka_output', config: { 'bootstrap.servers': '127.0.0.1:9', topic: 'sales' } } as const;
const connector = (format: unknown) => ({ config: { transport, format } });
const salesSchema = defineSchema({ sale: 'int32', book: 'string', amount: 'int64' }, { primaryKey: ['sale'] });

/** Asserts that `run` throws a SpillwayError with exactly this code, message and details. */
function assertRefused(run: () => unknown, code: string, message: string, details: object): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof SpillwayError);
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    assert.deepEqual(error.details, details);
    return true;
  });
}

describe('Feldera csv and avro output formats', () => {
  it('translates csv (delimiter, buffer_size_records 1) into a weighted csv value in retract mode, without the op header', () => {
    const value = { kind: 'csv', fieldDelimiter: ',', weight: true, lineDelimiter: '\n' };
    assert.deepEqual(felderaConnectorSpec('c', connector({ name: 'csv' })), { name: 'c', topic: 'sales', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, mode: 'retract', value });
    assert.deepEqual(felderaConnectorSpec('c', connector({ name: 'csv', config: { delimiter: ';' } })).value, { ...value, fieldDelimiter: ';' });
    // One record per message is what Spillway writes, so Feldera's buffer_size_records 1 says the same.
    assert.deepEqual(felderaConnectorSpec('c', connector({ name: 'csv', config: { buffer_size_records: 1 } })), felderaConnectorSpec('c', connector({ name: 'csv' })));
  });

  it('refuses csv buffer_size_records other than 1 with the reason', () => {
    assertRefused(
      () => felderaConnectorSpec('c', connector({ name: 'csv', config: { buffer_size_records: 10000 } })),
      ErrorCode.InvalidConfig,
      'connector "c": config.format.config.buffer_size_records is refused: 10000: Feldera packs up to that many CSV records into one Kafka message, and Spillway writes one record per message ' +
        "(Feldera's output with buffer_size_records 1; a reader that splits messages into lines reads the same records); set buffer_size_records to 1 or leave it out",
      { sink: 'c', field: 'config.format.config.buffer_size_records' },
    );
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

  it('writes inserts, an update and a delete to the broker as CSV records with their weights', { timeout: 60_000 }, async () => {
    const topic = randomTopic('feldera-csv');
    // One partition, so the topic keeps the changes' order.
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const sales = inputTable(salesSchema);
    const sink = felderaOutputConnector(sales, 'c', {
      config: { transport: { name: 'kafka_output', config: { 'bootstrap.servers': bootstrapServers(), topic } }, format: { name: 'csv' } },
    });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
    sales.add([{ sale: 1, book: 'Dune', amount: 10n }, { sale: 2, book: 'Emma, a novel', amount: 5n }]);
    await settle();
    sales.add({ sale: 1, book: 'Dune', amount: 12n });
    await settle();
    sales.delete({ sale: 2 });
    sales.close();
    await sink.done;
    const records = await kcatRead(topic);
    // An update is the delete of the old row, then the insert of the new one.
    assert.deepEqual(
      records.map((record) => record.value?.toString('utf8')),
      ['1,Dune,10,1\n', '2,"Emma, a novel",5,1\n', '1,Dune,10,-1\n', '1,Dune,12,1\n', '2,"Emma, a novel",5,-1\n'],
    );
    assert.deepEqual(records.map((record) => record.headers), ['', '', '', '', ''], 'Feldera writes no op header for csv');
  });

  it('quotes the weight when the delimiter could read into it, and refuses what it cannot write', () => {
    const weighted = (options: object, part: 'key' | 'value' = 'value') => csvEncoder(csvSpecSchema.parse({ kind: 'csv', weight: true, ...options }), salesSchema, part);
    const dashed = weighted({ fieldDelimiter: '-' });
    assert.equal(dashed.encodeChangeText?.({ op: 'delete', row: { sale: 1, book: 'Dune', amount: 10n } }), '1-Dune-10-"-1"');
    assert.equal(dashed.encodeText?.({ sale: 1, book: 'Dune', amount: 10n }), '1-Dune-10-1', 'a row on its own is an insert');
    assertRefused(() => weighted({}, 'key'), ErrorCode.InvalidConfig, 'csvSpec for the key sets weight, which only a value can carry (a key names the row, not its change); leave it out of the key spec', {
      field: 'key.weight',
      hint: 'leave weight out of the key spec',
    });
    assertRefused(
      () => weighted({ header: true }),
      ErrorCode.InvalidConfig,
      'csvSpec for the value sets weight with header: true; the weight field has no column to name (Feldera writes no header line); leave header out',
      { field: 'value.header', hint: 'drop header or weight' },
    );
    assertRefused(
      () => weighted({}).encodeChange?.({ op: 'update', row: { sale: 1, book: 'Dune', amount: 12n }, before: { sale: 1, book: 'Dune', amount: 10n } }),
      ErrorCode.EncodeFailed,
      'csvSpec for the value writes a weight of 1 or -1 per record and has no update record; pass the delete of the old row and the insert of the new row as two changes',
      {},
    );
  });

  const refusals: { name: string; format: unknown; message: RegExp }[] = [
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
