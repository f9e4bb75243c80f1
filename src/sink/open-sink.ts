/**
 * The composition root of a sink: the one place that joins a plan to the Kafka client. Front
 * doors translate into a spec and call `openSink`; none of them imports the Kafka layer.
 */
import { createKafkaWriter, createTopicLog } from '../kafka/kafka-client.ts';
import type { Table } from '../model/table.ts';
import { type SinkPlan, planSink } from './plan.ts';
import { type SinkDependencies, type SinkHandle, runSink } from './sink.ts';

/** Plans the sink, then runs it with the Kafka client (or the writer the dependencies build). */
export function openSink(table: Table, spec: unknown, dependencies: Partial<SinkDependencies> = {}): SinkHandle {
  return openPlan(planSink(table, spec), dependencies);
}

/** Runs a plan made earlier (by a front door that validated the whole job first) with the Kafka client. */
export function openPlan(plan: SinkPlan, dependencies: Partial<SinkDependencies> = {}): SinkHandle {
  const createWriter = dependencies.createWriter ?? createKafkaWriter;
  return runSink(plan, createWriter, { createTopicLog: (settings) => createTopicLog(settings), ...dependencies });
}
