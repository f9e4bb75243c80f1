/**
 * Which client library the one Kafka adapter (src/kafka/kafka-client.ts) imports, so tests of
 * behaviour that only the librdkafka adapter has are skipped, with the reason, until it is in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const source = readFileSync(join(import.meta.dirname, '..', '..', 'src', 'kafka', 'kafka-client.ts'), 'utf8');

export const adapterIsLibrdkafka = source.includes("'@confluentinc/kafka-javascript'");

/** A `skip` reason unless the adapter is the librdkafka one. */
export function needsLibrdkafkaAdapter(what: string): string | false {
  return adapterIsLibrdkafka ? false : `needs the librdkafka adapter (@confluentinc/kafka-javascript): ${what}`;
}
