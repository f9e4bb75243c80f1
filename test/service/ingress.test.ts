/**
 * Ingress bodies parsed as Feldera takes them, without a pipeline: JSON events (insert_delete by
 * default) or rows, NDJSON or one array, integers beyond 2^53 exact, base64 bytes, and CSV with
 * Feldera's nulls.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIngress } from '../../src/service/ingress.ts';
import type { Schema } from '../../src/model/schema.ts';

const schema: Schema = {
  columns: [
    { name: 'id', type: 'int64', nullable: false },
    { name: 'name', type: 'string', nullable: true },
    { name: 'score', type: 'float64', nullable: true },
    { name: 'blob', type: 'bytes', nullable: true },
  ],
};

describe('ingress bodies', () => {
  it('reads insert_delete events by default, newline-delimited', () => {
    assert.deepEqual(parseIngress('t', schema, '{"insert":{"id":1,"name":"a"}}\n\n{"delete":{"id":1,"name":"a"}}\n', { format: 'json' }), [
      { kind: 'insert', row: { id: 1, name: 'a' } },
      { kind: 'delete', row: { id: 1, name: 'a' } },
    ]);
  });

  it('reads rows with update_format=raw, and one array with array=true', () => {
    assert.deepEqual(parseIngress('t', schema, '[{"id":1},{"id":2}]', { format: 'json', update_format: 'raw', array: 'true' }), [
      { kind: 'insert', row: { id: 1 } },
      { kind: 'insert', row: { id: 2 } },
    ]);
  });

  it('keeps every digit of integers beyond 2^53 and reads bytes as base64', () => {
    const [change] = parseIngress('t', schema, '{"id":9007199254740993,"blob":"AAH/"}', { format: 'json', update_format: 'raw' });
    assert.equal(change?.row.id, 9007199254740993n);
    assert.deepEqual(change?.row.blob, Buffer.from([0, 1, 255]));
  });

  it('reads long integers exactly on any line of a body, in arrays and negative, and leaves long fractions and digit strings alone', () => {
    const body = '{"id":1,"score":1.4142135623730951}\n{"id":-9007199254740993,"name":"12345678901234567"}\n{"id":9007199254740992,"score":1e300}\n';
    assert.deepEqual(
      parseIngress('t', schema, body, { format: 'json', update_format: 'raw' }).map((change) => change.row),
      [
        { id: 1, score: 1.4142135623730951 },
        { id: -9007199254740993n, name: '12345678901234567' },
        // 2^53 itself is not a safe integer, so it is read exactly too.
        { id: 9007199254740992n, score: 1e300 },
      ],
    );
    assert.deepEqual(
      parseIngress('t', schema, '[{"id":12345678901234567890},{"id":2,"score":0.30000000000000004}]', { format: 'json', update_format: 'raw', array: 'true' }).map((change) => change.row),
      [{ id: 12345678901234567890n }, { id: 2, score: 0.30000000000000004 }],
    );
    // No integer token of 16 digits: the plain parse, the same values.
    assert.deepEqual(parseIngress('t', schema, '{"id":900719925474099,"score":123456789012345.6}', { format: 'json', update_format: 'raw' })[0]?.row, { id: 900719925474099, score: 123456789012345.6 });
  });

  it('reads long integers exactly in the columns that keep them, in insert_delete events too, and as doubles elsewhere', () => {
    const wide: Schema = {
      columns: [
        { name: 'id', type: 'int64', nullable: false },
        { name: 'at', type: 'timestamp', unit: 'ns', nullable: true },
        { name: 'price', type: 'decimal', precision: 38, scale: 0, nullable: true },
        { name: 'score', type: 'float64', nullable: true },
      ],
    };
    assert.deepEqual(parseIngress('t', wide, '{"insert":{"id":1,"at":1700000000123456789}}\n{"delete":{"id":-9007199254740993}}\n', { format: 'json' }), [
      { kind: 'insert', row: { id: 1, at: 1700000000123456789n } },
      { kind: 'delete', row: { id: -9007199254740993n } },
    ]);
    assert.deepEqual(parseIngress('t', wide, '[{"id":1,"price":123456789012345678901234567890}]', { format: 'json', update_format: 'raw', array: 'true' })[0]?.row, {
      id: 1,
      price: 123456789012345678901234567890n,
    });
    // A double column takes a long integer as the double it is.
    assert.deepEqual(parseIngress('t', wide, '{"id":1,"score":12345678901234567890}', { format: 'json', update_format: 'raw' })[0]?.row, { id: 1, score: Number("12345678901234567890") });
  });

  it('reads CSV in column order with Feldera\'s nulls', () => {
    assert.deepEqual(parseIngress('t', schema, '1,"a, b",2.5,\n2,,NULL,AAE=\n3,null,,\n', { format: 'csv' }), [
      { kind: 'insert', row: { id: 1n, name: 'a, b', score: 2.5, blob: null } },
      { kind: 'insert', row: { id: 2n, name: '', score: null, blob: Buffer.from([0, 1]) } },
      { kind: 'insert', row: { id: 3n, name: null, score: null, blob: null } },
    ]);
  });

  it('refuses update_format and array with CSV, naming them', () => {
    assert.throws(() => parseIngress('t', schema, '1,a,1,\n', { format: 'csv', update_format: 'raw' }), /ingress into "t": update_format applies to format=json only; CSV rows are inserts/);
    assert.throws(() => parseIngress('t', schema, '1,a,1,\n', { format: 'csv', array: 'true' }), /ingress into "t": array applies to format=json only/);
    assert.throws(() => parseIngress('t', schema, '{}', { format: 'json', array: 'yes' }), /array is true or false, not "yes"/);
    assert.throws(() => parseIngress('t', schema, 'x,a,1,\n', { format: 'csv' }), /CSV line 1: "x" is not a int64 for the column "id"/);
    const hint = 'quote a field that holds a comma, a quote or a line break, and double the quotes inside it';
    assert.throws(() => parseIngress('t', schema, '1,a,1,\n2,"b,2,\n', { format: 'csv' }), { message: `ingress into "t": the CSV body is malformed: CSV line 2: Quoted field unterminated; ${hint}` });
    assert.throws(() => parseIngress('t', schema, '1,"a"b,1,\n', { format: 'csv' }), { message: `ingress into "t": the CSV body is malformed: CSV line 1: Trailing quote on quoted field is malformed; ${hint}` });
  });
});
