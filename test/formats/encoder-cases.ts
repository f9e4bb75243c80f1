/**
 * The encoder conformance cases and the golden-file rendering, shared by the suite
 * (test/formats/encoder-conformance.test.ts, which only compares) and by the one command that
 * rewrites golden files (`npm run goldens:update`, scripts/update-goldens.ts). Keeping the
 * writing out of the test run means a comparison can never pass by rewriting its expectation.
 *
 * Adding a format: add one object literal to `cases`, run `npm run goldens:update`, and read the
 * new golden file through before committing it.
 */
import type { Encoder, RowChange } from '../../src/formats/encoder.ts';
import { KeyValueSpec, type KeyValueSpecInput, avroSpec, createEncoder, csvSpec, influxSpec, jsonSpec, keyValueSpecSchema, protobufSpec, rawSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { type Row, type Schema, defineSchema, normalizeRow } from '../../src/model/schema.ts';

export interface EncoderCase {
  /** Unique; also the golden file's name. */
  readonly name: string;
  readonly spec: KeyValueSpecInput;
  readonly schema: Schema;
  /** At least two rows; rows are normalized by the suite. Give a nullable column a null somewhere. */
  readonly rows: readonly Readonly<Record<string, unknown>>[];
  readonly part?: 'key' | 'value';
  /** The same spec naming `column`, which the table lacks; required unless the spec reads no column. */
  readonly missing?: (column: string) => KeyValueSpecInput;
  /** The format writes a null record part when its (single) column is null, as Kafka's serializers do. */
  readonly nullWhenColumnIsNull?: boolean;
}

/** Every column type, nullable where a null is meaningful. */
const everyType = defineSchema({
  flag: 'boolean',
  small: 'int32',
  big: 'int64',
  ratio: 'float64',
  price: { type: 'decimal', precision: 20, scale: 4 },
  label: { type: 'string', nullable: true },
  blob: { type: 'bytes', nullable: true },
  day: 'date',
  at: 'timestamp',
  meta: { type: 'json', nullable: true },
});
const everyTypeRows = [
  {
    flag: true,
    small: -2147483648,
    big: 9007199254740993n,
    ratio: 0.1,
    price: '12345678901234567.8901',
    label: 'plain',
    blob: new Uint8Array([0, 1, 254, 255]),
    day: '2024-02-29',
    at: '2024-05-01T12:00:00.123456789Z',
    meta: { tags: ['a', 'b'], n: 1.5 },
  },
  {
    flag: false,
    small: 0,
    big: -9223372036854775808n,
    ratio: -1e21,
    price: '-0.0001',
    label: 'comma, "quotes"\nand a new line; ünïcödé ✓',
    blob: null,
    day: '1969-12-31',
    at: '1969-12-31T23:59:59.9995Z',
    meta: null,
  },
  { flag: true, small: 7, big: 0n, ratio: 3, price: '0', label: null, blob: new Uint8Array([]), day: '2000-01-01', at: '1970-01-01T00:00:00Z', meta: 'text' },
];

/** The DLI seed's result table: kafkaSink(car_id STRING, car_owner STRING, car_brand STRING, car_speed INT). */
const kafkaSink = defineSchema({ car_id: 'string', car_owner: { type: 'string', nullable: true }, car_brand: 'string', car_speed: { type: 'int32', nullable: true } });
const kafkaSinkRows = [
  { car_id: 'C-001', car_owner: 'Ann Lee', car_brand: 'BMW', car_speed: 120 },
  { car_id: 'C-002', car_owner: 'Smith, "Jr."', car_brand: 'Tesla|Model 3', car_speed: null },
  { car_id: 'C-003', car_owner: null, car_brand: 'BYD', car_speed: -5 },
  { car_id: 'C-004', car_owner: '', car_brand: 'two\r\nlines', car_speed: 0 },
];

/** Feldera's documented example row shape (part, vendor, price). */
const parts = defineSchema({ part: 'int64', vendor: 'int64', price: { type: 'decimal', nullable: true } });
const partsRows = [
  { part: 1n, vendor: 2n, price: '10000' },
  { part: 1n, vendor: 2n, price: '30000' },
  { part: 2n, vendor: 3n, price: null },
];

const bytesAndText = defineSchema({ id: 'int32', body: { type: 'bytes', nullable: true }, line: { type: 'string', nullable: true } });
const bytesAndTextRows = [
  { id: 1, body: new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a]), line: 'héllo\nworld' },
  { id: 2, body: null, line: null },
  { id: 3, body: new Uint8Array([]), line: '' },
];

