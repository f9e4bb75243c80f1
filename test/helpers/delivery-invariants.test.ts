/**
 * The delivery invariants, tested before any delivery test trusts them: each one passes a
 * correct delivery and catches the fault it is for (a lost row, a repeated row, rows out of
 * order, a key split across partitions), first on rows made by hand, then on records a sink
 * wrote to the real broker and kcat read back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { produce } from '../../src/dialects/deephaven.ts';
import { jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';
import {
  type DeliveredRow,
  Guarantee,
  assertDelivery,
  deliveredFrom,
  deliveryViolations,
  findDuplicates,
  findGaps,
  findOrderViolations,
} from './delivery-invariants.ts';
import { bootstrapServers, kcatRead, randomTopic } from './kafka.ts';

/** Rows for keys a (partition 0) and b (partition 1), each 0 … n − 1 in order. */
function delivered(spec: readonly [key: string, sequence: number, partition?: number][]): DeliveredRow[] {
  const offsets = new Map<number, number>();
  return spec.map(([key, sequence, partition = key === 'a' ? 0 : 1]) => {
    const offset = offsets.get(partition) ?? 0;
    offsets.set(partition, offset + 1);
    return { key, sequence, partition, offset };
  });
}

const expected = new Map([['a', 3], ['b', 2]]);
const correct = delivered([['a', 0], ['b', 0], ['a', 1], ['b', 1], ['a', 2]]);

describe('delivery invariants', () => {
  it('pass a correct delivery under both guarantees', () => {
    assert.deepEqual(deliveryViolations(correct, expected, Guarantee.ExactlyOnce), []);
    assert.deepEqual(deliveryViolations(correct, expected, Guarantee.AtLeastOnce), []);
    assertDelivery(correct, expected, Guarantee.ExactlyOnce);
  });

  it('no gap catches a lost row, a key never written, and a row never produced', () => {
    const lost = delivered([['a', 0], ['a', 2], ['b', 0], ['b', 1]]);
    assert.deepEqual(findGaps(lost, expected).map((v) => v.message), ['key "a": 1 of 3 row(s) missing, sequence 1']);
    assert.deepEqual(findGaps(delivered([['a', 0], ['a', 1], ['a', 2]]), expected).map((v) => v.message), [
      'key "b": 2 of 2 row(s) missing, sequence 0, 1',
    ]);
    assert.deepEqual(findGaps([...correct, { key: 'a', sequence: 3, partition: 0, offset: 9 }], expected).map((v) => v.message), [
      'key "a" sequence 3 at partition 0 offset 9 was never produced',
    ]);
    assert.throws(() => assertDelivery(lost, expected, Guarantee.AtLeastOnce), /at-least-once is broken: 1 violation\(s\) over 4 record\(s\)\n {2}- no-gap: key "a"/);
  });

  it('no duplicate catches a row written twice; at-least-once allows it, exactly-once does not', () => {
    const replayed = delivered([['a', 0], ['a', 1], ['a', 2], ['a', 1], ['a', 2], ['b', 0], ['b', 1]]);
    assert.deepEqual(findDuplicates(replayed).map((v) => v.message), [
      'key "a" sequence 1 at partition 0 offset 1 and again at partition 0 offset 3',
      'key "a" sequence 2 at partition 0 offset 2 and again at partition 0 offset 4',
    ]);
    assert.deepEqual(deliveryViolations(replayed, expected, Guarantee.AtLeastOnce), []);
    assert.throws(() => assertDelivery(replayed, expected, Guarantee.ExactlyOnce), /exactly-once is broken: 3 violation\(s\) over 7 record\(s\)\n {2}- no-duplicate: key "a" sequence 1/);
  });

  it('order per key catches rows out of order, also among first appearances', () => {
    const swapped = delivered([['a', 0], ['a', 2], ['a', 1], ['b', 0], ['b', 1]]);
    assert.deepEqual(findOrderViolations(swapped).map((v) => v.message), [
      'key "a": sequence 1 at partition 0 offset 2 comes after sequence 2 at partition 0 offset 1',
    ]);
    assert.equal(deliveryViolations(swapped, expected, Guarantee.AtLeastOnce).length, 1);
    // A replay (1 again after 2) is not disorder under at-least-once; a new row out of place is.
    const replayThenSkip = delivered([['a', 0], ['a', 1], ['a', 1], ['b', 0], ['b', 1], ['a', 2]]);
    assert.deepEqual(findOrderViolations(replayThenSkip, { firstAppearances: true }), []);
    assert.equal(findOrderViolations(replayThenSkip).length, 1);
  });

  it('order per key catches a key split across partitions', () => {
    const split = delivered([['a', 0], ['a', 1, 1], ['a', 2], ['b', 0], ['b', 1]]);
    assert.deepEqual(findOrderViolations(split).map((v) => v.message), [
      'key "a" is on partition 0 and on partition 1, so its order is lost',
      'key "a" is on partition 1 and on partition 0, so its order is lost',
    ]);
  });

  it('read records back from the broker with kcat, and catch a row a second writer repeated', async () => {
    const topic = randomTopic('invariants');
    await createTopic([bootstrapServers()], topic, { partitions: 3 });
    const schema = defineSchema({ k: 'string', seq: 'int32' });
    const rows = ['x', 'y', 'z'].flatMap((k) => Array.from({ length: 50 }, (_, seq) => ({ k, seq })));
    const sink = produce(newTable(schema, rows), { 'bootstrap.servers': bootstrapServers() }, topic, simpleSpec('k'), jsonSpec());
    await sink.done;
    const decode = (record: { key: Buffer | null; value: Buffer | null }) => {
      const value = JSON.parse(record.value?.toString() ?? 'null') as { k: string; seq: number };
      return { key: value.k, sequence: value.seq };
    };
    const want = new Map([['x', 50], ['y', 50], ['z', 50]]);
    const first = deliveredFrom(await kcatRead(topic), decode);
    assert.equal(first.length, 150);
    assertDelivery(first, want, Guarantee.ExactlyOnce);

    // The fault: y's row 10 written again, after y's later rows, on y's own partition.
    const again = produce(newTable(schema, [{ k: 'y', seq: 10 }]), { 'bootstrap.servers': bootstrapServers() }, topic, simpleSpec('k'), jsonSpec());
    await again.done;
    const second = deliveredFrom(await kcatRead(topic), decode);
    assertDelivery(second, want, Guarantee.AtLeastOnce);
    assert.deepEqual(
      deliveryViolations(second, want, Guarantee.ExactlyOnce).map((v) => v.invariant),
      ['no-duplicate', 'order-per-key'],
    );
    // And a lost row: the test expected one more row of z than was written.
    assert.throws(() => assertDelivery(second, new Map([...want, ['z', 51]]), Guarantee.AtLeastOnce), /key "z": 1 of 51 row\(s\) missing, sequence 50/);
  });
});
