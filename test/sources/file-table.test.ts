import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rename, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { count } from '../../src/model/aggregations.ts';
import { defineSchema, type Row } from '../../src/model/schema.ts';
import { type FileTable, type FileTableOptions, fromFile, parseTextValue } from '../../src/sources/file-table.ts';
import type { Change, Table } from '../../src/model/table.ts';
import { eventually } from '../helpers/kafka.ts';

const rowsOf = (table: Table): Row[] => [...table.rows()].map(([, row]) => row);

/**
 * Listens to the table. The tests read `rows()` as well, so the table is asked to keep its rows
 * (a stream passes them to its listeners without keeping them).
 */
function record(table: Table): Change[] {
  table.retainRows();
  const changes: Change[] = [];
  table.subscribe({ onChanges: (batch) => changes.push(...batch) });
  return changes;
}

let directory = '';
let fileCount = 0;
const open: FileTable[] = [];

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'spillway-file-table-'));
});

after(async () => {
  for (const table of open) table.close();
  await rm(directory, { recursive: true, force: true });
});

async function fileWith(content: string | Buffer, extension = 'csv'): Promise<string> {
  const path = join(directory, `file-${fileCount++}.${extension}`);
  await writeFile(path, content);
  return path;
}

function follow(path: string, options: Omit<FileTableOptions, 'follow'>): FileTable {
  const table = fromFile(path, { ...options, follow: true, pollIntervalMs: 50 });
  open.push(table);
  return table;
}

const everyType = defineSchema({
  id: 'int32',
  big: 'int64',
  ratio: 'float64',
  ok: 'boolean',
  at: { type: 'timestamp', unit: 'ms' },
  day: 'date',
  price: 'decimal',
  raw: 'bytes',
  doc: 'json',
  name: { type: 'string', nullable: true },
  note: 'string',
});

const people = defineSchema({ id: 'int32', name: 'string', age: { type: 'int32', nullable: true } });

