/** Renders docs/properties.md from the property catalog (the single source of truth). */
import { writeFileSync } from 'node:fs';
import { SUPPORTED_KAFKA_PROPERTIES } from '../src/kafka/kafka-properties.ts';

export function renderPropertiesDoc(): string {
  const rows = SUPPORTED_KAFKA_PROPERTIES.map(
    (p) => `| \`${p.name}\` | ${p.aliases.map((a) => `\`${a}\``).join(', ')} | ${p.defaultText.replace(/\|/g, '\\|')} | ${p.description} |`,
  );
  return [
    '# Kafka properties',
    '',
    'Kafka producer properties are given by their librdkafka / Java names. Unknown names are errors that',
    'name the nearest valid one; consumer-only names (`auto.offset.reset`, `group.id`, …) are accepted',
    'with a warning that they have no effect. Generated from `src/kafka/kafka-properties.ts` by',
    '`node scripts/properties-doc.ts`.',
    '',
    '| property | synonyms | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  writeFileSync(new URL('../docs/properties.md', import.meta.url), renderPropertiesDoc());
}
