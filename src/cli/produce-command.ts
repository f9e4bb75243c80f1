/**
 * `spillway produce`: a CSV or NDJSON file (or stdin) to a topic, with the sink's options as
 * flags and Kafka properties as `-X name=value`, as kcat takes them.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse as parseCsvStream } from 'csv-parse';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { loadPartitioner, parseColumns } from '../dialects/sql/job.ts';
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { KeyValueSpecInput } from '../formats/key-value-spec.ts';
import type { Column, Schema } from '../model/schema.ts';
import { fromFile, parseTextValue } from '../sources/file-table.ts';
import { fromAsyncIterable } from '../sources/iterable-table.ts';
import type { Table } from '../model/table.ts';
import { openPlan } from '../sink/open-sink.ts';
import { planSink } from '../sink/plan.ts';
import type { SinkSpecInput } from '../sink/sink-spec.ts';
import { requireOwnName } from '../sink/transactional-id.ts';
import { Progress } from './progress.ts';

interface ProduceOptions {
  readonly topic: string;
  readonly brokers?: string;
  readonly file?: string;
  readonly input?: 'csv' | 'ndjson';
  readonly schema?: string;
  readonly delimiter?: string;
  readonly header: boolean;
  readonly follow?: boolean;
  readonly key?: string;
  readonly value?: string;
  readonly format?: string;
  readonly mode?: string;
  readonly primaryKey?: string;
  readonly partitioner?: string;
  readonly delivery?: string;
  readonly name?: string;
  readonly checkpointLocation?: string;
  readonly X: Record<string, string>;
  readonly dryRun?: boolean;
  readonly progress: boolean;
}

function collectProperty(text: string, previous: Record<string, string>): Record<string, string> {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new InvalidArgumentError(`"${text}" is not name=value (for example -X compression.type=gzip)`);
  return { ...previous, [text.slice(0, equals)]: text.slice(equals + 1) };
}

const SPEC_FORMS = 'ignore, json[:col,…], csv[:col,…], avro[:col,…], simple:col or raw:col';

/** `json:a,b` → a json spec of a and b; `simple:id`; `ignore`. */
export function parseSpecFlag(text: string, flag: string): KeyValueSpecInput {
  const [kind = '', rest] = text.split(/:(.*)/s, 2);
  const columns = rest === undefined || rest === '' ? undefined : rest.split(',').map((column) => column.trim());
  const one = (): string => {
    if (columns?.length !== 1) throw new SpillwayError(ErrorCode.InvalidConfig, `${flag} ${text}: ${kind} takes one column, as ${kind}:id`);
    return columns[0] as string;
  };
  switch (kind) {
    case 'ignore':
      if (columns !== undefined) throw new SpillwayError(ErrorCode.InvalidConfig, `${flag} ${text}: ignore takes no columns`);
      return { kind: 'ignore' };
    case 'json':
      return columns === undefined ? { kind: 'json' } : { kind: 'json', columns };
    case 'csv':
      return columns === undefined ? { kind: 'csv' } : { kind: 'csv', columns };
    case 'avro':
      return columns === undefined ? { kind: 'avro' } : { kind: 'avro', columns };
    case 'simple':
      return { kind: 'simple', column: one() };
    case 'raw':
      return { kind: 'raw', column: one() };
    default:
      throw new SpillwayError(ErrorCode.InvalidConfig, `${flag} ${text}: unknown spec "${kind}"; use ${SPEC_FORMS}`);
  }
}

function inputFormatOf(options: ProduceOptions): 'csv' | 'ndjson' {
  if (options.input !== undefined) return options.input;
  const file = options.file;
  if (file !== undefined && /\.csv$/i.test(file)) return 'csv';
  if (file !== undefined && /\.(ndjson|jsonl|json)$/i.test(file)) return 'ndjson';
  throw new SpillwayError(ErrorCode.InvalidConfig, `say what the input is with --input csv or --input ndjson${file === undefined || file === '-' ? ' (stdin has no file name to tell by)' : ` ("${file}" has neither a .csv nor a .ndjson name)`}`);
}

