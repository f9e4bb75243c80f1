/**
 * Positions through the operators: update, where, select, lastBy and aggBy hand on their source's
 * position with each batch (and with their snapshot), a batch filtered to nothing still moves the
 * position on, and the operators give the same output when their source is replayed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { count, sum } from '../../src/model/aggregations.ts';
import type { LiveTable } from '../../src/model/live-table.ts';
import { type SourcePosition, describePosition, positionAtOrBefore } from '../../src/model/position.ts';
import { defineSchema } from '../../src/model/schema.ts';
import type { Change } from '../../src/model/table.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';

const schema = defineSchema({ k: 'string', v: 'int32' });

function listen(table: LiveTable) {
  const batches: { changes: readonly Change[]; position: SourcePosition | undefined }[] = [];
  const moved: SourcePosition[] = [];
  table.subscribe({ onChanges: (changes, position) => batches.push({ changes, position }), onPosition: (position) => moved.push(position) });
  return { batches, moved };
}

describe('positions through operators', () => {
  const pipelines: [string, (t: LiveTable) => LiveTable][] = [
    ['update', (t) => t.update({ w: { type: 'int32', formula: (row) => (row.v as number) * 2 } })],
    ['where', (t) => t.where((row) => (row.v as number) % 2 === 0)],
    ['select', (t) => t.select(['v'])],
    ['lastBy', (t) => t.lastBy(['k'])],
    ['aggBy', (t) => t.aggBy({ n: count(), total: sum('v') }, ['k'])],
  ];
  for (const [name, build] of pipelines) {
    it(`${name} hands on the source's position with its snapshot and every batch`, () => {
      const source = inputTable(schema);
      source.add({ k: 'a', v: 1 });
      const derived = build(source);
      assert.deepEqual(derived.position, { kind: 'input-log', sequence: 1 });
      const { batches, moved } = listen(derived);
      source.add([{ k: 'a', v: 2 }, { k: 'b', v: 4 }]);
      source.add({ k: 'b', v: 6 });
      const positions = [...batches.map((b) => b.position), ...moved];
      assert.deepEqual(positions.map((p) => p?.kind === 'input-log' && p.sequence), [2, 3]);
      assert.deepEqual(derived.position, source.position);
    });
  }

  it('a batch filtered to nothing still moves the position on (onPosition), through a chain', () => {
    const source = inputTable(schema);
    const evens = source.where((row) => (row.v as number) % 2 === 0).select(['v']);
    const { batches, moved } = listen(evens);
    source.add({ k: 'a', v: 1 });
    source.add({ k: 'a', v: 2 });
    assert.deepEqual(moved, [{ kind: 'input-log', sequence: 1 }]);
    assert.deepEqual(batches.map((b) => b.position), [{ kind: 'input-log', sequence: 2 }]);
    assert.deepEqual(evens.position, { kind: 'input-log', sequence: 2 });
  });

  it('operators give the same output on a replay of their source (the whole, or from a position)', () => {
    const rows = Array.from({ length: 50 }, (_, n) => ({ k: `k${n % 7}`, v: n }));
    const run = (table: LiveTable) => [...table.where((r) => (r.v as number) % 3 !== 0).update({ w: { type: 'int32', formula: (r) => (r.v as number) + 1 } }).lastBy(['k']).rows()];
    const first = newTable(schema, rows);
    assert.deepEqual(run(first.resumeFrom({ kind: 'row', index: 0 })), run(first));
    // Stateless operators over the rest are exactly the tail of the whole.
    const tail = first.resumeFrom({ kind: 'row', index: 30 }).where((r) => (r.v as number) % 3 !== 0);
    const whole = first.where((r) => (r.v as number) % 3 !== 0);
    assert.deepEqual([...tail.rows()], [...whole.rows()].filter(([id]) => (id as number) >= 30));
  });

  it('compares and describes positions', () => {
    assert.equal(positionAtOrBefore({ kind: 'row', index: 1 }, { kind: 'row', index: 2 }), true);
    assert.equal(positionAtOrBefore({ kind: 'row', index: 3 }, { kind: 'row', index: 2 }), false);
    assert.equal(positionAtOrBefore({ kind: 'row', index: 1 }, { kind: 'item', index: 2 }), undefined);
    const kafka = (offsets: [number, string][]): SourcePosition => ({ kind: 'kafka', topic: 't', offsets: offsets.map(([partition, offset]) => ({ partition, offset })) });
    assert.equal(positionAtOrBefore(kafka([[0, '5'], [1, '2']]), kafka([[0, '5'], [1, '3']])), true);
    assert.equal(positionAtOrBefore(kafka([[0, '6']]), kafka([[0, '5'], [1, '3']])), false);
    assert.equal(positionAtOrBefore(kafka([[2, '1']]), kafka([[0, '5']])), false);
    assert.equal(positionAtOrBefore({ kind: 'file', path: 'a', byteOffset: 9, line: 2, rows: 1 }, { kind: 'file', path: 'b', byteOffset: 9, line: 2, rows: 1 }), undefined);
    assert.equal(describePosition(kafka([[0, '5'], [1, '3']])), 'topic "t" partition 0 offset 5, partition 1 offset 3');
    assert.equal(describePosition({ kind: 'file', path: 'x.csv', byteOffset: 120, line: 7, rows: 5 }), 'file "x.csv" byte 120 (line 7)');
  });
});
