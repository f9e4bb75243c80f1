/**
 * The JSON encoder: each option (columns, exclude, mapping, nesting, nulls, timestamps), the three
 * change envelopes and arrays, the Feldera seed's connector, and every error a spec or row can meet.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { felderaConnectorSpec } from '../../src/dialects/feldera.ts';
import { ErrorCode } from '../../src/errors.ts';
import type { Encoder, RowChange } from '../../src/formats/encoder.ts';
import { jsonEncoder, jsonObjectWriters, jsonSpecSchema } from '../../src/formats/json.ts';
import fc from 'fast-check';
import { createEncoder, jsonSpec, keyValueSpecSchema } from '../../src/formats/key-value-spec.ts';
import { type ColumnDeclaration, type Row, type Schema, defineSchema, normalizeRow } from '../../src/model/schema.ts';

type JsonOptions = Parameters<typeof jsonSpec>[1];

const schema = defineSchema({
  id: 'int64',
  name: { type: 'string', nullable: true },
  price: { type: 'decimal', nullable: true },
  ratio: { type: 'float64', nullable: true },
  at: { type: 'timestamp', nullable: true },
});

function encoderFor(options: JsonOptions = {}, columns?: string[], on: Schema = schema, part: 'key' | 'value' = 'value'): Encoder {
  return createEncoder(keyValueSpecSchema.parse(jsonSpec(columns, options)), on, part);
}

function row(values: Readonly<Record<string, unknown>>, on: Schema = schema): Row {
  return normalizeRow(on, { name: null, price: null, ratio: null, at: null, ...values }, 'test row');
}

/** encodeChange / encodeChanges of an encoder that must have them. */
function changeOf(encoder: Encoder): (change: RowChange) => Buffer {
  assert.equal(typeof encoder.encodeChange, 'function');
  return (change) => encoder.encodeChange?.(change) as Buffer;
}
function changesOf(encoder: Encoder): (changes: readonly RowChange[]) => Buffer {
  assert.equal(typeof encoder.encodeChanges, 'function');
  return (changes) => encoder.encodeChanges?.(changes) as Buffer;
}

function text(bytes: Buffer | null): string {
  assert.ok(bytes !== null);
  return bytes.toString('utf8');
}

const sample = row({ id: 9007199254740993n, name: 'Ann "A" \u2713', price: '100000000000000000000.01', ratio: 0.25, at: '2024-05-01T12:00:00.000001Z' });

describe('json rows', () => {
  it('writes every column in table order, int64 and decimals with their exact digits', () => {
    assert.equal(
      text(encoderFor().encode(sample)),
      '{"id":9007199254740993,"name":"Ann \\"A\\" \u2713","price":100000000000000000000.01,"ratio":0.25,"at":"2024-05-01T12:00:00.000001Z"}',
    );
  });

  it('writes int64 values at and beyond 2^53 with their exact digits, in both writers', () => {
    const limit = 2n ** 53n - 1n;
    const values = [limit, -limit, limit + 1n, -limit - 1n, limit + 2n, -limit - 2n, 2n ** 63n - 1n, -(2n ** 63n)];
    const writers = jsonObjectWriters({ kind: 'json', columns: ['id'] }, schema);
    for (const id of values) {
      const expected = `{"id":${id}}`;
      assert.equal(text(encoderFor({}, ['id']).encode(row({ id }))), expected);
      assert.equal(writers.stringify?.(row({ id })), expected);
      assert.equal(writers.concatenate(row({ id })), expected);
    }
  });

  it('writes the chosen columns in the order given', () => {
    assert.equal(text(encoderFor({}, ['ratio', 'id']).encode(sample)), '{"ratio":0.25,"id":9007199254740993}');
  });

  it('leaves out excluded columns', () => {
    assert.equal(text(encoderFor({ exclude: ['name', 'at', 'price'] }).encode(sample)), '{"id":9007199254740993,"ratio":0.25}');
  });

  it('writes nulls as null by default, and leaves them out with includeNulls: false', () => {
    const sparse = row({ id: 1n, ratio: 1.5 });
    assert.equal(text(encoderFor().encode(sparse)), '{"id":1,"name":null,"price":null,"ratio":1.5,"at":null}');
    assert.equal(text(encoderFor({ includeNulls: false }).encode(sparse)), '{"id":1,"ratio":1.5}');
    assert.equal(text(encoderFor({ includeNulls: false }, ['name', 'at']).encode(sparse)), '{}');
  });

  it('refuses NaN and infinities, naming the column', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      assert.throws(() => encoderFor().encode(row({ id: 1n, ratio: value })), {
        code: ErrorCode.EncodeFailed,
        message: `column "ratio" holds ${String(value)}, which JSON cannot represent; filter it out or map it to null`,
      });
    }
  });

  it('writes every type: booleans, dates, bytes as base64, JSON values as they are', () => {
    const wide = defineSchema({ flag: 'boolean', day: 'date', blob: 'bytes', meta: 'json', small: 'int32' });
    const encoder = createEncoder(keyValueSpecSchema.parse(jsonSpec()), wide, 'value');
    const bytes = encoder.encode(normalizeRow(wide, { flag: false, day: '2024-02-29', blob: Buffer.from('hi!'), meta: { a: [1, 'x', null] }, small: -7 }, 'row'));
    assert.equal(text(bytes), '{"flag":false,"day":"2024-02-29","blob":"aGkh","meta":{"a":[1,"x",null]},"small":-7}');
  });
});

