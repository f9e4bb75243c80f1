/**
 * A pipeline's program in Feldera's shape: SQL tables (the inputs) and views, with no INSERT;
 * output connectors attach to a table or view by name. The SQL front door runs Flink-style jobs
 * whose sinks are INSERT INTO statements, and does not export its query builder, so this adapter
 * adds one probe per relation — `INSERT INTO <probe> SELECT COUNT(*) FROM <relation>` into a
 * Kafka table that is planned and never opened — lets `validateSql` build every query over input
 * tables (connecting to nothing), and then takes the relation's live table from just above each
 * probe's aggregation. The input tables found that way are the ones ingress feeds; the attached
 * connectors' sinks are planned on the relations' tables with the Feldera connector's own spec.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import { statementsOf } from '../dialects/sql/ast.ts';
import { parseFlinkSql } from '../dialects/sql/flink-parser.ts';
import { validateSql } from '../dialects/sql/job.ts';
import { InputTable } from '../sources/input-table.ts';
import type { Table } from '../model/table.ts';

const PROBE_COLUMN = 'spillway_probe_count';

export interface PipelineProgram {
  /** Tables with no connector, fed over HTTP ingress. */
  readonly inputs: ReadonlyMap<string, InputTable>;
  /** Every table and view by name, as live tables. */
  readonly relations: ReadonlyMap<string, Table>;
  readonly warnings: readonly string[];
}

function quoted(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** The relation's own table: what the probe's COUNT(*) aggregates (the aggregation is the one table whose only column is a hidden aggregate). */
function relationTable(probe: Table): Table {
  let table: Table | undefined = probe;
  while (table !== undefined) {
    const columns = table.schema.columns;
    if (columns.length === 1 && columns[0]?.name.startsWith('$agg') === true && table.upstream[0] !== undefined) return table.upstream[0];
    table = table.upstream[0];
  }
  throw new SpillwayError(ErrorCode.Internal, 'the pipeline program adapter found no relation table above a probe');
}

/** Builds a pipeline program's tables and views, connecting to nothing; errors name the line and column. */
export async function buildPipelineProgram(pipeline: string, program: string): Promise<PipelineProgram> {
  const source = `pipeline "${pipeline}"`;
  const names = await relationNames(program, source);
  let text = program.trimEnd();
  if (!text.endsWith(';')) text += ';';
  names.forEach((name, index) => {
    const probe = quoted(`spillway_probe_${index}`);
    text += `\nCREATE TABLE ${probe} (${PROBE_COLUMN} BIGINT) WITH ('connector' = 'kafka', 'topic' = 'spillway-probe', 'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'json', 'update-mode' = 'retract');`;
    text += `\nINSERT INTO ${probe} SELECT COUNT(*) FROM ${quoted(name)};`;
  });
  const validation = await validateSql(text, { source });
  const relations = new Map<string, Table>();
  const inputs = new Map<string, InputTable>();
  names.forEach((name, index) => {
    const plan = validation.plans[index];
    if (plan === undefined) throw new SpillwayError(ErrorCode.Internal, `no probe plan for "${name}"`);
    const table = relationTable(plan.table);
    relations.set(name, table);
    const declared = validation.program.tables.get(name);
    if (declared !== undefined) {
      if (declared.connector !== 'input' || !(table instanceof InputTable)) {
        throw new SpillwayError(ErrorCode.InvalidConfig, `${source}: the table "${name}" has a '${declared.connector}' connector; a pipeline's tables are fed over HTTP ingress in this version`, {
          details: { field: 'program', hint: `declare "${name}" without WITH (…) and push rows to POST /v0/pipelines/${pipeline}/ingress/${name}` },
        });
      }
      inputs.set(name, table);
    }
  });
  const warnings = validation.warnings.filter((warning) => !warning.includes('spillway_probe_'));
  return { inputs, relations, warnings };
}

/** The program's tables and views in order (parsed only; translation comes with the probes). */
async function relationNames(program: string, source: string): Promise<string[]> {
  const statements = statementsOf(await parseFlinkSql(program, source), source);
  const names: string[] = [];
  for (const statement of statements) {
    if (statement.kind === 'createTable' || statement.kind === 'createView') names.push(statement.name);
  }
  if (statements.some((statement) => statement.kind === 'insert')) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${source}: a pipeline program declares tables and views only; attach output connectors to a view instead of INSERT INTO`, {
      details: { field: 'program', hint: 'remove the INSERT INTO statements and list the view in attached_connectors' },
    });
  }
  const reserved = names.find((name) => name.toLowerCase().startsWith('spillway_probe'));
  if (reserved !== undefined) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${source}: the name "${reserved}" is reserved (names starting with spillway_probe); choose another`, { details: { field: 'program' } });
  }
  if (!statements.some((statement) => statement.kind === 'createTable')) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${source}: the program declares no table; declare the input tables with CREATE TABLE`, { details: { field: 'program' } });
  }
  return names;
}
