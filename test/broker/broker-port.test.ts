import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DEFAULT_KAFKA_PORT, choosePort } from '../../src/broker/embedded-broker.ts';

const freeExcept = (...taken: number[]) => (port: number) => Promise.resolve(!taken.includes(port));

it('listens on 9092 when it is free, else on a free port it names', async () => {
  assert.equal(DEFAULT_KAFKA_PORT, 9092);
  assert.deepEqual(await choosePort(undefined, undefined, freeExcept()), { port: 9092 });
  const taken = await choosePort(undefined, undefined, freeExcept(9092));
  assert.notEqual(taken.port, 9092);
  assert.equal(taken.note, `port 9092 is in use; the broker listens on 127.0.0.1:${taken.port}`);
  // A restart keeps its previous port while it is free; an explicit port always wins.
  assert.deepEqual(await choosePort(undefined, 40_000, freeExcept()), { port: 40_000, note: 'the broker listens on 127.0.0.1:40000 (its port from the last start)' });
  assert.deepEqual(await choosePort(undefined, 40_000, freeExcept(40_000)), { port: 9092 });
  assert.deepEqual(await choosePort(12_345, 40_000, freeExcept()), { port: 12_345 });
});