/** Flux's metric rows: a measurement, a tag, fields of each line-protocol type, and the time. */
const metrics = defineSchema({
  _time: 'timestamp',
  _measurement: 'string',
  host: { type: 'string', nullable: true },
  _value: { type: 'float64', nullable: true },
  count: { type: 'int64', nullable: true },
  ok: 'boolean',
  note: { type: 'string', nullable: true },
});
const metricsRows = [
  { _time: 1_700_000_000_123_456_789n, _measurement: 'cpu load', host: 'web 1,eu=west', _value: 0.1, count: 9007199254740993n, ok: true, note: 'say "hi" C:\\tmp' },
  { _time: 11n, _measurement: 'a,b', host: null, _value: null, count: null, ok: false, note: null },
  { _time: 0n, _measurement: 'm', host: '', _value: 1e21, count: -1n, ok: true, note: 'tab\tnew\nline' },
];

/** A .proto for the DLI seed's cars: the message is nested, so its Confluent message indexes are [0, 0]. */
export const DLI_CAR_PROTO = `syntax = "proto3";
package com.example;

message Fleet {
  message Car {
    string id = 1;
    optional string owner = 2;
    string car_brand = 3;
    optional sint64 speed = 5;
    string source = 6;
  }
  repeated Car cars = 1;
}
`;

