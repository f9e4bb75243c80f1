import { randomBytes } from 'node:crypto';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { recordWriterConformance } from './record-writer-conformance.ts';

recordWriterConformance('MemoryWriter', (partitions) => {
  const writer = new MemoryWriter({ partitions });
  const topic = `memory-${randomBytes(4).toString('hex')}`;
  return Promise.resolve({
    writer,
    topic,
    read: () =>
      Promise.resolve(
        writer.records(topic).map((r) => ({ partition: r.partition, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })),
      ),
  });
});
