/**
 * CREATE TABLE … WITH (…) options, in DLI's words ('connector.type' = 'kafka', 'format.type', …)
 * and today's Flink words ('connector' = 'kafka' | 'upsert-kafka', 'topic', 'properties.*', …),
 * translated into a sink spec, or into the options of a source (datagen, filesystem, Kafka).
 * This is pure: nothing is read or connected. Every key is either translated (its effect
 * documented in docs/sql.md, whose table is generated from WITH_KEYS and the sink spec's JSON
 * Schema) or refused at its line and column, naming the nearest key.
 */
import { ErrorCode, SpillwayError } from '../../errors.ts';
import { type KeyValueSpecInput } from '../../formats/key-value-spec.ts';
import type { Column, Schema } from '../../model/schema.ts';
import { nearestOption } from '../../sink/plan.ts';
import { checkTopicTableProperties } from '../../sources/kafka-topic-table.ts';
import type { SinkSpecInput } from '../../sink/sink-spec.ts';
import { type Position, type Statement, type TableOption, sqlError } from './ast.ts';
import { INPUT_TABLE_MARKER } from './flink-parser.ts';
import { columnShapeOf } from './types.ts';

export const Connector = {
  Kafka: 'kafka',
  UpsertKafka: 'upsert-kafka',
  Datagen: 'datagen',
  Filesystem: 'filesystem',
  /** No connector: an input table the program (or the REST service) feeds. */
  Input: 'input',
} as const;
export type Connector = (typeof Connector)[keyof typeof Connector];

export interface WithKey {
  /** The key; `*` stands for any text (a property name, a column name). */
  readonly key: string;
  readonly connectors: readonly Connector[];
  /** Read when the table is written (sink), read (source), or either. */
  readonly role: 'sink' | 'source' | 'both';
  /** The sink spec field it sets, when it sets one (its description comes from the spec's JSON Schema). */
  readonly field?: string;
  readonly description: string;
}

const KAFKA = [Connector.Kafka] as const;
const BOTH_KAFKA = [Connector.Kafka, Connector.UpsertKafka] as const;

