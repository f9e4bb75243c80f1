/**
 * Tables that end: every table has close(); closing a derived table leaves its parent, and a
 * parent left by the last table computed from it closes in turn, up to the source, which stops
 * producing. Stopping a sink leaves its table open; the program's own input tables stay open.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { count } from '../../src/model/aggregations.ts';
import { jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { fromAsyncIterable } from '../../src/sources/iterable-table.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { timeTable } from '../../src/sources/time-table.ts';
import { startSink } from '../../src/sink/sink.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('close()', () => {
  it('closing the last derived table closes every table up to the time table, whose timer stops', async () => {
    const ticks = timeTable('PT0.01S');
    const updated = ticks.update({ K: (_row, i) => i % 3 });
    const last = updated.lastBy(['K']);
    const ended: string[] = [];
    for (const [name, table] of [['ticks', ticks], ['updated', updated], ['last', last]] as const) {
      table.subscribe({ onChanges: () => {}, onEnd: () => ended.push(name) });
    }
    await sleep(50);
    last.close();
    assert.deepEqual([ticks.ended, updated.ended, last.ended], [false, false, true], 'others still listen to ticks and updated');
    // The test's own listeners are not tables: once they leave, the derived tables alone decide.
    // A time table with listeners does not keep its rows (they went to the listeners): its position counts them.
    const made = ticks.position.sequence;
    await sleep(50);
    assert.ok(ticks.position.sequence > made, 'ticks keeps producing while another consumer listens');
    updated.close();
    assert.equal(ticks.ended, false, 'the listener left on ticks is not a table, so ticks stays until closed');
    ticks.close();
    assert.deepEqual(ended.sort(), ['last', 'ticks', 'updated']);
  });

  it('a chain with no other consumer ends from the root when its last table closes', async () => {
    const ticks = timeTable('PT0.01S');
    const last = ticks.update({ K: (_row, i) => i % 3 }).lastBy(['K']);
    await sleep(30);
    last.close();
    assert.equal(ticks.ended, true, 'the time table closed once nothing was computed from it');
    const made = ticks.position.sequence;
    await sleep(50);
    assert.equal(ticks.position.sequence, made, 'no row after the close');
  });

  it('a parent with two derived tables closes only when both have closed', () => {
    const ticks = timeTable('PT1S');
    const a = ticks.update({ a: () => 1 });
    const b = ticks.where(() => true).aggBy({ n: count() });
    a.close();
    assert.equal(ticks.ended, false);
    b.close();
    assert.equal(ticks.ended, true);
    a.close();
    b.close();
  });

  it('an iterable source stops being read when its last derived table closes', async () => {
    let pulled = 0;
    let finished = false;
    async function* numbers() {
      try {
        for (let n = 0; ; n++) {
          pulled++;
          yield { n };
          await sleep(5);
        }
      } finally {
        finished = true;
      }
    }
    const source = fromAsyncIterable(defineSchema({ n: 'int32' }), numbers());
    const derived = source.select(['n']);
    await sleep(40);
    derived.close();
    assert.equal(source.ended, true);
    const seen = pulled;
    await sleep(40);
    assert.ok(pulled <= seen + 1, `pulled ${pulled - seen} more after the close`);
    assert.equal(finished, true, "the generator's finally ran");
  });

  it("an input table stays open after its derived tables close: the program that edits it closes it", () => {
    const input = inputTable(defineSchema({ k: 'string' }, { primaryKey: ['k'] }));
    input.add({ k: 'a' });
    const derived = input.update({ n: { type: 'int32', formula: () => 1 } });
    derived.close();
    assert.equal(derived.ended, true);
    assert.equal(input.ended, false);
    input.add({ k: 'b' });
    input.close();
    assert.equal(input.ended, true);
  });

  it('a static table closes without effect; a derived table of it closes too', () => {
    const table = newTable(defineSchema({ v: 'int32' }), [{ v: 1 }]);
    const derived = table.update({ w: (row) => row.v });
    table.close();
    derived.close();
    assert.equal(derived.ended, true);
    assert.equal(derived.size, 1, 'the rows stay readable');
  });
});

describe('sinks and close()', () => {
  it('stopping a sink leaves its table open; closing the table then ends the source', async () => {
    const ticks = timeTable('PT0.01S');
    const table = ticks.update({ K: (_row, i) => i % 2 });
    const writer = new MemoryWriter();
    const sink = startSink(table, { name: 'lifecycle', topic: 't', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, value: jsonSpec() }, { createWriter: () => writer });
    await sleep(40);
    await sink.stop();
    assert.equal(table.ended, false);
    assert.equal(ticks.ended, false);
    table.close();
    assert.equal(ticks.ended, true);
    assert.ok(writer.records('t').length > 0);
  });

  it("closing a table a sink writes ends the sink after it writes what it has", async () => {
    const ticks = timeTable('PT0.01S');
    const table = ticks.update({ K: (_row, i) => i % 2 }).lastBy(['K']);
    const writer = new MemoryWriter();
    const sink = startSink(table, { name: 'lifecycle', topic: 't', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, key: simpleSpec('K'), value: jsonSpec() }, { createWriter: () => writer });
    await sleep(40);
    table.close();
    await sink.done;
    assert.equal(sink.state, 'stopped');
    assert.equal(ticks.ended, true);
  });

  it("a sink's own last-by-key table is closed when the sink stops, leaving the caller's table open", async () => {
    const ticks = timeTable('PT0.01S');
    const writer = new MemoryWriter();
    const sink = startSink(
      ticks,
      { name: 'lifecycle', topic: 't', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, key: simpleSpec('Timestamp'), value: jsonSpec(), lastByKeyColumns: true },
      { createWriter: () => writer },
    );
    await sleep(30);
    await sink.stop();
    assert.equal(ticks.ended, false, "the caller's table is not the sink's to close");
    // Nothing listens any more, so the timer no longer holds the process (the table still ticks).
    const size = ticks.size;
    await sleep(30);
    assert.ok(ticks.size > size);
    ticks.close();
  });
});
