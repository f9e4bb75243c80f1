/**
 * The CSV encoder: RFC 4180 quoting (checked against an independent parser on random text), each
 * option, every error path, and the DLI seed's kafkaSink table written through the real broker
 * and read back with kcat.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { produce } from '../../src/dialects/deephaven.ts';
import { ErrorCode } from '../../src/errors.ts';
import { csvEncoder, csvSpecSchema } from '../../src/formats/csv.ts';
import type { Encoder } from '../../src/formats/encoder.ts';
import { createEncoder, csvSpec, keyValueSpecSchema } from '../../src/formats/key-value-spec.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { type Schema, defineSchema, normalizeRow } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

type CsvOptions = Parameters<typeof csvSpec>[1];

const kafkaSink = defineSchema({ car_id: 'string', car_owner: { type: 'string', nullable: true }, car_brand: 'string', car_speed: { type: 'int32', nullable: true } });

function encoderFor(options: CsvOptions = {}, columns?: string[], on: Schema = kafkaSink): Encoder {
  return createEncoder(keyValueSpecSchema.parse(csvSpec(columns, options)), on, 'value');
}

function line(encoder: Encoder, values: Readonly<Record<string, unknown>>, on: Schema = kafkaSink): string {
  const bytes = encoder.encode(normalizeRow(on, values, 'test row'));
  assert.ok(bytes !== null);
  return bytes.toString('utf8');
}

const car = (owner: string | null, brand = 'BMW', speed: number | null = 120) => ({ car_id: 'C1', car_owner: owner, car_brand: brand, car_speed: speed });

describe('csv quoting (RFC 4180)', () => {
  it('writes plain fields bare, with no header and no line terminator (as Flink does)', () => {
    assert.equal(line(encoderFor(), car('Ann Lee')), 'C1,Ann Lee,BMW,120');
  });

  it('quotes a field holding the delimiter, the quote character, CR or LF, doubling quotes inside', () => {
    const encoder = encoderFor();
    assert.equal(line(encoder, car('Smith, Jr.')), 'C1,"Smith, Jr.",BMW,120');
    assert.equal(line(encoder, car('say "hi"')), 'C1,"say ""hi""",BMW,120');
    assert.equal(line(encoder, car('a\nb')), 'C1,"a\nb",BMW,120');
    assert.equal(line(encoder, car('a\rb')), 'C1,"a\rb",BMW,120');
    assert.equal(line(encoder, car(' padded ')), 'C1, padded ,BMW,120');
  });

  it('writes a null as the null literal, and quotes an empty string so it stays an empty string', () => {
    assert.equal(line(encoderFor(), car(null, 'BMW', null)), 'C1,,BMW,');
    assert.equal(line(encoderFor(), car('')), 'C1,"",BMW,120');
  });

  it('reads back, field for field, with an independent RFC 4180 parser, for any text and delimiter', () => {
    const delimiters = fc.constantFrom(',', ';', '\t', '|', ' ', 'x');
    const textWithSpecials = fc.string({ unit: fc.constantFrom('a', 'x', ' ', ',', ';', '"', "'", '\r', '\n', '\t', '|', 'é', '✓'), maxLength: 12 });
    fc.assert(
      fc.property(delimiters, fc.constantFrom('"', "'"), fc.array(textWithSpecials, { minLength: 3, maxLength: 3 }), (delimiter, quote, [id, owner, brand]) => {
        const encoder = encoderFor({ fieldDelimiter: delimiter, quoteCharacter: quote, nullLiteral: 'NULL' });
        const written = line(encoder, { car_id: id, car_owner: owner, car_brand: brand, car_speed: 7 });
        const records: unknown = parse(written, { delimiter, quote, escape: quote });
        assert.deepEqual(records, [[id, owner, brand, '7']]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('csv options', () => {
  it('uses any single character as the field delimiter', () => {
    assert.equal(line(encoderFor({ fieldDelimiter: '\t' }), car('a,b')), 'C1\ta,b\tBMW\t120');
    assert.equal(line(encoderFor({ fieldDelimiter: '|' }), car('a|b')), 'C1|"a|b"|BMW|120');
    assert.equal(line(encoderFor({ fieldDelimiter: '§' }), car('§')), 'C1§"§"§BMW§120');
  });

  it('quotes numbers, dates and booleans when the delimiter is a character their text holds', () => {
    const typed = defineSchema({ n: 'int32', f: 'float64', d: 'decimal', day: 'date', ok: 'boolean' });
    const values = { n: -3, f: 1.5, d: '2.25', day: '2024-01-02', ok: false };
    assert.equal(line(encoderFor({}, undefined, typed), values, typed), '-3,1.5,2.25,2024-01-02,false');
    assert.equal(line(encoderFor({ fieldDelimiter: '.' }, undefined, typed), values, typed), '-3."1.5"."2.25".2024-01-02.false');
    assert.equal(line(encoderFor({ fieldDelimiter: '-' }, undefined, typed), values, typed), '"-3"-1.5-2.25-"2024-01-02"-false');
    assert.equal(line(encoderFor({ fieldDelimiter: 'a' }, undefined, typed), values, typed), '-3a1.5a2.25a2024-01-02a"false"');
  });

  it('uses another quote character', () => {
    assert.equal(line(encoderFor({ quoteCharacter: "'" }), car("it's, \"x\"")), 'C1,\'it\'\'s, "x"\',BMW,120');
  });

  it('never quotes with disableQuoteCharacter, and refuses a value that would need quotes', () => {
    const encoder = encoderFor({ disableQuoteCharacter: true });
    assert.equal(line(encoder, car('say "hi"')), 'C1,say "hi",BMW,120');
    assert.equal(line(encoder, car('')), 'C1,,BMW,120');
    assert.throws(() => line(encoder, car('Smith, Jr.')), {
      code: ErrorCode.EncodeFailed,
      message: 'column "car_owner" holds "Smith, Jr.", which contains the field delimiter or a line break and cannot be written with disableQuoteCharacter; turn quoting back on or choose a delimiter that does not occur',
    });
    assert.throws(() => line(encoder, car('two\nlines')), { code: ErrorCode.EncodeFailed, message: /^column "car_owner" holds "two\\nlines"/ });
  });

  it('writes nulls as the null literal, quoting any value that spells it', () => {
    const encoder = encoderFor({ nullLiteral: 'NULL' });
    assert.equal(line(encoder, car(null, 'BMW', null)), 'C1,NULL,BMW,NULL');
    assert.equal(line(encoder, car('NULL')), 'C1,"NULL",BMW,120');
    assert.equal(line(encoder, car('')), 'C1,,BMW,120');
    assert.equal(line(encoderFor({ nullLiteral: '0' }), car('x', 'BMW', 0)), 'C1,x,BMW,"0"');
    assert.equal(line(encoderFor({ nullLiteral: '0' }), car('x', 'BMW', null)), 'C1,x,BMW,0');
  });

  it('starts each message with a header line when asked', () => {
    assert.equal(line(encoderFor({ header: true }), car('Ann')), 'car_id,car_owner,car_brand,car_speed\nC1,Ann,BMW,120');
    assert.equal(line(encoderFor({ header: true, lineDelimiter: '\r\n' }, ['car_speed', 'car_id']), car('Ann')), 'car_speed,car_id\r\n120,C1\r\n');
  });

  it('ends each record with the line delimiter when one is given (Flink 1.11 and earlier wrote \\n)', () => {
    assert.equal(line(encoderFor({ lineDelimiter: '\n' }), car('Ann')), 'C1,Ann,BMW,120\n');
    assert.equal(line(encoderFor({ lineDelimiter: '\r' }), car('Ann')), 'C1,Ann,BMW,120\r');
  });

  it('writes the chosen columns in the order given', () => {
    assert.equal(line(encoderFor({}, ['car_speed', 'car_id']), car('Ann')), '120,C1');
  });

  it('writes every type, timestamps as ISO-8601, SQL text or epoch integers', () => {
    const every = defineSchema({ big: 'int64', f: 'float64', blob: 'bytes', meta: 'json', at: 'timestamp' });
    const values = { big: -9223372036854775808n, f: Number.NaN, blob: Buffer.from([0xfb, 0xff]), meta: { a: 'b,c' }, at: '1969-12-31T23:59:59.9995Z' };
    assert.equal(line(encoderFor({}, undefined, every), values, every), '-9223372036854775808,NaN,+/8=,"{""a"":""b,c""}",1969-12-31T23:59:59.9995Z');
    assert.equal(line(encoderFor({ timestamps: 'epoch-millis' }, ['at'], every), values, every), '-1');
    assert.equal(line(encoderFor({ timestamps: 'sql' }, ['at'], every), values, every), '1969-12-31 23:59:59.9995');
    assert.equal(line(encoderFor({ timestamps: 'epoch-nanos' }, ['f', 'at'], every), { ...values, f: Number.NEGATIVE_INFINITY }, every), '-Infinity,-500000');
  });
});

describe('csv spec errors', () => {
  it('refuses a column the table lacks, listing the columns, and a column listed twice', () => {
    assert.throws(() => encoderFor({}, ['car_id', 'speed']), {
      code: ErrorCode.UnknownColumn,
      message: 'csvSpec for the value names "speed", which the table lacks; its columns are: car_id, car_owner, car_brand, car_speed',
    });
    assert.throws(() => encoderFor({}, ['car_id', 'car_id']), { code: ErrorCode.InvalidConfig, message: 'csvSpec for the value lists column "car_id" twice; list each column once' });
  });

  it('refuses a line break as delimiter, and a quote character that is the delimiter or a line break', () => {
    assert.throws(() => encoderFor({ fieldDelimiter: '\n' }), {
      code: ErrorCode.InvalidConfig,
      message: 'csvSpec for the value has fieldDelimiter "\\n", a line break, which would end the record; choose another character such as "," or "|"',
    });
    assert.throws(() => encoderFor({ fieldDelimiter: ';', quoteCharacter: ';' }), {
      code: ErrorCode.InvalidConfig,
      message: 'csvSpec for the value has quoteCharacter ";", which is also the field delimiter; choose another character such as \'"\' or "\'"',
    });
    assert.throws(() => encoderFor({ quoteCharacter: '\r' }), { code: ErrorCode.InvalidConfig, message: /has quoteCharacter "\\r", which is a line break/ });
    // With quoting off, the quote character does not matter.
    assert.equal(line(encoderFor({ quoteCharacter: ',', disableQuoteCharacter: true }), car('x')), 'C1,x,BMW,120');
  });

  it('refuses a null literal that would not read back as one field', () => {
    for (const nullLiteral of ['a,b', '"', 'x\ny']) {
      assert.throws(() => encoderFor({ nullLiteral }), {
        code: ErrorCode.InvalidConfig,
        message: `csvSpec for the value has nullLiteral ${JSON.stringify(nullLiteral)}, which holds the field delimiter, the quote character or a line break and would not read back as one field; choose a plain word such as "NULL"`,
      });
    }
  });

  it('validates option names and values with its zod schema', () => {
    assert.equal(csvSpecSchema.safeParse({ kind: 'csv', fieldDelimiter: '||' }).success, false);
    assert.equal(csvSpecSchema.safeParse({ kind: 'csv', fieldDelimiter: '' }).success, false);
    assert.equal(csvSpecSchema.safeParse({ kind: 'csv', fieldDelimiter: '✓' }).success, true);
    assert.equal(csvSpecSchema.safeParse({ kind: 'csv', quoteCharacter: "''" }).success, false);
    assert.equal(csvSpecSchema.safeParse({ kind: 'csv', lineDelimiter: '\n\n' }).success, false);
    assert.equal(csvSpecSchema.safeParse({ kind: 'csv', delimiter: ',' }).success, false);
  });

  it('csvSpec() builds the spec; the encoder takes it straight from the schema', () => {
    assert.deepEqual(csvSpec(), { kind: 'csv' });
    assert.deepEqual(csvSpec(['car_id'], { fieldDelimiter: '|' }), { kind: 'csv', columns: ['car_id'], fieldDelimiter: '|' });
    const encoder = csvEncoder({ kind: 'csv', columns: ['car_id', 'car_speed'] }, kafkaSink, 'key');
    assert.equal(line(encoder, car('x')), 'C1,120');
  });
});

describe('csv through the broker', () => {
  it("writes the DLI seed's kafkaSink table with format.type csv, read back by kcat", async () => {
    const topic = randomTopic('csv-dli');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const rows = [
      { car_id: 'C-001', car_owner: 'Ann Lee', car_brand: 'BMW', car_speed: 120 },
      { car_id: 'C-002', car_owner: 'Smith, "Jr."', car_brand: 'Tesla', car_speed: null },
      { car_id: 'C-003', car_owner: null, car_brand: 'two\nlines', car_speed: -5 },
    ];
    const sink = produce({ table: newTable(kafkaSink, rows), kafkaConfig: { 'bootstrap.servers': bootstrapServers() }, topic, valueSpec: csvSpec() });
    await sink.done;
    const records = await kcatRead(topic);
    assert.deepEqual(
      records.map((record) => [record.key, record.value?.toString('utf8')]),
      [
        [null, 'C-001,Ann Lee,BMW,120'],
        [null, 'C-002,"Smith, ""Jr.""",Tesla,'],
        [null, 'C-003,,"two\nlines",-5'],
      ],
    );
  });
});