/** Every WITH key Spillway reads. Anything else is refused. */
export const WITH_KEYS: readonly WithKey[] = [
  { key: 'connector', connectors: [Connector.Kafka, Connector.UpsertKafka, Connector.Datagen, Connector.Filesystem], role: 'both', description: "`kafka`, `upsert-kafka`, `datagen` or `filesystem`; without it (and without `connector.type`) the table is an input table. A `datagen`, `filesystem` or `kafka` table that is read refuses PRIMARY KEY (its rows only append): read a keyed topic with `upsert-kafka`." },
  { key: 'connector.type', connectors: KAFKA, role: 'both', description: 'DLI: `kafka`.' },
  { key: 'connector.version', connectors: KAFKA, role: 'both', description: "DLI: `0.10` or `0.11` (also `universal`); accepted for compatibility with a warning that it has no effect: Spillway speaks every Kafka version from 0.11 on." },
  { key: 'connector.topic', connectors: KAFKA, role: 'both', field: 'topic', description: 'DLI: the topic.' },
  { key: 'topic', connectors: BOTH_KAFKA, role: 'both', field: 'topic', description: 'The topic.' },
  { key: 'connector.properties.*', connectors: KAFKA, role: 'both', field: 'kafka', description: 'DLI: a Kafka property, such as `connector.properties.bootstrap.servers`.' },
  { key: 'properties.*', connectors: BOTH_KAFKA, role: 'both', field: 'kafka', description: 'A Kafka property, such as `properties.bootstrap.servers` or `properties.compression.type`: a producer property when the table is written, a consumer property when it is read, each checked as in docs/properties.md.' },
  { key: 'format.type', connectors: KAFKA, role: 'sink', field: 'value', description: 'DLI: the value format, `csv`, `json` or `avro`.' },
  { key: 'format.field-delimiter', connectors: KAFKA, role: 'sink', field: 'value', description: 'DLI: the CSV field delimiter (default `,`).' },
  { key: 'format', connectors: [Connector.Kafka, Connector.Filesystem], role: 'both', field: 'value', description: 'The value format: `csv`, `json`, `avro`, `avro-confluent` or `raw` for Kafka sinks; `json` for Kafka sources; `csv` or `json` (NDJSON) for files.' },
  { key: 'value.format', connectors: BOTH_KAFKA, role: 'both', field: 'value', description: 'The value format, as `format`.' },
  { key: 'key.format', connectors: BOTH_KAFKA, role: 'sink', field: 'key', description: 'The key format (`csv`, `json`, `avro`, `avro-confluent`, `raw`): the key is written from `key.fields` (or the primary key of an `upsert-kafka` table). When an `upsert-kafka` table is read it has no effect, with a warning: the key columns come from the JSON value.' },
  { key: 'key.fields', connectors: KAFKA, role: 'sink', field: 'key', description: 'The key columns, separated by `;`.' },
  { key: 'key.fields-prefix', connectors: BOTH_KAFKA, role: 'sink', field: 'key', description: 'A prefix of the key columns\' names that the key\'s JSON or Avro field names leave out.' },
  { key: 'value.fields-include', connectors: BOTH_KAFKA, role: 'sink', field: 'value', description: '`ALL` (default): the value holds every column; `EXCEPT_KEY`: every column but the key columns.' },
  { key: 'connector.sink-partitioner', connectors: KAFKA, role: 'sink', field: 'partitioner', description: 'DLI: `fixed`, `round-robin` or `custom` (with `connector.sink-partitioner-class`).' },
  { key: 'connector.sink-partitioner-class', connectors: KAFKA, role: 'sink', field: 'partitioner', description: 'A JavaScript module (a path such as `./my-partitioner.js`, relative to the SQL file) exporting `partition(key, value, partitions)`.' },
  { key: 'sink.partitioner', connectors: KAFKA, role: 'sink', field: 'partitioner', description: '`default` (the Java client\'s murmur2 of the key), `fixed`, `round-robin`, or a JavaScript module path as for `connector.sink-partitioner-class`.' },
  { key: 'update-mode', connectors: KAFKA, role: 'sink', field: 'mode', description: 'DLI: `append` (default), `retract` or `upsert`.' },
  { key: 'sink.delivery-guarantee', connectors: BOTH_KAFKA, role: 'sink', field: 'delivery', description: '`at-least-once` (default), `exactly-once` (a Kafka transaction per epoch, committed with the source position; the table\'s name is the sink\'s name, so a restarted job resumes) or `none`.' },
  { key: 'sink.semantic', connectors: KAFKA, role: 'sink', field: 'delivery', description: "Flink's older name of `sink.delivery-guarantee`." },
  { key: 'sink.transactional-id-prefix', connectors: BOTH_KAFKA, role: 'sink', field: 'transactionalIdPrefix', description: 'Exactly-once: the transactional id is `<prefix>-0` instead of `spillway-<table>-0`; refused with another guarantee.' },
  { key: 'sink.buffer-flush.interval', connectors: [Connector.UpsertKafka], role: 'sink', field: 'trigger', description: 'Buffer changes for this long (`1s`, `500 ms`) and write the last row of each key: an interval trigger; `0` writes every change (no buffer).' },
  { key: 'sink.buffer-flush.max-rows', connectors: [Connector.UpsertKafka], role: 'sink', field: 'trigger', description: 'With `sink.buffer-flush.interval`: the buffer is also written as soon as this many changes wait; both `0`: no buffer.' },
  { key: 'csv.field-delimiter', connectors: [Connector.Kafka, Connector.Filesystem], role: 'both', field: 'value', description: 'The CSV field delimiter (default `,`); also `key.csv.field-delimiter`, `value.csv.field-delimiter`.' },
  { key: 'csv.quote-character', connectors: [Connector.Kafka, Connector.Filesystem], role: 'both', field: 'value', description: 'The CSV quote character (default `"`).' },
  { key: 'csv.disable-quote-character', connectors: KAFKA, role: 'sink', field: 'value', description: '`true`: never quote (a value that would need quotes is refused).' },
  { key: 'csv.null-literal', connectors: KAFKA, role: 'sink', field: 'value', description: 'The text written for a null (default empty).' },
  { key: 'json.timestamp-format.standard', connectors: BOTH_KAFKA, role: 'sink', field: 'value', description: '`ISO-8601` (default: `2024-05-01T12:00:00.123Z`) or `SQL` (`2024-05-01 12:00:00.123`: a space, no zone, in UTC).' },
  { key: 'avro-confluent.url', connectors: BOTH_KAFKA, role: 'sink', field: 'kafka', description: 'The schema registry URL of an `avro-confluent` value (`key.avro-confluent.url`: key; `value.avro-confluent.url` with `value.format`), as the Kafka property `schema.registry.url`; refused with another format, and together with `properties.schema.registry.url`.' },
  { key: 'avro-confluent.subject', connectors: BOTH_KAFKA, role: 'sink', field: 'value', description: 'The subject the value schema is registered under.' },
  { key: 'scan.startup.mode', connectors: KAFKA, role: 'source', description: '`earliest-offset` (default) or `latest-offset`.' },
  { key: 'rows-per-second', connectors: [Connector.Datagen], role: 'source', description: 'Rows generated per second (default 10000).' },
  { key: 'number-of-rows', connectors: [Connector.Datagen], role: 'source', description: 'Rows in all, then the table ends (default: unbounded, or until a sequence ends).' },
  { key: 'fields.*.kind', connectors: [Connector.Datagen], role: 'source', description: '`random` (default) or `sequence`.' },
  { key: 'fields.*.min', connectors: [Connector.Datagen], role: 'source', description: 'Smallest random number (INT, BIGINT, DOUBLE and DECIMAL columns; refused on others and on sequences).' },
  { key: 'fields.*.max', connectors: [Connector.Datagen], role: 'source', description: 'Largest random number (as `min`).' },
  { key: 'fields.*.length', connectors: [Connector.Datagen], role: 'source', description: 'Length of random strings and bytes (default 100; STRING and BYTES columns only, not sequences).' },
  { key: 'fields.*.start', connectors: [Connector.Datagen], role: 'source', description: 'First value of a sequence.' },
  { key: 'fields.*.end', connectors: [Connector.Datagen], role: 'source', description: 'Last value of a sequence; the table ends after it.' },
  { key: 'fields.*.null-rate', connectors: [Connector.Datagen], role: 'source', description: 'Fraction of nulls, 0–1 (default 0).' },
  { key: 'fields.*.max-past', connectors: [Connector.Datagen], role: 'source', description: 'Random dates and timestamps reach this far into the past (default 0), as `5 min` (DATE and TIMESTAMP columns only, not sequences).' },
  { key: 'path', connectors: [Connector.Filesystem], role: 'source', description: 'The CSV or NDJSON file.' },
  { key: 'source.monitor-interval', connectors: [Connector.Filesystem], role: 'source', description: 'Follow the file as it grows, checking this often (`1s`, from 10 ms to 60 s); without it the file is read once and the table ends.' },
];

function keyPattern(key: string): RegExp {
  return new RegExp(`^${key.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace('*', '.+')}$`);
}

const patterns = WITH_KEYS.map((entry) => ({ entry, pattern: keyPattern(entry.key) }));

/** The catalog entries a key matches; `key.csv.…` and `value.json.…` match their format's option. */
function entriesOf(key: string): WithKey[] {
  const stripped = /^(key|value)\.(csv|json|avro-confluent)\./.test(key) ? key.replace(/^(key|value)\./, '') : undefined;
  return patterns.filter(({ pattern }) => pattern.test(key) || (stripped !== undefined && pattern.test(stripped))).map(({ entry }) => entry);
}

