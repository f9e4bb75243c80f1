/** Renders docs/properties.md from the property catalogs (the single source of truth). */
import { writeFileSync } from 'node:fs';
import { type PropertyDoc, propertyCatalog } from '../src/kafka/kafka-properties.ts';
import { LIBRDKAFKA_VERSION } from '../src/kafka/librdkafka-catalog.ts';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(rows: readonly PropertyDoc[]): string[] {
  return [
    '| property | from | effect | default | what it does, or why it is refused |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((p) => `| \`${p.name}\` | ${p.origin} | ${p.effect} | ${cell(p.defaultText)} | ${cell(p.text)} |`),
  ];
}

export function renderPropertiesDoc(): string {
  const producer = propertyCatalog('producer');
  const consumer = propertyCatalog('consumer');
  const refused = producer.filter((p) => p.effect === 'refused');
  return [
    '# Kafka properties',
    '',
    `Spillway writes with librdkafka ${LIBRDKAFKA_VERSION} (through @confluentinc/kafka-javascript). A sink's Kafka`,
    'properties, and a Kafka-topic table\'s, take every librdkafka property and every Java client',
    'property by its own name:',
    '',
    '- a librdkafka name is passed to librdkafka as it is, its value checked first against librdkafka\'s',
    '  documented type and range;',
    '- a Java name is mapped to the librdkafka property with the same effect, or applied by Spillway',
    '  itself, or refused with why and what to use instead;',
    '- a property of the other side (a consumer property given to a sink, say `auto.offset.reset`) has',
    '  no effect there and comes back as a warning, as librdkafka itself warns;',
    '- any other name is an error naming the nearest valid one. Nothing connects before the whole',
    '  configuration is valid, and no secret value (passwords, keys, tokens, `sasl.jaas.config`) ever',
    '  appears in a message.',
    '',
    'The OAUTHBEARER token provider is a function given as `oauthbearer_token_refresh_cb` (API only):',
    '`async (oauthbearerConfig) => ({ tokenValue, lifetime, principal, extensions })`, `lifetime` in',
    'epoch milliseconds. `enable.sasl.oauthbearer.unsecure.jwt=true` with `sasl.oauthbearer.config=principal=…`',
    '(or Java\'s `OAuthBearerLoginModule` with `unsecuredLoginStringClaim_sub`) makes unsecured tokens for tests.',
    '',
    `Generated from \`src/kafka/kafka-properties.ts\` by \`node scripts/properties-doc.ts\`. The librdkafka`,
    'names, types, ranges and defaults come from its CONFIGURATION.md (`node scripts/librdkafka-catalog.ts`);',
    'what each property does is described in Spillway\'s own words (`src/kafka/librdkafka-descriptions.ts`).',
    '',
    `## Refused producer properties (${refused.length})`,
    '',
    ...refused.map((p) => `- \`${p.name}\` (${p.origin}): ${cell(p.text)}`),
    '',
    `## Sink (producer) properties (${producer.length})`,
    '',
    ...table(producer),
    '',
    `## Kafka-topic table (consumer) properties (${consumer.length})`,
    '',
    ...table(consumer),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  writeFileSync(new URL('../docs/properties.md', import.meta.url), renderPropertiesDoc());
}