export const cases: readonly EncoderCase[] = [
  { name: 'ignore', spec: KeyValueSpec.IGNORE, schema: everyType, rows: everyTypeRows },
  { name: 'simple-string', spec: simpleSpec('label'), schema: everyType, rows: everyTypeRows, missing: simpleSpec, nullWhenColumnIsNull: true },
  { name: 'simple-int64-key', part: 'key', spec: simpleSpec('big'), schema: everyType, rows: everyTypeRows, missing: simpleSpec },
  { name: 'simple-int32', spec: simpleSpec('car_speed'), schema: kafkaSink, rows: kafkaSinkRows, missing: simpleSpec, nullWhenColumnIsNull: true },
  { name: 'json', spec: jsonSpec(), schema: everyType, rows: everyTypeRows, missing: (column) => jsonSpec(['flag', column]) },
  {
    name: 'json-key-columns',
    part: 'key',
    spec: jsonSpec(['big', 'label']),
    schema: everyType,
    rows: everyTypeRows,
    missing: (column) => jsonSpec([column]),
  },
  {
    name: 'json-mapping-nested-no-nulls-epoch-millis',
    spec: jsonSpec(['at', 'label', 'big', 'meta'], { mapping: { label: 'detail.label', big: 'detail.id', at: 'when' }, includeNulls: false, timestamps: 'epoch-millis' }),
    schema: everyType,
    rows: everyTypeRows,
    missing: (column) => jsonSpec(['at'], { mapping: { [column]: 'x' } }),
  },
  {
    name: 'json-exclude-epoch-micros',
    spec: jsonSpec(undefined, { exclude: ['blob', 'meta', 'ratio'], timestamps: 'epoch-micros' }),
    schema: everyType,
    rows: everyTypeRows,
    missing: (column) => jsonSpec(undefined, { exclude: [column] }),
  },
  { name: 'json-epoch-nanos', spec: jsonSpec(['at', 'label'], { timestamps: 'epoch-nanos' }), schema: everyType, rows: everyTypeRows, missing: (column) => jsonSpec([column]) },
  // Flink's 'json.timestamp-format.standard' = 'SQL'.
  { name: 'json-sql-timestamps', spec: jsonSpec(['at', 'label'], { timestamps: 'sql' }), schema: everyType, rows: everyTypeRows, missing: (column) => jsonSpec([column]) },
  {
    // The Feldera seed's connector: "format": { "name": "json", "config": { "update_format": "insert_delete", "array": false } }.
    name: 'json-insert-delete-feldera',
    spec: jsonSpec(undefined, { updateFormat: 'insert_delete', array: false }),
    schema: parts,
    rows: partsRows,
    missing: (column) => jsonSpec([column], { updateFormat: 'insert_delete' }),
  },
  {
    name: 'json-insert-delete-array',
    spec: jsonSpec(undefined, { updateFormat: 'insert_delete', array: true }),
    schema: parts,
    rows: partsRows,
    missing: (column) => jsonSpec([column], { updateFormat: 'insert_delete', array: true }),
  },
  {
    name: 'json-debezium',
    spec: jsonSpec(undefined, { updateFormat: 'debezium' }),
    schema: parts,
    rows: partsRows,
    missing: (column) => jsonSpec([column], { updateFormat: 'debezium' }),
  },
  { name: 'json-raw-array', spec: jsonSpec(['part', 'price'], { array: true }), schema: parts, rows: partsRows, missing: (column) => jsonSpec([column], { array: true }) },
  {
    // The DLI seed's kafkaSink with 'format.type' = 'csv' and the default field delimiter.
    name: 'csv-dli-kafka-sink',
    spec: csvSpec(),
    schema: kafkaSink,
    rows: kafkaSinkRows,
    missing: (column) => csvSpec(['car_id', column]),
  },
  {
    // The same table with 'format.field-delimiter' = '|'.
    name: 'csv-dli-kafka-sink-pipe',
    spec: csvSpec(undefined, { fieldDelimiter: '|' }),
    schema: kafkaSink,
    rows: kafkaSinkRows,
    missing: (column) => csvSpec([column], { fieldDelimiter: '|' }),
  },
  {
    name: 'csv-every-type-header-null-literal',
    spec: csvSpec(undefined, { header: true, nullLiteral: 'NULL', fieldDelimiter: ';', quoteCharacter: "'", lineDelimiter: '\r\n' }),
    schema: everyType,
    rows: everyTypeRows,
    missing: (column) => csvSpec([column]),
  },
  { name: 'raw-bytes', spec: rawSpec('body'), schema: bytesAndText, rows: bytesAndTextRows, missing: rawSpec, nullWhenColumnIsNull: true },
  { name: 'raw-string', spec: rawSpec('line'), schema: bytesAndText, rows: bytesAndTextRows, missing: rawSpec, nullWhenColumnIsNull: true },
  {
    // Flux's kafka.to value: one line-protocol line per row; nulls as Flux writes them.
    name: 'influx-flux-line',
    spec: influxSpec({ tagColumns: ['host'], valueColumns: ['_value', 'count', 'ok', 'note'] }),
    schema: metrics,
    rows: metricsRows,
    missing: (column) => influxSpec({ tagColumns: [column] }),
  },
  {
    // Flux's kafka.to key: the line's XXH64 digest, 8 bytes little-endian.
    name: 'influx-flux-key',
    part: 'key',
    spec: influxSpec({ name: 'cpu', tagColumns: ['host'], valueColumns: ['_value', 'count'], output: 'xxhash64' }),
    schema: metrics,
    rows: metricsRows,
    missing: (column) => influxSpec({ name: 'cpu', valueColumns: [column], output: 'xxhash64' }),
  },
  {
    // Plain Avro binary with the schema derived from the columns (nullable → ["null", T]).
    name: 'avro-every-type',
    spec: avroSpec({ wireFormat: 'plain', name: 'EveryType', namespace: 'spillway.test' }),
    // Avro enforces a decimal's declared precision, and the first row's price has 21 digits.
    schema: { ...everyType, columns: everyType.columns.map((column) => (column.name === 'price' ? { ...column, precision: 21 } : column)) },
    rows: everyTypeRows,
    missing: (column) => avroSpec({ wireFormat: 'plain', columns: ['flag', column] }),
  },
  { name: 'avro-key-columns', part: 'key', spec: avroSpec({ wireFormat: 'plain', columns: ['big', 'label'] }), schema: everyType, rows: everyTypeRows, missing: (column) => avroSpec({ wireFormat: 'plain', columns: [column] }) },
  {
    // The DLI seed's kafkaSink with 'format.type' = 'avro', under a given schema: renamed fields, int → long, a default.
    name: 'avro-dli-kafka-sink-given-schema',
    spec: avroSpec({
      wireFormat: 'plain',
      schema: {
        type: 'record',
        name: 'Car',
        namespace: 'com.example',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'owner', type: ['null', 'string'], default: null },
          { name: 'car_brand', type: 'string' },
          { name: 'speed', type: ['null', 'long'], default: null },
          { name: 'source', type: 'string', default: 'dli' },
        ],
      },
      mapping: { id: 'car_id', owner: 'car_owner', speed: 'car_speed' },
    }),
    schema: kafkaSink,
    rows: kafkaSinkRows,
    missing: (column) => avroSpec({ wireFormat: 'plain', schema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'string' }] }, mapping: { id: column } }),
  },
  {
    // A proto3 message derived from the columns: nullable columns are `optional` fields.
    name: 'protobuf-every-type',
    spec: protobufSpec({ wireFormat: 'plain', name: 'EveryType', package: 'spillway.test' }),
    schema: everyType,
    rows: everyTypeRows,
    missing: (column) => protobufSpec({ wireFormat: 'plain', columns: ['flag', column] }),
  },
  { name: 'protobuf-key-columns', part: 'key', spec: protobufSpec({ wireFormat: 'plain', columns: ['big', 'label'] }), schema: everyType, rows: everyTypeRows, missing: (column) => protobufSpec({ wireFormat: 'plain', columns: [column] }) },
  {
    // The DLI seed's kafkaSink under a given .proto: a nested message, renamed fields, sint64 from an int column, a field left to its default.
    name: 'protobuf-dli-kafka-sink-given-proto',
    spec: protobufSpec({ wireFormat: 'plain', schema: DLI_CAR_PROTO, messageName: 'com.example.Fleet.Car', mapping: { id: 'car_id', owner: 'car_owner', speed: 'car_speed' } }),
    schema: kafkaSink,
    rows: kafkaSinkRows,
    missing: (column) => protobufSpec({ wireFormat: 'plain', schema: DLI_CAR_PROTO, messageName: 'Car', mapping: { id: column } }),
  },
];

