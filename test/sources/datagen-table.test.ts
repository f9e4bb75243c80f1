import assert from 'node:assert/strict';
import { it } from 'node:test';
import { defineSchema } from '../../src/model/schema.ts';
import { datagenTable } from '../../src/sources/datagen-table.ts';

it('datagen hands a high rate over in batches of at most 1000 rows; random strings keep their length and alphabet', async () => {
  const schema = defineSchema({ id: 'int64', short: 'string', long: 'string', n: 'int32' });
  const { table } = datagenTable(schema, {
    rowsPerSecond: 100_000_000,
    numberOfRows: 2_500,
    fields: { id: { kind: 'sequence', start: 1n, end: 2_500n }, short: { kind: 'random', length: 3 }, long: { kind: 'random', length: 300 }, n: { kind: 'random', min: -2, max: 2 } },
  });
  const batches: number[] = [];
  const rows: Record<string, unknown>[] = [];
  await new Promise<void>((resolve) =>
    table.subscribe({
      onChanges: (batch) => {
        batches.push(batch.length);
        for (const change of batch) rows.push(change.row);
      },
      onEnd: () => resolve(),
    }),
  );
  assert.equal(rows.length, 2_500);
  assert.ok(batches.every((size) => size <= 1_000), JSON.stringify(batches));
  assert.deepEqual(rows.map((row) => row.id), Array.from({ length: 2_500 }, (_v, i) => BigInt(i + 1)));
  assert.ok(rows.every((row) => /^[a-z0-9]{3}$/.test(row.short as string) && /^[a-z0-9]{300}$/.test(row.long as string)));
  // Every letter of the alphabet turns up, and the integers cover their whole range.
  assert.equal(new Set(rows.map((row) => row.long as string).join('')).size, 36);
  assert.deepEqual([...new Set(rows.map((row) => row.n as number))].sort((a, b) => a - b), [-2, -1, 0, 1, 2]);
});

it('datagen strings longer than its pool of letters, and strings that differ from row to row', async () => {
  const schema = defineSchema({ huge: 'string', key: 'string' });
  const { table } = datagenTable(schema, { rowsPerSecond: 100_000_000, numberOfRows: 3, fields: { huge: { kind: 'random', length: 40_000 }, key: { kind: 'random', length: 16 } } });
  const rows: Record<string, unknown>[] = [];
  await new Promise<void>((resolve) => table.subscribe({ onChanges: (batch) => rows.push(...batch.map((change) => change.row)), onEnd: () => resolve() }));
  assert.ok(rows.every((row) => /^[a-z0-9]{40000}$/.test(row.huge as string) && /^[a-z0-9]{16}$/.test(row.key as string)));
  assert.equal(new Set(rows.map((row) => row.huge)).size, 3);
  assert.equal(new Set(rows.map((row) => row.key)).size, 3);
});