/** The header line of a CSV file, as STRING columns (when no --schema is given). */
function headerSchema(path: string, delimiter: string): Schema {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(64 * 1024);
  const length = readSync(fd, buffer, 0, buffer.length, 0);
  closeSync(fd);
  const line = buffer.subarray(0, length).toString('utf8').split(/\r?\n/)[0] ?? '';
  const names = line.split(delimiter).map((name) => name.trim().replace(/^"(.*)"$/, '$1'));
  if (line === '' || names.some((name) => name === '')) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${path}: no header line to name the columns; give --schema "id BIGINT, name STRING"`);
  }
  return { columns: names.map((name): Column => ({ name, type: 'string', nullable: true })) };
}

function withKey(schema: Schema, primaryKey: string | undefined): Schema {
  if (primaryKey === undefined) return schema;
  return { ...schema, primaryKey: primaryKey.split(',').map((column) => column.trim()) };
}

/** JSON with integers beyond 2^53 kept exact. */
function parseJsonLine(text: string): unknown {
  return JSON.parse(text, (_key: string, value: unknown, context?: { source?: string }) =>
    typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source) ? BigInt(context.source) : value,
  );
}

/** Fields given as text (CSV, or JSON strings in non-string columns) read as their column's type. */
function typed(schema: Schema, fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const row: Record<string, unknown> = { ...fields };
  for (const column of schema.columns) {
    const value = row[column.name];
    if (typeof value !== 'string') continue;
    if (value === '' && column.nullable && column.type !== 'string') row[column.name] = null;
    else if (column.type !== 'string') row[column.name] = parseTextValue(column, value);
  }
  return row;
}

async function* stdinRows(schema: Schema, format: 'csv' | 'ndjson', delimiter: string, header: boolean): AsyncGenerator<Record<string, unknown>> {
  if (format === 'ndjson') {
    let line = 0;
    for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = parseJsonLine(text);
      } catch (error) {
        throw new SpillwayError(ErrorCode.InvalidValue, `stdin line ${line}: not JSON (${error instanceof Error ? error.message : String(error)})`);
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SpillwayError(ErrorCode.InvalidValue, `stdin line ${line}: not a JSON object of columns`);
      yield typed(schema, parsed as Record<string, unknown>);
    }
    return;
  }
  const parser = process.stdin.pipe(parseCsvStream({ delimiter, relax_quotes: false }));
  let names: readonly string[] | undefined = header ? undefined : schema.columns.map((column) => column.name);
  for await (const record of parser as AsyncIterable<string[]>) {
    if (names === undefined) {
      names = record;
      continue;
    }
    if (record.length !== names.length) throw new SpillwayError(ErrorCode.InvalidValue, `stdin: a CSV record has ${record.length} fields, but there are ${names.length} columns (${names.join(', ')})`);
    yield typed(schema, Object.fromEntries(names.map((name, index) => [name, record[index]])));
  }
}

export async function produceCommand(options: ProduceOptions): Promise<void> {
  const format = inputFormatOf(options);
  const delimiter = options.delimiter ?? ',';
  const fromStdin = options.file === undefined || options.file === '-';
  if (options.follow === true && fromStdin) throw new SpillwayError(ErrorCode.InvalidConfig, '--follow applies to a file; stdin is read until it ends');
  let schema: Schema;
  if (options.schema !== undefined) schema = await parseColumns(options.schema);
  else if (format === 'csv' && !fromStdin && options.header) schema = headerSchema(options.file, delimiter);
  else throw new SpillwayError(ErrorCode.InvalidConfig, `give the columns with --schema "id BIGINT, name STRING"${format === 'csv' ? ' (or read a CSV file with a header line)' : ''}`);
  schema = withKey(schema, options.primaryKey);
  if (options.value !== undefined && options.format !== undefined) throw new SpillwayError(ErrorCode.InvalidConfig, '--value and --format both choose the value; keep one (--format json is --value json)');
  const value = parseSpecFlag(options.value ?? options.format ?? 'json', options.value === undefined ? '--format' : '--value');
  const kafka: Record<string, string> = { ...options.X };
  const brokers = options.brokers ?? process.env.KAFKA_BOOTSTRAP_SERVERS;
  if (brokers !== undefined && brokers !== '') kafka['bootstrap.servers'] = brokers;
  if (kafka['bootstrap.servers'] === undefined) throw new SpillwayError(ErrorCode.InvalidConfig, 'no broker: give -b host:port (or -X bootstrap.servers=…, or set KAFKA_BOOTSTRAP_SERVERS)');
  let partitioner: SinkSpecInput['partitioner'];
  if (options.partitioner !== undefined) {
    partitioner = /^(\.{1,2}\/|\/)|\.(m?js|ts)$/.test(options.partitioner)
      ? await loadPartitioner({ path: options.partitioner, at: { line: 1, column: 1 } }, process.cwd(), '--partitioner')
      : (options.partitioner);
  }
  requireOwnName(options.delivery, options.name, 'spillway produce', 'give --name orders-to-kafka');
  const spec: SinkSpecInput = {
    name: options.name ?? `produce-${options.topic}`,
    topic: options.topic,
    kafka,
    value,
    ...(options.key === undefined ? {} : { key: parseSpecFlag(options.key, '--key') }),
    ...(options.mode === undefined ? {} : { mode: options.mode as 'append' }),
    ...(partitioner === undefined ? {} : { partitioner }),
    ...(options.delivery === undefined ? {} : { delivery: options.delivery as 'none' }),
    ...(options.checkpointLocation === undefined ? {} : { checkpointLocation: options.checkpointLocation }),
  };
  const key = schema.primaryKey === undefined ? {} : { key: [...schema.primaryKey] };
  let close = () => {};
  let table: Table;
  if (fromStdin) {
    table = fromAsyncIterable(schema, stdinRows(schema, format, delimiter, options.header), key);
  } else {
    const file = fromFile(options.file, {
      format,
      schema: { columns: schema.columns },
      ...key,
      ...(options.follow === true ? { follow: true } : {}),
      ...(format === 'csv' ? { csv: { delimiter, header: options.header } } : {}),
    });
    close = () => file.close();
    table = file;
  }
  const plan = planSink(table, spec);
  for (const warning of plan.warnings) process.stderr.write(`warning: ${warning}\n`);
  if (options.dryRun === true) {
    close();
    process.stdout.write(`would write to ${options.topic}: ${plan.mode} mode, key ${plan.spec.key.kind}, value ${plan.spec.value.kind}; nothing was connected\n`);
    return;
  }
  // Connection trouble is told as it happens, while the writer retries.
  const sink = openPlan(plan, { onWarning: (warning) => process.stderr.write(`warning: ${warning}\n`) });
  const progress = options.progress ? new Progress(() => sink.metrics) : undefined;
  progress?.start();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write('\nstopping: writing what is queued (Ctrl-C again to quit at once)\n');
    close();
    sink.stop().catch(() => {});
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await sink.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress?.stop();
  }
  process.stderr.write(`${sink.metrics.records} records (${sink.metrics.bytes} bytes) to ${options.topic}${sink.metrics.errors > 0 ? `, ${sink.metrics.errors} rows skipped` : ''}\n`);
}

export function registerProduceCommand(program: Command): void {
  program
    .command('produce')
    .description('write a CSV or NDJSON file (or stdin) to a Kafka topic, one record per row')
    .requiredOption('-t, --topic <topic>', 'the topic to write')
    .option('-b, --brokers <list>', 'bootstrap servers, host:port[,…] (default: $KAFKA_BOOTSTRAP_SERVERS)')
    .option('-f, --file <path>', 'the input file; - or absent for stdin')
    .addOption(new Option('--input <format>', 'the input format (default: by the file name)').choices(['csv', 'ndjson']))
    .option('--schema <columns>', 'the columns, as in SQL: "id BIGINT, name STRING, ts TIMESTAMP(3)" (default for a CSV file: its header, all STRING)')
    .option('--delimiter <char>', 'CSV input field delimiter', ',')
    .option('--no-header', 'CSV input has no header line (fields follow --schema)')
    .option('--follow', 'keep reading lines appended to the file, until Ctrl-C')
    .option('-k, --key <spec>', `the record key: ${SPEC_FORMS} (default ignore)`)
    .option('-v, --value <spec>', `the record value: ${SPEC_FORMS} (default json)`)
    .addOption(new Option('--format <format>', 'the value format over all columns (instead of --value)').choices(['json', 'csv', 'avro']))
    .addOption(new Option('--mode <mode>', 'update mode').choices(['append', 'retract', 'upsert']))
    .option('--primary-key <columns>', 'key columns: rows with the same key replace each other (with --mode upsert, a changed row replaces its key\'s record)')
    .option('-p, --partitioner <name>', 'hash (default), round-robin, least-bytes, fixed, kafka-go-hash, or ./module.js exporting partition(key, value, partitions)')
    .addOption(new Option('--delivery <guarantee>', 'delivery guarantee (exactly-once needs --name; a rerun under it writes only what is new)').choices(['at-least-once', 'exactly-once', 'none']))
    .option('--name <name>', 'the sink\'s name (in errors and client ids; under exactly-once its transactional id and progress key)')
    .option('--checkpoint-location <dir>', 'a directory keeping the sink\'s identity and last committed position, so a rerun resumes there')
    .option('-X <name=value>', 'a Kafka producer property, repeatable (-X compression.type=zstd -X linger.ms=10)', collectProperty, {})
    .option('--dry-run', 'check everything and say what would be written, without connecting')
    .option('--no-progress', 'no progress line on stderr')
    .addHelpText(
      'after',
      `
Examples:
  $ spillway produce -b 127.0.0.1:9092 -t cars -f cars.csv --schema "car_id STRING, car_speed INT" --no-header --format csv -p round-robin
  $ tail -f events.ndjson | spillway produce -t events --input ndjson --schema "id BIGINT, kind STRING" -k simple:id -X compression.type=zstd
  $ spillway produce -t orders -f orders.csv --delivery exactly-once --name orders-load   # rerun: only new rows`,
    )
    .action(produceCommand);
}