describe('json timestamps', () => {
  const at = (iso: string) => row({ id: 1n, at: iso });
  const cases: [JsonOptions, string, string][] = [
    [{}, '"2024-05-01T12:00:00.123456789Z"', '"1969-12-31T23:59:59.9995Z"'],
    [{ timestamps: 'iso' }, '"2024-05-01T12:00:00.123456789Z"', '"1969-12-31T23:59:59.9995Z"'],
    [{ timestamps: 'sql' }, '"2024-05-01 12:00:00.123456789"', '"1969-12-31 23:59:59.9995"'],
    [{ timestamps: 'epoch-millis' }, '1714564800123', '-1'],
    [{ timestamps: 'epoch-micros' }, '1714564800123456', '-500'],
    [{ timestamps: 'epoch-nanos' }, '1714564800123456789', '-500000'],
  ];
  for (const [options, recent, before1970] of cases) {
    it(`writes ${options?.timestamps ?? 'default (iso)'}, rounding toward the past`, () => {
      const encoder = encoderFor(options, ['at']);
      assert.equal(text(encoder.encode(at('2024-05-01T12:00:00.123456789Z'))), `{"at":${recent}}`);
      assert.equal(text(encoder.encode(at('1969-12-31T23:59:59.9995Z'))), `{"at":${before1970}}`);
    });
  }
});

