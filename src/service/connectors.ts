/**
 * Output connectors as the REST service keeps them: Feldera's connector body, validated by the
 * Feldera dialect's translation into a sink spec and then by the plan step, on a stand-in table,
 * connecting to nothing. What a connector can only learn from its relation (columns, keys) is
 * checked again when a pipeline attaches it.
 */
import { felderaConnectorSpec } from '../dialects/feldera.ts';
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import type { Table } from '../model/table.ts';
import { inputTable } from '../sources/input-table.ts';
import { type SinkPlan, planSink } from '../sink/plan.ts';

/** A keyed one-column table: enough to plan every format option and Kafka property of a connector. */
function standIn() {
  return inputTable({ columns: [{ name: 'value', type: 'string', nullable: false }], primaryKey: ['value'] });
}

/** The connector body's field that a sink spec field came from. */
function connectorField(specField: string | undefined): string {
  if (specField === undefined || specField === '' || specField.startsWith('kafka') || specField === 'topic') {
    return specField?.startsWith('kafka.') === true ? `config.transport.config.${specField.slice('kafka.'.length)}` : 'config.transport.config';
  }
  if (specField.startsWith('value')) return 'config.format.config';
  return `config.${specField}`;
}

/**
 * Plans a connector's sink on a table; an error from the plan step names the connector and the
 * field of the connector body (the Feldera translation's own errors already do).
 */
export function planConnector(table: Table, sinkName: string, connectorName: string, config: unknown): SinkPlan {
  const spec = felderaConnectorSpec(sinkName, { config });
  try {
    return planSink(table, spec);
  } catch (error) {
    const spillway = asSpillwayError(error);
    const field = connectorField(spillway.details.field);
    throw new SpillwayError(spillway.code, spillway.message.replace(`sink "${sinkName}"`, `connector "${connectorName}"`), {
      cause: spillway,
      details: { ...spillway.details, sink: connectorName, field },
    });
  }
}

/**
 * Feldera's other output formats, refused with the reason rather than written in some other
 * shape: a view's change stream has deletes, which Spillway's CSV format cannot mark, and
 * Feldera's Avro output options (envelopes, key modes, registry settings) are not translated yet.
 */
const REFUSED_FORMATS: Readonly<Record<string, string>> = {
  csv: "the csv output format is not supported by this service yet: a view's change stream has deletes, which Spillway's CSV format cannot mark",
  avro: "the avro output format (its envelopes, key modes and registry options) is not supported by this service yet",
};

function refuseOtherFormats(name: string, body: unknown): void {
  const format = (body as { config?: { format?: { name?: unknown } } } | null)?.config?.format?.name;
  if (typeof format !== 'string') return;
  const reason = REFUSED_FORMATS[format];
  if (reason === undefined) return;
  throw new SpillwayError(ErrorCode.InvalidConfig, `connector "${name}": config.format.name: "${format}" is refused: ${reason}; use { "name": "json", "config": { "update_format": "insert_delete" } }`, {
    details: { sink: name, field: 'config.format.name', hint: 'use the json format with update_format insert_delete (or debezium)' },
  });
}

/** Throws a SpillwayError naming the field when the connector body is not valid; returns the plan's warnings. */
export function validateConnector(name: string, body: unknown): readonly string[] {
  refuseOtherFormats(name, body);
  // The body's shape first (description, config): the Feldera translation checks it whole.
  felderaConnectorSpec(name, body);
  return planConnector(standIn(), name, name, (body as { config: unknown }).config).warnings;
}
