import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type TopicRecord, debeziumDecoder, foldAppend, foldComplete, foldRetract, foldUpsert, headerDecoder, insertDeleteDecoder, keysStayOnOnePartition } from './changelog-fold.ts';

function record(key: string | null, value: string | null, headers: Record<string, string> = {}, partition = 0): TopicRecord {
  return { partition, key, value, headers: new Map(Object.entries(headers)) };
}

it('folds upserts by key, tombstones removing keys', () => {
  assert.deepEqual(foldUpsert([record('a', '1'), record('b', '2'), record('a', '3'), record('b', null), record('c', '4')]), ['3', '4']);
});

it('folds retractions and refuses a delete of a row never inserted', () => {
  const decode = headerDecoder();
  const insert = (row: string) => record(null, row, { 'change-kind': 'insert' });
  const remove = (row: string) => record(null, row, { 'change-kind': 'delete' });
  assert.deepEqual(foldRetract([insert('x'), insert('x'), insert('y'), remove('x')], decode), ['x', 'y']);
  assert.throws(() => foldRetract([insert('x'), remove('y')], decode), /a delete of y, which the topic never inserted/);
  assert.throws(() => foldRetract([record(null, 'x')], decode), /without a valid change-kind header/);
});

it('reads insert_delete events (single and arrays) and Debezium envelopes', () => {
  const events = [record(null, '{"insert":{"a":1}}'), record(null, '[{"insert":{"a":2}},{"delete":{"a":1}}]')];
  assert.deepEqual(foldRetract(events, insertDeleteDecoder), ['{"a":2}']);
  assert.throws(() => foldRetract([record(null, '{"upsert":{"a":1}}')], insertDeleteDecoder), /not an insert_delete event/);
  const debezium = [
    record(null, '{"before":null,"after":{"a":1},"op":"c"}'),
    record(null, '{"before":{"a":1},"after":{"a":3},"op":"u"}'),
    record(null, '{"before":null,"after":{"a":4},"op":"c"}'),
    record(null, '{"before":{"a":4},"after":null,"op":"d"}'),
  ];
  assert.deepEqual(foldRetract(debezium, debeziumDecoder), ['{"a":3}']);
  assert.throws(() => foldRetract([record(null, '{"op":"x"}')], debeziumDecoder), /not a Debezium event/);
});

it('keeps every appended value, and only the last trigger for complete', () => {
  assert.deepEqual(foldAppend([record(null, 'b'), record(null, 'a'), record(null, 'b')]), ['a', 'b', 'b']);
  assert.deepEqual(foldComplete([record('k', '1', { trigger: '1' }), record('k', '2', { trigger: '2' }), record('j', '3', { trigger: '2' })]), ['2', '3']);
  assert.deepEqual(foldComplete([record('k', '1', { trigger: '1' }), record('k', null, { trigger: '2' })]), []);
  assert.throws(() => foldComplete([record('k', '1')]), /without a trigger header/);
});

it('tells when a key moved between partitions', () => {
  assert.equal(keysStayOnOnePartition([record('a', '1', {}, 0), record('a', '2', {}, 0), record('b', '1', {}, 1)]), true);
  assert.equal(keysStayOnOnePartition([record('a', '1', {}, 0), record('a', '2', {}, 1)]), false);
  assert.equal(keysStayOnOnePartition([record(null, '1', {}, 0), record(null, '2', {}, 1)]), true);
});
