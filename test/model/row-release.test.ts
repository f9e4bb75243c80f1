/**
 * Memory: a stream (time table, file, iterable, and append-only tables computed from them) does
 * not keep the rows its listeners got; tables that are not streams keep theirs; a consumer that
 * reads rows() again asks for them to be kept; operators keep only their state (lastBy: a row per key).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineSchema } from '../../src/model/schema.ts';
import { fromAsyncIterable } from '../../src/sources/iterable-table.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { timeTable } from '../../src/sources/time-table.ts';

describe('rows a stream does not keep', () => {
  it('a time table with a listener passes its rows on without keeping them; without one it keeps them', async () => {
    const start = new Date(Date.now() - 1_000);
    const unheard = timeTable('PT0.01S', { startTime: start });
    assert.ok(unheard.size >= 100, 'nobody listened, so the rows wait for the first consumer');
    const heard = timeTable('PT0.01S', { startTime: start });
    const snapshot = heard.size;
    let got = 0;
    heard.subscribe({ onChanges: (batch) => (got += batch.length) });
    const keyed = heard.update({ K: { type: 'int32', formula: (_row, i) => i % 3 } }).lastBy(['K']);
    await new Promise((resolve) => setTimeout(resolve, 150));
    heard.close();
    unheard.close();
    assert.ok(got >= 5, `${got} rows went to the listener`);
    assert.equal(heard.size, snapshot, 'the rows before the listener came stay; none after');
    assert.equal(keyed.size, 3, 'lastBy keeps one row per key');
  });

  it('keeps the rows a consumer asks for, and an iterable behaves the same', async () => {
    const schema = defineSchema({ n: 'int32' });
    const items = Array.from({ length: 1000 }, (_, n) => ({ n }));
    const streamed = fromAsyncIterable(schema, items);
    let got = 0;
    streamed.subscribe({ onChanges: (batch) => (got += batch.length) });
    const kept = fromAsyncIterable(schema, items);
    const release = kept.retainRows();
    kept.subscribe({ onChanges: () => {} });
    await Promise.all([streamed.whenEnded(), kept.whenEnded()]);
    assert.equal(got, 1000);
    assert.equal(streamed.size, 0);
    assert.equal(kept.size, 1000);
    release();
  });

  it('a table the program edits is not a stream: it keeps its rows', () => {
    const table = inputTable(defineSchema({ n: 'int32' }));
    table.subscribe({ onChanges: () => {} });
    table.add([{ n: 1 }, { n: 2 }]);
    assert.equal(table.size, 2);
  });

  it('an input table made with streams: true passes appended rows on without keeping them; a keyed one keeps its rows', () => {
    const appended = inputTable(defineSchema({ n: 'int32' }), { streams: true });
    appended.add([{ n: 0 }]);
    let got = 0;
    appended.subscribe({ onChanges: (batch) => (got += batch.length) });
    appended.add([{ n: 1 }, { n: 2 }]);
    assert.equal(got, 2);
    assert.equal(appended.size, 1, 'the row added before anyone listened stays; none after');
    const keyed = inputTable(defineSchema({ n: 'int32' }, { primaryKey: ['n'] }), { streams: true });
    keyed.subscribe({ onChanges: () => {} });
    keyed.add([{ n: 1 }, { n: 2 }]);
    keyed.delete([{ n: 1 }]);
    assert.equal(keyed.size, 1, 'rows by key stay, so they can be replaced and deleted');
  });

  it('an update derived later from a stream whose rows went on learns its types from the newest row', () => {
    const ticks = timeTable('PT0.01S', { startTime: new Date(Date.now() - 500) });
    ticks.subscribe({ onChanges: () => {} });
    ticks.close();
    const later = ticks.update({ copy: (row) => row.Timestamp });
    assert.deepEqual(later.schema.columns.map((c) => [c.name, c.type]), [['Timestamp', 'timestamp'], ['copy', 'timestamp']]);
  });
});
