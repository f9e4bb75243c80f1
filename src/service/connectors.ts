/**
 * Connectors as the REST service keeps them. Output connectors: Feldera's connector body, validated by the
 * Feldera dialect's translation into a sink spec and then by the plan step, on a stand-in table,
 * connecting to nothing. What a connector can only learn from its relation (columns, keys) is
 * checked again when a pipeline attaches it. Input connectors (kafka_input, file_input) are
 * translated by the Feldera input dialect and their Kafka properties checked, likewise offline.
 */
import { felderaConnectorSpec } from '../dialects/feldera.ts';
import { isInputConnector } from '../dialects/feldera-input.ts';
import { validateInputConnector } from './input-connectors.ts';
import { SpillwayError, asSpillwayError } from '../errors.ts';
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
 * Throws a SpillwayError naming the field when the connector body is not valid; returns the plan's
 * warnings. An input transport (kafka_input, file_input) is checked as an input connector.
 */
export function validateConnector(name: string, body: unknown): readonly string[] {
  if (isInputConnector(body)) return validateInputConnector(name, body);
  // The body's shape first (description, config): the Feldera translation checks it whole.
  felderaConnectorSpec(name, body);
  return planConnector(standIn(), name, name, (body as { config: unknown }).config).warnings;
}
