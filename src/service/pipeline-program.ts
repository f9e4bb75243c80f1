/**
 * A pipeline's program in Feldera's shape: SQL tables and views, with no INSERT; output
 * connectors attach to a table or view by name. The SQL front door builds the relations
 * (buildSqlRelations): a table without a connector is an input table, fed over HTTP ingress or by
 * input connectors; a table with one (Kafka, filesystem, datagen) is its source, as in a SQL job.
 * Planning stands the sources in with tables of their declared schemas, connecting to nothing;
 * starting opens them. A Kafka table's properties are checked (and warned about, in `warnings`)
 * as its reader takes them, before anything connects. This adapter words its refusals for a
 * pipeline and names the `program` field in them.
 */
import { SpillwayError, asSpillwayError } from '../errors.ts';
import { type SqlRelations, buildSqlRelations } from '../dialects/sql/job.ts';
import { inputTable } from '../sources/input-table.ts';

/** A pipeline's tables and views: the SQL door's relations of its program. */
export type PipelineProgram = SqlRelations;

/**
 * Builds a pipeline program's tables and views; errors name the line and column. With `open`,
 * the tables with a connector read their topics, files or generators; without, nothing is read.
 */
export async function buildPipelineProgram(pipeline: string, program: string, options: { open?: boolean; fedByInputConnectors?: ReadonlySet<string> } = {}): Promise<PipelineProgram> {
  try {
    return await buildSqlRelations(program, {
      source: `pipeline "${pipeline}"`,
      connectorTables: options.open === true ? 'open' : 'stand-in',
      // What ingress accepted is kept and applied again in order on a start, so a table fed by
      // ingress alone replays; one an input connector feeds does not (its messages are not kept).
      // The views and output connectors subscribe when the pipeline starts, before any row
      // arrives, so appended rows need not stay in memory once they have them.
      inputTable: (name, schema) =>
        options.fedByInputConnectors?.has(name) === true
          ? inputTable(schema, { notReplayed: `an input connector feeds "${name}" and keeps no checkpoint`, streams: true })
          : inputTable(schema, { replayedBy: 'its ingress is kept and replayed on a start', streams: true }),
      insertHint: 'remove the INSERT INTO statements and list the view in attached_connectors',
    });
  } catch (error) {
    const spillway = asSpillwayError(error);
    // Every error in a program is the program field's, at the line and column the SQL names.
    throw new SpillwayError(spillway.code, spillway.message, { cause: spillway, details: { field: 'program', ...spillway.details } });
  }
}
