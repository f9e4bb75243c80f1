/**
 * Renders src/kafka/librdkafka-catalog.ts from the CONFIGURATION.md of the librdkafka that the
 * Kafka client ships (so the catalog matches the library that applies the properties). Run it
 * after upgrading @confluentinc/kafka-javascript: `node scripts/librdkafka-catalog.ts`.
 *
 * Only facts are taken from CONFIGURATION.md: names, side, level, type, range, default and
 * importance. What a property does is said in Spillway's own words, in
 * src/kafka/librdkafka-descriptions.ts; the catalog is not written while a property has no
 * sentence there, or while a sentence repeats a run of CONFIGURATION.md's own words.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LIBRDKAFKA_DESCRIPTIONS } from '../src/kafka/librdkafka-descriptions.ts';

export interface Row {
  readonly name: string;
  readonly side: '*' | 'P' | 'C';
  readonly level: 'global' | 'topic';
  readonly range: string;
  readonly defaultText: string;
  readonly importance: string;
  readonly type: string;
  /** CONFIGURATION.md's own description: read to check ours does not repeat it, never written out. */
  readonly upstreamText: string;
}

/** A table row's cells; `\|` inside a cell (the kinit command's `||`) is a literal bar. */
function cells(line: string): string[] {
  return line.split(/(?<!\\)\|/).map((cell) => cell.replace(/\\\|/g, '|').trim());
}

export function parseConfiguration(markdown: string): Row[] {
  const rows: Row[] = [];
  let level: 'global' | 'topic' = 'global';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## Topic configuration')) level = 'topic';
    const [name, side, range, defaultText, importance, ...rest] = cells(line);
    if (name === undefined || !/^[a-z_.0-9]+$/.test(name) || (side !== '*' && side !== 'P' && side !== 'C')) continue;
    const upstreamText = rest.join('|');
    const type = /\*Type: ([^*]+)\*/.exec(upstreamText)?.[1]?.trim() ?? 'string';
    rows.push({ name, side, level, range: range ?? '', defaultText: defaultText ?? '', importance: importance ?? '', type, upstreamText });
  }
  return rows;
}

/** The fewest consecutive words shared with CONFIGURATION.md that count as copied. */
const COPIED_RUN = 6;

const words = (text: string) =>
  text
    .replace(/<[^>]+>/g, ' ')
    .toLowerCase()
    .split(/[^a-z0-9_.=-]+/)
    .map((word) => word.replace(/^[.]+|[.]+$/g, ''))
    .filter((word) => word.length > 0);

/** The first run of COPIED_RUN or more words that `ours` shares with `theirs`, if any. */
export function sharedRun(ours: string, theirs: string): string | undefined {
  const mine = words(ours);
  const upstream = ` ${words(theirs).join(' ')} `;
  for (let start = 0; start + COPIED_RUN <= mine.length; start++) {
    const run = mine.slice(start, start + COPIED_RUN).join(' ');
    if (upstream.includes(` ${run} `)) return run;
  }
  return undefined;
}

export interface DescriptionCheck {
  /** Properties of CONFIGURATION.md without a sentence in the descriptions. */
  readonly missing: readonly string[];
  /** Descriptions that repeat CONFIGURATION.md's words, with the repeated run. */
  readonly copied: readonly string[];
  /** Described names this librdkafka no longer has (reported, not an error: the sentence may simply go). */
  readonly unused: readonly string[];
}

export function checkDescriptions(rows: readonly Row[], descriptions: Readonly<Record<string, string>>): DescriptionCheck {
  const names = new Set(rows.map((row) => row.name));
  const missing = [...names].filter((name) => descriptions[name] === undefined || descriptions[name].trim() === '');
  const copied: string[] = [];
  for (const row of rows) {
    const ours = descriptions[row.name];
    const run = ours === undefined ? undefined : sharedRun(ours, row.upstreamText);
    if (run !== undefined && !copied.some((entry) => entry.startsWith(`${row.name}:`))) copied.push(`${row.name}: "${run}"`);
  }
  const unused = Object.keys(descriptions).filter((name) => !names.has(name));
  return { missing, copied, unused };
}

