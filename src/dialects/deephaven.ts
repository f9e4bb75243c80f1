/**
 * Deephaven's front door: `produce(table, kafkaConfig, topic, keySpec, valueSpec,
 * lastByKeyColumns)`, translated into a sink spec and nothing more.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import type { KeyValueSpecInput } from '../formats/key-value-spec.ts';
import type { Table } from '../model/table.ts';
import { openSink } from '../sink/open-sink.ts';
import type { SinkDependencies, SinkHandle } from '../sink/sink.ts';
import { type SinkSpecInput, sinkSpecSchema } from '../sink/sink-spec.ts';
import { nearestOption } from '../sink/plan.ts';
import { requireOwnName } from '../sink/transactional-id.ts';

export type KafkaConfig = Readonly<Record<string, string | number | boolean>>;

export interface ProduceOptions extends Partial<Omit<SinkSpecInput, 'kafka' | 'key' | 'value'>> {
  readonly table: Table;
  readonly kafkaConfig: KafkaConfig;
  readonly topic: string;
  readonly keySpec?: KeyValueSpecInput;
  readonly valueSpec: KeyValueSpecInput;
  readonly lastByKeyColumns?: boolean;
  /** For tests and embedding: replaces the Kafka writer or observes failures. */
  readonly dependencies?: Partial<SinkDependencies>;
}

/**
 * Writes a table to a Kafka topic: its current rows first, then every change as it happens.
 * Returns a handle with `stop()`, `done` and live `metrics`.
 */
export function produce(
  table: Table,
  kafkaConfig: KafkaConfig,
  topic: string,
  keySpec: KeyValueSpecInput,
  valueSpec: KeyValueSpecInput,
  lastByKeyColumns?: boolean,
): SinkHandle;
export function produce(options: ProduceOptions): SinkHandle;
export function produce(
  tableOrOptions: Table | ProduceOptions,
  kafkaConfig?: KafkaConfig,
  topic?: string,
  keySpec?: KeyValueSpecInput,
  valueSpec?: KeyValueSpecInput,
  lastByKeyColumns = false,
): SinkHandle {
  const options: ProduceOptions =
    'table' in tableOrOptions
      ? tableOrOptions
      : {
          table: tableOrOptions,
          kafkaConfig: kafkaConfig ?? {},
          topic: topic ?? '',
          ...(keySpec === undefined ? {} : { keySpec }),
          valueSpec: valueSpec as KeyValueSpecInput,
          lastByKeyColumns,
        };
  return openSink(options.table, produceSpec(options), options.dependencies);
}

/** The sink spec's own names for what produce() calls kafkaConfig, keySpec and valueSpec. */
const SPEC_NAMES: Readonly<Record<string, string>> = { kafka: 'kafkaConfig', key: 'keySpec', value: 'valueSpec' };

/** Every option produce() takes: its own, and the sink spec's other options under their names. */
const PRODUCE_OPTIONS: readonly string[] = [
  'table',
  'kafkaConfig',
  'topic',
  'keySpec',
  'valueSpec',
  'lastByKeyColumns',
  'dependencies',
  ...Object.keys(sinkSpecSchema.shape).filter((name) => SPEC_NAMES[name] === undefined),
];

/** Refuses the sink spec's names for produce()'s own options, and unknown options with the nearest name. */
function checkOptionNames(options: object): void {
  const renamed = Object.keys(options).filter((name) => SPEC_NAMES[name] !== undefined);
  if (renamed.length > 0) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `produce(): ${renamed.map((name) => `option "${name}" is ${SPEC_NAMES[name] ?? ''} here`).join(', ')}; ` +
        "produce() takes the sink spec's kafka, key and value as kafkaConfig, keySpec and valueSpec: rename them",
    );
  }
  const unknown = Object.keys(options).filter((name) => !PRODUCE_OPTIONS.includes(name));
  if (unknown.length > 0) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `produce(): unknown option(s) ${unknown
        .map((name) => {
          const near = nearestOption(name, PRODUCE_OPTIONS);
          return `"${name}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`;
        })
        .join(', ')}; Kafka properties go in kafkaConfig`,
    );
  }
}

/** The sink spec a produce() call describes (pure: nothing is checked against a broker). */
export function produceSpec(options: Omit<ProduceOptions, 'table' | 'dependencies'> & { readonly table?: Table; readonly dependencies?: unknown }): SinkSpecInput {
  checkOptionNames(options);
  const { table: _table, kafkaConfig: kafka, keySpec: key, valueSpec: value, dependencies: _dependencies, ...rest } = options;
  requireOwnName(rest.delivery, rest.name, 'produce()', "pass name: 'orders-to-kafka' in the options");
  return { name: `produce-${options.topic}`, ...rest, kafka, ...(key === undefined ? {} : { key }), value };
}
