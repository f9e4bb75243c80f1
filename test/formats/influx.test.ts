/**
 * The Influx line-protocol encoder: Flux's own test rows and keys, the escaping rules, every field
 * type, Flux's treatment of nulls, and each error a spec or a row can meet.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { z } from 'zod';
import { formatFloat, influxEncoder, influxSpecSchema } from '../../src/formats/influx.ts';
import { createEncoder, influxSpec, keyValueSpecSchema } from '../../src/formats/key-value-spec.ts';
import { xxhash64, xxhash64LittleEndian } from '../../src/formats/xxhash64.ts';
import { parseSinkSpec } from '../../src/sink/sink-spec.ts';
import { type ColumnDeclaration, type ColumnType, type Schema, defineSchema, normalizeRow } from '../../src/model/schema.ts';

type InfluxOptions = Omit<z.input<typeof influxSpecSchema>, 'kind'>;

function encoder(schema: Schema, options: InfluxOptions = {}, part: 'key' | 'value' = 'value') {
  return influxEncoder(influxSpecSchema.parse({ kind: 'influx', ...options }), schema, part);
}

function lineOf(schema: Schema, row: Readonly<Record<string, unknown>>, options: InfluxOptions = {}): string {
  return encoder(schema, options).encode(normalizeRow(schema, row, 'test row'))?.toString('utf8') ?? 'null';
}

const fluxSchema = defineSchema({ _time: 'timestamp', _measurement: 'string', _value: 'float64', fred: 'string' });
const fluxRows = [
  [11n, 'a', 2.0, 'one'],
  [21n, 'a', 2.0, 'one'],
  [21n, 'b', 1.0, 'seven'],
  [31n, 'a', 3.0, 'nine'],
  [41n, 'c', 4.0, 'elevendyone'],
].map(([time, name, value, fred]) => normalizeRow(fluxSchema, { _time: time, _measurement: name, _value: value, fred }, 'flux row'));

describe('Flux kafka.to messages (rows and expected messages from Flux\'s stdlib/kafka/to_test.go)', () => {
  it('writes the measurement from _measurement and keys each line by its XXH64 digest', () => {
    const value = encoder(fluxSchema);
    const key = encoder(fluxSchema, { output: 'xxhash64' }, 'key');
    assert.deepEqual(
      fluxRows.map((row) => [value.encode(row)?.toString(), key.encode(row)?.toString('hex')]),
      [
        ['a _value=2 11', 'f1b029d79d04317c'],
        ['a _value=2 21', 'b5c2e47895e06266'],
        ['b _value=1 21', '0e624ee736ac77f3'],
        ['a _value=3 31', 'f5d5224d279d8db5'],
        ['c _value=4 41', '055bc541677804da'],
      ],
    );
  });

  it('adds tags from tagColumns', () => {
    const value = encoder(fluxSchema, { tagColumns: ['fred'] });
    const key = encoder(fluxSchema, { tagColumns: ['fred'], output: 'xxhash64' }, 'key');
    assert.deepEqual(
      fluxRows.map((row) => [value.encode(row)?.toString(), key.encode(row)?.toString('hex')]),
      [
        ['a,fred=one _value=2 11', 'e9dec51efb2677fe'],
        ['a,fred=one _value=2 21', '526d0ae81db3e5eb'],
        ['b,fred=seven _value=1 21', '1891ed7e795cc2e3'],
        ['a,fred=nine _value=3 31', '7515e53eddfd4f9a'],
        ['c,fred=elevendyone _value=4 41', 'd4c9caeaa68d144b'],
      ],
    );
  });

  it('uses a fixed name without reading a name column, and leaves unlisted columns out', () => {
    const schema = defineSchema({ _time: 'timestamp', _value: 'float64', fred: 'string' });
    const rows = [[11n, 2.0, 'one'], [21n, 1.0, 'seven']].map(([time, value, fred]) =>
      normalizeRow(schema, { _time: time, _value: value, fred }, 'row'),
    );
    const plain = (name: string, tagColumns?: string[]) => ({
      value: encoder(schema, { name, ...(tagColumns === undefined ? {} : { tagColumns }) }),
      key: encoder(schema, { name, ...(tagColumns === undefined ? {} : { tagColumns }), output: 'xxhash64' }, 'key'),
    });
    const unused = plain('one_block_w_unused_tag');
    assert.deepEqual(rows.map((row) => [unused.value.encode(row)?.toString(), unused.key.encode(row)?.toString('hex')]), [
      ['one_block_w_unused_tag _value=2 11', '62dae8c32b887454'],
      ['one_block_w_unused_tag _value=1 21', 'ff23a384e4cb7779'],
    ]);
    const tagged = plain('multi_block', ['fred']);
    assert.deepEqual(rows.map((row) => [tagged.value.encode(row)?.toString(), tagged.key.encode(row)?.toString('hex')]), [
      ['multi_block,fred=one _value=2 11', '419d7f17c821fb69'],
      ['multi_block,fred=seven _value=1 21', '8f8372667b787718'],
    ]);
  });
});

describe('XXH64', () => {
  it('matches the published digests, short and long inputs alike', () => {
    assert.equal(xxhash64(Buffer.alloc(0)).toString(16), 'ef46db3751d8e999');
    assert.equal(xxhash64(Buffer.from('a')).toString(16), 'd24ec4f1a98c6e5b');
    assert.equal(xxhash64(Buffer.from('abc')).toString(16), '44bc2cf5ad770999');
    assert.equal(xxhash64(Buffer.from('Nobody inspects the spammish repetition')).toString(16), 'fbcea83c8a378bf1');
  });

  it('reads a view into a larger buffer from its own offset', () => {
    const backing = Buffer.from('xxxxa _value=2 11yyyy');
    assert.equal(xxhash64LittleEndian(backing.subarray(4, 17)).toString('hex'), 'f1b029d79d04317c');
  });
});

describe('escaping', () => {
  it('escapes commas and spaces in the measurement, not equals signs or backslashes', () => {
    const schema = defineSchema({ m: 'string', v: 'int32', t: 'timestamp' });
    assert.equal(lineOf(schema, { m: 'cpu load,a=b\\c', v: 1, t: 5n }, { nameColumn: 'm', valueColumns: ['v'], timeColumn: 't' }), 'cpu\\ load\\,a=b\\c v=1i 5');
  });

  it('escapes commas, equals signs and spaces in tag keys, tag values and field keys', () => {
    const schema = defineSchema({ 'host name': 'string', 'a=b,c': 'string', 'used %, of=total': 'float64', _time: 'timestamp' });
    const line = lineOf(
      schema,
      { 'host name': 'web 1,eu=west', 'a=b,c': 'x', 'used %, of=total': 0.5, _time: 1n },
      { name: 'mem', tagColumns: ['host name', 'a=b,c'], valueColumns: ['used %, of=total'] },
    );
    assert.equal(line, 'mem,host\\ name=web\\ 1\\,eu\\=west,a\\=b\\,c=x used\\ %\\,\\ of\\=total=0.5 1');
  });

  it('writes tabs, newlines, form feeds and carriage returns as two-character escapes, so a line never breaks', () => {
    const schema = defineSchema({ tag: 'string', text: 'string', _time: 'timestamp' });
    const line = lineOf(schema, { tag: 'a\tb\nc', text: 'x\ry\fz\n', _time: 0n }, { name: 'm\nn', tagColumns: ['tag'], valueColumns: ['text'] });
    assert.equal(line, 'm\\nn,tag=a\\tb\\nc text="x\\ry\\fz\\n" 0');
    assert.ok(!line.includes('\n'));
  });

  it('quotes string fields, escaping double quotes and backslashes only', () => {
    const schema = defineSchema({ text: 'string', _time: 'timestamp' });
    assert.equal(
      lineOf(schema, { text: 'say "hi", C:\\temp = ok', _time: 7n }, { name: 'log', valueColumns: ['text'] }),
      'log text="say \\"hi\\", C:\\\\temp = ok" 7',
    );
  });

  it('writes tags in the table\'s column order and fields sorted by their UTF-8 bytes', () => {
    const schema = defineSchema({ zone: 'string', b: 'int32', host: 'string', 'é': 'int32', Z: 'int32', a: 'int32', _time: 'timestamp' });
    const line = lineOf(
      schema,
      { zone: 'z1', b: 2, host: 'h1', 'é': 4, Z: 3, a: 1, _time: 9n },
      { name: 'm', tagColumns: ['host', 'zone'], valueColumns: ['é', 'b', 'a', 'Z'] },
    );
    assert.equal(line, 'm,zone=z1,host=h1 Z=3i,a=1i,b=2i,é=4i 9');
  });
});

describe('field types', () => {
  const schema = defineSchema({
    f: 'float64',
    i: 'int32',
    l: 'int64',
    d: 'decimal',
    b: 'boolean',
    s: 'string',
    _time: { type: 'timestamp', unit: 'ms' },
  });
  const options = { name: 'types', valueColumns: ['f', 'i', 'l', 'd', 'b', 's'] };

  it('writes floats, integers with i, decimals, booleans and strings, and the time in nanoseconds', () => {
    const line = lineOf(schema, { f: 1.5, i: -7, l: 9223372036854775807n, d: '12.50', b: true, s: 'ok', _time: 1_700_000_000_123n }, options);
    assert.equal(line, 'types b=true,d=12.50,f=1.5,i=-7i,l=9223372036854775807i,s="ok" 1700000000123000000');
    assert.equal(lineOf(schema, { f: -3, i: 0, l: -1n, d: '-3', b: false, s: '', _time: -1n }, options), 'types b=false,d=-3,f=-3,i=0i,l=-1i,s="" -1000000');
  });

  it('writes a decimal of scale 0 as an integer field, clamped above 2^63-1 as Flux clamps its unsigned integers', () => {
    const whole = defineSchema({ u: { type: 'decimal', precision: 20, scale: 0 }, _time: 'timestamp' });
    const wholeLine = (u: string) => lineOf(whole, { u, _time: 1n }, { name: 'm', valueColumns: ['u'] });
    assert.equal(wholeLine('10'), 'm u=10i 1');
    assert.equal(wholeLine('-9223372036854775808'), 'm u=-9223372036854775808i 1');
    assert.equal(wholeLine('9223372036854775807'), 'm u=9223372036854775807i 1');
    assert.equal(wholeLine('9223372036854775808'), 'm u=9223372036854775807i 1');
    assert.equal(wholeLine('18446744073709551614'), 'm u=9223372036854775807i 1');
    assert.equal(wholeLine('7.00'), 'm u=7i 1');
    const nullable = defineSchema({ u: { type: 'decimal', precision: 20, scale: 0, nullable: true }, _time: 'timestamp' });
    assert.equal(lineOf(nullable, { u: null, _time: 1n }, { name: 'm', valueColumns: ['u'] }), 'm u=0i 1');
    assert.throws(() => wholeLine('-9223372036854775809'), {
      code: 'ENCODE_FAILED',
      message:
        'field column "u" holds -9223372036854775809 (decimal, scale 0), below the smallest line-protocol integer -9223372036854775808; filter it out with where() or convert the column to float64 with update()',
    });
    assert.throws(() => wholeLine('7.5'), {
      code: 'ENCODE_FAILED',
      message: 'field column "u" holds 7.5, which has digits after the point its scale 0 has no room for; round it with update() or declare the column\'s scale',
    });
  });

  it('writes floats in plain decimal with the fewest round-trip digits, never an exponent', () => {
    assert.deepEqual(
      [2, 0.1, 1e21, 1.5e300, 1e-7, 5e-324, -0, 123456789.125, -2.5e-10].map(formatFloat),
      ['2', '0.1', '1000000000000000000000', `15${'0'.repeat(299)}`, '0.0000001', `0.${'0'.repeat(323)}5`, '-0', '123456789.125', '-0.00000000025'],
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        const text = formatFloat(value);
        return !/e/i.test(text) && Object.is(Number(text), value);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses NaN and infinities, naming the column', () => {
    const nan = encoder(schema, options);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => nan.encode(normalizeRow(schema, { f: bad, i: 0, l: 0n, d: '0', b: false, s: '', _time: 0n }, 'row')), {
        code: 'ENCODE_FAILED',
        message: `field column "f" holds ${String(bad)} (float64), which line protocol cannot represent; filter it out with where() or map it to a number`,
      });
    }
  });
});

describe('nulls', () => {
  const nullable = (type: ColumnType): ColumnDeclaration => ({ type, nullable: true });
  const schema = defineSchema({
    host: nullable('string'),
    f: nullable('float64'),
    i: nullable('int64'),
    b: nullable('boolean'),
    s: nullable('string'),
    _time: nullable('timestamp'),
  });
  const options = { name: 'm', tagColumns: ['host'], valueColumns: ['f', 'i', 'b', 's'] };
  const allNull = { host: null, f: null, i: null, b: null, s: null, _time: null };

  it('writes a null field as its type\'s zero value and a null time as 0, as Flux does; drops null and empty tags', () => {
    assert.equal(lineOf(schema, allNull, options), 'm b=false,f=0,i=0i,s="" 0');
    assert.equal(lineOf(schema, { ...allNull, host: '', f: 1 }, options), 'm b=false,f=1,i=0i,s="" 0');
  });

  it('leaves null fields and a null timestamp out with nulls: omit', () => {
    assert.equal(lineOf(schema, { ...allNull, host: 'h', i: 3n }, { ...options, nulls: 'omit' }), 'm,host=h i=3i');
    assert.equal(lineOf(schema, { ...allNull, s: 'x', _time: 5n }, { ...options, nulls: 'omit' }), 'm s="x" 5');
  });

  it('refuses a line left with no field, and a row without a measurement', () => {
    const omit = encoder(schema, { ...options, nulls: 'omit' });
    assert.throws(() => omit.encode(allNull), {
      code: 'ENCODE_FAILED',
      message: `every field of this row is null ("b", "f", "i", "s") and nulls are omitted, but a line needs at least one field; use nulls: 'zero' or filter such rows out`,
    });
    const named = defineSchema({ _measurement: nullable('string'), _value: 'float64', _time: 'timestamp' });
    for (const [name, state] of [[null, 'null'], ['', 'empty']] as const) {
      assert.throws(() => encoder(named).encode(normalizeRow(named, { _measurement: name, _value: 1, _time: 0n }, 'row')), {
        code: 'ENCODE_FAILED',
        message: `line protocol needs a measurement, but column "_measurement" (nameColumn) is ${state} in this row; filter such rows out with where(), or give a fixed name`,
      });
    }
  });

  it('writes no timestamp when timeColumn is null', () => {
    const schema2 = defineSchema({ _measurement: 'string', _value: 'float64' });
    assert.equal(lineOf(schema2, { _measurement: 'm', _value: 1 }, { timeColumn: null }), 'm _value=1');
  });
});

describe('spec errors', () => {
  const schema = defineSchema({ _time: 'timestamp', _measurement: 'string', _value: 'float64', count: 'int32', blob: 'bytes', 'odd\\': 'string' });
  const columns = '_time, _measurement, _value, count, blob, odd\\';

  it('names the option and the column a table lacks, and lists the columns', () => {
    const cases: [InfluxOptions, string, string][] = [
      [{ timeColumn: 'time' }, 'timeColumn', 'time'],
      [{ nameColumn: 'measurement' }, 'nameColumn', 'measurement'],
      [{ tagColumns: ['host'] }, 'tagColumns', 'host'],
      [{ valueColumns: ['value'] }, 'valueColumns', 'value'],
    ];
    for (const [options, option, column] of cases) {
      assert.throws(() => encoder(schema, options), {
        code: 'UNKNOWN_COLUMN',
        message: `influx value spec option ${option} names "${column}", which the table lacks; its columns are: ${columns}`,
      });
    }
  });

  it('names the option, the column and its type when the type cannot play the role', () => {
    assert.throws(() => encoder(schema, { timeColumn: 'count' }), {
      code: 'UNKNOWN_COLUMN',
      message: 'influx value spec option timeColumn names column "count" of type int32; it must be timestamp',
    });
    assert.throws(() => encoder(schema, { tagColumns: ['count'] }, 'key'), {
      code: 'UNKNOWN_COLUMN',
      message: 'influx key spec option tagColumns names column "count" of type int32; it must be string. Convert it with update(), for example update({ name: (row) => String(row.name) })',
    });
    assert.throws(() => encoder(schema, { nameColumn: '_value' }), {
      code: 'UNKNOWN_COLUMN',
      message: 'influx value spec option nameColumn names column "_value" of type float64; it must be string. Convert it with update(), for example update({ name: (row) => String(row.name) })',
    });
    assert.throws(() => encoder(schema, { valueColumns: ['blob'] }), {
      code: 'UNKNOWN_COLUMN',
      message: 'influx value spec option valueColumns names column "blob" of type bytes; it must be float64 or int32 or int64 or decimal or boolean or string',
    });
  });

  it('refuses a column in two roles, and keys ending with a backslash', () => {
    assert.throws(() => encoder(schema, { tagColumns: ['_measurement'] }), {
      code: 'INVALID_CONFIG',
      message: 'influx value spec: column "_measurement" is named by both nameColumn and tagColumns; a column is the time, the measurement, a tag or a value, not two of these',
    });
    assert.throws(() => encoder(schema, { tagColumns: ['odd\\'] }), {
      code: 'INVALID_CONFIG',
      message: 'influx value spec option tagColumns: column "odd\\" ends with a backslash, which would escape the character after it in line protocol; rename it with update() and select()',
    });
    assert.throws(() => encoder(schema, { name: 'cpu\\' }), {
      code: 'INVALID_CONFIG',
      message: 'influx value spec option name "cpu\\" ends with a backslash, which line protocol cannot carry; drop it',
    });
  });

  it('refuses a measurement or tag value that ends with a backslash', () => {
    const tagged = defineSchema({ _time: 'timestamp', _measurement: 'string', _value: 'float64', host: 'string' });
    const value = encoder(tagged, { tagColumns: ['host'] });
    const row = (measurement: string, host: string) => normalizeRow(tagged, { _time: 0n, _measurement: measurement, _value: 1, host }, 'row');
    assert.equal(value.encode(row('c:\\x', 'h\\1'))?.toString(), 'c:\\x,host=h\\1 _value=1 0');
    assert.throws(() => value.encode(row('c:\\', 'h')), {
      code: 'ENCODE_FAILED',
      message: 'column "_measurement" holds "c:\\\\", which ends with a backslash; line protocol would read it as escaping the next character. Strip it with update()',
    });
    assert.throws(() => value.encode(row('c', 'h\\')), {
      code: 'ENCODE_FAILED',
      message: 'column "host" holds "h\\\\", which ends with a backslash; line protocol would read it as escaping the next character. Strip it with update()',
    });
  });

  it('is a key-value spec kind that createEncoder builds, and rejects unknown options', () => {
    const spec = keyValueSpecSchema.parse(influxSpec({ tagColumns: [] }));
    const built = createEncoder(spec, schema, 'value');
    assert.equal(built.format, 'influx');
    assert.deepEqual(built.capabilities.columns, ['_time', '_measurement', '_value']);
    assert.equal(keyValueSpecSchema.safeParse({ kind: 'influx', measurement: 'x' }).success, false);
  });

  it('refuses name together with nameColumn, in the influx spec and as a sink\'s key or value', () => {
    const both = { kind: 'influx', name: 'cpu', nameColumn: '_measurement' };
    const message = "give name or nameColumn, not both: name is every line's measurement, nameColumn the column each line's is read from";
    const direct = influxSpecSchema.safeParse(both);
    assert.equal(direct.success, false);
    assert.deepEqual(direct.error?.issues.map((issue) => [issue.path.join('.'), issue.message]), [['nameColumn', message]]);
    assert.throws(() => parseSinkSpec({ name: 's', topic: 't', kafka: {}, key: both, value: { kind: 'influx', name: 'cpu' } }), {
      code: 'INVALID_CONFIG',
      message: `sink "s" is misconfigured:\n  - key.nameColumn: ${message}`,
    });
    assert.equal(keyValueSpecSchema.safeParse({ kind: 'influx', name: 'cpu' }).success, true);
  });
});