describe('fromFile: CSV', () => {
  it('reads every column type from text, with the header in any order and RFC 4180 quoting', async () => {
    const path = await fileWith(
      '\ufeffnote,id,big,ratio,ok,at,day,price,raw,doc,name\r\n' +
        '"a, b",1,9007199254740993,-1.5e3,TRUE,1700000000123,2024-02-29,12.50,aGk=,"{""k"":[1,2]}",\r\n' +
        '"line one\r\nline ""two""",2,-1,NaN,false,2024-01-01T00:00:00.5Z,1999-12-31,-0.001,"",true,""\r\n' +
        '\r\n' +
        ',3,0,0,true,0,2000-01-01,+7,"","""s""",x', // no final newline: read as the last line
    );
    const table = fromFile(path, { format: 'csv', schema: everyType });
    await table.whenEnded();
    assert.deepEqual(rowsOf(table), [
      {
        id: 1, big: 9_007_199_254_740_993n, ratio: -1500, ok: true, at: 1_700_000_000_123_000_000n, day: '2024-02-29',
        price: '12.50', raw: new Uint8Array([104, 105]), doc: { k: [1, 2] }, name: null, note: 'a, b',
      },
      {
        id: 2, big: -1n, ratio: Number.NaN, ok: false, at: 1_704_067_200_500_000_000n, day: '1999-12-31',
        price: '-0.001', raw: new Uint8Array(0), doc: true, name: '', note: 'line one\r\nline "two"',
      },
      { id: 3, big: 0n, ratio: 0, ok: true, at: 0n, day: '2000-01-01', price: '7', raw: new Uint8Array(0), doc: 's', name: 'x', note: '' },
    ]);
  });

  it('reads files without a header in schema order, with another delimiter and quote', async () => {
    const path = await fileWith("1;'Smith; Jo';40\n2;Ann;\n");
    const table = fromFile(path, { format: 'csv', schema: people, csv: { header: false, delimiter: ';', quote: "'" } });
    await table.whenEnded();
    assert.deepEqual(rowsOf(table), [{ id: 1, name: 'Smith; Jo', age: 40 }, { id: 2, name: 'Ann', age: null }]);
  });

  it('upserts by key columns', async () => {
    const path = await fileWith('id,name,age\n1,Ann,30\n2,Bob,40\n1,Ann,31\n');
    const table = fromFile(path, { format: 'csv', schema: people, key: ['id'] });
    const changes = record(table);
    await table.whenEnded();
    assert.deepEqual(rowsOf(table), [{ id: 1, name: 'Ann', age: 31 }, { id: 2, name: 'Bob', age: 40 }]);
    assert.deepEqual(changes.map((c) => c.kind), ['insert', 'insert', 'update']);
    assert.deepEqual(table.schema.primaryKey, ['id']);
  });

  it('fails on a value that does not fit, naming the file, line, column and fix, after the lines before it', async () => {
    const path = await fileWith('id,name,age\n1,Ann,30\n\n2,Bob,forty\n3,Cy,50\n');
    const table = fromFile(path, { format: 'csv', schema: people });
    await assert.rejects(
      table.whenEnded(),
      (error: Error) => {
        assert.equal(
          error.message,
          `file "${path}": line 4: column "age" is int32 (nullable) but got "forty" (string); expected an integer from -2147483648 to 2147483647 (use int64 for larger values) (fix that line of the file, or the schema)`,
        );
        return true;
      },
    );
    assert.deepEqual(rowsOf(table), [{ id: 1, name: 'Ann', age: 30 }]);
    assert.equal(table.failure?.code, 'INVALID_VALUE');
  });

  it('names the line of a record with the wrong number of fields, or broken quoting', async () => {
    const short = fromFile(await fileWith('id,name,age\n1,Ann\n'), { format: 'csv', schema: people });
    await assert.rejects(short.whenEnded(), /line 2 has 2 field\(s\) but 3 are expected \(id, name, age\) \(fix that line of the file, or the schema\)/);
    const quoting = fromFile(await fileWith('id,name,age\n1,An"n,3\n2,"Bo"b,4\n'), { format: 'csv', schema: people });
    await assert.rejects(quoting.whenEnded(), /line 2 is not valid CSV \(Invalid Opening Quote: a quote is found on field 1.*\); quote a field that holds the delimiter, a quote or a line break, and double the quotes inside it/);
    const unclosed = fromFile(await fileWith('id,name,age\n1,"Ann,3\n'), { format: 'csv', schema: people });
    await assert.rejects(unclosed.whenEnded(), /line 2 is not valid CSV \(Quote Not Closed/);
    const json = fromFile(await fileWith('id,big,ratio,ok,at,day,price,raw,doc,note\n1,1,1,true,0,2024-01-01,1,,{oops},x\n'), { format: 'csv', schema: everyType });
    await assert.rejects(json.whenEnded(), /line 2: column "doc" is json but got "\{oops\}", which is not JSON text; quote strings/);
  });

  it('checks the header against the schema', async () => {
    const unknown = fromFile(await fileWith('id,name,age,email\n'), { format: 'csv', schema: people });
    await assert.rejects(unknown.whenEnded(), /the header \(line 1\) names "email", which the schema lacks; its columns are: id, name, age \(or read the file with csv: \{ header: false \}\)/);
    const missing = fromFile(await fileWith('id,age\n1,2\n'), { format: 'csv', schema: people });
    await assert.rejects(missing.whenEnded(), /the header \(line 1\) lacks "name", which cannot be null; add the column to the file, or declare it nullable/);
    const twice = fromFile(await fileWith('id,name,name\n'), { format: 'csv', schema: people });
    await assert.rejects(twice.whenEnded(), /the header \(line 1\) names "name" twice; name each column once/);
    const optional = fromFile(await fileWith('name,id\nAnn,1\n'), { format: 'csv', schema: people });
    await optional.whenEnded();
    assert.deepEqual(rowsOf(optional), [{ id: 1, name: 'Ann', age: null }]);
  });
});

describe('fromFile: NDJSON', () => {
  it('reads objects per line, keeping int64 and decimal digits exact and reading text in typed columns', async () => {
    const schema = defineSchema({ id: 'int64', price: 'decimal', raw: { type: 'bytes', nullable: true }, doc: { type: 'json', nullable: true }, ok: { type: 'boolean', nullable: true } });
    const path = await fileWith(
      '{"id": 12345678901234567891, "price": 0.10000000000000000001, "doc": {"id": 1.5, "price": 2}}\n' +
        '   \n' +
        '{"id": "42", "price": "3", "raw": "AAE=", "ok": "true"}\r\n' +
        '{"id": -1, "price": 1e2, "ok": false}',
      'ndjson',
    );
    const table = fromFile(path, { format: 'ndjson', schema: defineSchema({ ...Object.fromEntries(schema.columns.map((c) => [c.name, c])), id: 'int64' }) });
    await assert.rejects(table.whenEnded(), /line 1: column "id" is int64 but got 12345678901234567891n \(bigint\); expected a bigint within 64 bits/);
    const fitting = await fileWith(
      '{"id": 9007199254740993, "price": 0.10000000000000000001, "doc": {"id": 1.5, "price": 2}}\n' +
        '   \n' +
        '{"id": "42", "price": "3", "raw": "AAE=", "ok": "true"}\r\n' +
        '{"id": -1, "price": 100, "ok": false}',
      'ndjson',
    );
    const read = fromFile(fitting, { format: 'ndjson', schema });
    await read.whenEnded();
    assert.deepEqual(rowsOf(read), [
      { id: 9_007_199_254_740_993n, price: '0.10000000000000000001', raw: null, doc: { id: 1.5, price: 2 }, ok: null },
      { id: 42n, price: '3', raw: new Uint8Array([0, 1]), doc: null, ok: true },
      { id: -1n, price: '100', raw: null, doc: null, ok: false },
    ]);
  });

  it('reads integer timestamps in the column unit, exactly, as CSV digits are read', async () => {
    const schema = defineSchema({ ns: { type: 'timestamp', unit: 'ns' }, ms: { type: 'timestamp', unit: 'ms' }, iso: 'timestamp' });
    const path = await fileWith('{"ns": 1700000000123456789, "ms": 1700000000123, "iso": "2024-01-01T00:00:00.000000001Z"}\n', 'ndjson');
    const table = fromFile(path, { format: 'ndjson', schema });
    await table.whenEnded();
    assert.deepEqual(rowsOf(table), [{ ns: 1_700_000_000_123_456_789n, ms: 1_700_000_000_123_000_000n, iso: 1_704_067_200_000_000_001n }]);
  });

  it('upserts and deletes by key with {"op":"delete","row":…} lines', async () => {
    const path = await fileWith(
      '{"id":1,"name":"Ann","age":30}\n{"id":2,"name":"Bob"}\n{"op":"upsert","row":{"id":1,"name":"Ann","age":31}}\n{"op":"delete","row":{"id":2}}\n',
      'ndjson',
    );
    const table = fromFile(path, { format: 'ndjson', schema: people, key: ['id'] });
    const changes = record(table);
    await table.whenEnded();
    assert.deepEqual(rowsOf(table), [{ id: 1, name: 'Ann', age: 31 }]);
    assert.deepEqual(changes.map((c) => c.kind), ['insert', 'insert', 'update', 'delete']);
  });

  it('fails on a line that is not a JSON object, naming the file and line', async () => {
    const broken = fromFile(await fileWith('{"id":1,"name":"Ann"}\n{"id":2,\n', 'ndjson'), { format: 'ndjson', schema: people });
    await assert.rejects(broken.whenEnded(), /^SpillwayError: file ".*\.ndjson": line 2 is not JSON \(.*\); each line holds one JSON object \(fix that line of the file, or the schema\)$/);
    assert.equal(broken.size, 1);
    const array = fromFile(await fileWith('[1,"Ann",3]\n', 'ndjson'), { format: 'ndjson', schema: people });
    await assert.rejects(array.whenEnded(), /line 1 holds an array, not a JSON object of column values/);
    const unknown = fromFile(await fileWith('{"id":1,"name":"Ann","email":"a@b"}\n', 'ndjson'), { format: 'ndjson', schema: people });
    await assert.rejects(unknown.whenEnded(), /file ".*": line 1: field "email" is not a column; the columns are: id, name, age/);
    const badOp = fromFile(await fileWith('{"op":"remove","row":{"id":1}}\n', 'ndjson'), { format: 'ndjson', schema: people, key: ['id'] });
    await assert.rejects(badOp.whenEnded(), /line 1 is a change with "op": "remove"; use "insert", "upsert" or "delete"/);
    const appendDelete = fromFile(await fileWith('{"op":"delete","row":{"id":1}}\n', 'ndjson'), { format: 'ndjson', schema: people });
    await assert.rejects(appendDelete.whenEnded(), /file ".*": line 1 deletes a row, but the table has no key columns to find it by; give the option key/);
  });
});

describe('fromFile: following', () => {
  it('reads the existing lines, then lines appended later', async () => {
    const path = await fileWith('id,name,age\n1,Ann,30\n');
    const table = follow(path, { format: 'csv', schema: people });
    record(table);
    await table.caughtUp();
    assert.deepEqual(rowsOf(table), [{ id: 1, name: 'Ann', age: 30 }]);
    assert.equal(table.ended, false);
    await appendFile(path, '2,Bob,40\n3,Cy,\n');
    await eventually(() => Promise.resolve(table.size), (size) => size === 3);
    assert.deepEqual(rowsOf(table).at(-1), { id: 3, name: 'Cy', age: null });
    table.close();
    assert.equal(table.ended, true);
    await table.whenEnded();
  });

  it('waits for the newline of a partial last line, including a quoted field that spans lines', async () => {
    const path = await fileWith('id,name,age\n');
    const table = follow(path, { format: 'csv', schema: people });
    const changes = record(table);
    await appendFile(path, '1,Ann,3');
    await table.caughtUp();
    assert.equal(table.size, 0);
    await appendFile(path, '0\n2,"Bo');
    await table.caughtUp();
    assert.deepEqual(rowsOf(table), [{ id: 1, name: 'Ann', age: 30 }]);
    await appendFile(path, 'b\n');
    await table.caughtUp();
    assert.equal(table.size, 1);
    await appendFile(path, 'by",4\n');
    await table.caughtUp();
    assert.deepEqual(rowsOf(table), [{ id: 1, name: 'Ann', age: 30 }, { id: 2, name: 'Bob\nby', age: 4 }]);
    assert.deepEqual(changes.map((c) => c.kind), ['insert', 'insert']);
  });

  it('holds back a partial NDJSON line and a split multi-byte character until they are complete', async () => {
    const path = await fileWith('', 'ndjson');
    const table = follow(path, { format: 'ndjson', schema: people });
    const euro = Buffer.from('{"id":1,"name":"5 €"}\n');
    await appendFile(path, euro.subarray(0, euro.length - 4));
    await table.caughtUp();
    assert.equal(table.size, 0);
    await appendFile(path, euro.subarray(euro.length - 4));
    await table.caughtUp();
    assert.deepEqual(rowsOf(table), [{ id: 1, name: '5 €', age: null }]);
  });

  it('reads a truncated file again from its start, header included, keeping the rows read', async () => {
    const path = await fileWith('id,name,age\n1,Ann,30\n2,Bob,40\n');
    const table = follow(path, { format: 'csv', schema: people });
    await table.caughtUp();
    await truncate(path, 0);
    await appendFile(path, 'name,id\nZed,9\n');
    await table.caughtUp();
    assert.deepEqual(rowsOf(table).map((row) => row.id), [1, 2, 9]);
  });

  it('follows the path to a new file after rotation, waiting while it is missing', async () => {
    const path = await fileWith('{"id":1,"name":"Ann"}\n', 'ndjson');
    const table = follow(path, { format: 'ndjson', schema: people, key: ['id'] });
    await table.caughtUp();
    await rename(path, `${path}.1`);
    await appendFile(`${path}.1`, '{"id":5,"name":"lost"}\n');
    await unlink(`${path}.1`);
    await table.caughtUp();
    assert.equal(table.ended, false);
    await writeFile(path, '{"id":1,"name":"Ann again"}\n{"id":2,"name":"Bob"}\n');
    await table.caughtUp();
    assert.deepEqual(rowsOf(table).map((row) => row.name), ['Ann again', 'Bob']);
  });

  it('fails on a bad appended line and stops following', async () => {
    const path = await fileWith('id,name,age\n');
    const table = follow(path, { format: 'csv', schema: people });
    await table.caughtUp();
    await appendFile(path, '1,Ann,30\n2,Bob,x\n');
    await assert.rejects(table.whenEnded(), /file ".*": line 3: column "age" is int32 \(nullable\) but got "x" \(string\)/);
    assert.equal(table.size, 1);
  });

  it('close() stops following: the table ends cleanly and a held partial line is dropped', async () => {
    const path = await fileWith('id,name,age\n1,Ann,30\n2,Bo');
    const table = follow(path, { format: 'csv', schema: people });
    let ended = false;
    table.retainRows();
    table.subscribe({ onChanges: () => {}, onEnd: () => (ended = true) });
    await table.caughtUp();
    table.close();
    assert.equal(ended, true);
    await table.whenEnded();
    await table.caughtUp();
    await appendFile(path, 'b,40\n');
    assert.deepEqual(rowsOf(table), [{ id: 1, name: 'Ann', age: 30 }]);
    assert.equal(table.failure, undefined);
  });
});

describe('fromFile: backpressure', () => {
  it('reads on only while every sink downstream has room, and close() releases a waiting read', async () => {
    const lines = Array.from({ length: 30_000 }, (_, id) => `${id},name-${id},${id % 90}`);
    const path = await fileWith(`id,name,age\n${lines.join('\n')}\n`); // several read chunks
    const table = fromFile(path, { format: 'csv', schema: people });
    table.retainRows();
    let open = false;
    let letIn!: () => void;
    const opened = new Promise<void>((resolve) => (letIn = resolve));
    table.aggBy({ n: count() }).addGate({ get open() { return open; }, whenOpen: () => opened });
    for (let tick = 0; tick < 50; tick++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(table.size, 0);
    assert.equal(table.ended, false);
    open = true;
    letIn();
    await table.whenEnded();
    assert.equal(table.size, 30_000);

    const held = follow(await fileWith('id,name,age\n1,Ann,30\n'), { format: 'csv', schema: people });
    held.addGate({ open: false, whenOpen: () => new Promise<void>(() => {}) });
    held.close();
    await held.whenEnded();
    assert.equal(held.size, 0);
  });
});

describe('fromFile: options', () => {
  it('refuses a missing file and bad options, naming the fix', async () => {
    assert.throws(() => fromFile(join(directory, 'absent.csv'), { format: 'csv', schema: people }), /fromFile: cannot read ".*absent\.csv" \(ENOENT: no such file or directory.*\); give the path of an existing file/);
    assert.throws(() => fromFile(directory, { format: 'csv', schema: people }), /fromFile: cannot read ".*" \(it is not a regular file\)/);
    const path = await fileWith('');
    assert.throws(
      () => fromFile(path, { format: 'ndjson', schema: people, csv: { delimiter: ';' } }),
      /fromFile\(".*"\) is misconfigured:\n {2}- csv: csv options apply to format 'csv' only; remove them or set format: 'csv'/,
    );
    assert.throws(
      () => fromFile(path, { format: 'csv', schema: people, pollIntervalMs: 20 }),
      /fromFile\(".*"\) is misconfigured:\n {2}- pollIntervalMs: pollIntervalMs applies to a followed file only; remove it or set follow: true$/,
    );
    assert.throws(() => fromFile(path, { format: 'csv', schema: people, csv: { delimiter: '||' } }), /- csv\.delimiter: Too big: expected string to have exactly 1 characters/);
    assert.throws(() => fromFile(path, { format: 'csv', schema: people, csv: { quote: ',' } }), /- csv: the delimiter and the quote must differ/);
    assert.throws(() => fromFile(path, { format: 'xml', schema: people } as never), /- format: Invalid option: expected one of "csv"\|"ndjson"/);
    assert.throws(() => fromFile(path, { format: 'csv', schema: {} as never }), /- schema: give a schema made with defineSchema\(\)/);
    assert.throws(() => fromFile(path, { format: 'csv', schema: people, key: ['nope'] }), /file ".*" key names "nope", which the table lacks/);
  });

  it('parses text by column type and leaves text that does not fit for the schema to reject', () => {
    const column = (type: 'int32' | 'int64' | 'float64' | 'boolean' | 'timestamp' | 'bytes') => ({ name: 'c', type, nullable: false });
    assert.equal(parseTextValue(column('int32'), '-12'), -12);
    assert.equal(parseTextValue(column('int32'), '1.5'), '1.5');
    assert.equal(parseTextValue(column('int64'), '+9223372036854775807'), 9_223_372_036_854_775_807n);
    assert.equal(parseTextValue(column('float64'), '.5e-1'), 0.05);
    assert.equal(parseTextValue(column('float64'), '-Infinity'), -Infinity);
    assert.equal(parseTextValue(column('float64'), '0x10'), '0x10');
    assert.equal(parseTextValue(column('boolean'), 'False'), false);
    assert.equal(parseTextValue(column('boolean'), 'yes'), 'yes');
    assert.equal(parseTextValue(column('timestamp'), '17'), 17n);
    assert.equal(parseTextValue(column('bytes'), 'not base64!'), 'not base64!');
  });
});
