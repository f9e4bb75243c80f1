/**
 * A pipeline's program in Feldera's shape: SQL tables and views, with no INSERT; output
 * connectors attach to a table or view by name. The SQL front door builds the relations
 * (buildSqlRelations): a table without a connector is an input table, fed over HTTP ingress or by
 * input connectors; a table with one (Kafka, filesystem, datagen) is its source, as in a SQL job.
 * Planning stands the sources in with tables of their declared schemas, connecting to nothing;
 * starting opens them. This adapter words its refusals for a pipeline and names the `program`
 * field in them.
 */
import { SpillwayError, asSpillwayError } from '../errors.ts';
import { buildSqlRelations } from '../dialects/sql/job.ts';
import type { SourceTranslation } from '../dialects/sql/with-options.ts';
import { parseConsumerProperties } from '../kafka/kafka-properties.ts';
import { type InputTable, inputTable } from '../sources/input-table.ts';
import type { LiveTable } from '../model/live-table.ts';
import type { Table } from '../model/table.ts';

export interface PipelineProgram {
  /** Tables with no connector, fed over HTTP ingress and by input connectors. */
  readonly inputs: ReadonlyMap<string, InputTable>;
  /** Tables with a connector in the program (WITH (…)), as built. */
  readonly sources: ReadonlyMap<string, LiveTable>;
  /** What each table is as a source, by name (Kafka tables: topic and properties). */
  readonly translations: ReadonlyMap<string, SourceTranslation>;
  /** Every table and view by name, as live tables. */
  readonly relations: ReadonlyMap<string, Table>;
  readonly warnings: readonly string[];
  /** Stops the program's sources and ends its input tables. */
  close(): Promise<void>;
}

/**
 * Builds a pipeline program's tables and views; errors name the line and column. With `open`,
 * the tables with a connector read their topics, files or generators; without, nothing is read.
 */
export async function buildPipelineProgram(pipeline: string, program: string, options: { open?: boolean; fedByInputConnectors?: ReadonlySet<string> } = {}): Promise<PipelineProgram> {
  try {
    const built = await buildSqlRelations(program, {
      source: `pipeline "${pipeline}"`,
      connectorTables: options.open === true ? 'open' : 'stand-in',
      // What ingress accepted is kept and applied again in order on a start, so a table fed by
      // ingress alone replays; one an input connector feeds does not (its messages are not kept).
      inputTable: (name, schema) =>
        options.fedByInputConnectors?.has(name) === true
          ? inputTable(schema, { notReplayed: `an input connector feeds "${name}" and keeps no checkpoint` })
          : inputTable(schema, { replayedBy: 'its ingress is kept and replayed on a start' }),
      insertHint: 'remove the INSERT INTO statements and list the view in attached_connectors',
    });
    // A Kafka table's properties are checked as its reader will take them, before anything connects.
    for (const [name, translation] of built.translations) {
      if (translation.connector !== 'kafka') continue;
      try {
        parseConsumerProperties({ ...translation.kafkaConfig }, { source: `pipeline "${pipeline}": table "${name}"` });
      } catch (error) {
        await built.close();
        throw error;
      }
    }
    return built;
  } catch (error) {
    const spillway = asSpillwayError(error);
    // Every error in a program is the program field's, at the line and column the SQL names.
    throw new SpillwayError(spillway.code, spillway.message, { cause: spillway, details: { field: 'program', ...spillway.details } });
  }
}
