/**
 * Prometheus metrics (prom-client), per pipeline and connector, read from the sinks' own counters
 * when scraped: records and bytes acknowledged, rows taken, rows skipped and failures, queue depth,
 * Kafka transactions committed; and per input connector, the messages read and changes applied.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { PipelineRuntime } from './pipeline-runtime.ts';

export function serviceMetrics(pipelines: () => Iterable<Pick<PipelineRuntime, 'name' | 'state' | 'connectors' | 'inputConnectors'>>): Registry {
  const registry = new Registry();
  const labelNames = ['pipeline', 'connector', 'topic'] as const;
  type Labels = Record<(typeof labelNames)[number], string>;
  type Runtime = Pick<PipelineRuntime, 'name' | 'state' | 'connectors' | 'inputConnectors'>;
  const each = (visit: (labels: Labels, runtime: Runtime, index: number) => void) => {
    for (const runtime of pipelines()) {
      runtime.connectors().forEach((connector, index) => visit({ pipeline: runtime.name, connector: connector.name, topic: connector.topic ?? '' }, runtime, index));
    }
  };
  const counter = (name: string, help: string, read: (metrics: ReturnType<PipelineRuntime['connectors']>[number]) => number) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        each((labels, runtime, index) => {
          const connector = runtime.connectors()[index];
          if (connector !== undefined) this.inc(labels, read(connector));
        });
      },
    });
  counter('spillway_connector_records_total', 'Kafka records the broker acknowledged', (c) => c.metrics.records);
  counter('spillway_connector_bytes_total', 'Bytes of keys and values acknowledged', (c) => c.metrics.bytes);
  counter('spillway_connector_rows_total', 'Table changes the connector took', (c) => c.metrics.rows);
  counter('spillway_connector_skipped_rows_total', 'Rows skipped by the skip error policy', (c) => c.metrics.errors);
  counter('spillway_connector_errors_total', 'Failures recorded for the connector', (c) => c.errors.length);
  counter('spillway_connector_triggers_total', 'Triggers that wrote (every batch when continuous)', (c) => c.metrics.triggers);
  // Only exactly-once delivery writes in transactions; a sink that counts none reports none.
  counter('spillway_connector_transactions_total', 'Kafka transactions the connector committed (exactly-once delivery)', (c) => (c.metrics as { readonly transactions?: number }).transactions ?? 0);
  const inputLabels = ['pipeline', 'connector', 'table'] as const;
  const inputCounter = (name: string, help: string, read: (metrics: ReturnType<PipelineRuntime['inputConnectors']>[number]) => number) =>
    new Counter({
      name,
      help,
      labelNames: inputLabels,
      registers: [registry],
      collect() {
        this.reset();
        for (const runtime of pipelines()) {
          for (const input of runtime.inputConnectors()) this.inc({ pipeline: runtime.name, connector: input.name, table: input.relation_name }, read(input));
        }
      },
    });
  inputCounter('spillway_input_connector_messages_total', 'Kafka records or file lines an input connector read', (c) => c.metrics.messages);
  inputCounter('spillway_input_connector_changes_total', 'Inserts and deletes an input connector applied to its table', (c) => c.metrics.changes);
  inputCounter('spillway_input_connector_errors_total', 'Messages an input connector could not read and left out', (c) => c.metrics.errors);
  new Gauge({
    name: 'spillway_connector_queue_depth',
    help: 'Changes waiting to be written',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      each((labels, runtime, index) => this.set(labels, runtime.connectors()[index]?.metrics.queued ?? 0));
    },
  });
  new Gauge({
    name: 'spillway_pipeline_running',
    help: '1 when the pipeline runs, else 0',
    labelNames: ['pipeline'],
    registers: [registry],
    collect() {
      this.reset();
      for (const runtime of pipelines()) this.set({ pipeline: runtime.name }, runtime.state === 'Running' ? 1 : 0);
    },
  });
  return registry;
}