describe('json names: mapping and nesting', () => {
  it('renames columns with mapping', () => {
    assert.equal(text(encoderFor({ mapping: { id: 'ID', ratio: 'r' } }, ['id', 'ratio']).encode(sample)), '{"ID":9007199254740993,"r":0.25}');
  });

  it('nests dotted names, grouping fields of one object where the object first appears', () => {
    const encoder = encoderFor({ mapping: { id: 'key.id', ratio: 'value', name: 'key.owner.name', price: 'key.price' } }, ['id', 'ratio', 'name', 'price']);
    assert.equal(
      text(encoder.encode(sample)),
      '{"key":{"id":9007199254740993,"owner":{"name":"Ann \\"A\\" \u2713"},"price":100000000000000000000.01},"value":0.25}',
    );
  });

  it('nests column names that hold the delimiter, even without mapping', () => {
    const dotted = defineSchema({ 'a.b': 'int32', 'a.c': 'int32' });
    const encoder = createEncoder(keyValueSpecSchema.parse(jsonSpec()), dotted, 'value');
    assert.equal(text(encoder.encode(normalizeRow(dotted, { 'a.b': 1, 'a.c': 2 }, 'row'))), '{"a":{"b":1,"c":2}}');
  });

  it('uses another nestedDelimiter, or none', () => {
    assert.equal(text(encoderFor({ mapping: { id: 'k/id', ratio: 'k.r' }, nestedDelimiter: '/' }, ['id', 'ratio']).encode(sample)), '{"k":{"id":9007199254740993},"k.r":0.25}');
    assert.equal(text(encoderFor({ mapping: { id: 'k.id' }, nestedDelimiter: false }, ['id']).encode(sample)), '{"k.id":9007199254740993}');
  });

  it('leaves null fields out of nested objects, keeping an emptied object as {}', () => {
    const encoder = encoderFor({ mapping: { name: 'who.name', price: 'who.price' }, includeNulls: false }, ['id', 'name', 'price']);
    assert.equal(text(encoder.encode(row({ id: 1n, name: 'x' }))), '{"id":1,"who":{"name":"x"}}');
    assert.equal(text(encoder.encode(row({ id: 1n }))), '{"id":1,"who":{}}');
    assert.equal(text(encoderFor({ mapping: { name: 'who.name' } }, ['name', 'id']).encode(row({ id: 1n }))), '{"who":{"name":null},"id":1}');
  });

  it('keeps the names of columns that Object.prototype also has', () => {
    const declarations: Record<string, ColumnDeclaration> = Object.fromEntries([['constructor', 'int32'], ['toString', 'int32']]);
    const awkward = defineSchema(declarations);
    const encoder = createEncoder(keyValueSpecSchema.parse(jsonSpec(undefined, { mapping: { toString: 'text' } })), awkward, 'value');
    assert.equal(text(encoder.encode(normalizeRow(awkward, { constructor: 1, toString: 2 }, 'row'))), '{"constructor":1,"text":2}');
  });

  it('escapes output names as JSON strings', () => {
    assert.equal(text(encoderFor({ mapping: { id: 'say "hi"\n' } }, ['id']).encode(sample)), '{"say \\"hi\\"\\n":9007199254740993}');
  });
});

  it('reads and writes column names that look like code as plain text (the compiled writer quotes them)', () => {
    const names = ['"]); throw new Error("spliced"); //', "'\\u2028\u2028`${x}`", 'v0', 'R', 'E'];
    const declarations: Record<string, ColumnDeclaration> = Object.fromEntries(names.map((name) => [name, { type: 'string', nullable: true }]));
    const awkward = defineSchema(declarations);
    const values = Object.fromEntries(names.map((name, index) => [name, index === 1 ? null : `${name}\u0007\ud800`]));
    const row = normalizeRow(awkward, values, 'row');
    const expected = (skipNulls: boolean) =>
      JSON.stringify(Object.fromEntries(Object.entries(values).filter(([, value]) => !skipNulls || value !== null)));
    for (const includeNulls of [true, false]) {
      const encoder = createEncoder(keyValueSpecSchema.parse(jsonSpec(undefined, { includeNulls, nestedDelimiter: false })), awkward, 'value');
      assert.equal(text(encoder.encode(row)), expected(!includeNulls));
    }
  });

