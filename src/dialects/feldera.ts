/**
 * Feldera's front door: a Kafka output connector's JSON (as `PUT /v0/connectors/{name}` takes it),
 * translated into a sink spec and nothing more. Feldera writes a view's change stream, so the
 * sink runs in retract mode: with `update_format: "insert_delete"` each record is
 * `{"insert": row}` or `{"delete": row}`; with `array: true` a message holds an array of them.
 * The `csv` format writes what Feldera's CSV encoder writes: the row's columns, then its weight,
 * `1` for an insert and `-1` for a delete, each record ending in a newline. The `avro` format
 * (its raw update format) writes the row itself and names the change in the `op` message header,
 * `insert` or `delete`, as Feldera's raw Avro output does. Feldera options with no counterpart
 * are refused by name. The transport config holds the topic and librdkafka properties, and
 * Feldera's `fault_tolerance`, which makes the connector write exactly once: a Kafka transaction
 * per epoch, committed with the source position.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError, zodIssuesError } from '../errors.ts';
import type { KeyValueSpecInput } from '../formats/key-value-spec.ts';
import type { Table } from '../model/table.ts';
import { openSink } from '../sink/open-sink.ts';
import type { SinkDependencies, SinkHandle } from '../sink/sink.ts';
import type { SinkSpecInput } from '../sink/sink-spec.ts';

const propertyValue = z.union([z.string(), z.number(), z.boolean()]);

const jsonFormat = z
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
  .strict();

/** Feldera's CsvEncoderConfig: `delimiter` (one ASCII character) and `buffer_size_records`. */
const csvFormat = z
  .object({
    name: z.literal('csv'),
    config: z
      .object({
        delimiter: z.string().refine((text) => text.length === 1 && text.charCodeAt(0) < 128, 'one ASCII character').default(','),
        buffer_size_records: z.number().int().positive().optional(),
      })
      .strict()
      .default({ delimiter: ',' }),
  })
  .strict();

/** Feldera's AvroEncoderConfig with its flattened AvroSchemaRegistryConfig. */
const avroFormat = z
  .object({
    name: z.literal('avro'),
    config: z
      .object({
        update_format: z.enum(['raw', 'debezium', 'confluent_jdbc']).default('raw'),
        schema: z.string().min(1).optional(),
        namespace: z.string().min(1).optional(),
        subject_name_strategy: z.enum(['topic_name', 'record_name', 'topic_record_name']).optional(),
        skip_schema_id: z.boolean().default(false),
        registry_urls: z.array(z.string().min(1)).default([]),
        key_mode: z.unknown().optional(),
        cdc_field: z.unknown().optional(),
        key_fields: z.unknown().optional(),
        registry_headers: z.unknown().optional(),
        registry_proxy: z.unknown().optional(),
        registry_timeout_secs: z.unknown().optional(),
        registry_username: z.unknown().optional(),
        registry_password: z.unknown().optional(),
        registry_authorization_token: z.unknown().optional(),
      })
      .strict()
      .default({ update_format: 'raw', skip_schema_id: false, registry_urls: [] }),
  })
  .strict();

/**
 * Feldera options with no counterpart in Spillway's sink spec, refused with the reason and what
 * to use instead rather than accepted and ignored.
 */
const REFUSED_OPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  avro: {
    key_mode: "the message key is not written (Feldera's default for a view without an index); drop key_mode",
    cdc_field: "the change is marked in the op header, not in a record field; drop cdc_field",
    key_fields: 'it applies to the debezium update format, which is refused; drop key_fields',
    registry_headers: 'registry requests carry no extra headers in this version; drop registry_headers',
    registry_proxy: 'registry requests go direct in this version; drop registry_proxy',
    registry_timeout_secs: 'the registry timeout is not configurable in this version; drop registry_timeout_secs',
    registry_username: 'registry authentication is not supported in this version; use a registry that needs none',
    registry_password: 'registry authentication is not supported in this version; use a registry that needs none',
    registry_authorization_token: 'registry authentication is not supported in this version; use a registry that needs none',
  },
};

const AVRO_UPDATE_FORMATS_REFUSED: Readonly<Record<string, string>> = {
  debezium: "Spillway's Avro format has no Debezium envelope; use update_format raw (the change in the op header) or the json format with update_format debezium",
  confluent_jdbc: "Spillway's Avro format has no Confluent JDBC envelope (key and null-valued deletes); use update_format raw",
};

const SUBJECT_NAME_STRATEGIES = { topic_name: 'topic', record_name: 'record', topic_record_name: 'topic-record' } as const;

function refuse(name: string, field: string, reason: string): SpillwayError {
  return new SpillwayError(ErrorCode.InvalidConfig, `connector "${name}": ${field} is refused: ${reason}`, { details: { sink: name, field } });
}

