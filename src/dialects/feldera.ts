/**
 * Feldera's front door: a Kafka output connector's JSON (as `PUT /v0/connectors/{name}` takes it),
 * translated into a sink spec and nothing more. Feldera writes a view's change stream, so the
 * sink runs in retract mode: with `update_format: "insert_delete"` each record is
 * `{"insert": row}` or `{"delete": row}`; with `array: true` a message holds an array of them.
 * The transport config holds the topic and librdkafka properties.
 */
import { z } from 'zod';
import { zodIssuesError } from '../errors.ts';
import type { KeyValueSpecInput } from '../formats/key-value-spec.ts';
import type { Table } from '../model/table.ts';
import { openSink } from '../sink/open-sink.ts';
import type { SinkDependencies, SinkHandle } from '../sink/sink.ts';
import type { SinkSpecInput } from '../sink/sink-spec.ts';

const propertyValue = z.union([z.string(), z.number(), z.boolean()]);

export const felderaConnectorSchema = z
  .object({
    description: z.string().optional(),
    config: z
      .object({
        transport: z
          .object({
            name: z.literal('kafka_output'),
            config: z.object({ topic: z.string().min(1) }).catchall(propertyValue),
          })
          .strict(),
        format: z
          .object({
            name: z.literal('json'),
            config: z
              .object({
                update_format: z.enum(['insert_delete', 'debezium', 'raw']).default('insert_delete'),
                array: z.boolean().default(false),
              })
              .strict()
              .default({ update_format: 'insert_delete', array: false }),
          })
          .strict(),
      })
      .strict(),
  })
  .strict();

export type FelderaConnector = z.input<typeof felderaConnectorSchema>;

/** The sink spec a Feldera output connector describes, for a table (Feldera's view). */
export function felderaConnectorSpec(name: string, connector: unknown): SinkSpecInput {
  const parsed = felderaConnectorSchema.safeParse(connector);
  if (!parsed.success) {
    throw zodIssuesError(parsed.error.issues, {
      subject: `connector "${name}"`,
      root: 'connector',
      sink: name,
      hint: 'Feldera output connectors look like { "config": { "transport": { "name": "kafka_output", "config": { "bootstrap.servers": …, "topic": … } }, "format": { "name": "json", "config": { "update_format": "insert_delete" } } } }',
    });
  }
  const { transport, format } = parsed.data.config;
  const { topic, ...kafka } = transport.config;
  const value: KeyValueSpecInput = { kind: 'json', updateFormat: format.config.update_format, array: format.config.array };
  return { name, topic, kafka, value, mode: 'retract' };
}

/** Starts the connector on a table: every change of the table, as Feldera writes it. */
export function felderaOutputConnector(
  table: Table,
  name: string,
  connector: FelderaConnector,
  dependencies: Partial<SinkDependencies> = {},
): SinkHandle {
  return openSink(table, felderaConnectorSpec(name, connector), dependencies);
}
