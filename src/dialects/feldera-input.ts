/**
 * Feldera's input connectors, as `PUT /v0/connectors/{name}` takes them, translated into what
 * feeds a table and nothing more (no I/O): `kafka_input` (a topic, or Feldera's older `topics`
 * list, read from `start_from` or librdkafka's `auto.offset.reset`, with librdkafka properties)
 * and `file_input` (a `path`, optionally followed). The format says how a message (a Kafka record's
 * value, or a line of the file) becomes changes, the same way HTTP ingress reads a body: `json`
 * with `update_format` `insert_delete` (`{"insert": row}` / `{"delete": row}`) or `raw` (each value
 * a row), `array` for one JSON array per message; or `csv`, one row per line. Feldera options with
 * no counterpart are refused by name, with the reason.
 */
import { fileURLToPath } from 'node:url';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { ErrorCode, SpillwayError, zodIssuesError } from '../errors.ts';

const propertyValue = z.union([z.string(), z.number(), z.boolean()]);

/** Transport names of Feldera's input connectors that Spillway reads. */
export const INPUT_TRANSPORTS = ['kafka_input', 'file_input'] as const;

/** Feldera's kafka_input options that are not librdkafka properties, refused with the reason. */
const REFUSED_KAFKA_OPTIONS: Readonly<Record<string, string>> = {
  partitions: 'every partition of the topic is read; leave it out',
  log_level: "the Kafka client's log level is not configurable; leave it out",
  group_join_timeout_secs: 'the topic is read without a consumer group, so there is nothing to join; bound connecting with request.timeout.ms',
  poller_threads: 'one reader follows each topic; leave it out',
  fault_tolerance: 'input connectors keep no checkpoint in this version, so a restarted pipeline reads again from start_from; leave it out',
  resume_earliest_if_data_expires: 'input connectors keep no checkpoint in this version; leave it out',
  include_headers: 'only the record value is read; leave it out',
  include_topic: 'only the record value is read; leave it out',
  include_partition: 'only the record value is read; leave it out',
  include_offset: 'only the record value is read; leave it out',
  include_timestamp: 'only the record value is read; leave it out',
  synchronize_partitions: 'partitions are read as their records arrive; leave it out',
  region: 'AWS MSK IAM authentication is not supported; authenticate with SASL or TLS properties',
};

const kafkaInputTransport = z
  .object({
    name: z.literal('kafka_input'),
    config: z
      .object({
        topic: z.string().min(1).optional(),
        topics: z.array(z.string().min(1)).min(1).optional(),
        start_from: z.unknown().optional(),
      })
      .catchall(z.union([propertyValue, z.array(z.unknown()), z.record(z.string(), z.unknown())])),
  })
  .strict();

const fileInputTransport = z
  .object({
    name: z.literal('file_input'),
    config: z
      .object({
        path: z.string().min(1),
        follow: z.boolean().default(false),
        buffer_size_bytes: z.number().optional(),
      })
      .strict(),
  })
  .strict();

const jsonInputFormat = z
  .object({
    name: z.literal('json'),
    config: z
      .object({
        update_format: z.string().default('insert_delete'),
        array: z.boolean().default(false),
        json_flavor: z.unknown().optional(),
        lines: z.unknown().optional(),
      })
      .strict()
      .default({ update_format: 'insert_delete', array: false }),
  })
  .strict();

const csvInputFormat = z
  .object({
    name: z.literal('csv'),
    config: z.object({ delimiter: z.unknown().optional(), headers: z.unknown().optional() }).strict().default({}),
  })
  .strict();

export const felderaInputConnectorSchema = z
  .object({
    description: z.string().optional(),
    config: z
      .object({
        transport: z.discriminatedUnion('name', [kafkaInputTransport, fileInputTransport]),
        format: z.discriminatedUnion('name', [jsonInputFormat, csvInputFormat]),
      })
      .strict(),
  })
  .strict();

/** How a message becomes changes: the query parameters of HTTP ingress. */
export interface InputFormat {
  readonly format: 'json' | 'csv';
  readonly update_format?: 'insert_delete' | 'raw';
  readonly array?: 'true' | 'false';
}

export type InputConnectorSpec =
  | {
      readonly transport: 'kafka';
      readonly topics: readonly string[];
      readonly kafkaConfig: Readonly<Record<string, string>>;
      readonly startFrom: 'earliest' | 'latest';
      readonly format: InputFormat;
    }
  | { readonly transport: 'file'; readonly path: string; readonly follow: boolean; readonly format: InputFormat };

function refuse(name: string, field: string, reason: string): SpillwayError {
  return new SpillwayError(ErrorCode.InvalidConfig, `connector "${name}": ${field} is refused: ${reason}`, { details: { sink: name, field } });
}

/** True when a connector body names an input transport (kafka_input, file_input). */
export function isInputConnector(body: unknown): boolean {
  const name = (body as { config?: { transport?: { name?: unknown } } } | null)?.config?.transport?.name;
  return typeof name === 'string' && name.endsWith('_input');
}

