/**
 * One suite that every encoder passes. Each case (test/formats/encoder-cases.ts) is a spec, a
 * schema and rows; the suite checks the properties every format owes the sink (capabilities that
 * match the methods, real columns, the same bytes every time, rows left untouched, nulls only
 * where the format says, missing columns refused at build) and compares the bytes with a golden
 * file in test/fixtures/golden/. It never writes a golden file: `npm run goldens:update` does,
 * as a separate command, and its result is read through before it is committed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it, mock } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { createEncoder, keyValueSpecSchema } from '../../src/formats/key-value-spec.ts';
import { columnNames, findColumn } from '../../src/model/schema.ts';
import { FIXED_NOW, build, cases, goldenFile, messagesOf, renderGolden, rowsOf } from './encoder-cases.ts';

describe('encoder conformance', () => {
  before(() => mock.timers.enable({ apis: ['Date'], now: FIXED_NOW }));
  after(() => mock.timers.reset());

  it('has unique case names', () => {
    const names = cases.map((testCase) => testCase.name);
    assert.deepEqual(names, [...new Set(names)]);
  });

  for (const testCase of cases) {
    describe(testCase.name, () => {
      it('declares capabilities that match its methods', () => {
        const encoder = build(testCase);
        const { capabilities } = encoder;
        assert.equal(encoder.format, testCase.spec.kind);
        assert.equal(typeof encoder.encode, 'function');
        assert.equal(capabilities.envelope !== 'none', typeof encoder.encodeChange === 'function', 'encodeChange is present exactly when there is an envelope');
        assert.equal(capabilities.arrays, typeof encoder.encodeChanges === 'function', 'encodeChanges is present exactly when arrays is true');
        if (capabilities.ignored) {
          assert.deepEqual([capabilities.columns, capabilities.envelope, capabilities.arrays], [[], 'none', false]);
        }
        if ((testCase.part ?? 'value') === 'key') assert.equal(capabilities.envelope, 'none', 'a key carries no change envelope');
      });

      it('reads only columns of the table, each once', () => {
        const { columns } = build(testCase).capabilities;
        for (const column of columns) assert.ok(findColumn(testCase.schema, column) !== undefined, `"${column}" is not a column`);
        assert.equal(new Set(columns).size, columns.length);
      });

      it('has rows with nulls in the nullable columns it reads', () => {
        const rows = rowsOf(testCase);
        assert.ok(rows.length >= 2, 'a case needs at least two rows');
        for (const column of build(testCase).capabilities.columns) {
          if (findColumn(testCase.schema, column)?.nullable === true) {
            assert.ok(rows.some((row) => row[column] === null), `no row has a null in nullable column "${column}"`);
          }
        }
      });

      it('gives the same bytes every time, from any encoder built from the spec', async () => {
        const rows = rowsOf(testCase);
        const first = build(testCase);
        const second = build(testCase);
        await first.prepare?.({ sink: 'conformance', topic: 'conformance', part: testCase.part ?? 'value' });
        await second.prepare?.({ sink: 'conformance', topic: 'conformance', part: testCase.part ?? 'value' });
        assert.deepEqual(messagesOf(first, rows), messagesOf(first, rows));
        assert.deepEqual(messagesOf(first, rows), messagesOf(second, rows));
      });

      it('never changes the rows or changes it is given', () => {
        const rows = rowsOf(testCase);
        const snapshot = structuredClone(rows);
        // Frozen rows make a write throw; the comparison catches writes into byte arrays, which cannot be frozen.
        messagesOf(build(testCase), rows);
        assert.deepEqual(rows, snapshot);
      });

      it('writes Buffers, and null only when ignored (or for a null column, where the format says so)', () => {
        const encoder = build(testCase);
        const rows = rowsOf(testCase);
        for (const [index, row] of rows.entries()) {
          const bytes = encoder.encode(row);
          const columnIsNull = encoder.capabilities.columns.length === 1 && row[encoder.capabilities.columns[0] as string] === null;
          const expectNull = encoder.capabilities.ignored || (testCase.nullWhenColumnIsNull === true && columnIsNull);
          assert.equal(bytes === null, expectNull, `row ${index}: ${bytes === null ? 'null' : 'bytes'}`);
          if (bytes !== null) assert.ok(Buffer.isBuffer(bytes));
        }
        for (const { label, bytes } of messagesOf(encoder, rows).filter((message) => !message.label.startsWith('encode('))) {
          assert.ok(Buffer.isBuffer(bytes), `${label} gives a Buffer`);
        }
      });

      it('refuses, when built, a spec naming a column the table lacks, listing the columns', () => {
        if (testCase.missing === undefined) {
          assert.deepEqual(build(testCase).capabilities.columns, [], 'a spec that reads columns needs `missing`');
          return;
        }
        const spec = keyValueSpecSchema.parse(testCase.missing('no_such_column'));
        assert.throws(
          () => createEncoder(spec, testCase.schema, testCase.part ?? 'value'),
          (error: unknown) =>
            error instanceof SpillwayError &&
            error.code === ErrorCode.UnknownColumn &&
            error.message.includes('"no_such_column"') &&
            error.message.includes(`its columns are: ${columnNames(testCase.schema).join(', ')}`),
        );
      });

      it('matches its golden file byte for byte', async () => {
        const actual = await renderGolden(testCase);
        const file = goldenFile(testCase);
        assert.ok(existsSync(file), `no golden file ${file.pathname}: run \`npm run goldens:update\`, then read it through`);
        const expected = readFileSync(file);
        assert.ok(expected.equals(actual), `bytes differ from ${file.pathname} (regenerate with \`npm run goldens:update\` only if the change is intended):\n${actual.toString('utf8')}`);
      });
    });
  }
});
