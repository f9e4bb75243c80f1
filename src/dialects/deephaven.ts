/**
 * Deephaven's front door: `produce(table, kafkaConfig, topic, keySpec, valueSpec,
 * lastByKeyColumns)`, translated into a sink spec and nothing more.
 */
import type { KeyValueSpecInput } from '../formats/key-value-spec.ts';
import type { Table } from '../model/table.ts';
import { openSink } from '../sink/open-sink.ts';
import type { SinkDependencies, SinkHandle } from '../sink/sink.ts';
import type { SinkSpecInput } from '../sink/sink-spec.ts';
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

/** The sink spec a produce() call describes (pure: nothing is checked against a broker). */
export function produceSpec(options: Omit<ProduceOptions, 'table' | 'dependencies'> & { readonly table?: Table; readonly dependencies?: unknown }): SinkSpecInput {
  const { table: _table, kafkaConfig: kafka, keySpec: key, valueSpec: value, dependencies: _dependencies, ...rest } = options;
  requireOwnName(rest.delivery, rest.name, 'produce()', "pass name: 'orders-to-kafka' in the options");
  return { name: `produce-${options.topic}`, ...rest, kafka, ...(key === undefined ? {} : { key }), value };
}