describe('json envelopes', () => {
  const before = row({ id: 1n, name: 'old' });
  const after = row({ id: 1n, name: 'new' });
  const compact: JsonOptions = { includeNulls: false };

  it('raw writes the row and has no envelope and no encodeChange', () => {
    const encoder = encoderFor({ ...compact, updateFormat: 'raw' });
    assert.deepEqual(encoder.capabilities, { ignored: false, columns: ['id', 'name', 'price', 'ratio', 'at'], envelope: 'none', arrays: false });
    assert.deepEqual(['encodeChange' in encoder, 'encodeChanges' in encoder], [false, false]);
    assert.equal(text(encoder.encode(before)), '{"id":1,"name":"old"}');
  });

  it('insert_delete writes Feldera data change events; a row alone is an insert', () => {
    const encoder = encoderFor({ ...compact, updateFormat: 'insert_delete' });
    assert.equal(encoder.capabilities.envelope, 'insert-delete');
    const change = changeOf(encoder);
    assert.equal(text(change({ op: 'insert', row: after })), '{"insert":{"id":1,"name":"new"}}');
    assert.equal(text(change({ op: 'delete', row: before })), '{"delete":{"id":1,"name":"old"}}');
    assert.equal(text(encoder.encode(after)), '{"insert":{"id":1,"name":"new"}}');
  });

  it('insert_delete refuses a single update: it has no update event', () => {
    const encoder = encoderFor({ updateFormat: 'insert_delete' });
    assert.throws(() => encoder.encodeChange?.({ op: 'update', row: after, before }), {
      code: ErrorCode.EncodeFailed,
      message: 'jsonSpec for the value has updateFormat "insert_delete", which has no update event; pass the delete of the old row and the insert of the new row as two changes',
    });
  });

  it('debezium writes before, after, op and ts_ms (the time of encoding)', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_714_564_800_123 });
    const encoder = encoderFor({ ...compact, updateFormat: 'debezium' }, ['id', 'name']);
    assert.equal(encoder.capabilities.envelope, 'insert-update-delete');
    const change = changeOf(encoder);
    assert.equal(text(change({ op: 'insert', row: after })), '{"before":null,"after":{"id":1,"name":"new"},"op":"c","ts_ms":1714564800123}');
    assert.equal(text(change({ op: 'update', row: after, before })), '{"before":{"id":1,"name":"old"},"after":{"id":1,"name":"new"},"op":"u","ts_ms":1714564800123}');
    assert.equal(text(change({ op: 'update', row: after })), '{"before":null,"after":{"id":1,"name":"new"},"op":"u","ts_ms":1714564800123}');
    assert.equal(text(change({ op: 'delete', row: before })), '{"before":{"id":1,"name":"old"},"after":null,"op":"d","ts_ms":1714564800123}');
    assert.equal(text(encoder.encode(after)), '{"before":null,"after":{"id":1,"name":"new"},"op":"c","ts_ms":1714564800123}');
    t.mock.timers.tick(5);
    assert.match(text(change({ op: 'insert', row: after })), /"ts_ms":1714564800128}$/);
  });

  // A decimal column (null here, so left out) sends the encoder down its concatenating writer: both writers, one text.
  for (const columns of [['id', 'name'], ['id', 'name', 'price']]) {
    it(`array: true writes many events as one JSON array, an update as its delete then its insert (columns ${columns.join(', ')})`, () => {
      const encoder = encoderFor({ ...compact, updateFormat: 'insert_delete', array: true }, columns);
      assert.equal(encoder.capabilities.arrays, true);
      const changes = changesOf(encoder);
      assert.equal(
        text(changes([{ op: 'insert', row: before }, { op: 'update', row: after, before }, { op: 'delete', row: after }])),
        '[{"insert":{"id":1,"name":"old"}},{"delete":{"id":1,"name":"old"}},{"insert":{"id":1,"name":"new"}},{"delete":{"id":1,"name":"new"}}]',
      );
      assert.equal(text(changes([])), '[]');
      assert.throws(() => changes([{ op: 'update', row: after }]), {
        code: ErrorCode.EncodeFailed,
        message: 'jsonSpec for the value got an update without the row before it, so it cannot write the delete of the old row; pass `before`',
      });
    });
  }

  it('array with raw rows writes inserts as an array of rows and refuses removals', () => {
    const encoder = encoderFor({ ...compact, array: true }, ['id']);
    assert.deepEqual([encoder.capabilities.envelope, encoder.capabilities.arrays], ['none', true]);
    const changes = changesOf(encoder);
    assert.equal(text(changes([{ op: 'insert', row: before }, { op: 'insert', row: after }])), '[{"id":1},{"id":1}]');
    assert.throws(() => changes([{ op: 'delete', row: before }]), {
      code: ErrorCode.EncodeFailed,
      message: 'jsonSpec for the value has updateFormat "raw", which writes rows and cannot express a delete; use updateFormat "insert_delete" or "debezium"',
    });
    assert.throws(() => changes([{ op: 'update', row: after, before }]), { code: ErrorCode.EncodeFailed, message: /cannot express an update/ });
  });

  it('writes what Feldera documents for the seed connector (update_format insert_delete, array false)', () => {
    const spec = felderaConnectorSpec('total-sales', {
      description: 'Kafka output connector for total sales from the book fair',
      config: {
        transport: { name: 'kafka_output', config: { 'bootstrap.servers': 'example.com:9092', 'auto.offset.reset': 'earliest', topic: 'total-sales' } },
        format: { name: 'json', config: { update_format: 'insert_delete', array: false } },
      },
    });
    const parts = defineSchema({ part: 'int64', vendor: 'int64', price: 'int64' });
    const encoder = createEncoder(keyValueSpecSchema.parse(spec.value), parts, 'value');
    assert.deepEqual([encoder.capabilities.envelope, encoder.capabilities.arrays], ['insert-delete', false]);
    const of = (part: number, vendor: number, price: number) => normalizeRow(parts, { part, vendor, price }, 'row');
    const messages = [
      encoder.encodeChange?.({ op: 'delete', row: of(1, 2, 10000) }),
      encoder.encodeChange?.({ op: 'insert', row: of(1, 2, 30000) }),
      encoder.encodeChange?.({ op: 'insert', row: of(2, 3, 34000) }),
    ].map((bytes) => bytes?.toString('utf8'));
    // Feldera's docs (formats/json, "Encoding multiple changes"): one event per line, each an object with one key.
    const documented = ['{"delete": {"part": 1, "vendor": 2, "price": 10000}}', '{"insert": {"part": 1, "vendor": 2, "price": 30000}}', '{"insert": {"part": 2, "vendor": 3, "price": 34000}}'];
    assert.deepEqual(messages.map((message) => JSON.parse(message ?? 'null') as unknown), documented.map((event) => JSON.parse(event) as unknown));
    // And the bytes are Feldera's own compact serialization of each event.
    assert.deepEqual(messages, documented.map((event) => event.replaceAll(': ', ':').replaceAll(', ', ',')));
  });
});

