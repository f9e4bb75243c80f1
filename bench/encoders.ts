/**
 * Encoders alone, no broker: rows/s per format over the 6-column table of
 * bench/sensor-table.ts (the suite's scenario 1), each beside a peer measured in the same run where one exists —
 * JSON against `JSON.stringify` of the same rows as plain objects, CSV against csv-stringify,
 * protobuf against @bufbuild/protobuf.
 * Prints rows/s, MB/s of output, the ratio to the peer, and the process's peak RSS.
 *   node bench/encoders.ts [rows]
 *
 * To add a format, add one entry to `entries`: a spec (and `via` when it writes changes), or a
 * `custom` function for a peer; `peer` names the entry it is compared with.
 */
import { create, createFileRegistry, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import avro from 'avsc';
import { stringify } from 'csv-stringify/sync';
import type { Encoder, RowChange } from '../src/formats/encoder.ts';
import { type KeyValueSpecInput, avroSpec, createEncoder, csvSpec, influxSpec, jsonSpec, keyValueSpecSchema, protobufSpec, rawSpec, simpleSpec } from '../src/formats/key-value-spec.ts';
import { type Row, normalizeRow } from '../src/model/schema.ts';
import { sensorRows, sensorSchema } from './sensor-table.ts';

const rowCount = Number(process.argv[2] ?? 200_000);
const ARRAY_BATCH = 100;
const ROUNDS = 5;

const schema = sensorSchema;
const columns = schema.columns.map((column) => column.name);
const rows: Row[] = sensorRows(rowCount).map((row, i) => normalizeRow(schema, row, `row ${i}`));
/** The same rows as plain JSON-able objects (the id as a number), for the JSON.stringify peer. */
const plainObjects = rows.map((row) => ({ ...row, id: Number(row.id) }));

type Output = Buffer | string | null;

interface BenchEntry {
  readonly name: string;
  /** A spec, compiled with createEncoder against the bench schema. */
  readonly spec?: KeyValueSpecInput;
  /** How rows reach the encoder: `encode(row)` (default), one change each, or arrays of ARRAY_BATCH changes. */
  readonly via?: 'encode' | 'encodeChange' | 'encodeChanges';
  /** A peer that is not a Spillway encoder: returns a function writing row i. */
  readonly custom?: () => (index: number) => Output;
  /** The entry this one is compared with (ratio = this / peer). */
  readonly peer?: string;
}

const csvStringifyOptions = { delimiter: ',', quote: '"', record_delimiter: '' } as const;

const entries: readonly BenchEntry[] = [
  { name: 'JSON.stringify (peer)', custom: () => (i) => Buffer.from(JSON.stringify(plainObjects[i]), 'utf8') },
  { name: 'json', spec: jsonSpec(), peer: 'JSON.stringify (peer)' },
  { name: 'json insert_delete', spec: jsonSpec(undefined, { updateFormat: 'insert_delete' }), via: 'encodeChange', peer: 'JSON.stringify (peer)' },
  { name: 'json debezium', spec: jsonSpec(undefined, { updateFormat: 'debezium' }), via: 'encodeChange', peer: 'JSON.stringify (peer)' },
  { name: `json insert_delete array (${ARRAY_BATCH}/message)`, spec: jsonSpec(undefined, { updateFormat: 'insert_delete', array: true }), via: 'encodeChanges', peer: 'JSON.stringify (peer)' },
  {
    name: 'json nested, no nulls, epoch-millis',
    spec: jsonSpec(undefined, { mapping: { a: 'reading.a', b: 'reading.b' }, includeNulls: false, timestamps: 'epoch-millis' }),
    peer: 'JSON.stringify (peer)',
  },
  {
    name: 'csv-stringify (peer)',
    custom: () => (i) => {
      const row = rows[i] as Row;
      return Buffer.from(stringify([columns.map((column) => row[column])], csvStringifyOptions), 'utf8');
    },
  },
  { name: 'csv', spec: csvSpec(), peer: 'csv-stringify (peer)' },
  { name: 'csv | with header', spec: csvSpec(undefined, { fieldDelimiter: '|', header: true }), peer: 'csv-stringify (peer)' },
  { name: 'raw (string column)', spec: rawSpec('note') },
  { name: 'simple (string column)', spec: simpleSpec('key') },
  { name: 'influx line (1 tag, 4 fields)', spec: influxSpec({ name: 'sensor', tagColumns: ['key'], valueColumns: ['a', 'b', 'n', 'note'], timeColumn: null }) },
  {
    // avsc's own writer on objects already shaped for it (longs as numbers), with the schema avroSpec derives.
    name: 'avsc toBuffer (peer)',
    custom: () => {
      const { schemaText } = createEncoder(keyValueSpecSchema.parse(avroSpec({ wireFormat: 'plain' })), schema, 'value') as Encoder & { schemaText: string };
      const type = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema);
      return (i) => type.toBuffer(plainObjects[i]);
    },
  },
  { name: 'avro (plain binary)', spec: avroSpec({ wireFormat: 'plain' }), peer: 'avsc toBuffer (peer)' },
  {
    // @bufbuild/protobuf writing the message protobufSpec derives, from a descriptor built by hand
    // (it cannot read .proto text at run time), on the rows as they are (int64 as bigint).
    name: '@bufbuild/protobuf toBinary (peer)',
    custom: () => {
      const types = { int64: 3, string: 9, float64: 1, int32: 5 } as const;
      const file = create(FileDescriptorProtoSchema, {
        name: 'value.proto',
        syntax: 'proto3',
        messageType: [{ name: 'Value', field: schema.columns.map((column, i) => ({ name: column.name, jsonName: column.name, number: i + 1, label: 1, type: types[column.type as keyof typeof types] })) }],
      });
      const message = createFileRegistry(file, () => undefined).getMessage('Value');
      if (message === undefined) throw new Error('no message Value');
      return (i) => Buffer.from(toBinary(message, create(message, rows[i] as never)));
    },
  },
  { name: 'protobuf (plain binary)', spec: protobufSpec({ wireFormat: 'plain' }), peer: '@bufbuild/protobuf toBinary (peer)' },
  {
    name: 'influx xxhash64 key (Flux)',
    spec: influxSpec({ name: 'sensor', tagColumns: ['key'], valueColumns: ['a', 'b', 'n', 'note'], timeColumn: null, output: 'xxhash64' }),
  },
];