export const felderaConnectorSchema = z
  .object({
    description: z.string().optional(),
    config: z
      .object({
        transport: z
          .object({
            name: z.literal('kafka_output'),
            config: z
              .object({
                topic: z.string().min(1),
                // Feldera's KafkaOutputFtConfig: present (even empty) turns fault tolerance on.
                fault_tolerance: z
                  .object({
                    consumer_options: z.record(z.string(), z.string()).default({}),
                    producer_options: z.record(z.string(), z.string()).default({}),
                  })
                  .strict()
                  .nullable()
                  .optional(),
              })
              .catchall(propertyValue),
          })
          .strict(),
        format: z.discriminatedUnion('name', [jsonFormat, csvFormat, avroFormat]),
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
  const { topic, fault_tolerance: faultTolerance, ...properties } = transport.config;
  if (faultTolerance === undefined || faultTolerance === null) return { name, topic, kafka: properties, mode: 'retract', ...felderaValue(name, format) };
  if (Object.keys(faultTolerance.consumer_options).length > 0) {
    throw refuse(name, 'config.transport.config.fault_tolerance.consumer_options', 'the sink reads its committed progress with the connector\'s own properties; put consumer settings in the transport config, and leave consumer_options empty');
  }
  // Feldera's producer_options override the connector's properties for the producer.
  return { name, topic, kafka: { ...properties, ...faultTolerance.producer_options }, delivery: 'exactly-once', mode: 'retract', ...felderaValue(name, format) };
}

/** The value spec (and the header that marks a change, for formats without an envelope). */
function felderaValue(name: string, format: z.output<typeof felderaConnectorSchema>['config']['format']): { value: KeyValueSpecInput; changeHeader?: string } {
  const where = 'config.format.config';
  for (const [option, reason] of Object.entries(REFUSED_OPTIONS[format.name] ?? {})) {
    if ((format.config as Record<string, unknown>)[option] !== undefined) throw refuse(name, `${where}.${option}`, reason);
  }
  switch (format.name) {
    case 'json':
      return { value: { kind: 'json', updateFormat: format.config.update_format, array: format.config.array } };
    case 'csv': {
      // Feldera packs up to buffer_size_records records (default 10000) into one message; Spillway
      // writes one per message, which is exactly Feldera's output with buffer_size_records 1.
      const records = format.config.buffer_size_records;
      if (records !== undefined && records !== 1) {
        throw refuse(
          name,
          `${where}.buffer_size_records`,
          `${records}: Feldera packs up to that many CSV records into one Kafka message, and Spillway writes one record per message (Feldera's output with buffer_size_records 1; a reader that splits messages into lines reads the same records); set buffer_size_records to 1 or leave it out`,
        );
      }
      // Every column in the view's order, then Feldera's weight; Feldera's CSV messages carry no
      // op header (the weight says the change), so none is added.
      return { value: { kind: 'csv', fieldDelimiter: format.config.delimiter, weight: true, lineDelimiter: '\n' } };
    }
    case 'avro': {
      const config = format.config;
      const refused = AVRO_UPDATE_FORMATS_REFUSED[config.update_format];
      if (refused !== undefined) throw refuse(name, `${where}.update_format`, `"${config.update_format}": ${refused}`);
      if (config.skip_schema_id && config.registry_urls.length > 0) {
        throw refuse(name, `${where}.registry_urls`, 'with skip_schema_id true the messages carry no schema id, so no registry is used; drop registry_urls or skip_schema_id');
      }
      if (config.skip_schema_id && config.subject_name_strategy !== undefined) {
        throw refuse(name, `${where}.subject_name_strategy`, 'with skip_schema_id true no schema is registered, so there is no subject; drop subject_name_strategy or skip_schema_id');
      }
      if (config.schema !== undefined && config.namespace !== undefined) {
        throw refuse(name, `${where}.namespace`, 'namespace names the generated schema; a given schema carries its own namespace');
      }
      const value: KeyValueSpecInput = {
        kind: 'avro',
        ...(config.schema === undefined ? {} : { schema: config.schema }),
        ...(config.namespace === undefined ? {} : { namespace: config.namespace }),
        ...(config.skip_schema_id
          ? { wireFormat: 'plain' as const }
          : {
              wireFormat: 'confluent' as const,
              registry: {
                ...(config.registry_urls.length === 0 ? {} : { url: config.registry_urls.join(',') }),
                // Feldera's default for the raw update format is record_name.
                subjectNameStrategy: SUBJECT_NAME_STRATEGIES[config.subject_name_strategy ?? 'record_name'],
              },
            }),
      };
      // Feldera's raw Avro output names the change in the op message header: insert or delete.
      return { value, changeHeader: 'op' };
    }
  }
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