const DESCRIPTIONS_FILE = 'src/kafka/librdkafka-descriptions.ts';

/**
 * The catalog's source text, or an error naming every property without a description of its
 * own (or with one that repeats CONFIGURATION.md). Names described but gone come back as `unused`.
 */
export function renderCatalog(
  markdown: string,
  version: string,
  descriptions: Readonly<Record<string, string>>,
): { readonly source: string; readonly unused: readonly string[] } {
  const rows = parseConfiguration(markdown);
  if (rows.length === 0) throw new Error('CONFIGURATION.md has no property table rows; has its format changed? Check parseConfiguration in scripts/librdkafka-catalog.ts');
  const { missing, copied, unused } = checkDescriptions(rows, descriptions);
  const problems: string[] = [];
  if (missing.length > 0) {
    problems.push(
      `librdkafka ${version} has ${missing.length} propert${missing.length === 1 ? 'y' : 'ies'} without a description in ${DESCRIPTIONS_FILE}: ${missing.join(', ')}. ` +
        'Add one short sentence for each, saying in your own words what it does (never copied from CONFIGURATION.md).',
    );
  }
  if (copied.length > 0) {
    problems.push(
      `${copied.length} description${copied.length === 1 ? '' : 's'} in ${DESCRIPTIONS_FILE} repeat${copied.length === 1 ? 's' : ''} ${COPIED_RUN} or more consecutive words of CONFIGURATION.md: ` +
        `${copied.join('; ')}. Rewrite ${copied.length === 1 ? 'it' : 'them'} in your own words.`,
    );
  }
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\nThe catalog was not written.`);
  const body = rows
    .map((row) => `  ${JSON.stringify([row.name, row.side, row.level, row.type, row.range, row.defaultText, row.importance])},`)
    .join('\n');
  const source = `/**
 * librdkafka ${version}'s configuration properties, generated from its CONFIGURATION.md by
 * scripts/librdkafka-catalog.ts (do not edit): name, side (* both, P producer, C consumer), level
 * (global or topic), type, range, default and importance. What each does is in
 * librdkafka-descriptions.ts, in Spillway's own words.
 */
export type LibrdkafkaProperty = readonly [
  name: string,
  side: '*' | 'P' | 'C',
  level: 'global' | 'topic',
  type: string,
  range: string,
  defaultText: string,
  importance: string,
];

export const LIBRDKAFKA_VERSION = ${JSON.stringify(version)};

export const LIBRDKAFKA_PROPERTIES: readonly LibrdkafkaProperty[] = [
${body}
];
`;
  return { source, unused };
}

/** The installed librdkafka's version and CONFIGURATION.md. */
export function installedConfiguration(): { readonly version: string; readonly markdown: string } {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@confluentinc/kafka-javascript/package.json'));
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { librdkafka: string }).librdkafka;
  return { version, markdown: readFileSync(join(root, 'deps', 'librdkafka', 'CONFIGURATION.md'), 'utf8') };
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const { version, markdown } = installedConfiguration();
  try {
    const { source, unused } = renderCatalog(markdown, version, LIBRDKAFKA_DESCRIPTIONS);
    writeFileSync(new URL('../src/kafka/librdkafka-catalog.ts', import.meta.url), source);
    if (unused.length > 0) {
      console.warn(`librdkafka ${version} no longer has ${unused.join(', ')}; remove ${unused.length === 1 ? 'its description' : 'their descriptions'} from ${DESCRIPTIONS_FILE}.`);
    }
    console.log(`src/kafka/librdkafka-catalog.ts: librdkafka ${version}; now run \`node scripts/properties-doc.ts\`.`);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
