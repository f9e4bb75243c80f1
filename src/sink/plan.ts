/**
 * Planning a sink: everything that can be checked or compiled before anything connects, in one
 * pure step. `planSink(table, spec)` validates the spec, compiles the key and value encoders
 * against the table's schema, applies lastByKeyColumns, checks the update mode against the table
 * and the trigger, builds the record builder and resolves the Kafka properties into producer
 * settings. The plan is frozen and holds no connection; `runSink(plan, writer)` runs it. The
 * validate command, the SQL front door and the REST service all stop here to check a whole
 * configuration without a broker.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { Encoder } from '../formats/encoder.ts';
import { createEncoder } from '../formats/key-value-spec.ts';
import { isKafkaPropertyName, nearestName, parseKafkaProperties } from '../kafka/kafka-properties.ts';
import { type Partitioner, createPartitioner } from '../kafka/partitioners.ts';
import type { ProducerSettings } from '../kafka/producer-settings.ts';
import { lastByOf } from '../model/live-table.ts';
import type { Table } from '../model/table.ts';
import { RecordBuilder } from './record-builder.ts';
import { DEFAULT_EPOCH_MS } from './epoch-clock.ts';
import { replayabilityOf } from '../sources/source.ts';
import { type SinkSpec, type Trigger, parseSinkSpec } from './sink-spec.ts';
import { checkTransactionTimeout, transactionalIdFor } from './transactional-id.ts';
import { type UpdateMode, type UpdateModeName, createUpdateMode, defaultUpdateMode } from './update-modes.ts';

/** Chooses a record's partition: its key (or partitionBy) bytes, its value, and the topic's partition count. */
export type PartitionChooser = (key: Buffer | null, value: Buffer | null, partitions: number) => number;

export interface SinkPlan {
  readonly name: string;
  readonly spec: SinkSpec;
  /** The table written: the given one, or its last row per key with lastByKeyColumns. */
  readonly table: Table;
  /** The update mode in force (chosen, or the default for the table). */
  readonly mode: UpdateModeName;
  readonly settings: ProducerSettings;
  /** Property warnings (consumer-only properties that have no effect). */
  readonly warnings: readonly string[];
  readonly keyEncoder: Encoder;
  readonly valueEncoder: Encoder;
  readonly builder: RecordBuilder;
  /** A fresh update mode (it keeps per-run state). */
  newUpdateMode(): UpdateMode;
  /** A fresh partition chooser (round-robin and least-bytes keep per-run state). */
  newPartitioner(): PartitionChooser;
}

/**
 * The Kafka properties the writer gets: an exactly-once sink's stable transactional id comes
 * from its name (or Flink's prefix) unless `transactional.id` is given.
 */
function kafkaPropertiesFor(spec: SinkSpec): SinkSpec['kafka'] {
  if (spec.delivery !== 'exactly-once' || spec.kafka['transactional.id'] !== undefined) return spec.kafka;
  return { ...spec.kafka, 'transactional.id': transactionalIdFor({ sink: spec.name, shard: 0, prefix: spec.transactionalIdPrefix }) };
}

/** The epoch an exactly-once transaction stays open at most: the trigger interval or continuous epoch. */
function epochLength(trigger: Trigger): number | undefined {
  if (trigger.kind === 'interval') return trigger.intervalMs;
  if (trigger.kind === 'continuous') return trigger.epochMs ?? DEFAULT_EPOCH_MS;
  return undefined;
}

/** Exactly-once needs acknowledged idempotent writes and a timeout that outlasts an epoch; it warns about sources it cannot replay. */
function checkExactlyOnce(spec: SinkSpec, settings: ProducerSettings, table: Table): string[] {
  if (settings.acks !== -1 || !settings.idempotent) {
    refuse(spec.name, 'kafka.acks', 'exactly-once delivery needs acks=all and enable.idempotence=true; remove the acks or enable.idempotence override', 'remove acks / enable.idempotence');
  }
  if (spec.kafka['transactional.id'] !== undefined && spec.transactionalIdPrefix !== undefined) {
    refuse(spec.name, 'transactionalIdPrefix', 'give transactional.id or transactionalIdPrefix (sink.transactional-id-prefix), not both', 'remove one of them');
  }
  const epochMs = epochLength(spec.trigger);
  if (epochMs !== undefined) checkTransactionTimeout({ sink: spec.name, epochMs, transactionTimeoutMs: settings.transactionTimeoutMs });
  return [...replayabilityOf(table).warnings];
}

/** Transactions belong to exactly-once; another guarantee with a transactional option is refused, not half-honoured. */
function refuseTransactionalOptions(spec: SinkSpec, settings: ProducerSettings): void {
  const given = settings.transactionalId !== undefined ? 'kafka.transactional.id' : spec.transactionalIdPrefix !== undefined ? 'transactionalIdPrefix' : undefined;
  if (given === undefined) return;
  throw new SpillwayError(
    ErrorCode.InvalidConfig,
    `sink "${spec.name}": \`${given.replace(/^kafka\./, '')}\` makes writes transactional, which is exactly-once delivery; set delivery "exactly-once", or remove it`,
    { details: { sink: spec.name, field: given, hint: 'set delivery "exactly-once", or remove it' } },
  );
}

