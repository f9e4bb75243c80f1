/**
 * Prometheus metrics (prom-client), per pipeline and connector, read from the sinks' own counters
 * when scraped: records and bytes acknowledged, rows taken, rows skipped and failures, queue depth.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { PipelineRuntime } from './pipeline-runtime.ts';

export function serviceMetrics(pipelines: () => Iterable<PipelineRuntime>): Registry {
  const registry = new Registry();
  const labelNames = ['pipeline', 'connector', 'topic'] as const;
  type Labels = Record<(typeof labelNames)[number], string>;
  const each = (visit: (labels: Labels, runtime: PipelineRuntime, index: number) => void) => {
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