export interface TableDeclaration {
  readonly name: string;
  readonly connector: Connector;
  readonly schema: Schema;
  readonly options: ReadonlyMap<string, TableOption>;
  readonly at: Position;
  readonly source: string;
}

/** The DLI keys and the Flink keys name one thing twice; a table may use one of each pair. */
const SYNONYMS: readonly (readonly string[])[] = [
  ['connector.topic', 'topic'],
  ['format.type', 'format', 'value.format'],
  ['connector.sink-partitioner', 'sink.partitioner'],
  ['sink.delivery-guarantee', 'sink.semantic'],
  ['format.field-delimiter', 'csv.field-delimiter', 'value.csv.field-delimiter'],
];

/** Checks a CREATE TABLE: its columns' types, its connector and every WITH key. */
export function declareTable(statement: Extract<Statement, { kind: 'createTable' }>, source: string): TableDeclaration {
  const options = new Map<string, TableOption>();
  for (const option of statement.options) {
    if (option.key === INPUT_TABLE_MARKER) continue;
    if (options.has(option.key)) throw sqlError(source, option.at, `table "${statement.name}": the option '${option.key}' is given twice`);
    options.set(option.key, option);
  }
  const connectorOption = options.get('connector');
  const typeOption = options.get('connector.type');
  if (connectorOption !== undefined && typeOption !== undefined) {
    throw sqlError(source, typeOption.at, `table "${statement.name}": give 'connector' or DLI's 'connector.type', not both`);
  }
  const named = (connectorOption ?? typeOption)?.value;
  const connectors: readonly string[] = [Connector.Kafka, Connector.UpsertKafka, Connector.Datagen, Connector.Filesystem];
  if (named !== undefined && !connectors.includes(named)) {
    throw sqlError(source, (connectorOption ?? typeOption)?.at ?? statement.at, `table "${statement.name}": the connector '${named}' is not supported`, `use one of ${connectors.join(', ')}, or no connector for an input table`);
  }
  if (typeOption !== undefined && named !== Connector.Kafka) {
    throw sqlError(source, typeOption.at, `table "${statement.name}": DLI's 'connector.type' is 'kafka'; for other connectors use 'connector'`);
  }
  const connector = (named ?? Connector.Input) as Connector;
  for (const option of options.values()) {
    const fits = entriesOf(option.key).some((entry) => entry.connectors.includes(connector));
    if (!fits) {
      const candidates = WITH_KEYS.filter((entry) => entry.connectors.includes(connector) && !entry.key.includes('*')).map((entry) => entry.key);
      const near = nearestOption(option.key, candidates);
      throw sqlError(
        source,
        option.at,
        `table "${statement.name}": the option '${option.key}' is not supported ${connector === Connector.Input ? 'without a connector' : `by the ${connector} connector`}` +
          (near === undefined ? '' : `; did you mean '${near}'?`),
        'docs/sql.md lists every WITH option',
      );
    }
  }
  for (const group of SYNONYMS) {
    const given = group.filter((key) => options.has(key));
    if (given.length > 1) throw sqlError(source, options.get(given[1] as string)?.at ?? statement.at, `table "${statement.name}": '${given[0] ?? ''}' and '${given[1] ?? ''}' set the same thing; keep one`);
  }
  const primaryKey = statement.primaryKey;
  for (const key of primaryKey ?? []) {
    if (!statement.columns.some((column) => column.name === key)) {
      throw sqlError(source, statement.at, `table "${statement.name}": the primary key names "${key}", which is not a column`);
    }
  }
  const seen = new Set<string>();
  const columns: Column[] = statement.columns.map((column) => {
    if (seen.has(column.name)) throw sqlError(source, column.at, `table "${statement.name}": the column "${column.name}" is declared twice`);
    seen.add(column.name);
    const nullable = !column.notNull && !(primaryKey ?? []).includes(column.name);
    return { name: column.name, ...columnShapeOf(column.type, nullable, source) };
  });
  if (columns.length === 0) throw sqlError(source, statement.at, `table "${statement.name}" has no columns`);
  const schema: Schema = { columns, ...(primaryKey === undefined ? {} : { primaryKey }) };
  return { name: statement.name, connector, schema, options, at: statement.at, source };
}

class OptionReader {
  readonly #table: TableDeclaration;
  readonly used = new Set<string>();

  constructor(table: TableDeclaration) {
    this.#table = table;
  }

  get(key: string): TableOption | undefined {
    const option = this.#table.options.get(key);
    if (option !== undefined) this.used.add(key);
    return option;
  }

  value(...keys: string[]): string | undefined {
    for (const key of keys) {
      const option = this.get(key);
      if (option !== undefined) return option.value;
    }
    return undefined;
  }

  at(key: string): Position {
    return this.#table.options.get(key)?.at ?? this.#table.at;
  }

