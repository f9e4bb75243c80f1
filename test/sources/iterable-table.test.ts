import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { count, sum } from '../../src/model/aggregations.ts';
import { defineSchema, type Row } from '../../src/model/schema.ts';
import { type FeedItem, fromAsyncIterable } from '../../src/sources/iterable-table.ts';
import type { Change, Table } from '../../src/model/table.ts';

const rowsOf = (table: Table): Row[] => [...table.rows()].map(([, row]) => row);

/**
 * Listens to the table. The tests read `rows()` as well, so the table is asked to keep its rows
 * (a stream passes them to its listeners without keeping them).
 */
function record(table: Table): { changes: Change[]; ended: () => boolean } {
  table.retainRows();
  const changes: Change[] = [];
  let ended = false;
  table.subscribe({ onChanges: (batch) => changes.push(...batch), onEnd: () => (ended = true) });
  return { changes, ended: () => ended };
}

/** A gate the test opens to let a generator go on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

const readings = defineSchema({ sensor: 'string', value: 'int32', at: { type: 'timestamp', nullable: true } });
const keyed = defineSchema({ sensor: 'string', value: 'int32' }, { primaryKey: ['sensor'] });

describe('fromAsyncIterable', () => {
  it('appends each yielded row, a yielded array as one batch, and ends with the iterable', async () => {
    async function* source(): AsyncGenerator<FeedItem> {
      yield { sensor: 'a', value: 1, at: '2024-01-01T00:00:00Z' };
      await Promise.resolve();
      yield [{ sensor: 'b', value: 2 }, { sensor: 'c', value: 3, at: null }];
    }
    const table = fromAsyncIterable(readings, source());
    const batches: number[] = [];
    table.retainRows();
    table.subscribe({ onChanges: (batch) => batches.push(batch.length) });
    const seen = record(table);
    assert.equal(table.appendOnly, true);
    assert.equal(table.size, 0);
    await table.whenEnded();
    assert.deepEqual(rowsOf(table), [
      { sensor: 'a', value: 1, at: 1_704_067_200_000_000_000n },
      { sensor: 'b', value: 2, at: null },
      { sensor: 'c', value: 3, at: null },
    ]);
    assert.deepEqual(batches, [1, 2]);
    assert.deepEqual(seen.changes.map((c) => [c.kind, c.id]), [['insert', 0], ['insert', 1], ['insert', 2]]);
    assert.equal(table.ended, true);
    assert.equal(seen.ended(), true);
    assert.equal(table.failure, undefined);
  });

  it('reads sync iterables too', async () => {
    const table = fromAsyncIterable(keyed, [{ sensor: 'a', value: 1 }, { sensor: 'a', value: 2 }]);
    await table.whenEnded();
    assert.deepEqual(rowsOf(table), [{ sensor: 'a', value: 2 }]);
  });

  it('upserts by key and deletes with { op: "delete", row } envelopes', async () => {
    async function* source(): AsyncGenerator<FeedItem> {
      yield { sensor: 'a', value: 1 };
      await Promise.resolve();
      yield [{ sensor: 'b', value: 2 }, { op: 'upsert', row: { sensor: 'a', value: 3 } }];
      yield { op: 'delete', row: { sensor: 'b' } };
      yield { op: 'delete', row: { sensor: 'never-seen' } };
      yield [{ op: 'insert', row: { sensor: 'c', value: 4 } }, { op: 'delete', row: { sensor: 'c', value: 99 } }, { sensor: 'c', value: 5 }];
    }
    const table = fromAsyncIterable(readings, source(), { key: ['sensor'] });
    const seen = record(table);
    await table.whenEnded();
    assert.equal(table.appendOnly, false);
    assert.deepEqual(table.schema.primaryKey, ['sensor']);
    assert.deepEqual(
      seen.changes.map((c) => [c.kind, c.id, c.row.value]),
      [
        ['insert', 'string:a', 1],
        ['insert', 'string:b', 2],
        ['update', 'string:a', 3],
        ['delete', 'string:b', 2],
        ['insert', 'string:c', 4],
        ['delete', 'string:c', 4],
        ['insert', 'string:c', 5],
      ],
    );
    assert.deepEqual(rowsOf(table), [{ sensor: 'a', value: 3, at: null }, { sensor: 'c', value: 5, at: null }]);
  });

  it("uses the schema's primary key when no key is given", async () => {
    const table = fromAsyncIterable(keyed, [{ sensor: 'a', value: 1 }, { op: 'delete', row: { sensor: 'a' } }]);
    await table.whenEnded();
    assert.equal(table.size, 0);
  });

  it('reads an item shaped like an envelope as a row when the schema has a column named row', async () => {
    const schema = defineSchema({ op: 'string', row: 'json' });
    const table = fromAsyncIterable(schema, [{ op: 'delete', row: { x: 1 } }]);
    await table.whenEnded();
    assert.deepEqual(rowsOf(table), [{ op: 'delete', row: { x: 1 } }]);
  });

  it('fails on a bad row naming its position, column and type, keeps what came before, and stops the iterator', async () => {
    let stopped = false;
    async function* source(): AsyncGenerator<FeedItem> {
      try {
        yield { sensor: 'a', value: 1 };
        await Promise.resolve();
        yield { sensor: 'b', value: 'high' };
        yield { sensor: 'c', value: 3 };
      } finally {
        stopped = true;
      }
    }
    const table = fromAsyncIterable(readings, source());
    const seen = record(table);
    await assert.rejects(table.whenEnded(), /fromAsyncIterable: item 1: column "value" is int32 but got "high" \(string\); expected an integer/);
    assert.match(table.failure?.message ?? '', /item 1: column "value" is int32/);
    assert.equal(table.failure?.code, 'INVALID_VALUE');
    assert.deepEqual(rowsOf(table), [{ sensor: 'a', value: 1, at: null }]);
    assert.equal(seen.ended(), true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, true);
  });

  it('applies a yielded batch whole or not at all, naming the row within it', async () => {
    const table = fromAsyncIterable(readings, [[{ sensor: 'a', value: 1 }], [{ sensor: 'b', value: 2 }, { sensor: 'c' }]]);
    await assert.rejects(table.whenEnded(), /fromAsyncIterable: item 1, row 1: column "value" is int32 but got undefined; expected a value \(declare \{ type: 'int32', nullable: true \} to allow nulls\)/);
    assert.deepEqual(rowsOf(table), [{ sensor: 'a', value: 1, at: null }]);
    // The row's label is worded only when it is needed, for each kind of fault in a batch.
    const unknown = fromAsyncIterable(readings, [[{ sensor: 'a', value: 1 }, { sensor: 'b', value: 2 }, { sensor: 'c', value: 3, colour: 'red' }]]);
    await assert.rejects(unknown.whenEnded(), /fromAsyncIterable: item 0, row 2: field "colour" is not a column; the columns are: sensor, value, at/);
    const scalar = fromAsyncIterable(readings, [[{ sensor: 'a', value: 1 }, 7]] as unknown as FeedItem[]);
    await assert.rejects(scalar.whenEnded(), /fromAsyncIterable: item 0, row 1 is a number, not a row; give an object of column values/);
  });

  it('names unknown fields, non-objects, and deletes without key columns', async () => {
    const unknown = fromAsyncIterable(readings, [{ sensor: 'a', value: 1, colour: 'red' }]);
    await assert.rejects(unknown.whenEnded(), /fromAsyncIterable: item 0: field "colour" is not a column; the columns are: sensor, value, at/);
    const scalar = fromAsyncIterable(readings, ['a,1' as unknown as FeedItem]);
    await assert.rejects(scalar.whenEnded(), /fromAsyncIterable: item 0 is the string "a,1", not a row; give an object of column values/);
    const deleting = fromAsyncIterable(readings, [{ op: 'delete', row: { sensor: 'a' } }]);
    await assert.rejects(deleting.whenEnded(), /fromAsyncIterable: item 0 deletes a row, but the table has no key columns to find it by; give the option key: \['column', …\]/);
    const badKey = fromAsyncIterable(keyed, [{ op: 'delete', row: { value: 1 } }]);
    await assert.rejects(badKey.whenEnded(), /item 0: the key of a delete: column "sensor" is string but got undefined/);
  });

  it('fails when the iterable throws, saying how far it got', async () => {
    async function* source(): AsyncGenerator<FeedItem> {
      yield { sensor: 'a', value: 1 };
      await Promise.resolve();
      throw new Error('connection reset');
    }
    const table = fromAsyncIterable(readings, source());
    await assert.rejects(table.whenEnded(), /fromAsyncIterable: the iterable threw after 1 item\(s\): connection reset/);
    assert.equal(table.size, 1);
  });

  it('close() stops reading, lets the generator clean up, and ends the table cleanly', async () => {
    const next = gate();
    let cleanedUp = false;
    async function* source(): AsyncGenerator<FeedItem> {
      try {
        yield { sensor: 'a', value: 1 };
        await next.wait;
        yield { sensor: 'b', value: 2 };
      } finally {
        cleanedUp = true;
      }
    }
    const table = fromAsyncIterable(readings, source());
    const seen = record(table);
    while (table.size === 0) await new Promise((resolve) => setImmediate(resolve));
    table.close();
    assert.equal(table.ended, true);
    assert.equal(seen.ended(), true);
    await table.whenEnded();
    next.open();
    while (!cleanedUp) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(rowsOf(table), [{ sensor: 'a', value: 1, at: null }]);
    assert.equal(table.failure, undefined);
  });

  it('refuses what is not iterable and options it does not know', () => {
    assert.throws(() => fromAsyncIterable(readings, 42 as unknown as Iterable<FeedItem>), /fromAsyncIterable: the second argument is not iterable; give an async generator, a stream, an array/);
    assert.throws(() => fromAsyncIterable(readings, [], { keys: ['sensor'] } as never), /fromAsyncIterable is misconfigured:\n {2}- options: unknown option\(s\) "keys"/);
    assert.throws(() => fromAsyncIterable(readings, [], { key: ['nope'] }), /fromAsyncIterable key names "nope", which the table lacks; its columns are: sensor, value, at/);
  });

  it('pulls the next item only while every sink downstream has room', async () => {
    let pulled = 0;
    function* source(): Generator<FeedItem> {
      for (let value = 0; value < 5; value++) {
        pulled++;
        yield { sensor: 'a', value };
      }
    }
    const table = fromAsyncIterable(readings, source());
    table.retainRows();
    const room = gate();
    let open = false;
    // A gate on a table computed from the source holds the source back, as a sink's full queue does.
    table.where(() => true).addGate({ get open() { return open; }, whenOpen: () => room.wait });
    for (let tick = 0; tick < 20; tick++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(pulled, 1);
    assert.equal(table.size, 1);
    open = true;
    room.open();
    await table.whenEnded();
    assert.equal(table.size, 5);
  });

  it('close() also ends a source that waits for room', async () => {
    const table = fromAsyncIterable(readings, [{ sensor: 'a', value: 1 }, { sensor: 'b', value: 2 }]);
    table.addGate({ open: false, whenOpen: () => new Promise<void>(() => {}) });
    for (let tick = 0; tick < 5; tick++) await new Promise((resolve) => setImmediate(resolve));
    table.close();
    await table.whenEnded();
    assert.equal(table.size, 1);
  });

  it('feeds operators: a running aggregate of a stream', async () => {
    async function* source(): AsyncGenerator<FeedItem> {
      for (let index = 0; index < 10; index++) {
        await new Promise((resolve) => setImmediate(resolve));
        yield { sensor: index % 2 === 0 ? 'even' : 'odd', value: index };
      }
    }
    const table = fromAsyncIterable(readings, source());
    const totals = table.aggBy({ n: count(), total: sum('value') }, ['sensor']);
    await table.whenEnded();
    assert.deepEqual(rowsOf(totals), [{ sensor: 'even', n: 5n, total: 20n }, { sensor: 'odd', n: 5n, total: 25n }]);
    assert.equal(totals.ended, true);
  });
});
