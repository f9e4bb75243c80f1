/**
 * protobufSpec, checked against Google's protoc (test/helpers/protoc.ts): for a derived type,
 * protoc encodes the expected message from text format and the bytes must be Spillway's exactly;
 * for given .proto files protoc decodes what Spillway wrote. Also the message-index arrays of
 * Confluent's wire format, and every refusal with its message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { createEncoder, keyValueSpecSchema, protobufSpec } from '../../src/formats/key-value-spec.ts';
import { type ProtobufEncoder, encodeMessageIndexes } from '../../src/formats/protobuf.ts';
import { type Schema, defineSchema, normalizeRow } from '../../src/model/schema.ts';
import { protocDecode, protocEncode } from '../helpers/protoc.ts';

function encoder(options: Parameters<typeof protobufSpec>[0], schema: Schema, part: 'key' | 'value' = 'value'): ProtobufEncoder {
  return createEncoder(keyValueSpecSchema.parse(protobufSpec(options)), schema, part) as ProtobufEncoder;
}

function refuses(build: () => unknown, code: string, ...fragments: string[]): void {
  assert.throws(build, (error: unknown) => {
    assert.ok(error instanceof SpillwayError, `a SpillwayError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), `"${error.message}" should say "${fragment}"`);
    return true;
  });
}

function specRefused(options: Parameters<typeof protobufSpec>[0], fragment: string): void {
  const result = keyValueSpecSchema.safeParse(protobufSpec(options));
  assert.equal(result.success, false);
  assert.ok(result.error?.issues.some((issue) => issue.message.includes(fragment)), JSON.stringify(result.error?.issues));
}

const trades = defineSchema({
  id: 'int64',
  symbol: 'string',
  price: { type: 'decimal', precision: 12, scale: 2 },
  at: { type: 'timestamp', unit: 'us' },
  day: 'date',
  venue: { type: 'string', nullable: true },
  qty: 'int32',
  ratio: 'float64',
  ok: 'boolean',
  raw: { type: 'bytes', nullable: true },
  meta: { type: 'json', nullable: true },
});

const tradeRows = [
  { id: 1n, symbol: 'ACME', price: '10.50', at: '2024-05-01T09:30:00.000001Z', day: '2024-05-01', venue: 'XNYS', qty: -7, ratio: 0.1, ok: true, raw: new Uint8Array([0, 255]), meta: { a: [1] } },
  { id: 2n ** 62n, symbol: 'Ünïcode "q"', price: '-0.01', at: '1969-12-31T23:59:59.9999995Z', day: '1969-12-31', venue: null, qty: 0, ratio: -0, ok: false, raw: null, meta: null },
  { id: -(2n ** 63n), symbol: '', price: '0', at: '1970-01-01T00:00:00Z', day: '1970-01-01', venue: '', qty: 2147483647, ratio: 1e300, ok: false, raw: new Uint8Array([]), meta: 'text' },
];

describe('protobufSpec: a message type derived from the columns', () => {
  it('derives a proto3 message, one field per column in column order, nullable columns optional', () => {
    const encoded = encoder({ wireFormat: 'plain', name: 'Trade', package: 'com.example' }, trades);
    assert.equal(
      encoded.schemaText,
      [
        'syntax = "proto3";',
        '',
        'package com.example;',
        '',
        'message Trade {',
        '  int64 id = 1;',
        '  string symbol = 2;',
        '  string price = 3;',
        '  int64 at = 4;',
        '  int32 day = 5;',
        '  optional string venue = 6;',
        '  int32 qty = 7;',
        '  double ratio = 8;',
        '  bool ok = 9;',
        '  optional bytes raw = 10;',
        '  optional string meta = 11;',
        '}',
        '',
      ].join('\n'),
    );
    assert.equal(encoded.messageName, 'com.example.Trade');
    assert.deepEqual(encoded.messageIndexes, [0]);
    assert.deepEqual(encoder({ wireFormat: 'plain' }, trades, 'key').messageName, 'Key');
    assert.deepEqual(encoder({ wireFormat: 'plain' }, trades).messageName, 'Value');
  });

  it('writes exactly the bytes protoc writes for the same message', async () => {
    const encoded = encoder({ wireFormat: 'plain', name: 'Trade', package: 'com.example' }, trades);
    // The messages in protoc's text format, written from the rows by hand: microseconds for `at`
    // (floored before the epoch), days for `day`, JSON text for `meta`; nulls are absent fields,
    // an empty `venue` is present because the field is optional.
    const expected = [
      'id: 1 symbol: "ACME" price: "10.50" at: 1714555800000001 day: 19844 venue: "XNYS" qty: -7 ratio: 0.1 ok: true raw: "\\000\\377" meta: "{\\"a\\":[1]}"',
      'id: 4611686018427387904 symbol: "\\303\\234n\\303\\257code \\"q\\"" price: "-0.01" at: -1 day: -1 ratio: -0',
      'id: -9223372036854775808 price: "0" venue: "" qty: 2147483647 ratio: 1e300 raw: "" meta: "\\"text\\""',
    ];
    for (const [index, input] of tradeRows.entries()) {
      const ours = encoded.encode(normalizeRow(trades, input, `row ${index}`));
      const theirs = await protocEncode(encoded.schemaText, 'com.example.Trade', expected[index] as string);
      assert.equal(ours?.toString('hex'), theirs.toString('hex'), `row ${index}`);
    }
  });

  it('renames fields with mapping and writes only the chosen columns', async () => {
    const encoded = encoder({ wireFormat: 'plain', columns: ['symbol', 'id'], mapping: { ticker: 'symbol' } }, trades, 'key');
    assert.match(encoded.schemaText, /string ticker = 1;\n {2}int64 id = 2;/);
    const bytes = encoded.encode(normalizeRow(trades, tradeRows[0] as Record<string, unknown>, 'row')) as Buffer;
    assert.equal(await protocDecode(encoded.schemaText, 'Key', bytes), 'ticker: "ACME"\nid: 1\n');
    assert.deepEqual(encoded.capabilities.columns, ['symbol', 'id']);
    assert.deepEqual(encoder({ wireFormat: 'plain', exclude: ['raw', 'meta', 'venue'] }, trades).capabilities.columns, ['id', 'symbol', 'price', 'at', 'day', 'qty', 'ratio', 'ok']);
  });
});

const GIVEN = `syntax = "proto3";
package shop;

enum Side {
  SIDE_UNSPECIFIED = 0;
  BUY = 1;
  SELL = 2;
}

message Header { string source = 1; }

message Order {
  message Line {
    uint64 sku = 1;
    sint32 count = 2;
    Side side = 3;
    optional string note = 4;
    fixed64 at_ms = 5;
    float weight = 6;
    bytes tag = 7;
    string when = 8;
  }
  Header header = 1;
  repeated Line lines = 2;
}
`;

const lines = defineSchema({
  sku: 'int64',
  count: 'int32',
  side: 'string',
  note: { type: 'string', nullable: true },
  at: { type: 'timestamp', unit: 'ms' },
  weight: 'float64',
  tag: 'string',
  day: 'date',
});

describe('protobufSpec: a given .proto', () => {
  it('fills a nested message from columns (uint64, sint32, enum by name, fixed64 millis, float, string as bytes, date as text)', async () => {
    const encoded = encoder({ wireFormat: 'plain', schema: GIVEN, messageName: 'shop.Order.Line', mapping: { at_ms: 'at', when: 'day' } }, lines);
    assert.equal(encoded.messageName, 'shop.Order.Line');
    assert.deepEqual(encoded.messageIndexes, [1, 0]);
    const bytes = encoded.encode(
      normalizeRow(lines, { sku: 18n, count: -3, side: 'SELL', note: null, at: '2024-05-01T00:00:00.001Z', weight: 0.5, tag: 'é', day: '2024-05-01' }, 'row'),
    ) as Buffer;
    assert.equal(
      await protocDecode(GIVEN, 'shop.Order.Line', bytes),
      'sku: 18\ncount: -3\nside: SELL\nat_ms: 1714521600001\nweight: 0.5\ntag: "\\303\\251"\nwhen: "2024-05-01"\n',
    );
  });

  it('takes an enum from an int32 column, and leaves unfilled proto3 fields to their defaults', async () => {
    const schema = defineSchema({ side: 'int32' });
    const encoded = encoder({ wireFormat: 'plain', schema: GIVEN, messageName: 'Line' }, schema);
    const bytes = encoded.encode(normalizeRow(schema, { side: 1 }, 'row')) as Buffer;
    assert.equal(await protocDecode(GIVEN, 'shop.Order.Line', bytes), 'side: BUY\n');
  });

  it('fills a google.protobuf.Timestamp field from a timestamp column (seconds floored, nanos in [0, 1e9))', async () => {
    const proto = 'syntax = "proto3";\npackage ev;\nimport "google/protobuf/timestamp.proto";\nmessage Event {\n  string id = 1;\n  google.protobuf.Timestamp at = 2;\n  google.protobuf.Timestamp seen = 3;\n}\n';
    const schema = defineSchema({ id: 'string', at: 'timestamp', seen: { type: 'timestamp', nullable: true } });
    const encoded = encoder({ wireFormat: 'plain', schema: proto }, schema);
    assert.equal(encoded.messageName, 'ev.Event');
    const bytes = encoded.encode(normalizeRow(schema, { id: 'e1', at: '1969-12-31T23:59:59.9999995Z', seen: null }, 'row')) as Buffer;
    assert.equal(await protocDecode(proto, 'ev.Event', bytes), 'id: "e1"\nat {\n  seconds: -1\n  nanos: 999999500\n}\n');
    const later = encoded.encode(normalizeRow(schema, { id: 'e2', at: '2024-05-01T00:00:00.000000001Z', seen: '1970-01-01T00:00:00Z' }, 'row')) as Buffer;
    assert.equal(await protocDecode(proto, 'ev.Event', later), 'id: "e2"\nat {\n  seconds: 1714521600\n  nanos: 1\n}\nseen {\n}\n');
    refuses(() => encoder({ wireFormat: 'plain', schema: proto }, defineSchema({ at: 'int64' })), ErrorCode.InvalidConfig, 'field "at" (google.protobuf.Timestamp) cannot take column "at" (int64); map a column of type timestamp to it');
    refuses(() => encoder({ wireFormat: 'plain', schema: 'syntax = "proto3"; import "other/thing.proto"; message M { int32 a = 1; }' }, schema), ErrorCode.InvalidConfig, 'the .proto imports "other/thing.proto", which Spillway cannot read');
    refuses(() => encoder({ wireFormat: 'plain', schema: proto, messageName: 'Timestamp' }, schema), ErrorCode.InvalidConfig, 'messageName "Timestamp" is not a message of the .proto; its messages are: ev.Event');
  });

  it('writes the first top-level message when messageName is absent', () => {
    const encoded = encoder({ wireFormat: 'plain', schema: GIVEN }, defineSchema({ source: 'string' }));
    assert.equal(encoded.messageName, 'shop.Header');
    assert.deepEqual(encoded.messageIndexes, [0]);
  });

  it('fills a proto2 required field and refuses a message whose required field has no column', async () => {
    const proto2 = 'syntax = "proto2";\nmessage M { required int32 a = 1; optional string b = 2; }\n';
    const schema = defineSchema({ a: 'int32', b: { type: 'string', nullable: true } });
    const encoded = encoder({ wireFormat: 'plain', schema: proto2 }, schema);
    assert.equal(await protocDecode(proto2, 'M', encoded.encode(normalizeRow(schema, { a: 0, b: null }, 'row')) as Buffer), 'a: 0\n');
    refuses(() => encoder({ wireFormat: 'plain', schema: proto2 }, defineSchema({ b: 'string' })), ErrorCode.UnknownColumn, 'required field "a" of M has no column "a"', 'mapping: { a:', 'The columns are: b');
    refuses(
      () => encoder({ wireFormat: 'plain', schema: proto2 }, defineSchema({ a: { type: 'int32', nullable: true } })),
      ErrorCode.InvalidConfig,
      'column "a" is nullable but field "a" (int32) is required, so a null would make an invalid message',
    );
  });
});

describe('protobufSpec: Confluent message indexes', () => {
  it('encodes the index array as Confluent does: [0] is one zero byte, else zigzag varints of the count and each index', () => {
    assert.equal(encodeMessageIndexes([0]).toString('hex'), '00');
    assert.equal(encodeMessageIndexes([1]).toString('hex'), '0202');
    assert.equal(encodeMessageIndexes([1, 0]).toString('hex'), '040200');
    assert.equal(encodeMessageIndexes([0, 0]).toString('hex'), '040000');
    assert.equal(encodeMessageIndexes([70]).toString('hex'), '028c01');
  });

  it('refuses to write Confluent framing before prepare, and prepare without a registry', async () => {
    const encoded = encoder({}, trades);
    refuses(() => encoded.encode(normalizeRow(trades, tradeRows[0] as Record<string, unknown>, 'row')), ErrorCode.InvalidState, 'prepare()', "wireFormat: 'plain'");
    await assert.rejects(encoded.prepare?.({ sink: 's1', topic: 't', part: 'value' }) ?? Promise.resolve(), (error: unknown) => {
      assert.ok(error instanceof SpillwayError && error.code === ErrorCode.InvalidConfig);
      assert.match(error.message, /sink "s1": .*needs a schema registry; set the Kafka property schema.registry.url/);
      return true;
    });
  });
});

describe('protobufSpec: refusals', () => {
  const small = defineSchema({ a: 'int32', b: { type: 'string', nullable: true }, list: 'json' });

  it('refuses contradicting options in the spec itself', () => {
    specRefused({ columns: ['a'], includeOnly: ['a'] }, '`columns` and `includeOnly` mean the same');
    specRefused({ wireFormat: 'plain', registry: { url: 'http://x' } }, "`registry` is used by wireFormat 'confluent' only");
    specRefused({ schema: GIVEN, name: 'X' }, 'a given schema carries its own');
    specRefused({ messageName: 'X' }, '`messageName` picks a message of a given `schema`');
    specRefused({ name: '1bad' }, 'a protobuf name');
  });

  it('refuses a .proto that does not parse, or defines no message', () => {
    refuses(() => encoder({ wireFormat: 'plain', schema: 'message {' }, small), ErrorCode.InvalidConfig, 'protobufSpec for the value: the .proto does not parse');
    refuses(() => encoder({ wireFormat: 'plain', schema: 'syntax = "proto3"; enum E { X = 0; }' }, small), ErrorCode.InvalidConfig, 'the .proto defines no message');
  });

  it('refuses a messageName that names no message, or several', () => {
    refuses(() => encoder({ wireFormat: 'plain', schema: GIVEN, messageName: 'Nope' }, small), ErrorCode.InvalidConfig, 'messageName "Nope" is not a message', 'shop.Header, shop.Order, shop.Order.Line');
    const twice = 'syntax = "proto3"; message A { message X { int32 a = 1; } } message B { message X { int32 a = 1; } }';
    refuses(() => encoder({ wireFormat: 'plain', schema: twice, messageName: 'X' }, small), ErrorCode.InvalidConfig, 'names several messages; give the full name', 'A, A.X, B, B.X');
  });

  it('refuses mappings to fields or columns that are not there', () => {
    refuses(() => encoder({ wireFormat: 'plain', schema: GIVEN, mapping: { nope: 'a' } }, small), ErrorCode.InvalidConfig, 'mapping names field "nope", which message shop.Header lacks; its fields are: source');
    refuses(() => encoder({ wireFormat: 'plain', mapping: { x: 'a' }, exclude: ['a'] }, small), ErrorCode.InvalidConfig, 'mapping sends column "a" to field "x", but `exclude` removes it');
    refuses(() => encoder({ wireFormat: 'plain', mapping: { x: 'a' }, columns: ['b'] }, small), ErrorCode.InvalidConfig, 'it is not among `columns`');
    refuses(() => encoder({ wireFormat: 'plain', mapping: { x: 'zz' } }, small), ErrorCode.UnknownColumn, '"zz"', 'its columns are: a, b, list');
    refuses(() => encoder({ wireFormat: 'plain', exclude: ['zz'] }, small), ErrorCode.UnknownColumn, '(exclude) names "zz"');
  });

  it('refuses repeated, map and message fields that a column would fill', () => {
    const schema = defineSchema({ lines: 'json', header: 'string' });
    refuses(() => encoder({ wireFormat: 'plain', schema: GIVEN, messageName: 'Order', columns: ['lines'] }, schema), ErrorCode.InvalidConfig, 'field "lines" of shop.Order is repeated, which no column fills');
    refuses(() => encoder({ wireFormat: 'plain', schema: GIVEN, messageName: 'Order', columns: ['header'] }, schema), ErrorCode.InvalidConfig, 'field "header" of shop.Order is a message (Header)');
    const withMap = 'syntax = "proto3"; message M { map<string, string> tags = 1; }';
    refuses(() => encoder({ wireFormat: 'plain', schema: withMap }, defineSchema({ tags: 'json' })), ErrorCode.InvalidConfig, 'field "tags" of M is a map');
  });

  it('refuses a column of the wrong type, naming the types that fit', () => {
    refuses(
      () => encoder({ wireFormat: 'plain', schema: GIVEN, messageName: 'Line' }, defineSchema({ sku: 'string' })),
      ErrorCode.InvalidConfig,
      'field "sku" (uint64) cannot take column "sku" (string); map a column of type int64 or int32 or timestamp to it',
    );
  });

  it('refuses a nullable column for a field without presence', () => {
    refuses(
      () => encoder({ wireFormat: 'plain', schema: GIVEN, messageName: 'Line' }, defineSchema({ count: { type: 'int32', nullable: true } })),
      ErrorCode.InvalidConfig,
      'column "count" is nullable but field "count" (sint32) has no presence',
      'declare the field `optional`',
    );
  });

  it('refuses a chosen column that fills no field, and a message no column fills', () => {
    refuses(() => encoder({ wireFormat: 'plain', schema: GIVEN, columns: ['a'] }, small), ErrorCode.InvalidConfig, 'column "a" fills no field of message shop.Header (its fields are: source)');
    refuses(() => encoder({ wireFormat: 'plain', schema: GIVEN }, small), ErrorCode.InvalidConfig, 'no field of message shop.Header takes a column');
  });

  it('refuses a derived type with no columns, or a column name protobuf cannot use', () => {
    refuses(() => encoder({ wireFormat: 'plain', exclude: ['a', 'b', 'list'] }, small), ErrorCode.InvalidConfig, 'leaves no columns to write');
    refuses(() => encoder({ wireFormat: 'plain' }, defineSchema({ 'my col': 'int32' })), ErrorCode.InvalidConfig, 'column "my col" is not a valid protobuf field name', 'mapping: { "my_col": "my col" }');
  });

  it('fails a row whose enum name is not a value, or whose unsigned field gets a negative value, naming the column', () => {
    const side = defineSchema({ side: 'string' });
    const sides = encoder({ wireFormat: 'plain', schema: GIVEN, messageName: 'Line' }, side);
    refuses(() => sides.encode(normalizeRow(side, { side: 'HOLD' }, 'row')), ErrorCode.EncodeFailed, 'column "side": field "side" (Side): "HOLD" is not a value of enum Side; its values are: SIDE_UNSPECIFIED, BUY, SELL');
    const sku = defineSchema({ sku: 'int64' });
    const skus = encoder({ wireFormat: 'plain', schema: GIVEN, messageName: 'Line' }, sku);
    refuses(() => skus.encode(normalizeRow(sku, { sku: -1n }, 'row')), ErrorCode.EncodeFailed, 'column "sku": field "sku" (uint64) is unsigned but column "sku" holds -1');
  });
});
