/**
 * The update-mode conformance suite against the real broker: random change sequences written in
 * each mode to a three-partition topic, read back with kcat (an independent client) and folded as
 * that mode's reader would; the result must equal the table. Fewer runs than the in-memory suite:
 * each run is a real topic.
 */
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createKafkaWriter, createTopic } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { fromKcat } from '../helpers/changelog-fold.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { modeCases, operationsArbitrary, runModeCase } from './update-mode-cases.ts';

describe('update mode conformance (real broker, read back with kcat)', () => {
  for (const modeCase of modeCases) {
    it(`${modeCase.name}: the topic folds into the table`, async () => {
      await fc.assert(
        fc.asyncProperty(operationsArbitrary(modeCase.keyed), async (batches) => {
          const topic = randomTopic('modes');
          await createTopic([bootstrapServers()], topic, { partitions: 3 });
          const kafka = { 'bootstrap.servers': bootstrapServers(), 'linger.ms': '1' };
          await runModeCase(modeCase, batches, {
            topic,
            kafka,
            createWriter: () => createKafkaWriter(parseKafkaProperties(kafka, { sink: 'conformance' }).settings),
            read: async (name) => fromKcat(await kcatRead(name)),
          });
        }),
        { numRuns: 2, endOnFailure: true },
      );
    });
  }
});
