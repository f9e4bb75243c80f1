/**
 * A pipeline's program in Feldera's shape: SQL tables (the inputs) and views, with no INSERT;
 * output connectors attach to a table or view by name. The SQL front door builds the relations
 * (buildSqlRelations, connecting to nothing); this adapter words its refusals for a pipeline and
 * names the `program` field in them.
 */
import { SpillwayError, asSpillwayError } from '../errors.ts';
import { buildSqlRelations } from '../dialects/sql/job.ts';
import type { InputTable } from '../sources/input-table.ts';
import type { Table } from '../model/table.ts';

export interface PipelineProgram {
  /** Tables with no connector, fed over HTTP ingress. */
  readonly inputs: ReadonlyMap<string, InputTable>;
  /** Every table and view by name, as live tables. */
  readonly relations: ReadonlyMap<string, Table>;
  readonly warnings: readonly string[];
}

/** Builds a pipeline program's tables and views, connecting to nothing; errors name the line and column. */
export async function buildPipelineProgram(pipeline: string, program: string): Promise<PipelineProgram> {
  try {
    return await buildSqlRelations(program, {
      source: `pipeline "${pipeline}"`,
      inputsAre: "a pipeline's tables are fed over HTTP ingress in this version",
      inputHint: (name) => `declare "${name}" without WITH (…) and push rows to POST /v0/pipelines/${pipeline}/ingress/${name}`,
      insertHint: 'remove the INSERT INTO statements and list the view in attached_connectors',
    });
  } catch (error) {
    const spillway = asSpillwayError(error);
    // Every error in a program is the program field's, at the line and column the SQL names.
    throw new SpillwayError(spillway.code, spillway.message, { cause: spillway, details: { field: 'program', ...spillway.details } });
  }
}