describe('json spec errors', () => {
  const refuses = (options: JsonOptions, columns: string[] | undefined, expected: { code: string; message: string | RegExp }, part: 'key' | 'value' = 'value') =>
    assert.throws(() => encoderFor(options, columns, schema, part), expected);

  it('refuses columns the table lacks, in columns, exclude and mapping, listing the columns', () => {
    const listing = 'its columns are: id, name, price, ratio, at';
    refuses({}, ['id', 'nmae'], { code: ErrorCode.UnknownColumn, message: `jsonSpec for the value names "nmae", which the table lacks; ${listing}` });
    refuses({ exclude: ['nmae'] }, undefined, { code: ErrorCode.UnknownColumn, message: `jsonSpec for the value option exclude names "nmae", which the table lacks; ${listing}` });
    refuses({ mapping: { nmae: 'n' } }, undefined, { code: ErrorCode.UnknownColumn, message: `jsonSpec for the value option mapping names "nmae", which the table lacks; ${listing}` });
  });

  it('refuses columns together with exclude, excluding everything, and a column listed twice', () => {
    refuses({ exclude: ['name'] }, ['id'], { code: ErrorCode.InvalidConfig, message: 'jsonSpec for the value sets both columns and exclude; give the columns to write, or the columns to leave out, not both' });
    refuses({ exclude: ['id', 'name', 'price', 'ratio', 'at'] }, undefined, { code: ErrorCode.InvalidConfig, message: 'jsonSpec for the value excludes every column; leave at least one to write' });
    refuses({}, ['id', 'id'], { code: ErrorCode.InvalidConfig, message: 'jsonSpec for the value lists column "id" twice; list each column once' });
  });

  it('refuses a mapping of a column it does not write', () => {
    refuses({ mapping: { name: 'n' } }, ['id'], { code: ErrorCode.InvalidConfig, message: 'jsonSpec for the value maps "name", which it does not write; add them to columns or remove them from mapping' });
  });

  it('refuses two columns under one name, or one name both a field and an object', () => {
    refuses({ mapping: { name: 'id' } }, ['id', 'name'], {
      code: ErrorCode.InvalidConfig,
      message: 'jsonSpec for the value writes column "name" as "id", which collides with column "id" (written as "id"); give one of them another name with mapping',
    });
    refuses({ mapping: { name: 'id.name' } }, ['id', 'name'], {
      code: ErrorCode.InvalidConfig,
      message: 'jsonSpec for the value writes column "name" as "id.name", which collides with column "id" (written as "id"); give one of them another name with mapping',
    });
    refuses({ mapping: { name: 'a.b', id: 'a' } }, ['name', 'id'], {
      code: ErrorCode.InvalidConfig,
      message: 'jsonSpec for the value writes column "id" as "a", which collides with the object "a" of column "name" (written as "a.b"); give one of them another name with mapping',
    });
  });

  it('refuses a nested name with an empty part', () => {
    for (const name of ['a..b', '.a', 'a.']) {
      refuses({ mapping: { id: name } }, ['id'], {
        code: ErrorCode.InvalidConfig,
        message: `jsonSpec for the value writes column "id" as "${name}", which has an empty part between "." separators; give it a name such as "a.b"`,
      });
    }
  });

  it('refuses an envelope or array on a key, and debezium with array', () => {
    refuses({ updateFormat: 'insert_delete' }, ['id'], {
      code: ErrorCode.InvalidConfig,
      message: 'jsonSpec for the key sets updateFormat "insert_delete", which only a value can carry (a key names the row); leave it out of the key spec',
    }, 'key');
    refuses({ array: true }, ['id'], { code: ErrorCode.InvalidConfig, message: /^jsonSpec for the key sets array: true, which only a value can carry/ }, 'key');
    refuses({ updateFormat: 'debezium', array: true }, undefined, {
      code: ErrorCode.InvalidConfig,
      message: 'jsonSpec for the value sets updateFormat "debezium" with array: true; a Debezium event is one message, so leave array out (or use updateFormat "insert_delete" for arrays)',
    });
  });

  it('validates option names and values with its zod schema', () => {
    assert.equal(jsonSpecSchema.safeParse({ kind: 'json', colums: ['id'] }).success, false);
    assert.equal(jsonSpecSchema.safeParse({ kind: 'json', updateFormat: 'upsert' }).success, false);
    assert.equal(jsonSpecSchema.safeParse({ kind: 'json', timestamps: 'epoch-seconds' }).success, false);
    assert.equal(jsonSpecSchema.safeParse({ kind: 'json', mapping: { id: '' } }).success, false);
    assert.equal(jsonSpecSchema.safeParse({ kind: 'json', nestedDelimiter: true }).success, false);
    assert.equal(jsonSpecSchema.safeParse({ kind: 'json', columns: [] }).success, false);
  });

  it('jsonSpec() builds the spec; a spec reads the same before and after validation', () => {
    const spec = jsonSpec(['id'], { updateFormat: 'insert_delete', includeNulls: false });
    assert.deepEqual(spec, { kind: 'json', columns: ['id'], updateFormat: 'insert_delete', includeNulls: false });
    assert.deepEqual(keyValueSpecSchema.parse(spec), spec);
    assert.deepEqual(jsonSpec(), { kind: 'json' });
    // The encoder also takes a spec straight from the schema's output type.
    assert.equal(text(jsonEncoder({ kind: 'json', columns: ['id'] }, schema, 'value').encode(sample)), '{"id":9007199254740993}');
  });
});