/** Deephaven's last_by_key_columns: the last row per key of the key spec's columns. */
function lastByKey(table: Table, keyEncoder: Encoder, sinkName: string): Table {
  if (keyEncoder.capabilities.ignored) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${sinkName}": lastByKeyColumns needs a key spec (simpleSpec or jsonSpec), not KeyValueSpec.IGNORE`,
      { details: { sink: sinkName, field: 'lastByKeyColumns', hint: 'give a key spec, or drop lastByKeyColumns' } },
    );
  }
  return lastByOf(table, keyEncoder.capabilities.columns);
}

function refuse(sink: string, field: string, message: string, hint: string): never {
  throw new SpillwayError(ErrorCode.InvalidConfig, `sink "${sink}": ${message}`, { details: { sink, field, hint } });
}

/** Whether the caller gave a field (not a default the schema filled in). */
function given(specInput: unknown, field: string): boolean {
  return typeof specInput === 'object' && specInput !== null && (specInput as Record<string, unknown>)[field] !== undefined;
}

/** The per-row parts of a record an array message (one message of many rows) cannot have. */
const PER_ROW_OPTIONS = [
  ['topicColumn', 'topic'],
  ['partitionColumn', 'partition'],
  ['partitionBy', 'partition'],
  ['timestampColumn', 'timestamp'],
  ['headerColumns', 'headers'],
  ['headersColumn', 'headers'],
] as const;

/** A value of `array: true` writes many rows per message, so nothing of a record can follow one row. */
function refusePerRowOptionsWithArrays(spec: SinkSpec, keyEncoder: Encoder): void {
  const why = (option: string, part: string) => `${option} with a value of array: true: an array message holds many rows, so it has no per-row ${part}`;
  if (!keyEncoder.capabilities.ignored) {
    refuse(spec.name, 'key', `${why(`a ${spec.key.kind} key spec`, 'key')} (it is written with a null key); drop the key spec (KeyValueSpec.IGNORE) or array: true`, 'drop the key spec or array: true');
  }
  for (const [option, part] of PER_ROW_OPTIONS) {
    if (spec[option] !== undefined) refuse(spec.name, option, `${why(option, part)}; drop ${option} or array: true`, `drop ${option} or array: true`);
  }
}

/** Options that only one mode, format or guarantee uses are refused where they would have no effect. */
function refuseOptionsWithoutEffect(spec: SinkSpec, specInput: unknown, mode: UpdateModeName, valueEncoder: Encoder): void {
  const modeText = `the mode is "${mode}"${spec.mode === undefined ? ' (the default for this table)' : ''}`;
  if (given(specInput, 'changeHeader')) {
    const { envelope, arrays } = valueEncoder.capabilities;
    const without =
      mode !== 'retract'
        ? `${modeText}; set mode "retract", or drop changeHeader`
        : envelope !== 'none'
          ? `the value format "${valueEncoder.format}" says the change in the value itself (${envelope}); drop changeHeader`
          : arrays
            ? "the value has array: true, and an array message holds many rows, so no header can mark one row's change; drop changeHeader or array: true"
            : undefined;
    if (without !== undefined) {
      refuse(spec.name, 'changeHeader', `changeHeader names the header that marks each record's change in retract mode with a value format that writes rows only, and ${without}`, 'drop changeHeader');
    }
  }
  if (spec.dropRetractions && mode !== 'append') {
    refuse(spec.name, 'dropRetractions', `dropRetractions drops the updates and deletes that append mode cannot write, and ${modeText}; set mode "append", or drop dropRetractions`, 'set mode "append", or drop dropRetractions');
  }
  if (given(specInput, 'progressTopic') && spec.delivery !== 'exactly-once') {
    refuse(
      spec.name,
      'progressTopic',
      `progressTopic is where exactly-once delivery commits the source position with the records, and delivery is "${spec.delivery}"; set delivery "exactly-once", or drop progressTopic`,
      'set delivery "exactly-once", or drop progressTopic',
    );
  }
}

/** The registry options of a key or value spec that writes the Confluent wire format; undefined for one that uses no registry. */
function registryOf(part: SinkSpec['key']): { readonly url?: string; readonly subject?: string; readonly subjectNameStrategy?: string } | undefined {
  if ((part.kind !== 'avro' && part.kind !== 'protobuf') || part.wireFormat === 'plain') return undefined;
  return part.registry ?? {};
}

