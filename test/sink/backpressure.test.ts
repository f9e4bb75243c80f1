/**
 * Backpressure: when Kafka is slower than the table, the sink's queue stops at
 * queue.buffering.max.messages and the sources wait, instead of memory growing without limit.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { jsonSpec } from '../../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import type { KafkaRecord } from '../../src/kafka/record-writer.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { fromAsyncIterable } from '../../src/sources/iterable-table.ts';
import { startSink } from '../../src/sink/sink.ts';
import { QueueGate } from '../../src/sink/queue-gate.ts';

/** A writer that holds every write until the test lets it through. */
class HeldWriter extends MemoryWriter {
  #release: (() => void) | undefined;
  #held = Promise.resolve();
  writes = 0;

  hold(): void {
    this.#held = new Promise((resolve) => (this.#release = resolve));
  }

  letThrough(): void {
    this.#release?.();
  }

  override async write(records: readonly KafkaRecord[]): Promise<void> {
    this.writes++;
    await this.#held;
    await super.write(records);
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

it('the gate closes at its limit and opens at half of it', async () => {
  const gate = new QueueGate(10);
  gate.update(9);
  assert.equal(gate.open, true);
  gate.update(10);
  assert.equal(gate.open, false);
  let opened = false;
  void gate.whenOpen().then(() => (opened = true));
  gate.update(6);
  await settle();
  assert.equal(opened, false);
  gate.update(5);
  await settle();
  assert.equal(opened, true);
});

it('a table feeding a slow sink waits at queue.buffering.max.messages, then goes on; nothing is lost', async () => {
  const table = inputTable(defineSchema({ n: 'int32' }));
  const writer = new HeldWriter();
  writer.hold();
  const sink = startSink(
    table,
    { name: 'slow', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9', 'queue.buffering.max.messages': 10, 'batch.num.messages': 4, 'linger.ms': 0 }, value: jsonSpec() },
    { createWriter: () => writer },
  );
  let written = 0;
  let waits = 0;
  const producer = (async () => {
    for (let n = 0; n < 40; n++) {
      const writable = table.whenWritable();
      let waited = true;
      void writable.then(() => (waited = false));
      await Promise.resolve();
      if (waited) waits++;
      await writable;
      table.add({ n });
      written++;
    }
    table.close();
  })();
  await settle();
  // The writer holds the writes in flight (at most 5, of at most 4 changes each); 10 more are
  // queued and the gate is shut.
  assert.equal(sink.metrics.queued, 10);
  assert.ok(written <= 10 + 5 * 4, `the producer went on to ${written} rows`);
  writer.letThrough();
  await producer;
  await sink.done;
  assert.ok(waits >= 1);
  assert.deepEqual(writer.records('out').map((r) => JSON.parse(r.value?.toString() ?? '') as { n: number }).map((v) => v.n), Array.from({ length: 40 }, (_, n) => n));
});

it('a pulling source waits for the sink, and a source that fails fails the sink after what it wrote', async () => {
  const writer = new HeldWriter();
  writer.hold();
  let pulled = 0;
  async function* numbers() {
    for (let n = 0; n < 30; n++) {
      pulled++;
      yield { n };
      await Promise.resolve();
    }
    yield { n: 'not a number' };
  }
  const table = fromAsyncIterable(defineSchema({ n: 'int32' }), numbers());
  const sink = startSink(
    table,
    { name: 'pulled', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9', 'queue.buffering.max.messages': 5, 'linger.ms': 0 }, value: jsonSpec() },
    { createWriter: () => writer },
  );
  await settle();
  assert.ok(pulled < 30, `the source went on to ${pulled} rows while the sink was held`);
  writer.letThrough();
  await assert.rejects(sink.done, { code: ErrorCode.InvalidValue, message: /^sink "pulled": its source failed: .*"not a number"/ });
  assert.equal(writer.records('out').length, 30);
});
