/**
 * The RecordWriter conformance suite: every writer (the real one against the broker, the
 * in-memory one) passes the same cases — acknowledgement, order per partition, errors, close.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaRecord, RecordWriter } from '../../src/kafka/record-writer.ts';

export interface WrittenRecord {
  readonly partition: number;
  readonly key: string | null;
  readonly value: string | null;
}

export interface WriterFixture {
  readonly writer: RecordWriter;
  /** A topic of `partitions` partitions that no other case uses. */
  readonly topic: string;
  /** Everything the topic holds now, as an independent reader sees it, in offset order per partition. */
  readonly read: () => Promise<WrittenRecord[]>;
}

const record = (topic: string, partition: number, i: number): KafkaRecord => ({
  topic,
  partition,
  key: Buffer.from(`k${i}`),
  value: Buffer.from(`v${i}`),
});

const byPartition = (records: readonly WrittenRecord[], partition: number) => records.filter((r) => r.partition === partition).map((r) => r.value);

export function recordWriterConformance(name: string, create: (partitions: number) => Promise<WriterFixture>): void {
  describe(`RecordWriter conformance: ${name}`, () => {
    it('describes a topic by its partition count', async () => {
      const { writer, topic } = await create(3);
      assert.deepEqual(await writer.describeTopic(topic), { name: topic, partitions: 3 });
      await writer.close();
    });

    it('resolves a write only once every record is acknowledged, keys and values intact', async () => {
      const { writer, topic, read } = await create(3);
      await writer.write([record(topic, 0, 1), record(topic, 2, 2), { topic, partition: 1, key: null, value: null }]);
      // Read at once, no waiting: an acknowledged record is readable.
      const records = await read();
      assert.deepEqual(
        [...records].sort((a, b) => a.partition - b.partition),
        [
          { partition: 0, key: 'k1', value: 'v1' },
          { partition: 1, key: null, value: null },
          { partition: 2, key: 'k2', value: 'v2' },
        ],
      );
      await writer.close();
    });

    it('keeps the order of records within each partition, across writes', async () => {
      const { writer, topic, read } = await create(2);
      const sent: KafkaRecord[][] = [];
      for (let batch = 0, i = 0; batch < 4; batch++) {
        const records: KafkaRecord[] = [];
        for (let n = 0; n < 50; n++, i++) records.push(record(topic, (i * 7) % 2, i));
        sent.push(records);
        await writer.write(records);
      }
      const got = await read();
      for (const partition of [0, 1]) {
        const expected = sent.flat().filter((r) => r.partition === partition).map((r) => r.value?.toString() ?? null);
        assert.deepEqual(byPartition(got, partition), expected, `partition ${partition}`);
      }
      await writer.close();
    });

    it('keeps writes in flight at once in order; each resolves once its own records are readable', async () => {
      const { writer, topic, read } = await create(3);
      const sent: KafkaRecord[][] = [];
      for (let batch = 0, i = 0; batch < 6; batch++) {
        const records: KafkaRecord[] = [];
        // Batch 4 leaves partition 2 out, so writes differ in the partitions they wait on.
        for (let n = 0; n < 40; n++, i++) records.push(record(topic, batch === 4 ? i % 2 : i % 3, i));
        sent.push(records);
      }
      const readable: number[] = [];
      await Promise.all(
        sent.map((records, batch) =>
          writer.write(records).then(async () => {
            // Every record of this write is readable when it resolves, whatever the later writes do.
            const values = new Set((await read()).map((r) => r.value));
            if (records.every((r) => values.has(r.value?.toString() ?? null))) readable.push(batch);
          }),
        ),
      );
      assert.deepEqual([...readable].sort(), [0, 1, 2, 3, 4, 5]);
      const got = await read();
      for (const partition of [0, 1, 2]) {
        const expected = sent.flat().filter((r) => r.partition === partition).map((r) => r.value?.toString() ?? null);
        assert.deepEqual(byPartition(got, partition), expected, `partition ${partition}`);
      }
      await writer.close();
    });

    it('rejects a record for a partition that does not exist, and stays failed', async () => {
      const { writer, topic } = await create(2);
      await writer.describeTopic(topic);
      const expected = { code: 'DELIVERY_FAILED', message: `partition 7 of "${topic}" does not exist` };
      await assert.rejects(writer.write([record(topic, 0, 1), record(topic, 7, 2)]), expected);
      await assert.rejects(writer.write([record(topic, 0, 3)]), expected);
      await writer.close();
    });

    it('closes once; every call after close fails with INVALID_STATE', async () => {
      const { writer, topic } = await create(1);
      await writer.write([record(topic, 0, 1)]);
      await writer.close();
      await writer.close();
      await assert.rejects(writer.write([record(topic, 0, 2)]), { code: 'INVALID_STATE', message: 'cannot write: the writer is closed' });
      await assert.rejects(writer.describeTopic(topic), { code: 'INVALID_STATE', message: 'cannot describe a topic: the writer is closed' });
    });
  });
}
