/**
 * Renders src/kafka/librdkafka-catalog.ts from the CONFIGURATION.md of the librdkafka that the
 * Kafka client ships (so the catalog matches the library that applies the properties). Run it
 * after upgrading @confluentinc/kafka-javascript: `node scripts/librdkafka-catalog.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface Row {
  readonly name: string;
  readonly side: '*' | 'P' | 'C';
  readonly level: 'global' | 'topic';
  readonly range: string;
  readonly defaultText: string;
  readonly type: string;
  readonly description: string;
}

/** The first sentence of a CONFIGURATION.md description, as plain text. */
function firstSentence(text: string): string {
  const plain = text
    .replace(/<br>.*$/, '')
    .replace(/\*\*[^*]*\*\*/g, '')
    .replace(/`/g, '')
    .replace(/<[^>]+>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  const end = plain.search(/\.(\s|$)/);
  return (end < 0 ? plain : plain.slice(0, end + 1)).replace(/\|/g, '/');
}

export function parseConfiguration(markdown: string): Row[] {
  const rows: Row[] = [];
  let level: 'global' | 'topic' = 'global';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## Topic configuration')) level = 'topic';
    const match = /^([a-z_.0-9]+)\s+\|\s+([*PC])\s+\|([^|]*)\|([^|]*)\|([^|]*)\|(.*)$/.exec(line);
    if (match === null) continue;
    const [, name, side, range, defaultText, , description] = match as unknown as [string, string, '*' | 'P' | 'C', string, string, string, string];
    const type = /\*Type: ([^*]+)\*/.exec(description)?.[1]?.trim() ?? 'string';
    rows.push({ name, side, level, range: range.trim(), defaultText: defaultText.trim(), type, description: firstSentence(description) });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@confluentinc/kafka-javascript/package.json'));
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { librdkafka: string }).librdkafka;
  const rows = parseConfiguration(readFileSync(join(root, 'deps', 'librdkafka', 'CONFIGURATION.md'), 'utf8'));
  const body = rows.map((row) => `  ${JSON.stringify([row.name, row.side, row.level, row.type, row.range, row.defaultText, row.description])},`).join('\n');
  writeFileSync(
    new URL('../src/kafka/librdkafka-catalog.ts', import.meta.url),
    `/**
 * librdkafka ${version}'s configuration properties, generated from its CONFIGURATION.md by
 * scripts/librdkafka-catalog.ts (do not edit): name, side (* both, P producer, C consumer), level
 * (global or topic), type, range, default, and the first sentence of its description.
 */
export type LibrdkafkaProperty = readonly [
  name: string,
  side: '*' | 'P' | 'C',
  level: 'global' | 'topic',
  type: string,
  range: string,
  defaultText: string,
  description: string,
];

export const LIBRDKAFKA_VERSION = ${JSON.stringify(version)};

export const LIBRDKAFKA_PROPERTIES: readonly LibrdkafkaProperty[] = [
${body}
];
`,
  );
}