/** The Schema Registry options: one URL per part, a Kafka schema.registry.url only where a part uses it, and a subject for a sink without a fixed topic. */
function checkRegistryOptions(spec: SinkSpec): void {
  const kafkaUrl = spec.kafka['schema.registry.url'];
  const parts = (['key', 'value'] as const).map((part) => ({ part, spec: spec[part], registry: registryOf(spec[part]) }));
  if (kafkaUrl !== undefined && parts.every((part) => part.registry === undefined)) {
    const formats = parts.map((part) => `the ${part.part} is ${part.spec.kind}${part.spec.kind === 'avro' || part.spec.kind === 'protobuf' ? ' with wireFormat "plain"' : ''}`).join(' and ');
    refuse(
      spec.name,
      'kafka.schema.registry.url',
      `the Kafka property schema.registry.url is used by a key or value of avro or protobuf with wireFormat "confluent" (which registers its schema), and ${formats}; drop schema.registry.url`,
      'drop schema.registry.url',
    );
  }
  for (const { part, spec: partSpec, registry } of parts) {
    if (registry === undefined) continue;
    if (kafkaUrl !== undefined && registry.url !== undefined) {
      refuse(
        spec.name,
        `${part}.registry.url`,
        `the ${part}'s registry.url and the Kafka property schema.registry.url both name the schema registry; give one of ${part}.registry.url or schema.registry.url`,
        `give one of ${part}.registry.url or schema.registry.url`,
      );
    }
    const strategy = registry.subjectNameStrategy ?? 'topic';
    if (spec.topic === undefined && registry.subject === undefined && strategy !== 'record') {
      const name = strategy === 'topic' ? 'TopicNameStrategy (subjectNameStrategy "topic", the default)' : 'TopicRecordNameStrategy (subjectNameStrategy "topic-record")';
      refuse(
        spec.name,
        `${part}.registry.subjectNameStrategy`,
        `the ${part}'s ${partSpec.kind} subject is named by ${name} after the topic, and this sink has no fixed topic (topicColumn "${spec.topicColumn ?? ''}" routes each row); ` +
          `set ${part}.registry.subject, or ${part}.registry.subjectNameStrategy "record" (RecordNameStrategy)`,
        `set ${part}.registry.subject, or subjectNameStrategy "record"`,
      );
    }
  }
}

/** A sink runs as one writer; `fixed` maps writer i to partition i mod n (Flink's FlinkFixedPartitioner). */
const WRITER_INDEX = 0;

function partitionChooser(partitioner: Partitioner): PartitionChooser {
  return (key, value, partitions) => partitioner.partition(key, value?.length ?? 0, partitions, WRITER_INDEX, value);
}

/**
 * Validates everything (spec, properties, columns, mode) and compiles the sink, connecting to
 * nothing. The caller's objects are never mutated; the plan is frozen.
 */
export function planSink(table: Table, specInput: unknown): SinkPlan {
  const spec = parseSinkSpec(specInput);
  const { settings, warnings } = parseKafkaProperties(kafkaPropertiesFor(spec), { sink: spec.name, guarantee: spec.delivery });
  if (spec.delivery === 'exactly-once') warnings.push(...checkExactlyOnce(spec, settings, table));
  else refuseTransactionalOptions(spec, settings);
  checkRegistryOptions(spec);
  const keyEncoder = createEncoder(spec.key, table.schema, 'key');
  const valueEncoder = createEncoder(spec.value, table.schema, 'value');
  if (valueEncoder.capabilities.arrays) refusePerRowOptionsWithArrays(spec, keyEncoder);
  const written = spec.lastByKeyColumns ? lastByKey(table, keyEncoder, spec.name) : table;
  const mode = spec.mode ?? defaultUpdateMode(written);
  refuseOptionsWithoutEffect(spec, specInput, mode, valueEncoder);
  const newUpdateMode = () =>
    createUpdateMode(mode, {
      sink: spec.name,
      table: written,
      keyEncoder,
      valueEncoder,
      trigger: spec.trigger.kind,
      dropRetractions: spec.dropRetractions,
    });
  // Built once here so an incompatible mode fails the plan; each run builds its own.
  newUpdateMode();
  const builder = new RecordBuilder({
    spec,
    schema: written.schema,
    keyEncoder,
    valueEncoder,
    changeHeader: mode === 'retract' && valueEncoder.capabilities.envelope === 'none' ? spec.changeHeader : undefined,
    markTriggers: mode === 'complete',
    partitionKeylessByRow: !written.appendOnly,
  });
  const newPartitioner = () => partitionChooser(createPartitioner(spec.partitioner, { sink: spec.name }));
  // Built once here so a partitioner module that cannot be loaded fails the plan.
  newPartitioner();
  return Object.freeze({
    name: spec.name,
    spec,
    table: written,
    mode,
    settings: Object.freeze(settings),
    warnings: Object.freeze([...warnings]),
    keyEncoder,
    valueEncoder,
    builder,
    newUpdateMode,
    newPartitioner,
  });
}

/** Whether a name is a Kafka property of librdkafka or the Java client; front doors use it without knowing the Kafka layer. */
export { isKafkaPropertyName };

/** The candidate closest to `name` by edit distance, for "did you mean" hints; front doors use it without knowing the Kafka layer. */
export function nearestOption(name: string, candidates: Iterable<string>): string | undefined {
  return nearestName(name, candidates);
}
