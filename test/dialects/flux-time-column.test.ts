/**
 * A time table's Timestamp copied into Flux's `_time` by a formula is a timestamp column, so
 * kafkaTo() takes it as its time column: end to end on the broker, read back with kcat.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { kafkaTo } from '../../src/dialects/flux.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { timeTable } from '../../src/sources/time-table.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

it("timeTable('PT1S').update({ _time: (r) => r.Timestamp }) writes lines timed by _time", async () => {
  const topic = randomTopic('flux-time');
  await createTopic([bootstrapServers()], topic, { partitions: 1 });
  // Three rows at once: the start is 2.5 s ago, so the table catches up with 0 s, 1 s and 2 s
  // after it, and the next tick is half a second away when the table is closed.
  const start = new Date(Date.now() - 2500);
  const ticks = timeTable('PT1S', { startTime: start });
  const metrics = ticks.update({ _time: (r) => r.Timestamp, _value: (_r, i) => i + 0.5 });
  const sink = kafkaTo(metrics, { brokers: [bootstrapServers()], topic, name: 'ticks' });
  metrics.close();
  await sink.done;
  assert.equal(ticks.ended, true, 'closing the derived table closed the time table');
  const lines = (await kcatRead(topic)).map((record) => record.value?.toString());
  const first = BigInt(start.getTime()) * 1_000_000n;
  assert.deepEqual(lines, [0, 1, 2].map((i) => `ticks _value=${i + 0.5} ${first + BigInt(i) * 1_000_000_000n}`));
});
