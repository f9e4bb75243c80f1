/**
 * avro(...) without a registry: the schema derived for every column type, given schemas checked
 * against the table (and the messages when they do not fit), and plain Avro bytes decoded back
 * with avsc configured independently of the encoder (its own 64-bit long type). The Confluent
 * wire format's registry work is in avro-registry.test.ts; here only what fails before any
 * registry answers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type avro from 'avsc';
import { type AvroEncoder, avroEncoder, avroSpecSchema } from '../../src/formats/avro.ts';
import { avroSpec, createEncoder, keyValueSpecSchema } from '../../src/formats/key-value-spec.ts';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { freePort } from '../../src/broker/embedded-broker.ts';
import { type Row, type Schema, defineSchema, normalizeRow } from '../../src/model/schema.ts';
import { independentAvroType } from '../helpers/avro-decoder.ts';


function decoder(schemaText: string): avro.Type {
  return independentAvroType(JSON.parse(schemaText) as avro.Schema);
}

function build(schema: Schema, options: Parameters<typeof avroSpec>[0] = {}, part: 'key' | 'value' = 'value'): AvroEncoder {
  const spec = keyValueSpecSchema.parse(avroSpec({ wireFormat: 'plain', ...options }));
  if (spec.kind !== 'avro') throw new Error('not an avro spec');
  return avroEncoder(spec, schema, part);
}

function fieldsOf(encoder: AvroEncoder): { name: string; type: unknown }[] {
  return (JSON.parse(encoder.schemaText) as { fields: { name: string; type: unknown }[] }).fields;
}

function decode(encoder: AvroEncoder, row: Row): Record<string, unknown> {
  const bytes = encoder.encode(row);
  assert.ok(bytes !== null);
  return { ...(decoder(encoder.schemaText).fromBuffer(bytes) as Record<string, unknown>) };
}

function assertFails(run: () => unknown, code: ErrorCode, message: string | RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof SpillwayError, `not a SpillwayError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

const everyType = defineSchema({
  flag: 'boolean',
  small: 'int32',
  big: 'int64',
  ratio: 'float64',
  price: { type: 'decimal', precision: 10, scale: 2 },
  name: 'string',
  blob: 'bytes',
  day: 'date',
  atMs: { type: 'timestamp', unit: 'ms' },
  atUs: { type: 'timestamp', unit: 'us' },
  atNs: { type: 'timestamp', unit: 'ns' },
  doc: 'json',
  maybe: { type: 'int64', nullable: true },
  maybeDay: { type: 'date', nullable: true },
});

const everyRow = normalizeRow(
  everyType,
  {
    flag: true,
    small: -2147483648,
    big: -(2n ** 63n),
    ratio: -0.125,
    price: '-12345678.9',
    name: 'Grüße, 世界',
    blob: new Uint8Array([0, 255, 7]),
    day: '1969-12-31',
    atMs: new Date('2024-02-29T12:34:56.789Z'),
    atUs: '1969-12-31T23:59:59.999999Z',
    atNs: 1_709_210_096_123_456_789n,
    doc: { tags: ['a', 'b'], n: 1.5, nested: { ok: true } },
    maybe: 2n ** 63n - 1n,
    maybeDay: null,
  },
  'test row',
);

describe('avroSpec: the schema derived from the table', () => {
  it('maps every column type to its Avro type and logical type, nullable columns to ["null", T] with default null', () => {
    const encoder = build(everyType);
    assert.deepEqual(JSON.parse(encoder.schemaText), {
      type: 'record',
      name: 'Value',
      fields: [
        { name: 'flag', type: 'boolean' },
        { name: 'small', type: 'int' },
        { name: 'big', type: 'long' },
        { name: 'ratio', type: 'double' },
        { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 } },
        { name: 'name', type: 'string' },
        { name: 'blob', type: 'bytes' },
        { name: 'day', type: { type: 'int', logicalType: 'date' } },
        { name: 'atMs', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'atUs', type: { type: 'long', logicalType: 'timestamp-micros' } },
        { name: 'atNs', type: { type: 'long', logicalType: 'timestamp-nanos' } },
        { name: 'doc', type: 'string' },
        { name: 'maybe', type: ['null', 'long'], default: null },
        { name: 'maybeDay', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
      ],
    });
    assert.equal(encoder.format, 'avro');
    assert.deepEqual(encoder.capabilities, {
      ignored: false,
      columns: everyType.columns.map((column) => column.name),
      envelope: 'none',
      arrays: false,
    });
    assert.equal(encoder.recordName, 'Value');
  });

  it('names the record Key for a key, or by the name and namespace options', () => {
    const schema = defineSchema({ id: 'int64' });
    assert.equal((JSON.parse(build(schema, {}, 'key').schemaText) as { name: string }).name, 'Key');
    const named = build(schema, { name: 'Trade', namespace: 'com.example.market' });
    assert.deepEqual(JSON.parse(named.schemaText), {
      type: 'record',
      name: 'Trade',
      namespace: 'com.example.market',
      fields: [{ name: 'id', type: 'long' }],
    });
    assert.equal(named.recordName, 'com.example.market.Trade');
  });

  it('writes the chosen columns in their order, minus excluded ones, with fields renamed by mapping', () => {
    const encoder = build(everyType, { columns: ['name', 'small', 'flag', 'big'], exclude: ['flag'], mapping: { label: 'name' } });
    assert.deepEqual(fieldsOf(encoder).map((field) => field.name), ['label', 'small', 'big']);
    assert.deepEqual(encoder.capabilities.columns, ['name', 'small', 'big']);
    assert.deepEqual(decode(encoder, everyRow), { label: 'Grüße, 世界', small: -2147483648, big: -(2n ** 63n) });
    const includeOnly = build(everyType, { includeOnly: ['day'] });
    assert.deepEqual(includeOnly.capabilities.columns, ['day']);
  });

  it('encodes each value so avsc decodes it back exactly (plain Avro binary)', () => {
    const decoded = decode(build(everyType), everyRow);
    assert.deepEqual(decoded, {
      flag: true,
      small: -2147483648,
      big: -(2n ** 63n),
      ratio: -0.125,
      // -1234567890 unscaled, two's complement big-endian in the fewest bytes.
      price: Buffer.from('b669fd2e', 'hex'),
      name: 'Grüße, 世界',
      blob: Buffer.from([0, 255, 7]),
      day: -1,
      atMs: 1_709_210_096_789n,
      // One microsecond before the epoch: a negative count, not truncated towards zero.
      atUs: -1n,
      atNs: 1_709_210_096_123_456_789n,
      doc: '{"tags":["a","b"],"n":1.5,"nested":{"ok":true}}',
      maybe: 2n ** 63n - 1n,
      maybeDay: null,
    });
    const unscaled = BigInt.asIntN(32, BigInt(`0x${(decoded.price as Buffer).toString('hex')}`));
    assert.equal(unscaled, -1234567890n);
  });

  it('keeps every int64 exact on both sides of the fast-path limit (±2^52)', () => {
    const schema = defineSchema({ n: 'int64', at: { type: 'timestamp', unit: 'ns' } });
    const encoder = build(schema);
    const limits = [0n, 1n, -1n, 2n ** 52n - 1n, 2n ** 52n, -(2n ** 52n) + 1n, -(2n ** 52n), 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
    for (const n of limits) {
      assert.deepEqual(decode(encoder, { n, at: 5n }), { n, at: 5n }, `n = ${n}`);
      assert.deepEqual(decode(encoder, { n: 5n, at: n }), { n: 5n, at: n }, `at = ${n}`);
    }
  });

  it('writes the exact bytes of the Avro spec for a small record', () => {
    const schema = defineSchema({ id: 'int32', name: { type: 'string', nullable: true }, n: 'int64' });
    const encoder = build(schema);
    const rows = [
      normalizeRow(schema, { id: 1, name: 'ab', n: -1n }, 'row'),
      normalizeRow(schema, { id: -64, name: null, n: 64n }, 'row'),
    ];
    // int 1 → zigzag 2; union branch 1 then "ab" (length 2 → 4); long -1 → zigzag 1.
    assert.equal(encoder.encode(rows[0] as Row)?.toString('hex'), '0202046162' + '01');
    // int -64 → zigzag 127; union branch 0 (null); long 64 → zigzag 128 → 0x80 0x01.
    assert.equal(encoder.encode(rows[1] as Row)?.toString('hex'), '7f00' + '8001');
  });

  it('refuses a decimal column without precision, and a column name Avro cannot use, naming the fix', () => {
    assertFails(
      () => build(defineSchema({ amount: 'decimal' })),
      ErrorCode.InvalidConfig,
      "avroSpec for the value: column \"amount\" is a decimal without a precision, which an Avro decimal needs; declare it as { type: 'decimal', precision: 18, scale: 2 } (your digits), or give a schema that maps it to a string field",
    );
    assertFails(
      () => build(defineSchema({ 'car-id': 'string' })),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: column "car-id" is not a valid Avro field name (letters, digits and _, not starting with a digit); rename it with mapping: { "car_id": "car-id" }',
    );
    assert.deepEqual(fieldsOf(build(defineSchema({ 'car-id': 'string' }), { mapping: { car_id: 'car-id' } })), [
      { name: 'car_id', type: 'string' },
    ]);
  });

  it('refuses columns the table lacks, mappings to excluded columns, and conflicting options', () => {
    assertFails(
      () => build(everyType, { columns: ['name', 'nope'] }),
      ErrorCode.UnknownColumn,
      /^avroSpec for the value names "nope", which the table lacks; its columns are: flag, small, big, /,
    );
    assertFails(
      () => build(everyType, { exclude: ['name'], mapping: { label: 'name' } }),
      ErrorCode.InvalidConfig,
      /^avroSpec for the value: mapping sends column "name" to field "label", but `exclude` removes it; the columns written are: flag, small, big/,
    );
    assertFails(
      () => build(everyType, { columns: ['name', 'small'], mapping: { label: 'flag' } }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: mapping sends column "flag" to field "label", but it is not among `columns`; the columns written are: name, small',
    );
    assertFails(() => build(everyType, { columns: ['name'], exclude: ['name'] }), ErrorCode.InvalidConfig, 'avroSpec for the value leaves no columns to write; check columns and exclude');
    assertFails(
      () => build(everyType, { schema: { type: 'record', name: 'R', fields: [{ name: 'other', type: 'int', default: 0 }] } }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: no field of the schema takes a column; map fields to columns with mapping',
    );
    assert.throws(() => avroSpecSchema.parse({ kind: 'avro', columns: ['a'], includeOnly: ['a'] }), /`columns` and `includeOnly` mean the same; give one/);
    assert.throws(
      () => avroSpecSchema.parse({ kind: 'avro', wireFormat: 'plain', registry: { url: 'http://127.0.0.1:1' } }),
      /`registry` is used by wireFormat 'confluent' only/,
    );
    assert.throws(() => avroSpecSchema.parse({ kind: 'avro', name: '1abc' }), /an Avro name/);
    assert.throws(
      () => avroSpecSchema.parse({ kind: 'avro', name: 'X', schema: { type: 'record', name: 'Y', fields: [] } }),
      /a given schema carries its own name and namespace/,
    );
  });
});

describe('avroSpec: a given schema, checked against the table', () => {
  const table = defineSchema({
    id: 'int64',
    symbol: 'string',
    price: { type: 'decimal', precision: 12, scale: 4 },
    at: { type: 'timestamp', unit: 'ns' },
    day: 'date',
    count: 'int32',
    payload: 'bytes',
    note: { type: 'string', nullable: true },
    attrs: 'json',
  });
  const row = normalizeRow(
    table,
    {
      id: 42n,
      symbol: 'ACME',
      price: '-0.5',
      at: -1n, // one nanosecond before the epoch
      day: '2000-03-01',
      count: 7,
      payload: new Uint8Array([1, 2, 3, 4]),
      note: null,
      attrs: { a: 1 },
    },
    'row',
  );

  it('fills fields by name or mapping, converting to the field types the schema declares', () => {
    const schema = {
      type: 'record',
      name: 'Quote',
      namespace: 'com.example',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'ticker', type: { type: 'enum', name: 'Ticker', symbols: ['ACME', 'INITECH'] } },
        { name: 'price', type: { type: 'fixed', name: 'Price', size: 8, logicalType: 'decimal', precision: 12, scale: 6 } },
        { name: 'priceText', type: 'string' },
        { name: 'atMillis', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'atText', type: ['null', 'string'], default: null },
        { name: 'day', type: { type: 'int', logicalType: 'date' } },
        { name: 'count', type: 'long' },
        { name: 'countAsDouble', type: 'double' },
        { name: 'payload', type: { type: 'fixed', name: 'Four', size: 4 } },
        { name: 'note', type: ['null', 'string'], default: null },
        { name: 'attrs', type: 'string' },
        { name: 'source', type: 'string', default: 'spillway' },
        { name: 'id2', type: 'com.example.Ticker', default: 'INITECH' },
      ],
    };
    const encoder = build(table, {
      schema: JSON.stringify(schema),
      mapping: { ticker: 'symbol', priceText: 'price', atMillis: 'at', atText: 'at', countAsDouble: 'count' },
    });
    assert.equal(encoder.schemaText, JSON.stringify(schema));
    assert.equal(encoder.recordName, 'com.example.Quote');
    assert.deepEqual(encoder.capabilities.columns, ['id', 'symbol', 'price', 'price', 'at', 'at', 'day', 'count', 'count', 'payload', 'note', 'attrs']);
    assert.deepEqual(decode(encoder, row), {
      id: 42n,
      ticker: 'ACME',
      // -0.5 at scale 6 is -500000 unscaled, sign-extended to the fixed's 8 bytes.
      price: Buffer.from('fffffffffff85ee0', 'hex'),
      priceText: '-0.5',
      atMillis: -1n,
      atText: '1969-12-31T23:59:59.999999999Z',
      day: 11017,
      count: 7n,
      countAsDouble: 7,
      payload: Buffer.from([1, 2, 3, 4]),
      note: null,
      attrs: '{"a":1}',
      source: 'spillway',
      id2: 'INITECH',
    });
  });

  it('accepts the schema as an object, with named types referenced by name', () => {
    const encoder = build(table, {
      schema: {
        type: 'record',
        name: 'Pair',
        fields: [
          { name: 'symbol', type: { type: 'enum', name: 'Symbol', symbols: ['ACME'] } },
          { name: 'again', type: ['null', 'Symbol'], default: null },
        ],
      },
      mapping: { again: 'symbol' },
    });
    assert.deepEqual(decode(encoder, row), { symbol: 'ACME', again: 'ACME' });
  });

  it('names the field, the column and the fix when a field has no column and no default', () => {
    assertFails(
      () => build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'venue', type: 'string' }] } }),
      ErrorCode.UnknownColumn,
      "avroSpec for the value: field \"venue\" has no column \"venue\" to fill it and no default; map it to a column with mapping: { venue: '<column>' }, or give the field a default. " +
        'The columns are: id, symbol, price, at, day, count, payload, note, attrs',
    );
    assertFails(
      () => build(table, { exclude: ['symbol'], schema: { type: 'record', name: 'R', fields: [{ name: 'symbol', type: 'string' }] } }),
      ErrorCode.UnknownColumn,
      /^avroSpec for the value: field "symbol" has no column "symbol" to fill it \(`exclude` removes it\) and no default;/,
    );
  });

  it('names the field, both types and the fix when a column cannot fill a field', () => {
    assertFails(
      () => build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'symbol', type: 'int' }] } }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: field "symbol" (int) cannot take column "symbol" (string); map a column of type int32 to it, or change the field\'s type',
    );
    assertFails(
      () => build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'at', type: 'long' }] } }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: field "at" (long) cannot take column "at" (timestamp); map a column of type int64 or int32 to it, or change the field\'s type',
    );
    assertFails(
      () => build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 4, scale: 2 } }, { name: 'id', type: 'int' }] } }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: field "id" (int) cannot take column "id" (int64); map a column of type int32 to it, or change the field\'s type',
    );
    assertFails(
      () => build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'id', type: { type: 'array', items: 'long' } }] } }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: field "id" (array) cannot take column "id" (int64); no column type fills this Avro type; change the field\'s type or give it a default and leave it unmapped',
    );
    assertFails(
      () => build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'id', type: ['null', 'long', 'string'] }] } }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: field "id" cannot be filled from column "id": its type [null, long, string] is a union of 2 non-null types; Spillway writes unions of null and one type',
    );
  });

  it('refuses a nullable column for a field that cannot hold null', () => {
    assertFails(
      () => build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'note', type: 'string' }] } }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: column "note" is nullable but field "note" (string) cannot hold null; make the field\'s type ["null", …] with default null, or declare the column not nullable',
    );
  });

  it('refuses schemas that are not JSON, not records, or not valid Avro, and mappings to unknown fields', () => {
    assertFails(() => build(table, { schema: '{"type": "record",' }), ErrorCode.InvalidConfig, /^avroSpec for the value: the schema is not JSON \(.+\); give an Avro record schema as an object or JSON text$/);
    assertFails(
      () => build(table, { schema: '"string"' }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: the schema must be an Avro record ({ "type": "record", "name": …, "fields": […] }), got "string"',
    );
    assertFails(
      () => build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'lnog' }] } }),
      ErrorCode.InvalidConfig,
      /^avroSpec for the value: the Avro schema is invalid: .*lnog/,
    );
    assertFails(
      () => build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] }, mapping: { ident: 'id' } }),
      ErrorCode.InvalidConfig,
      'avroSpec for the value: mapping names field "ident", which the schema lacks; its fields are: id',
    );
  });

  it('fails a row whose value the field cannot hold, naming the field and value', () => {
    const enumEncoder = build(table, {
      schema: { type: 'record', name: 'R', fields: [{ name: 'symbol', type: { type: 'enum', name: 'S', symbols: ['INITECH'] } }] },
    });
    assertFails(() => enumEncoder.encode(row), ErrorCode.EncodeFailed, 'avroSpec for the value: field "symbol" cannot hold "ACME" as {"name":"S","type":"enum","symbols":["INITECH"]}');
    const narrow = build(table, {
      schema: { type: 'record', name: 'R', fields: [{ name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 3, scale: 1 } }] },
    });
    assertFails(
      () => narrow.encode({ ...row, price: '12.25' }),
      ErrorCode.EncodeFailed,
      'field "price" has scale 1 but got 12.25, which has 2 fraction digits; round the value or widen the scale',
    );
    assertFails(
      () => narrow.encode({ ...row, price: '1234.5' }),
      ErrorCode.EncodeFailed,
      'field "price" has precision 3 (scale 1) but got 1234.5, which needs 5 digits; widen the precision',
    );
    assert.equal(narrow.encode({ ...row, price: '-12.50' })?.toString('hex'), '0283'); // -125 unscaled: length 1, then 0x83
    assert.equal(narrow.encode({ ...row, price: '12.8' })?.toString('hex'), '040080'); // 128 needs a second byte for its sign bit
    assert.equal(narrow.encode({ ...row, price: '-12.8' })?.toString('hex'), '0280'); // -128 fits one byte
    const fixed = build(table, { schema: { type: 'record', name: 'R', fields: [{ name: 'payload', type: { type: 'fixed', name: 'F', size: 2 } }] } });
    assertFails(() => fixed.encode(row), ErrorCode.EncodeFailed, 'avroSpec for the value: field "payload" cannot hold 4 bytes as {"name":"F","type":"fixed","size":2}');
  });
});

describe('avroSpec: the Confluent wire format before the registry', () => {
  const schema = defineSchema({ id: 'int64' });
  const row = normalizeRow(schema, { id: 1n }, 'row');

  it('is the default, and refuses to encode before prepare() has the schema id', () => {
    const encoder = createEncoder(keyValueSpecSchema.parse(avroSpec()), schema, 'value');
    assertFails(
      () => encoder.encode(row),
      ErrorCode.InvalidState,
      "avroSpec for the value writes the Confluent wire format, whose schema id comes from the registry in prepare(); the sink calls it when it starts (call it yourself when using the encoder directly), or use wireFormat: 'plain'",
    );
  });

  it('fails prepare() without a registry URL, naming the sink and the ways to give one', async () => {
    const encoder = createEncoder(keyValueSpecSchema.parse(avroSpec()), schema, 'value');
    await assert.rejects(encoder.prepare?.({ sink: 'orders', topic: 'orders', part: 'value' }) ?? Promise.resolve(), {
      name: 'SpillwayError',
      code: ErrorCode.InvalidConfig,
      message:
        "sink \"orders\": avroSpec for the value writes the Confluent wire format, which needs a schema registry; set the Kafka property schema.registry.url (or registry.url in the spec), or use wireFormat: 'plain'",
    });
  });

  it('fails prepare() naming the sink, the subject and the URL when no registry answers', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const encoder = createEncoder(keyValueSpecSchema.parse(avroSpec()), schema, 'key');
    await assert.rejects(encoder.prepare?.({ sink: 'orders', topic: 'orders', part: 'key', schemaRegistryUrl: url }) ?? Promise.resolve(), (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.SchemaRegistry);
      assert.match(
        error.message,
        new RegExp(
          `^sink "orders": avroSpec for the key schema under subject "orders-key" \\(registry ${url}\\): registering a schema under subject "orders-key": ` +
            `no schema registry answered at ${url} \\(.*ECONNREFUSED.*\\); check the URL and that the registry is running$`,
        ),
      );
      return true;
    });
  });

  it('plain Avro needs no prepare and no registry', async () => {
    const encoder = createEncoder(keyValueSpecSchema.parse(avroSpec({ wireFormat: 'plain' })), schema, 'value');
    await encoder.prepare?.({ sink: 's', topic: 't', part: 'value' });
    assert.equal(encoder.encode(row)?.toString('hex'), '02');
  });
});

describe('schema.registry.url as a Kafka property', () => {
  it('is accepted as a Spillway-level property and not passed to the producer', () => {
    const { settings, warnings } = parseKafkaProperties(
      { 'bootstrap.servers': '127.0.0.1:9092', 'schema.registry.url': 'http://127.0.0.1:8081,https://registry-2:8081' },
      { sink: 's' },
    );
    assert.deepEqual(warnings, []);
    assert.ok(!JSON.stringify(settings).includes('8081'));
  });

  it('must be http(s) URLs', () => {
    assert.throws(
      () => parseKafkaProperties({ 'bootstrap.servers': '127.0.0.1:9092', 'schema.registry.url': 'registry:8081' }, { sink: 's' }),
      (error: unknown) =>
        error instanceof SpillwayError &&
        error.message === 'sink "s" has invalid Kafka properties:\n  - `schema.registry.url` = "registry:8081": "registry:8081" is not an http:// or https:// URL',
    );
  });
});
