/**
 * The raw encoder: a bytes column as it is, a string column as UTF-8, null as null, and every
 * other column type refused when the encoder is built.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { createEncoder, keyValueSpecSchema, rawSpec } from '../../src/formats/key-value-spec.ts';
import { rawEncoder, rawSpecSchema } from '../../src/formats/raw.ts';
import { ColumnType, defineSchema, normalizeRow } from '../../src/model/schema.ts';

const schema = defineSchema({
  body: { type: 'bytes', nullable: true },
  line: { type: 'string', nullable: true },
  ...Object.fromEntries(
    Object.values(ColumnType)
      .filter((type) => type !== 'bytes' && type !== 'string')
      .map((type) => [`a_${type}`, { type, nullable: true }]),
  ),
});

const build = (column: string, part: 'key' | 'value' = 'value') => createEncoder(keyValueSpecSchema.parse(rawSpec(column)), schema, part);
const rowWith = (values: Readonly<Record<string, unknown>>) => normalizeRow(schema, values, 'test row');

describe('raw', () => {
  it('writes a bytes column as it is', () => {
    const body = new Uint8Array([0x00, 0xff, 0x0a, 0x22]);
    const bytes = build('body').encode(rowWith({ body }));
    assert.deepEqual(bytes, Buffer.from([0x00, 0xff, 0x0a, 0x22]));
  });

  it('copies the bytes, so a later change to the row\'s array does not reach the record', () => {
    const body = new Uint8Array([1, 2, 3]);
    const bytes = build('body').encode(rowWith({ body }));
    body[0] = 9;
    assert.deepEqual(bytes, Buffer.from([1, 2, 3]));
  });

  it('writes a string column as UTF-8, with nothing around it', () => {
    assert.deepEqual(build('line').encode(rowWith({ line: 'héllo "x"\n✓' })), Buffer.from('héllo "x"\n✓', 'utf8'));
    assert.deepEqual(build('line').encode(rowWith({ line: '' })), Buffer.alloc(0));
  });

  it('writes null for a null value, as a key or a value', () => {
    assert.equal(build('line').encode(rowWith({})), null);
    assert.equal(build('body', 'key').encode(rowWith({})), null);
  });

  it('declares one column and no envelope', () => {
    const encoder = build('body', 'key');
    assert.deepEqual(encoder.capabilities, { ignored: false, columns: ['body'], envelope: 'none', arrays: false });
    assert.equal(encoder.format, 'raw');
  });

  it('refuses every other column type at build, naming the column, its type and the fix', () => {
    assert.throws(() => build('a_int64'), {
      code: ErrorCode.UnknownColumn,
      message:
        'rawSpec for the value names column "a_int64" of type int64; raw writes only bytes or string columns as they are. ' +
        'Use simpleSpec("a_int64") for Kafka\'s standard serialization of int64, or derive a string column from it',
    });
    for (const type of Object.values(ColumnType).filter((type) => type !== 'bytes' && type !== 'string')) {
      assert.throws(() => build(`a_${type}`, 'key'), { code: ErrorCode.UnknownColumn, message: new RegExp(`^rawSpec for the key names column "a_${type}" of type ${type};`) });
    }
  });

  it('refuses a column the table lacks, listing the columns', () => {
    assert.throws(() => build('bdy'), { code: ErrorCode.UnknownColumn, message: /^rawSpec for the value names "bdy", which the table lacks; its columns are: body, line, a_boolean/ });
  });

  it('validates its spec with its zod schema', () => {
    assert.equal(rawSpecSchema.safeParse({ kind: 'raw' }).success, false);
    assert.equal(rawSpecSchema.safeParse({ kind: 'raw', column: '' }).success, false);
    assert.equal(rawSpecSchema.safeParse({ kind: 'raw', column: 'body', charset: 'utf-16' }).success, false);
    assert.deepEqual(rawSpec('body'), { kind: 'raw', column: 'body' });
    assert.deepEqual(rawEncoder({ kind: 'raw', column: 'line' }, schema, 'value').encode(rowWith({ line: 'x' })), Buffer.from('x'));
  });
});
