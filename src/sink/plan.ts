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
import { type SinkSpec, parseSinkSpec } from './sink-spec.ts';
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
  if (spec.delivery === 'exactly-once') {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${spec.name}": delivery "exactly-once" is not available in this version; use "at-least-once" (the default)`,
      { details: { sink: spec.name, field: 'delivery', hint: 'use "at-least-once"' } },
    );
  }
  const { settings, warnings } = parseKafkaProperties(spec.kafka, { sink: spec.name, guarantee: spec.delivery });
  if (settings.transactionalId !== undefined) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${spec.name}": \`transactional.id\` makes every write transactional, which is exactly-once delivery, not available in this version; ` +
        'remove it (at-least-once writes with the idempotent producer)',
      { details: { sink: spec.name, field: 'kafka.transactional.id', hint: 'remove transactional.id' } },
    );
  }
  const keyEncoder = createEncoder(spec.key, table.schema, 'key');
  const valueEncoder = createEncoder(spec.value, table.schema, 'value');
  const written = spec.lastByKeyColumns ? lastByKey(table, keyEncoder, spec.name) : table;
  const mode = spec.mode ?? defaultUpdateMode(written);
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