  error(key: string | undefined, message: string, hint?: string): SpillwayError {
    return sqlError(this.#table.source, key === undefined ? this.#table.at : this.at(key), `table "${this.#table.name}": ${message}`, hint);
  }

  /** Keys with a prefix, the prefix removed. */
  prefixed(prefix: string): [string, TableOption][] {
    const found: [string, TableOption][] = [];
    for (const [key, option] of this.#table.options) {
      if (key.startsWith(prefix)) {
        this.used.add(key);
        found.push([key.slice(prefix.length), option]);
      }
    }
    return found;
  }

  /** Refuses options of the other role (a source-only key on a table that is only written). */
  refuseUnused(role: 'sink' | 'source'): void {
    for (const [key] of this.#table.options) {
      if (this.used.has(key)) continue;
      const known = entriesOf(key)[0];
      if (known !== undefined && (known.role === role || known.role === 'both')) {
        // Known for this role, so left unread because of another option: the format it belongs to.
        const format = formatOfOption(key);
        throw this.error(
          key,
          `the option '${key}' has no effect ${format === undefined ? 'with the other options of this table' : `unless the format is '${format}'`}`,
          format === undefined ? 'remove it' : `set '${formatKeyOf(key)}' = '${format}' or remove it`,
        );
      }
      throw this.error(
        key,
        `the option '${key}' has no effect when the table is ${role === 'sink' ? 'written' : 'read'}`,
        known === undefined ? undefined : `it applies when the table is ${known.role === 'sink' ? 'written (INSERT INTO)' : 'read (FROM)'}; remove it`,
      );
    }
  }
}

/** The format a format's own option belongs to (`csv.quote-character` → csv), if it is one. */
function formatOfOption(key: string): string | undefined {
  if (key === 'format.field-delimiter') return 'csv';
  return /(?:^|\.)(csv|json|avro-confluent|avro)\./.exec(key)?.[1];
}

/** The key that names the format an option of `formatOfOption` depends on. */
function formatKeyOf(key: string): string {
  if (key.startsWith('format.')) return 'format.type';
  return key.startsWith('key.') ? 'key.format' : key.startsWith('value.') ? 'value.format' : 'format';
}

function parseBoolean(reader: OptionReader, key: string): boolean | undefined {
  const text = reader.value(key);
  if (text === undefined) return undefined;
  if (text === 'true' || text === 'false') return text === 'true';
  throw reader.error(key, `'${key}' is 'true' or 'false', not '${text}'`);
}

/** A format's spec over some columns, with its options read from `prefix` keys (`''`, `key.`, `value.`). */
function formatSpec(reader: OptionReader, format: string, formatKey: string, columns: readonly string[], prefix: string, part: 'key' | 'value', fieldNames?: Readonly<Record<string, string>>): KeyValueSpecInput {
  const option = (name: string) => `${prefix}${name}`;
  switch (format) {
    case 'csv': {
      const delimiterKey = part === 'value' && reader.get('format.field-delimiter') !== undefined ? 'format.field-delimiter' : option('csv.field-delimiter');
      const delimiter = reader.value(delimiterKey);
      const quote = reader.value(option('csv.quote-character'));
      const disable = parseBoolean(reader, option('csv.disable-quote-character'));
      const nullLiteral = reader.value(option('csv.null-literal'));
      for (const [key, text] of [[delimiterKey, delimiter], [option('csv.quote-character'), quote]] as const) {
        if (text !== undefined && [...unescapeDelimiter(text)].length !== 1) throw reader.error(key, `'${key}' must be one character, not '${text}'`);
      }
      return {
        kind: 'csv',
        columns: [...columns],
        ...(delimiter === undefined ? {} : { fieldDelimiter: unescapeDelimiter(delimiter) }),
        ...(quote === undefined ? {} : { quoteCharacter: quote }),
        ...(disable === undefined ? {} : { disableQuoteCharacter: disable }),
        ...(nullLiteral === undefined ? {} : { nullLiteral }),
      };
    }
    case 'json': {
      const standard = reader.value(option('json.timestamp-format.standard'));
      if (standard !== undefined && standard !== 'ISO-8601' && standard !== 'SQL') {
        throw reader.error(option('json.timestamp-format.standard'), `'json.timestamp-format.standard' = '${standard}' is not supported`, "use 'ISO-8601' or 'SQL'");
      }
      return {
        kind: 'json',
        columns: [...columns],
        nestedDelimiter: false,
        ...(standard === 'SQL' ? { timestamps: 'sql' as const } : {}),
        ...(fieldNames === undefined ? {} : { mapping: { ...fieldNames } }),
      };
    }
    case 'avro':
    case 'avro-confluent': {
      const subject = reader.value(option('avro-confluent.subject'));
      if (format === 'avro' && subject !== undefined) throw reader.error(option('avro-confluent.subject'), "'avro-confluent.subject' applies to the 'avro-confluent' format");
      // Marks the registry URL as read, for the sink to take into its Kafka properties.
      if (format === 'avro-confluent') reader.get(option('avro-confluent.url'));
      const mapping = fieldNames === undefined ? undefined : Object.fromEntries(Object.entries(fieldNames).map(([column, field]) => [field, column]));
      return {
        kind: 'avro',
        columns: [...columns],
        wireFormat: format === 'avro' ? 'plain' : 'confluent',
        ...(mapping === undefined ? {} : { mapping }),
        ...(subject === undefined ? {} : { registry: { subject } }),
      };
    }
    case 'raw': {
      if (columns.length !== 1) throw reader.error(formatKey, `the raw format writes one column, but the ${part} has ${columns.length} (${columns.join(', ')})`, part === 'value' ? "use 'value.fields-include' = 'EXCEPT_KEY' or another format" : 'key one column');
      return { kind: 'raw', column: columns[0] as string };
    }
    default:
      throw reader.error(formatKey, `the format '${format}' is not supported for a Kafka sink`, 'use csv, json, avro, avro-confluent or raw');
  }
}

/** `\t` and `\u0001`-style escapes in a delimiter, as Flink reads them. */
function unescapeDelimiter(text: string): string {
  if (text === '\\t') return '\t';
  const unicode = /^\\u([0-9a-fA-F]{4})$/.exec(text);
  return unicode === null ? text : String.fromCharCode(parseInt(unicode[1] ?? '0', 16));
}

/** A partitioner module: `./x.js` relative to the SQL file, or an absolute path. A Java class name is refused. */
export interface PartitionerModule {
  readonly path: string;
  readonly at: Position;
}

export interface SinkTranslation {
  readonly spec: SinkSpecInput;
  /** Resolved to a function by whoever may read files (the job), then set as `spec.partitioner`. */
  readonly partitionerModule?: PartitionerModule;
  readonly warnings: readonly string[];
}

function partitionerOf(reader: OptionReader): { partitioner?: SinkSpecInput['partitioner']; module?: PartitionerModule } {
  const dliKey = 'connector.sink-partitioner';
  const dli = reader.value(dliKey);
  const classKey = 'connector.sink-partitioner-class';
  const className = reader.value(classKey);
  const flink = reader.value('sink.partitioner');
  const moduleOf = (key: string, path: string): PartitionerModule => {
    if (!/^(\.{1,2}\/|\/)|\.(m?js|ts)$/.test(path)) {
      throw reader.error(key, `the partitioner '${path}' looks like a Java class, which Spillway cannot run`, "name a JavaScript module exporting partition(key, value, partitions), such as './my-partitioner.js'");
    }
    return { path, at: reader.at(key) };
  };
  if (dli !== undefined) {
    if (dli === 'fixed' || dli === 'round-robin') {
      if (className !== undefined) throw reader.error(classKey, `'${classKey}' applies only when '${dliKey}' is 'custom'`);
      return { partitioner: dli };
    }
    if (dli === 'custom') {
      if (className === undefined) throw reader.error(dliKey, `'${dliKey}' = 'custom' needs '${classKey}'`, "name a JavaScript module: 'connector.sink-partitioner-class' = './my-partitioner.js'");
      return { module: moduleOf(classKey, className) };
    }
    throw reader.error(dliKey, `'${dliKey}' is fixed, round-robin or custom, not '${dli}'`);
  }
  if (className !== undefined) throw reader.error(classKey, `'${classKey}' needs '${dliKey}' = 'custom'`);
  if (flink !== undefined) {
    if (flink === 'default') return { partitioner: 'hash' };
    if (flink === 'fixed' || flink === 'round-robin') return { partitioner: flink };
    return { module: moduleOf('sink.partitioner', flink) };
  }
  return {};
}

/** DLI's 'connector.version': checked, and warned about, since it has no effect. */
function readVersion(reader: OptionReader, table: TableDeclaration, warnings: string[]): void {
  const version = reader.value('connector.version');
  if (version === undefined) return;
  if (!['0.10', '0.11', 'universal'].includes(version)) throw reader.error('connector.version', `'connector.version' is '0.10', '0.11' or 'universal', not '${version}'`);
  warnings.push(`table "${table.name}": 'connector.version' = '${version}' has no effect; Spillway speaks every Kafka version from 0.11 on`);
}

/** The sink spec a Kafka (or upsert-kafka) table describes when it is written. */
export function sinkTranslation(table: TableDeclaration): SinkTranslation {
  const reader = new OptionReader(table);
  const warnings: string[] = [];
  if (table.connector !== Connector.Kafka && table.connector !== Connector.UpsertKafka) {
    throw reader.error(undefined, `a ${table.connector === Connector.Input ? 'table without a connector (an input table)' : `${table.connector} table`} cannot be written to`, "write into a table with 'connector' = 'kafka' or 'upsert-kafka'");
  }
  reader.get('connector');
  reader.get('connector.type');
  readVersion(reader, table, warnings);
  const topic = reader.value('connector.topic', 'topic');
  if (topic === undefined) throw reader.error(undefined, "no topic; give 'topic' (or DLI's 'connector.topic')");
  const kafka: Record<string, string> = {};
  for (const [name, option] of [...reader.prefixed('connector.properties.'), ...reader.prefixed('properties.')]) kafka[name] = option.value;

  const upsertKafka = table.connector === Connector.UpsertKafka;
  const columnNames = table.schema.columns.map((column) => column.name);
  const primaryKey = table.schema.primaryKey;
  if (upsertKafka && (primaryKey === undefined || primaryKey.length === 0)) {
    throw reader.error(undefined, "an upsert-kafka table needs a primary key", 'declare PRIMARY KEY (columns) NOT ENFORCED');
  }
  const fieldsKey = 'key.fields';
  const keyFieldsText = reader.value(fieldsKey);
  if (upsertKafka && keyFieldsText !== undefined) throw reader.error(fieldsKey, "an upsert-kafka table's key is its primary key; remove 'key.fields'");
  const keyFormatKey = 'key.format';
  const keyFormat = reader.value(keyFormatKey);
  let keyColumns: string[] | undefined = keyFieldsText?.split(';').map((name) => name.trim());
  if (upsertKafka) keyColumns = [...(primaryKey ?? [])];
  for (const name of keyColumns ?? []) {
    if (!columnNames.includes(name)) throw reader.error(fieldsKey, `'key.fields' names "${name}", which is not a column; the columns are: ${columnNames.join(', ')}`);
  }
  if (keyColumns !== undefined && keyFormat === undefined) throw reader.error(keyFieldsText === undefined ? undefined : fieldsKey, "the key needs 'key.format'", "add 'key.format' = 'json' (or csv, avro, raw)");
  if (keyFormat !== undefined && keyColumns === undefined) throw reader.error(keyFormatKey, "'key.format' needs 'key.fields', the key columns separated by ';'");
  const prefix = reader.value('key.fields-prefix') ?? '';
  if (prefix !== '') {
    const unprefixed = (keyColumns ?? []).find((name) => !name.startsWith(prefix));
    if (unprefixed !== undefined) throw reader.error('key.fields-prefix', `the key column "${unprefixed}" does not start with the prefix '${prefix}'`);
  }
  const fieldNames = prefix === '' ? undefined : Object.fromEntries((keyColumns ?? []).map((name) => [name, name.slice(prefix.length)]));
  const include = reader.value('value.fields-include') ?? 'ALL';
  if (include !== 'ALL' && include !== 'EXCEPT_KEY') throw reader.error('value.fields-include', `'value.fields-include' is ALL or EXCEPT_KEY, not '${include}'`);
  const valueColumns = include === 'EXCEPT_KEY' ? columnNames.filter((name) => !(keyColumns ?? []).includes(name)) : columnNames;
  if (valueColumns.length === 0) throw reader.error('value.fields-include', 'the value has no columns left');

  const valueFormatKey = ['format.type', 'format', 'value.format'].find((key) => table.options.has(key));
  const valueFormat = valueFormatKey === undefined ? undefined : reader.value(valueFormatKey);
  if (valueFormat === undefined || valueFormatKey === undefined) throw reader.error(undefined, "no value format; give 'format' (or 'value.format', or DLI's 'format.type')", "for example 'format' = 'json'");
  const valuePrefix = valueFormatKey === 'value.format' ? 'value.' : '';
  const value = formatSpec(reader, valueFormat, valueFormatKey, valueColumns, valuePrefix, 'value');
  const key = keyFormat === undefined || keyColumns === undefined ? undefined : formatSpec(reader, keyFormat, keyFormatKey, keyColumns, 'key.', 'key', fieldNames);
  // The registry URL of an avro-confluent key or value (read by formatSpec for that format only).
  const registries = [valuePrefix, 'key.'].map((prefix) => `${prefix}avro-confluent.url`).filter((name) => reader.used.has(name));
  const [registryKey, otherRegistryKey] = registries;
  if (registryKey !== undefined) {
    const registry = reader.value(registryKey) as string;
    if (otherRegistryKey !== undefined && reader.value(otherRegistryKey) !== registry) {
      throw reader.error(otherRegistryKey, `'${otherRegistryKey}' names another schema registry than '${registryKey}'; the key and the value use one registry`, 'give the same URL, or keep one of them');
    }
    const propertyKey = ['properties.schema.registry.url', 'connector.properties.schema.registry.url'].find((name) => table.options.has(name));
    if (propertyKey !== undefined) {
      throw reader.error(propertyKey, `'${propertyKey}' and '${registryKey}' both set the schema registry URL; keep one`, `keep '${registryKey}', Flink's option for avro-confluent`);
    }
    kafka['schema.registry.url'] = registry;
  }

  const modeKey = 'update-mode';
  const modeText = reader.value(modeKey);
  let mode: SinkSpecInput['mode'] = upsertKafka ? 'upsert' : 'append';
  if (modeText !== undefined) {
    if (modeText !== 'append' && modeText !== 'retract' && modeText !== 'upsert') throw reader.error(modeKey, `'update-mode' is append, retract or upsert, not '${modeText}'`);
    mode = modeText;
  }
  let upsertKey = key;
  if (mode === 'upsert' && upsertKey === undefined) {
    if (primaryKey === undefined) throw reader.error(modeKey, "'update-mode' = 'upsert' needs a key", "declare PRIMARY KEY (columns) NOT ENFORCED, or give 'key.fields' and 'key.format'");
    upsertKey = { kind: 'json', columns: [...primaryKey], nestedDelimiter: false };
  }

  const deliveryKey = table.options.has('sink.semantic') ? 'sink.semantic' : 'sink.delivery-guarantee';
  const delivery = reader.value(deliveryKey);
  if (delivery !== undefined && !['at-least-once', 'exactly-once', 'none'].includes(delivery)) {
    throw reader.error(deliveryKey, `'${deliveryKey}' is at-least-once, exactly-once or none, not '${delivery}'`);
  }
  const transactionalIdPrefix = reader.value('sink.transactional-id-prefix');
  if (transactionalIdPrefix !== undefined && delivery !== 'exactly-once') {
    throw reader.error('sink.transactional-id-prefix', `'sink.transactional-id-prefix' applies to exactly-once delivery only`, `set '${deliveryKey}' = 'exactly-once', or remove it`);
  }
  // Flink's buffer: max-rows and interval, both set (flush at whichever comes first) or both 0 (no buffer).
  const maxRowsText = reader.value('sink.buffer-flush.max-rows');
  const rawInterval = reader.value('sink.buffer-flush.interval');
  const intervalIsZero = rawInterval !== undefined && /^\s*0+\s*(ms|s|sec|second|seconds|min|minute|minutes|h|hour|hours|d|day|days)?\s*$/i.test(rawInterval);
  let maxRows: number | undefined;
  if (maxRowsText !== undefined) {
    if (!/^\s*\d+\s*$/.test(maxRowsText) || !Number.isSafeInteger(Number(maxRowsText))) {
      throw reader.error('sink.buffer-flush.max-rows', `'sink.buffer-flush.max-rows' is a whole number of rows, not '${maxRowsText}'`);
    }
    maxRows = Number(maxRowsText);
    if (maxRows === 0 && rawInterval !== undefined && !intervalIsZero) {
      throw reader.error('sink.buffer-flush.max-rows', `'sink.buffer-flush.max-rows' = '0' turns the buffer off, but 'sink.buffer-flush.interval' = '${rawInterval}' turns it on`, "set both (flush at whichever comes first), or both to 0 for no buffer");
    }
    if (maxRows > 0 && (rawInterval === undefined || intervalIsZero)) {
      throw reader.error('sink.buffer-flush.max-rows', `'sink.buffer-flush.max-rows' = '${maxRowsText.trim()}' needs 'sink.buffer-flush.interval' too, as in Flink`, "add 'sink.buffer-flush.interval' (such as '1s'), or set both to 0 for no buffer");
    }
  }
  const interval = intervalIsZero ? undefined : rawInterval;
  const { partitioner, module } = partitionerOf(reader);
  reader.refuseUnused('sink');
  const spec: SinkSpecInput = {
    name: table.name,
    topic,
    kafka,
    value,
    ...(upsertKey === undefined ? {} : { key: upsertKey }),
    mode,
    ...(delivery === undefined ? {} : { delivery: delivery as 'none' }),
    ...(transactionalIdPrefix === undefined ? {} : { transactionalIdPrefix }),
    ...(partitioner === undefined ? {} : { partitioner }),
    ...(interval === undefined ? {} : { trigger: maxRows === undefined || maxRows === 0 ? { interval } : { interval, maxRows } }),
  };
  return { spec, ...(module === undefined ? {} : { partitionerModule: module }), warnings };
}

export interface DatagenField {
  readonly kind: 'random' | 'sequence';
  readonly min?: number;
  readonly max?: number;
  readonly length?: number;
  readonly start?: bigint;
  readonly end?: bigint;
  readonly nullRate: number;
  readonly maxPastMs: number;
}

export type SourceTranslation =
  | { readonly connector: 'input' }
  | { readonly connector: 'datagen'; readonly rowsPerSecond: number; readonly numberOfRows?: number; readonly fields: Readonly<Record<string, DatagenField>> }
  | { readonly connector: 'filesystem'; readonly path: string; readonly format: 'csv' | 'ndjson'; readonly delimiter?: string; readonly quote?: string; readonly followMs?: number }
  | {
      readonly connector: 'kafka';
      readonly topic: string;
      readonly kafkaConfig: Readonly<Record<string, string>>;
      readonly mode: 'append' | 'upsert';
      readonly startFrom: 'earliest' | 'latest';
    };

function numberOption(reader: OptionReader, key: string, integer: boolean): number | undefined {
  const text = reader.value(key);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) throw reader.error(key, `'${key}' is ${integer ? 'an integer' : 'a number'}, not '${text}'`);
  return value;
}