function startFromOf(name: string, config: Readonly<Record<string, unknown>>): 'earliest' | 'latest' {
  const field = 'config.transport.config';
  const given = config.start_from;
  const reset = config['auto.offset.reset'];
  const resetStart = typeof reset !== 'string' ? undefined : ['smallest', 'earliest', 'beginning'].includes(reset) ? 'earliest' : ['largest', 'latest', 'end'].includes(reset) ? 'latest' : undefined;
  if (reset !== undefined && resetStart === undefined) {
    throw refuse(name, `${field}.auto.offset.reset`, `${JSON.stringify(reset)} is not a starting point; use earliest or latest`);
  }
  if (given === undefined) return resetStart ?? 'latest';
  if (given !== 'earliest' && given !== 'latest') {
    throw refuse(name, `${field}.start_from`, `${JSON.stringify(given)}: only "earliest" and "latest" are supported (no offsets or timestamp)`);
  }
  if (resetStart !== undefined && resetStart !== given) {
    throw refuse(name, `${field}.start_from`, `"${given}" disagrees with auto.offset.reset (${String(reset)}); keep one`);
  }
  return given;
}

function formatOf(name: string, format: z.output<typeof felderaInputConnectorSchema>['config']['format'], transport: 'kafka' | 'file'): InputFormat {
  const field = 'config.format.config';
  if (format.name === 'csv') {
    if (format.config.delimiter !== undefined && format.config.delimiter !== ',') throw refuse(name, `${field}.delimiter`, 'input CSV is comma-separated (RFC 4180); leave it out');
    if (format.config.headers !== undefined && format.config.headers !== false) throw refuse(name, `${field}.headers`, "input CSV has no header line: fields follow the table's column order");
    return { format: 'csv' };
  }
  const config = format.config;
  if (config.json_flavor !== undefined && config.json_flavor !== 'default') throw refuse(name, `${field}.json_flavor`, 'only the default JSON flavor is read; leave it out');
  if (config.lines !== undefined) throw refuse(name, `${field}.lines`, 'values are read one per line, or as one array with array: true; leave it out');
  if (config.update_format !== 'insert_delete' && config.update_format !== 'raw') {
    throw refuse(name, `${field}.update_format`, `"${config.update_format}" is not supported for input; use insert_delete or raw`);
  }
  if (config.array && transport === 'file') throw refuse(name, `${field}.array`, 'a file is read one value per line; set array to false, or push arrays through ingress');
  return { format: 'json', update_format: config.update_format, array: config.array ? 'true' : 'false' };
}

/** The body's shape only: the translation's errors name the field. */
function parse(name: string, body: unknown): z.output<typeof felderaInputConnectorSchema> {
  const parsed = felderaInputConnectorSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw zodIssuesError(parsed.error.issues, {
    subject: `connector "${name}"`,
    root: 'connector',
    sink: name,
    hint: 'Feldera input connectors look like { "config": { "transport": { "name": "kafka_input", "config": { "bootstrap.servers": …, "topic": …, "start_from": "earliest" } }, "format": { "name": "json", "config": { "update_format": "insert_delete" } } } } or { "transport": { "name": "file_input", "config": { "path": "/abs/file" } }, … }',
  });
}

/** What an input connector body describes; refuses what Spillway cannot honour, naming the field. */
export function felderaInputConnectorSpec(name: string, body: unknown): InputConnectorSpec {
  const { transport, format } = parse(name, body).config;
  const field = 'config.transport.config';
  if (transport.name === 'file_input') {
    const config = transport.config;
    if (config.buffer_size_bytes !== undefined) throw refuse(name, `${field}.buffer_size_bytes`, 'the file is read in chunks of its own size; leave it out');
    let path = config.path;
    if (path.startsWith('file://')) {
      try {
        path = fileURLToPath(path);
      } catch (error) {
        throw refuse(name, `${field}.path`, `${JSON.stringify(config.path)} is not a file URL (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    if (!isAbsolute(path)) throw refuse(name, `${field}.path`, `${JSON.stringify(config.path)} is relative; give an absolute path or a file:// URL`);
    return { transport: 'file', path, follow: config.follow, format: formatOf(name, format, 'file') };
  }
  const { topic, topics, start_from: _startFrom, ...rest } = transport.config;
  for (const [option, reason] of Object.entries(REFUSED_KAFKA_OPTIONS)) {
    if (rest[option] !== undefined) throw refuse(name, `${field}.${option}`, reason);
  }
  if (topic !== undefined && topics !== undefined) throw refuse(name, `${field}.topics`, 'give topic or topics, not both');
  const names = topic === undefined ? topics : [topic];
  if (names === undefined) throw refuse(name, `${field}.topic`, 'no topic; give "topic" (or the older "topics" list)');
  const kafkaConfig: Record<string, string> = {};
  for (const [property, value] of Object.entries(rest)) {
    if (typeof value === 'object') throw refuse(name, `${field}.${property}`, 'a librdkafka property is a string, number or boolean');
    // start_from (or auto.offset.reset) picks the start; the reader is told it directly.
    if (property !== 'auto.offset.reset') kafkaConfig[property] = String(value);
  }
  return { transport: 'kafka', topics: [...new Set(names)], kafkaConfig, startFrom: startFromOf(name, transport.config), format: formatOf(name, format, 'kafka') };
}