function writerFor(entry: BenchEntry): (index: number) => Output {
  if (entry.custom !== undefined) return entry.custom();
  if (entry.spec === undefined) throw new Error(`entry "${entry.name}" needs a spec or a custom function`);
  const encoder: Encoder = createEncoder(keyValueSpecSchema.parse(entry.spec), schema, 'value');
  switch (entry.via ?? 'encode') {
    case 'encode':
      return (i) => encoder.encode(rows[i] as Row);
    case 'encodeChange':
      return (i) => encoder.encodeChange?.({ op: i % 2 === 0 ? 'insert' : 'delete', row: rows[i] as Row }) ?? null;
    case 'encodeChanges': {
      const changes: RowChange[] = rows.map((row, i) => ({ op: i % 2 === 0 ? 'insert' : 'delete', row }));
      // Called for every row index; writes one message per ARRAY_BATCH rows.
      return (i) => (i % ARRAY_BATCH === 0 ? (encoder.encodeChanges?.(changes.slice(i, i + ARRAY_BATCH)) ?? null) : null);
    }
  }
}

/** One timed pass over every row; returns elapsed milliseconds and bytes written. */
function pass(write: (index: number) => Output): { milliseconds: number; bytes: number } {
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < rowCount; i++) bytes += write(i)?.length ?? 0;
  return { milliseconds: performance.now() - started, bytes };
}

const writers = entries.map((entry) => {
  if (entry.peer !== undefined && !entries.some((other) => other.name === entry.peer)) throw new Error(`entry "${entry.name}" compares with "${entry.peer}", which is not an entry`);
  const write = writerFor(entry);
  for (let i = 0; i < Math.min(rowCount, 20_000); i++) write(i); // warm up
  return { entry, write, best: Number.POSITIVE_INFINITY, bytes: 0 };
});
// Rounds interleave the entries, so a slow spell on a shared machine hits an entry and its peer alike.
for (let round = 0; round < ROUNDS; round++) {
  for (const writer of writers) {
    const { milliseconds, bytes } = pass(writer.write);
    writer.best = Math.min(writer.best, milliseconds);
    writer.bytes = bytes;
  }
}

const rowsPerSecond = (best: number) => rowCount / (best / 1000);
console.log(`rows: ${rowCount} (6 columns: int64, string, float64, float64, int32, string); best of ${ROUNDS} interleaved rounds`);
for (const { entry, best, bytes } of writers) {
  const peer = writers.find((writer) => writer.entry.name === entry.peer);
  const ratio = peer === undefined ? '' : `  ratio to ${entry.peer}: ${(peer.best / best).toFixed(2)}`;
  const megabytesPerSecond = bytes / 1024 / 1024 / (best / 1000);
  console.log(`${entry.name.padEnd(42)} ${String(Math.round(rowsPerSecond(best))).padStart(10)} rows/s ${megabytesPerSecond.toFixed(1).padStart(7)} MB/s${ratio}`);
}
// maxRSS is the peak resident set size of this process, in KiB.
console.log(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