describe('json writers', () => {
  // Every type a JSON.stringify writer takes (decimals always go through concatenation).
  const typed = defineSchema({
    flag: { type: 'boolean', nullable: true },
    n: { type: 'int32', nullable: true },
    big: { type: 'int64', nullable: true },
    ratio: { type: 'float64', nullable: true },
    label: { type: 'string', nullable: true },
    day: { type: 'date', nullable: true },
    blob: { type: 'bytes', nullable: true },
    at: { type: 'timestamp', nullable: true },
    doc: { type: 'json', nullable: true },
  });
  const nullable = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null });
  const rowArbitrary = fc.record({
    flag: nullable(fc.boolean()),
    n: nullable(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
    big: nullable(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
    ratio: nullable(fc.double({ noNaN: true, noDefaultInfinity: true })),
    label: nullable(fc.string({ unit: 'binary' })),
    day: nullable(fc.date({ min: new Date('1000-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10))),
    blob: nullable(fc.uint8Array({ maxLength: 8 })),
    at: nullable(fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n })),
    doc: nullable(fc.jsonValue().map((value) => JSON.parse(JSON.stringify(value)) as unknown)),
  });
  const optionsArbitrary = fc.record({
    includeNulls: fc.boolean(),
    timestamps: fc.constantFrom('iso', 'epoch-millis', 'epoch-micros', 'epoch-nanos'),
    nested: fc.boolean(),
  });

  it('write the same text by JSON.stringify as by concatenation, for every type and option', () => {
    fc.assert(
      fc.property(rowArbitrary, optionsArbitrary, (values, options) => {
        const spec = jsonSpecSchema.parse({
          kind: 'json',
          includeNulls: options.includeNulls,
          timestamps: options.timestamps,
          ...(options.nested ? { mapping: { big: 'ids.big', n: 'ids.n', label: 'text.label' } } : {}),
        });
        const writers = jsonObjectWriters(spec, typed);
        assert.ok(writers.stringify !== undefined);
        const row = normalizeRow(typed, values, 'row');
        assert.equal(writers.stringify(row), writers.concatenate(row));
      }),
      { numRuns: 500 },
    );
  });

  it('concatenate where JSON.stringify would not be exact: decimals, and names that are array indexes', () => {
    const withDecimal = defineSchema({ id: 'int64', price: 'decimal' });
    assert.equal(jsonObjectWriters(jsonSpecSchema.parse({ kind: 'json' }), withDecimal).stringify, undefined);
    const indexNamed = defineSchema({ b: 'int32', 7: 'int32' });
    const spec = jsonSpecSchema.parse({ kind: 'json', columns: ['b', '7'] });
    assert.equal(jsonObjectWriters(spec, indexNamed).stringify, undefined);
    // Field order is the columns' order, which JSON.stringify would have changed (index keys first).
    assert.equal(text(createEncoder(spec, indexNamed, 'value').encode(normalizeRow(indexNamed, { b: 1, 7: 2 }, 'row'))), '{"b":1,"7":2}');
  });
});

describe('json texts of many rows (encodeTexts)', () => {
  // Every type but json, whose arrays could hold text that looks like a boundary between rows.
  const flat = defineSchema({
    flag: { type: 'boolean', nullable: true },
    big: { type: 'int64', nullable: true },
    ratio: { type: 'float64', nullable: true },
    label: { type: 'string', nullable: true },
    blob: { type: 'bytes', nullable: true },
    at: { type: 'timestamp', nullable: true },
  });
  const nullable = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null });
  const rowArbitrary = fc.record({
    flag: nullable(fc.boolean()),
    big: nullable(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
    ratio: nullable(fc.double({ noNaN: true, noDefaultInfinity: true })),
    // Text that looks like a boundary, and any text at all.
    label: nullable(fc.oneof(fc.constantFrom('},{"', '"},{"label":"', '}]},{"x'), fc.string({ unit: 'binary' }))),
    blob: nullable(fc.uint8Array({ maxLength: 8 })),
    at: nullable(fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n })),
  });

  it('cuts one text into exactly the rows\' own texts, for every type, option and envelope', (t) => {
    // Debezium's ts_ms is the time of encoding.
    t.mock.method(Date, 'now', () => 1_700_000_000_000);
    fc.assert(
      fc.property(fc.array(rowArbitrary, { maxLength: 12 }), fc.boolean(), fc.boolean(), fc.constantFrom('raw', 'insert_delete', 'debezium'), (inputs, includeNulls, nested, updateFormat) => {
        const spec = keyValueSpecSchema.parse(jsonSpec(undefined, { includeNulls, updateFormat, ...(nested ? { mapping: { big: 'ids.big', label: 'ids.label' } } : {}) }));
        const encoder = createEncoder(spec, flat, 'value');
        const rows = inputs.map((values) => normalizeRow(flat, values, 'row'));
        const texts = rows.map((one) => encoder.encodeText?.(one) as string);
        assert.ok(encoder.encodeTexts !== undefined);
        const batch = encoder.encodeTexts(rows);
        // Only a row written as `{}` (every field null and left out) can keep a batch from being cut.
        if (!texts.slice(1).includes('{}')) assert.ok(batch !== undefined, `refused ${JSON.stringify(texts)}`);
        if (batch === undefined) return;
        assert.deepEqual(rows.map((_row, index) => batch.text.slice(batch.starts[index], batch.ends[index])), texts);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a batch it cannot cut, and is absent where a json column could hold arrays', () => {
    const encoder = encoderFor({ includeNulls: false }, ['name']);
    const named = row({ id: 1n, name: 'a' });
    const unnamed = row({ id: 2n });
    assert.equal(encoder.encodeTexts?.([named, unnamed]), undefined);
    assert.deepEqual(encoder.encodeTexts?.([unnamed, named])?.text, '[{},{"name":"a"}]');
    const withJson = defineSchema({ id: 'int32', doc: 'json' });
    assert.ok(!('encodeTexts' in createEncoder(keyValueSpecSchema.parse(jsonSpec()), withJson, 'value')));
  });

  it('throws as encodeText does for a row it cannot write', () => {
    const encoder = createEncoder(keyValueSpecSchema.parse(jsonSpec()), flat, 'value');
    const rows = [{ ratio: 1 }, { ratio: Number.NaN }].map((values) => normalizeRow(flat, { flag: null, big: null, label: null, blob: null, at: null, ...values }, 'row'));
    assert.throws(() => encoder.encodeTexts?.(rows), { message: 'column "ratio" holds NaN, which JSON cannot represent; filter it out or map it to null' });
  });
});