export const GOLDEN_DIRECTORY = new URL('../fixtures/golden/', import.meta.url);
/** Debezium's ts_ms is the encoding time; the suite fixes the clock so the bytes are reproducible. */
export const FIXED_NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export function build(testCase: EncoderCase): Encoder {
  return createEncoder(keyValueSpecSchema.parse(testCase.spec), testCase.schema, testCase.part ?? 'value');
}

export function rowsOf(testCase: EncoderCase): Row[] {
  return testCase.rows.map((input, index) => deepFreeze(normalizeRow(testCase.schema, input, `${testCase.name} row ${index}`)));
}

/** The changes the sink would hand this encoder for the first two rows: insert, update, delete. */
export function changesFor(encoder: Encoder, rows: readonly Row[]): RowChange[] {
  const [first, second] = rows as [Row, Row];
  switch (encoder.capabilities.envelope) {
    case 'insert-update-delete':
      return [{ op: 'insert', row: first }, { op: 'update', row: second, before: first }, { op: 'delete', row: second }];
    case 'insert-delete':
      // The sink splits an update into the delete of the old row and the insert of the new.
      return [{ op: 'insert', row: first }, { op: 'delete', row: first }, { op: 'insert', row: second }, { op: 'delete', row: second }];
    case 'none':
      return rows.map((row) => ({ op: 'insert', row }));
  }
}

/** Every message the case produces, each labelled: rows, single changes, and one array of changes. */
export function messagesOf(encoder: Encoder, rows: readonly Row[]): { label: string; bytes: Buffer | null }[] {
  const messages: { label: string; bytes: Buffer | null }[] = rows.map((row, index) => ({ label: `encode(row ${index})`, bytes: encoder.encode(row) }));
  const changes = deepFreeze(changesFor(encoder, rows));
  const describe = (change: RowChange) => `${change.op} row ${rows.indexOf(change.row)}${change.before === undefined ? '' : ` (before: row ${rows.indexOf(change.before)})`}`;
  if (encoder.encodeChange !== undefined) {
    for (const change of changes) messages.push({ label: `encodeChange(${describe(change)})`, bytes: encoder.encodeChange(change) });
  }
  if (encoder.encodeChanges !== undefined) {
    messages.push({ label: `encodeChanges([${changes.map(describe).join(', ')}])`, bytes: encoder.encodeChanges(changes) });
  }
  return messages;
}

/**
 * A golden file holds each message's exact bytes after a header line that names it and gives its
 * length, so binary values and values with line breaks survive and the file still reads as text.
 */
export function goldenOf(testCase: EncoderCase, messages: readonly { label: string; bytes: Buffer | null }[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`# ${testCase.name} (${testCase.part ?? 'value'}): ${JSON.stringify(testCase.spec)}\n`)];
  for (const { label, bytes } of messages) {
    parts.push(Buffer.from(bytes === null ? `== ${label}: null\n` : `== ${label}: ${bytes.length} bytes\n`));
    if (bytes !== null) parts.push(bytes, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** The bytes of a case's golden file, with the clock fixed as the suite fixes it. */
export async function renderGolden(testCase: EncoderCase): Promise<Buffer> {
  const realNow = Date.now;
  Date.now = () => FIXED_NOW;
  try {
    const encoder = build(testCase);
    await encoder.prepare?.({ sink: 'conformance', topic: 'conformance', part: testCase.part ?? 'value' });
    return goldenOf(testCase, messagesOf(encoder, rowsOf(testCase)));
  } finally {
    Date.now = realNow;
  }
}

/** Where a case's golden file lives. */
export function goldenFile(testCase: EncoderCase): URL {
  return new URL(`${testCase.name}.golden`, GOLDEN_DIRECTORY);
}