function durationMs(reader: OptionReader, key: string, parse: (text: string) => number): number | undefined {
  const text = reader.value(key);
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw reader.error(key, `'${key}': ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Refuses a PRIMARY KEY on a table read without one (the rows only append; nothing is keyed). */
function refusePrimaryKey(reader: OptionReader, table: TableDeclaration, hint: string): void {
  const key = table.schema.primaryKey;
  if (key === undefined) return;
  throw reader.error(undefined, `PRIMARY KEY (${key.join(', ')}) has no effect when a ${table.connector} table is read: its rows are appended, never updated by key`, hint);
}

/** The datagen options that apply only to some column types, and to random values. */
const DATAGEN_TYPES: Readonly<Record<string, { readonly types: readonly string[]; readonly what: string }>> = {
  min: { types: ['int32', 'int64', 'float64', 'decimal'], what: 'numbers' },
  max: { types: ['int32', 'int64', 'float64', 'decimal'], what: 'numbers' },
  length: { types: ['string', 'bytes'], what: 'strings and bytes' },
  'max-past': { types: ['date', 'timestamp'], what: 'dates and timestamps' },
};

/** The shortest and longest 'source.monitor-interval' a followed file is checked at. */
const MONITOR_INTERVAL_MS = { min: 10, max: 60_000 } as const;

/**
 * What a table is when it is read: an input table, generated rows, a file, or a Kafka topic.
 * Warnings (an option or Kafka property with no effect) are added to `warnings`.
 */
export function sourceTranslation(table: TableDeclaration, parseDuration: (text: string) => number, warnings: string[] = []): SourceTranslation {
  const reader = new OptionReader(table);
  reader.get('connector');
  reader.get('connector.type');
  switch (table.connector) {
    case Connector.Input:
      reader.refuseUnused('source');
      return { connector: 'input' };
    case Connector.Datagen: {
      refusePrimaryKey(reader, table, 'remove PRIMARY KEY; declare the columns NOT NULL if they must not be null');
      const rowsPerSecond = numberOption(reader, 'rows-per-second', false) ?? 10_000;
      if (rowsPerSecond <= 0) throw reader.error('rows-per-second', "'rows-per-second' must be positive");
      const numberOfRows = numberOption(reader, 'number-of-rows', true);
      if (numberOfRows !== undefined && numberOfRows < 0) throw reader.error('number-of-rows', "'number-of-rows' cannot be negative");
      const fields: Record<string, DatagenField> = {};
      for (const column of table.schema.columns) {
        const key = (name: string) => `fields.${column.name}.${name}`;
        const kind = reader.value(key('kind')) ?? 'random';
        if (kind !== 'random' && kind !== 'sequence') throw reader.error(key('kind'), `'${key('kind')}' is random or sequence, not '${kind}'`);
        const integerText = (name: string): bigint | undefined => {
          const text = reader.value(key(name));
          if (text === undefined) return undefined;
          if (!/^-?\d+$/.test(text)) throw reader.error(key(name), `'${key(name)}' is an integer, not '${text}'`);
          return BigInt(text);
        };
        const start = integerText('start');
        const end = integerText('end');
        if (kind === 'sequence') {
          if (!['int32', 'int64', 'string', 'decimal', 'float64'].includes(column.type)) throw reader.error(key('kind'), `a sequence cannot fill the ${column.type} column "${column.name}"`);
          if (start === undefined || end === undefined) throw reader.error(key('kind'), `a sequence needs '${key('start')}' and '${key('end')}'`);
          if (end < start) throw reader.error(key('end'), `'${key('end')}' is before '${key('start')}'`);
        } else if (start !== undefined || end !== undefined) {
          throw reader.error(key(start === undefined ? 'end' : 'start'), `'${key('start')}' and '${key('end')}' apply to sequences; set '${key('kind')}' = 'sequence'`);
        }
        for (const [name, { types, what }] of Object.entries(DATAGEN_TYPES)) {
          if (!table.options.has(key(name))) continue;
          if (kind === 'sequence') throw reader.error(key(name), `'${key(name)}' applies to random values, but "${column.name}" is a sequence (from '${key('start')}' to '${key('end')}')`, `remove it, or set '${key('kind')}' = 'random'`);
          if (!types.includes(column.type)) throw reader.error(key(name), `'${key(name)}' applies to random ${what}, not to the ${column.type} column "${column.name}"`, 'remove it');
        }
        const min = numberOption(reader, key('min'), false);
        const max = numberOption(reader, key('max'), false);
        if (min !== undefined && max !== undefined && max < min) throw reader.error(key('max'), `'${key('max')}' is below '${key('min')}'`);
        const length = numberOption(reader, key('length'), true);
        const nullRate = numberOption(reader, key('null-rate'), false) ?? 0;
        if (nullRate < 0 || nullRate > 1) throw reader.error(key('null-rate'), `'${key('null-rate')}' is between 0 and 1`);
        if (nullRate > 0 && !column.nullable) throw reader.error(key('null-rate'), `the column "${column.name}" is NOT NULL, so it cannot have nulls`);
        const maxPastMs = durationMs(reader, key('max-past'), parseDuration) ?? 0;
        fields[column.name] = {
          kind,
          ...(min === undefined ? {} : { min }),
          ...(max === undefined ? {} : { max }),
          ...(length === undefined ? {} : { length }),
          ...(start === undefined ? {} : { start }),
          ...(end === undefined ? {} : { end }),
          nullRate,
          maxPastMs,
        };
      }
      for (const [rest, option] of reader.prefixed('fields.')) {
        const column = rest.slice(0, rest.lastIndexOf('.'));
        if (!table.schema.columns.some((candidate) => candidate.name === column)) {
          throw sqlError(table.source, option.at, `table "${table.name}": 'fields.${rest}' names "${column}", which is not a column`);
        }
      }
      reader.refuseUnused('source');
      return { connector: 'datagen', rowsPerSecond, ...(numberOfRows === undefined ? {} : { numberOfRows }), fields };
    }
    case Connector.Filesystem: {
      refusePrimaryKey(reader, table, 'remove PRIMARY KEY; declare the columns NOT NULL if they must not be null');
      const path = reader.value('path');
      if (path === undefined) throw reader.error(undefined, "a filesystem table needs 'path'");
      const format = reader.value('format');
      if (format !== 'csv' && format !== 'json') throw reader.error(format === undefined ? undefined : 'format', `a filesystem table reads 'format' = 'csv' or 'json' (one JSON object per line)${format === undefined ? '' : `, not '${format}'`}`);
      const delimiter = reader.value('csv.field-delimiter');
      const quote = reader.value('csv.quote-character');
      if (format !== 'csv' && (delimiter !== undefined || quote !== undefined)) throw reader.error(delimiter === undefined ? 'csv.quote-character' : 'csv.field-delimiter', "csv options apply to 'format' = 'csv'");
      const followMs = durationMs(reader, 'source.monitor-interval', parseDuration);
      if (followMs !== undefined && (followMs < MONITOR_INTERVAL_MS.min || followMs > MONITOR_INTERVAL_MS.max)) {
        const text = reader.value('source.monitor-interval') ?? '';
        throw reader.error('source.monitor-interval', `'source.monitor-interval' is from 10 ms to 60 s, not '${text}'`, "give an interval such as '1s'");
      }
      reader.refuseUnused('source');
      return {
        connector: 'filesystem',
        path,
        format: format === 'csv' ? 'csv' : 'ndjson',
        ...(delimiter === undefined ? {} : { delimiter: unescapeDelimiter(delimiter) }),
        ...(quote === undefined ? {} : { quote }),
        ...(followMs === undefined ? {} : { followMs }),
      };
    }
    case Connector.Kafka:
    case Connector.UpsertKafka: {
      const topic = reader.value('connector.topic', 'topic');
      if (topic === undefined) throw reader.error(undefined, "no topic; give 'topic' (or DLI's 'connector.topic')");
      const kafkaConfig: Record<string, string> = {};
      for (const [name, option] of [...reader.prefixed('connector.properties.'), ...reader.prefixed('properties.')]) kafkaConfig[name] = option.value;
      readVersion(reader, table, warnings);
      const formatKey = ['format.type', 'format', 'value.format'].find((key) => table.options.has(key));
      const format = formatKey === undefined ? undefined : reader.value(formatKey);
      if (format !== 'json') throw reader.error(formatKey, `a Kafka table is read as 'format' = 'json'${format === undefined ? '' : `, not '${format}'`}`);
      const upsert = table.connector === Connector.UpsertKafka;
      if (upsert) {
        if ((table.schema.primaryKey ?? []).length === 0) throw reader.error(undefined, 'an upsert-kafka table needs a primary key', 'declare PRIMARY KEY (columns) NOT ENFORCED');
        // Flink's upsert-kafka DDL needs key.format, so the same DDL is not refused here; it is said to change nothing.
        if (reader.value('key.format') !== undefined) {
          warnings.push(`table "${table.name}": 'key.format' has no effect when an upsert-kafka table is read: the primary key's columns are read from the JSON value, and a tombstone's record key is matched by its bytes`);
        }
      } else {
        refusePrimaryKey(reader, table, "read it with 'connector' = 'upsert-kafka' to keep one row per key, or remove PRIMARY KEY");
      }
      const startup = reader.value('scan.startup.mode') ?? 'earliest-offset';
      if (startup !== 'earliest-offset' && startup !== 'latest-offset') {
        throw reader.error('scan.startup.mode', `'scan.startup.mode' = '${startup}' is not supported`, 'use earliest-offset or latest-offset');
      }
      reader.refuseUnused('source');
      // The properties are checked as the reader takes them, so validating the job refuses what running it would.
      try {
        warnings.push(...checkTopicTableProperties(kafkaConfig, `table "${table.name}"`).map((warning) => `table "${table.name}": ${warning}`));
      } catch (error) {
        throw sqlError(table.source, table.at, error instanceof Error ? error.message : String(error));
      }
      return { connector: 'kafka', topic, kafkaConfig, mode: upsert ? 'upsert' : 'append', startFrom: startup === 'earliest-offset' ? 'earliest' : 'latest' };
    }
  }
}

/** A SQL error that is not about one option, for the job. */
export function tableError(table: TableDeclaration, message: string, hint?: string): SpillwayError {
  return new SpillwayError(ErrorCode.InvalidConfig, `${table.source}:${table.at.line}:${table.at.column}: table "${table.name}": ${message}`, {
    details: { sink: table.name, line: table.at.line, column: table.at.column, ...(hint === undefined ? {} : { hint }) },
  });
}
