/**
 * A SQL job: its statements in order, CREATE TABLE declaring sources and sinks, CREATE VIEW
 * naming queries, INSERT INTO starting a sink fed by a query. Queries become the incremental
 * operators (where, update, select, aggBy), so an aggregation's rows update and retract as rows
 * come and go, and each sink writes them in its update mode.
 *
 * `translateSql` is the pure translation (statements → table declarations, sink specs and
 * queries); `validateSql` builds every query over stand-in input tables of the declared schemas
 * and plans every sink, connecting to nothing; `runSql` builds the real sources and opens the sinks.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, SpillwayError, asSpillwayError } from '../../errors.ts';
import type { LiveTable } from '../../model/live-table.ts';
import type { Table } from '../../model/table.ts';
import { type Aggregation, avg, count, max, min, sum } from '../../model/aggregations.ts';
import { parseDuration } from '../../model/period.ts';
import type { Column, Row, Schema, Value } from '../../model/schema.ts';
import { fromFile } from '../../sources/file-table.ts';
import { type InputTable, inputTable } from '../../sources/input-table.ts';
import { openPlan } from '../../sink/open-sink.ts';
import { type SinkPlan, planSink } from '../../sink/plan.ts';
import type { PartitionerFunction, SinkSpecInput } from '../../sink/sink-spec.ts';
import type { SinkDependencies, SinkHandle } from '../../sink/sink.ts';
import { datagenTable } from '../../sources/datagen-table.ts';
import { kafkaTopicTable } from '../../sources/kafka-topic-table.ts';
import { type Expression, type Position, type Query, type Statement, sqlError, statementsOf } from './ast.ts';
import { AGGREGATE_FUNCTIONS, type Compiled, ExpressionCompiler, assignable, coerce, nanosToUnits } from './expressions.ts';
import { parseFlinkSql } from './flink-parser.ts';
import type { ColumnShape } from './types.ts';
import { type PartitionerModule, type SinkTranslation, type SourceTranslation, type TableDeclaration, declareTable, sinkTranslation, sourceTranslation, tableError } from './with-options.ts';

export interface SqlInsert {
  readonly target: TableDeclaration;
  readonly sink: SinkTranslation;
  readonly columns: readonly string[] | undefined;
  readonly query: Query;
  readonly at: Position;
}

export interface SqlProgram {
  readonly source: string;
  readonly tables: ReadonlyMap<string, TableDeclaration>;
  readonly views: ReadonlyMap<string, Query>;
  readonly inserts: readonly SqlInsert[];
  /** Tables read by a query, and what they are as sources. */
  readonly sources: ReadonlyMap<string, SourceTranslation>;
  readonly warnings: readonly string[];
}

export interface SqlOptions {
  /** The file name in messages (`job.sql:3:5: …`); default `SQL`. */
  readonly source?: string;
  /** Where relative paths (files, partitioner modules) start; default: the SQL file's directory, or the working directory. */
  readonly baseDir?: string;
}

function referencedTables(query: Query, views: ReadonlyMap<string, Query>, seen = new Set<string>()): string[] {
  const name = query.from.name;
  const view = views.get(name);
  if (view === undefined) return [name];
  if (seen.has(name)) return [];
  seen.add(name);
  return referencedTables(view, views, seen);
}

/** The statements' tables, views and inserts in order, each name defined once and each query over what is defined before it. */
function declareAll(statements: readonly Statement[], source: string) {
  const tables = new Map<string, TableDeclaration>();
  const views = new Map<string, Query>();
  const inserts: SqlInsert[] = [];
  const warnings: string[] = [];
  const readTables = new Set<string>();
  const name = (kind: string, identifier: string, at: Position) => {
    if (tables.has(identifier) || views.has(identifier)) throw sqlError(source, at, `${kind} "${identifier}" is already defined`);
  };
  const requireSource = (query: Query) => {
    const from = query.from.name;
    if (!tables.has(from) && !views.has(from)) {
      throw sqlError(source, query.from.at, `unknown table or view "${from}"`, `define it first with CREATE TABLE or CREATE VIEW; defined: ${[...tables.keys(), ...views.keys()].join(', ') || 'none'}`);
    }
    for (const table of referencedTables(query, views)) readTables.add(table);
  };
  for (const statement of statements) {
    switch (statement.kind) {
      case 'createTable':
        name('table', statement.name, statement.at);
        tables.set(statement.name, declareTable(statement, source));
        break;
      case 'createView':
        name('view', statement.name, statement.at);
        requireSource(statement.query);
        views.set(statement.name, statement.query);
        break;
      case 'insert': {
        const target = tables.get(statement.target);
        if (target === undefined) {
          throw sqlError(source, statement.at, views.has(statement.target) ? `cannot INSERT INTO the view "${statement.target}"` : `unknown table "${statement.target}"`, 'INSERT INTO a table declared with CREATE TABLE … WITH (\'connector\' = \'kafka\', …)');
        }
        requireSource(statement.query);
        const sink = sinkTranslation(target);
        warnings.push(...sink.warnings);
        inserts.push({ target, sink, columns: statement.columns, query: statement.query, at: statement.at });
        break;
      }
    }
  }
  return { tables, views, inserts, warnings, readTables };
}

/** Parses and translates SQL text into table declarations, sink specs and queries (pure: nothing is read or connected). */
export async function translateSql(text: string, options: SqlOptions = {}): Promise<SqlProgram> {
  const source = options.source ?? 'SQL';
  const statements: Statement[] = statementsOf(await parseFlinkSql(text, source), source);
  const { tables, views, inserts, warnings, readTables } = declareAll(statements, source);
  if (inserts.length === 0) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${source}: no INSERT INTO; a job writes with INSERT INTO sink SELECT … FROM source`);
  }
  const sources = new Map<string, SourceTranslation>();
  for (const tableName of readTables) {
    const table = tables.get(tableName) as TableDeclaration;
    if (inserts.some((insert) => insert.target.name === tableName)) {
      throw tableError(table, 'is both read and written by this job', 'read from one table and write into another');
    }
    sources.set(tableName, sourceTranslation(table, parseDuration, warnings));
  }
  return { source, tables, views, inserts, sources, warnings };
}

/** A module's partitioner function: its `partition` export, its default export, or its only exported function. */
export async function loadPartitioner(module: PartitionerModule, baseDir: string, source: string): Promise<PartitionerFunction> {
  const path = isAbsolute(module.path) ? module.path : resolve(baseDir, module.path);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw sqlError(source, module.at, `the partitioner module ${module.path} cannot be loaded (${path}): ${error instanceof Error ? error.message : String(error)}`);
  }
  const functions = Object.entries(loaded).filter(([, value]) => typeof value === 'function');
  const chosen = loaded.partition ?? loaded.default ?? (functions.length === 1 ? functions[0]?.[1] : undefined);
  if (typeof chosen !== 'function') {
    throw sqlError(source, module.at, `the partitioner module ${module.path} exports no partitioner function`, 'export function partition(key, value, partitions) { return … } from it');
  }
  return chosen as PartitionerFunction;
}

type Formula = { type: Column['type']; nullable: boolean; unit?: Column['unit']; precision?: number; scale?: number; formula: (row: Row) => unknown };

/** A formula that writes a value of `shape` into a column of the same shape (timestamps as the column's unit). */
function formulaOf(shape: ColumnShape, evaluate: (row: Row) => Value): Formula {
  const unit = shape.type === 'timestamp' ? (shape.unit ?? 'ns') : undefined;
  return {
    type: shape.type,
    nullable: shape.nullable,
    ...(unit === undefined ? {} : { unit }),
    ...(shape.precision === undefined ? {} : { precision: shape.precision }),
    ...(shape.scale === undefined ? {} : { scale: shape.scale }),
    formula:
      unit === undefined
        ? evaluate
        : (row) => {
            const value = evaluate(row);
            return value === null ? null : nanosToUnits(value as bigint, unit);
          },
  };
}

interface QueryResult {
  readonly table: LiveTable;
  /** The output columns in order (names of `table`'s columns). */
  readonly columns: readonly { readonly name: string; readonly shape: ColumnShape; readonly at: Position }[];
}

function shapeOf(column: Column): ColumnShape {
  const { name: _name, ...shape } = column;
  return shape;
}

function isAggregate(expression: Expression): boolean {
  return expression.kind === 'call' && (AGGREGATE_FUNCTIONS as readonly string[]).includes(expression.name);
}

/** Every aggregate call in an expression, outermost first; an aggregate inside an aggregate is refused. */
function aggregatesIn(expression: Expression, found: Extract<Expression, { kind: 'call' }>[], source: string, inside = false): void {
  if (expression.kind === 'call' && isAggregate(expression)) {
    if (inside) throw sqlError(source, expression.at, `an aggregate inside an aggregate ("${expression.text}") is not supported`);
    found.push(expression);
    for (const arg of expression.args) aggregatesIn(arg, found, source, true);
    return;
  }
  for (const child of childExpressions(expression)) aggregatesIn(child, found, source, inside);
}

function childExpressions(expression: Expression): Expression[] {
  switch (expression.kind) {
    case 'column':
    case 'literal':
      return [];
    case 'unary':
    case 'not':
    case 'isNull':
    case 'cast':
      return [expression.operand];
    case 'binary':
    case 'compare':
    case 'logical':
      return [expression.left, expression.right];
    case 'in':
      return [expression.operand, ...expression.list];
    case 'between':
      return [expression.operand, expression.low, expression.high];
    case 'like':
      return [expression.operand, expression.pattern];
    case 'case':
      return [...expression.whens.flatMap((branch) => [branch.when, branch.then]), ...(expression.otherwise === undefined ? [] : [expression.otherwise])];
    case 'call':
      return [...expression.args];
  }
}

/** Replaces each aggregate call by a reference to the column that holds its result. */
function replaceAggregates(expression: Expression, names: ReadonlyMap<Expression, string>): Expression {
  const name = names.get(expression);
  if (name !== undefined) return { kind: 'column', name, at: expression.at, text: expression.text };
  const map = (child: Expression) => replaceAggregates(child, names);
  switch (expression.kind) {
    case 'column':
    case 'literal':
      return expression;
    case 'unary':
    case 'not':
    case 'isNull':
    case 'cast':
      return { ...expression, operand: map(expression.operand) };
    case 'binary':
    case 'compare':
    case 'logical':
      return { ...expression, left: map(expression.left), right: map(expression.right) };
    case 'in':
      return { ...expression, operand: map(expression.operand), list: expression.list.map(map) };
    case 'between':
      return { ...expression, operand: map(expression.operand), low: map(expression.low), high: map(expression.high) };
    case 'like':
      return { ...expression, operand: map(expression.operand), pattern: map(expression.pattern) };
    case 'case':
      return { ...expression, whens: expression.whens.map((branch) => ({ when: map(branch.when), then: map(branch.then) })), ...(expression.otherwise === undefined ? {} : { otherwise: map(expression.otherwise) }) };
    case 'call':
      return { ...expression, args: expression.args.map(map) };
  }
}

function columnsUsed(expression: Expression, into: Set<string>): void {
  if (expression.kind === 'column') into.add(expression.name);
  for (const child of childExpressions(expression)) columnsUsed(child, into);
}

class QueryBuilder {
  readonly #program: SqlProgram;
  readonly #sources: ReadonlyMap<string, LiveTable>;
  readonly #views = new Map<string, QueryResult>();
  #hidden = 0;

  constructor(program: SqlProgram, sources: ReadonlyMap<string, LiveTable>) {
    this.#program = program;
    this.#sources = sources;
  }

  #hiddenName(kind: string): string {
    return `$${kind}${this.#hidden++}`;
  }

  table(name: string): QueryResult {
    const view = this.#views.get(name);
    if (view !== undefined) return view;
    const query = this.#program.views.get(name);
    if (query !== undefined) {
      const built = this.build(query);
      this.#views.set(name, built);
      return built;
    }
    const table = this.#sources.get(name);
    if (table === undefined) throw new SpillwayError(ErrorCode.Internal, `no source table "${name}"`);
    return { table, columns: table.schema.columns.map((column) => ({ name: column.name, shape: shapeOf(column), at: this.#program.tables.get(name)?.at ?? { line: 1, column: 1 } })) };
  }

  build(query: Query): QueryResult {
    const source = this.#program.source;
    const input = this.table(query.from.name);
    let table = input.table;
    if (input.columns.length !== table.schema.columns.length) table = table.select(input.columns.map((column) => column.name));
    if (query.where !== undefined) {
      const found: Extract<Expression, { kind: 'call' }>[] = [];
      aggregatesIn(query.where, found, source);
      if (found[0] !== undefined) throw sqlError(source, found[0].at, 'an aggregate in WHERE is not allowed', 'filter groups with a view over the aggregation instead');
      table = table.where(new ExpressionCompiler(table.schema, source).predicate(query.where));
    }
    if (query.items === 'star') {
      if (query.groupBy !== undefined) throw sqlError(source, query.at, 'SELECT * with GROUP BY is not supported', 'name the grouped columns and the aggregates');
      return { table, columns: table.schema.columns.map((column) => ({ name: column.name, shape: shapeOf(column), at: query.at })) };
    }
    const items = query.items;
    const aggregates: Extract<Expression, { kind: 'call' }>[] = [];
    for (const item of items) aggregatesIn(item.expression, aggregates, source);
    let expressions = items.map((item) => item.expression);
    if (aggregates.length > 0 || query.groupBy !== undefined) {
      const keys = (query.groupBy ?? []).map((key) => {
        if (!table.schema.columns.some((column) => column.name === key.name)) {
          throw sqlError(source, key.at, `GROUP BY names "${key.name}", which is not a column; the columns are: ${table.schema.columns.map((column) => column.name).join(', ')}`);
        }
        return key.name;
      });
      // Aggregate arguments that are expressions are computed first, as hidden columns.
      const preComputed: Record<string, Formula> = {};
      const aggregations: Record<string, Aggregation> = {};
      const names = new Map<Expression, string>();
      const compiler = new ExpressionCompiler(table.schema, source);
      for (const call of aggregates) {
        if (call.distinct) throw sqlError(source, call.at, `${call.name}(DISTINCT …) is not supported`, `use ${call.name}(column)`);
        const name = this.#hiddenName('agg');
        names.set(call, name);
        if (call.star) {
          if (call.name !== 'COUNT') throw sqlError(source, call.at, `${call.name}(*) is not an aggregate; only COUNT takes *`);
          aggregations[name] = count();
          continue;
        }
        if (call.args.length !== 1) throw sqlError(source, call.at, `${call.name} takes one argument, not ${call.args.length}`);
        const arg = call.args[0] as Expression;
        let column: string;
        if (arg.kind === 'column') {
          compiler.compile(arg);
          column = arg.name;
        } else {
          const compiled = compiler.compile(arg);
          column = this.#hiddenName('arg');
          preComputed[column] = formulaOf(compiled.shape, (row) => compiled.evaluate(row));
        }
        const make = { COUNT: count, SUM: sum, MIN: min, MAX: max, AVG: avg }[call.name as 'COUNT'];
        aggregations[name] = make(column);
      }
      if (Object.keys(preComputed).length > 0) table = table.update(preComputed);
      try {
        table = table.aggBy(aggregations, keys);
      } catch (error) {
        const spillway = asSpillwayError(error);
        throw sqlError(source, aggregates[0]?.at ?? query.at, spillway.message.replace(/aggBy column "\$agg\d+"/, 'an aggregate'));
      }
      expressions = expressions.map((expression) => replaceAggregates(expression, names));
      for (const [index, expression] of expressions.entries()) {
        const used = new Set<string>();
        columnsUsed(expression, used);
        const loose = [...used].find((name) => !name.startsWith('$agg') && !keys.includes(name));
        if (loose !== undefined) {
          throw sqlError(source, items[index]?.expression.at ?? query.at, `the column "${loose}" is neither in GROUP BY nor inside an aggregate`, `add it to GROUP BY, or aggregate it (MIN(${loose}), MAX(${loose}), …)`);
        }
      }
    }
    return this.#project(table, expressions, items.map((item) => item.alias), query.at);
  }

  /** The select list: each item an output column, named by its alias, its column, or EXPR$n as Flink names them. */
  #project(table: LiveTable, expressions: readonly Expression[], aliases: readonly (string | undefined)[], at: Position): QueryResult {
    const source = this.#program.source;
    const compiler = new ExpressionCompiler(table.schema, source);
    const names: string[] = [];
    const compiled: Compiled[] = [];
    expressions.forEach((expression, index) => {
      const name = aliases[index] ?? (expression.kind === 'column' && !expression.name.startsWith('$') ? expression.name : `EXPR$${index}`);
      if (names.includes(name)) throw sqlError(source, expression.at, `the query has two columns named "${name}"`, 'give one of them another name with AS');
      names.push(name);
      compiled.push(compiler.compile(expression));
    });
    // Plain columns keep their declared precision by passing through; everything else is computed.
    const passThrough = expressions.every((expression, index) => expression.kind === 'column' && expression.name === names[index]);
    if (passThrough) {
      const result = table.select(names);
      return { table: result, columns: names.map((name, index) => ({ name, shape: (compiled[index] as Compiled).shape, at: expressions[index]?.at ?? at })) };
    }
    // Every formula reads the parent's row, so an output may reuse the name of any input column.
    const formulas: Record<string, Formula> = {};
    names.forEach((name, index) => {
      const expression = compiled[index] as Compiled;
      formulas[name] = formulaOf(expression.shape, (row) => expression.evaluate(row));
    });
    const result = table.update(formulas).select(names);
    return { table: result, columns: names.map((name, index) => ({ name, shape: (compiled[index] as Compiled).shape, at: expressions[index]?.at ?? at })) };
  }
}

/** The query's columns written into the sink table's columns, by position (or by the INSERT's column list), converted to their types. */
function intoSink(result: QueryResult, insert: SqlInsert, source: string): LiveTable {
  const sinkColumns = insert.target.schema.columns;
  const targets = insert.columns ?? sinkColumns.map((column) => column.name);
  for (const name of targets) {
    if (!sinkColumns.some((column) => column.name === name)) throw sqlError(source, insert.at, `the table "${insert.target.name}" has no column "${name}"`);
  }
  if (targets.length !== result.columns.length) {
    throw sqlError(source, insert.query.at, `the query gives ${result.columns.length} column${result.columns.length === 1 ? '' : 's'} but "${insert.target.name}" takes ${targets.length} (${targets.join(', ')})`, 'select one expression per sink column, in order');
  }
  if (writtenAsTheyAre(result, targets, sinkColumns)) return result.table;
  const formulas: Record<string, Formula> = {};
  for (const column of sinkColumns) {
    const index = targets.indexOf(column.name);
    const target = shapeOf(column);
    if (index < 0) {
      if (!column.nullable) throw sqlError(source, insert.at, `the column "${column.name}" of "${insert.target.name}" is NOT NULL but the INSERT gives it no value`);
      formulas[column.name] = formulaOf(target, () => null);
      continue;
    }
    const from = result.columns[index] as QueryResult['columns'][number];
    if (!assignable(from.shape.type, target.type)) {
      throw sqlError(source, from.at, `column ${index + 1} of the query is ${from.shape.type} but "${insert.target.name}".${column.name} is ${target.type}`, `CAST it: CAST(… AS ${target.type.toUpperCase()})`);
    }
    const name = from.name;
    const fromShape = from.shape;
    const convert = (row: Row): Value => {
      const value = row[name] ?? null;
      if (value === null && !target.nullable) {
        throw new SpillwayError(ErrorCode.InvalidValue, `${source}:${from.at.line}:${from.at.column}: a NULL for the NOT NULL column "${insert.target.name}".${column.name}`);
      }
      return coerce(value, fromShape, target);
    };
    formulas[column.name] = formulaOf(target, convert);
  }
  return result.table.update(formulas).select(sinkColumns.map((column) => column.name));
}

/** Types whose stored values a column of the same type takes unchanged (a decimal is rescaled, a timestamp read in its unit). */
const UNCONVERTED_TYPES: ReadonlySet<string> = new Set(['boolean', 'int32', 'int64', 'float64', 'string', 'bytes', 'date', 'json']);

/**
 * Whether the query's rows are already the sink table's: its columns are the sink's, in order, by
 * name, of the same types, and none null where the sink's is NOT NULL. Then no row is rebuilt
 * (a conversion and a projection of each row cost a tenth of an INSERT's time).
 */
function writtenAsTheyAre(result: QueryResult, targets: readonly string[], sinkColumns: readonly Column[]): boolean {
  const tableColumns = result.table.schema.columns;
  if (tableColumns.length !== sinkColumns.length) return false;
  return sinkColumns.every((column, index) => {
    const from = result.columns[index];
    return (
      from !== undefined &&
      targets[index] === column.name &&
      from.name === column.name &&
      tableColumns[index]?.name === column.name &&
      from.shape.type === column.type &&
      UNCONVERTED_TYPES.has(column.type) &&
      (column.nullable || !from.shape.nullable)
    );
  });
}

function baseDirOf(options: SqlOptions): string {
  if (options.baseDir !== undefined) return options.baseDir;
  if (options.source !== undefined && options.source !== 'SQL' && options.source !== '-') return dirname(resolve(options.source));
  return process.cwd();
}

async function specsOf(program: SqlProgram, baseDir: string): Promise<SinkSpecInput[]> {
  return Promise.all(
    program.inserts.map(async (insert) => {
      const module = insert.sink.partitionerModule;
      if (module === undefined) return insert.sink.spec;
      return { ...insert.sink.spec, partitioner: await loadPartitioner(module, baseDir, program.source) };
    }),
  );
}

/** Plans every sink against its query, with the sink's position in errors. */
function planAll(program: SqlProgram, specs: readonly SinkSpecInput[], sources: ReadonlyMap<string, LiveTable>): { plans: SinkPlan[]; tables: LiveTable[] } {
  const builder = new QueryBuilder(program, sources);
  const plans: SinkPlan[] = [];
  const tables: LiveTable[] = [];
  program.inserts.forEach((insert, index) => {
    const table = intoSink(builder.build(insert.query), insert, program.source);
    tables.push(table);
    try {
      plans.push(planSink(table, specs[index]));
    } catch (error) {
      const spillway = asSpillwayError(error);
      throw new SpillwayError(spillway.code, `${program.source}:${insert.target.at.line}:${insert.target.at.column}: table "${insert.target.name}": ${spillway.message}`, {
        cause: spillway,
        details: { ...spillway.details, sink: insert.target.name, line: insert.target.at.line, column: insert.target.at.column },
      });
    }
  });
  return { plans, tables };
}

export interface SqlValidation {
  readonly program: SqlProgram;
  readonly plans: readonly SinkPlan[];
  readonly warnings: readonly string[];
}

/** Checks a whole job without connecting or reading: every statement, query, type, option and sink plan. */
export async function validateSql(text: string, options: SqlOptions = {}): Promise<SqlValidation> {
  const program = await translateSql(text, options);
  const specs = await specsOf(program, baseDirOf(options));
  // Sources are stood in for by input tables of their declared schemas: the plan depends only on
  // the schema and on whether the table only grows, which each stand-in keeps.
  const standIns = new Map<string, LiveTable>();
  for (const [name, translation] of program.sources) standIns.set(name, standInSource(translation, (program.tables.get(name) as TableDeclaration).schema));
  const { plans } = planAll(program, specs, standIns);
  return { program, plans, warnings: [...program.warnings, ...plans.flatMap((plan) => plan.warnings.map((warning) => `table "${plan.name}": ${warning}`))] };
}

export interface SqlRelationsOptions extends SqlOptions {
  /**
   * Tables with a connector (Kafka, filesystem, datagen): `refuse` them (the default), build
   * `stand-in` input tables of their declared schemas (to plan, reading nothing), or `open` their
   * real sources (a Kafka table starts following its topic).
   */
  readonly connectorTables?: 'refuse' | 'stand-in' | 'open';
  /** Makes the input table of a table without a connector (default: a plain input table of its schema). */
  readonly inputTable?: (name: string, schema: Schema) => InputTable;
  /** What feeds the input tables, for the message refusing a table with a connector (default: "a program's tables are input tables in this version"). */
  readonly inputsAre?: string;
  /** The hint for that message, per table. */
  readonly inputHint?: (table: string) => string;
  /** The hint for the message refusing INSERT INTO. */
  readonly insertHint?: string;
}

/** A program's relations: its input tables, and every table and view by name as a live table. */
export interface SqlRelations {
  /** Tables with no connector, fed by the caller. */
  readonly inputs: ReadonlyMap<string, InputTable>;
  /** Tables with a connector, by name, as built (stand-ins or the opened sources). */
  readonly sources: ReadonlyMap<string, LiveTable>;
  /** What each table is as a source (its connector's options, translated), by name. */
  readonly translations: ReadonlyMap<string, SourceTranslation>;
  /** Every table and view by name, in declaration order. */
  readonly relations: ReadonlyMap<string, Table>;
  readonly warnings: readonly string[];
  /** Stops the opened sources (Kafka followers, files, generators) and ends the input tables; harmless when nothing was opened. */
  close(): Promise<void>;
}

/**
 * Builds a program of CREATE TABLE and CREATE VIEW only (Feldera's shape: outputs attach to a
 * relation by name, so there is no INSERT INTO): a table without a connector becomes an input
 * table of its declared schema, a table with one its source (see `connectorTables`), and every
 * view the live table of its query over them. Nothing is read or connected unless sources are opened.
 */
export async function buildSqlRelations(text: string, options: SqlRelationsOptions = {}): Promise<SqlRelations> {
  const source = options.source ?? 'SQL';
  const statements: Statement[] = statementsOf(await parseFlinkSql(text, source), source);
  const insert = statements.find((statement) => statement.kind === 'insert');
  if (insert !== undefined) {
    throw sqlError(source, insert.at, 'INSERT INTO is not allowed: the program declares tables and views only', options.insertHint ?? 'remove the INSERT INTO statements and read the views');
  }
  if (!statements.some((statement) => statement.kind === 'createTable')) {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${source}: the program declares no table; declare the input tables with CREATE TABLE`);
  }
  const { tables, views, warnings } = declareAll(statements, source);
  const mode = options.connectorTables ?? 'refuse';
  const baseDir = baseDirOf(options);
  // Every table's options are checked before any source is opened, so a bad one opens nothing.
  const translations = new Map<string, SourceTranslation>();
  for (const [name, declared] of tables) {
    if (declared.connector !== 'input' && mode === 'refuse') {
      throw new SpillwayError(ErrorCode.InvalidConfig, `${source}: the table "${name}" has a '${declared.connector}' connector; ${options.inputsAre ?? "a program's tables are input tables in this version"}`, {
        details: { line: declared.at.line, column: declared.at.column, hint: options.inputHint?.(name) ?? `declare "${name}" without WITH (…) and feed it rows` },
      });
    }
    translations.set(name, sourceTranslation(declared, parseDuration, warnings));
  }
  const inputs = new Map<string, InputTable>();
  const sources = new Map<string, LiveTable>();
  const closers: (() => unknown)[] = [];
  const close = async () => {
    for (const input of inputs.values()) input.close();
    await Promise.allSettled(closers.map((closer) => Promise.resolve(closer())));
  };
  try {
    for (const [name, translation] of translations) {
      const schema = (tables.get(name) as TableDeclaration).schema;
      if (translation.connector === 'input') inputs.set(name, options.inputTable?.(name, schema) ?? inputTable(schema));
      else if (mode === 'open') {
        const opened = openSource(translation, schema, baseDir);
        closers.push(opened.close);
        sources.set(name, opened.table);
      } else sources.set(name, standInSource(translation, schema));
    }
    const program: SqlProgram = { source, tables, views, inserts: [], sources: translations, warnings };
    const builder = new QueryBuilder(program, new Map<string, LiveTable>([...inputs, ...sources]));
    const relations = new Map<string, Table>();
    for (const statement of statements) {
      if (statement.kind === 'createTable') relations.set(statement.name, (inputs.get(statement.name) ?? sources.get(statement.name)) as LiveTable);
      else if (statement.kind === 'createView') relations.set(statement.name, builder.table(statement.name).table);
    }
    return { inputs, sources, translations, relations, warnings, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function withoutKey(schema: Schema): Schema {
  return { columns: schema.columns };
}

export interface SqlJob {
  readonly sinks: readonly SinkHandle[];
  /** Tables without a connector, for the program (or the REST service) to feed. */
  readonly inputs: ReadonlyMap<string, InputTable>;
  readonly warnings: readonly string[];
  /** Settles when every sink has stopped: resolves when the sources ended and everything was written; rejects on the first failure. */
  readonly done: Promise<void>;
  /** Stops the sources, writes what is queued, and stops the sinks. */
  stop(): Promise<void>;
}

export interface RunSqlOptions extends SqlOptions {
  readonly dependencies?: Partial<SinkDependencies>;
}

function readFileText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** A table's source as it runs: the live table, and how to stop it. */
interface OpenedSource {
  readonly table: LiveTable;
  readonly close: () => unknown;
}

/**
 * Builds the real source of a table read by a job or program: generated rows, a file or a Kafka
 * topic (an input table is the caller's, since only the caller knows what feeds it). Opening a
 * Kafka source starts following its topic.
 */
function openSource(translation: Exclude<SourceTranslation, { connector: 'input' }>, schema: Schema, baseDir: string): OpenedSource {
  switch (translation.connector) {
    case 'datagen': {
      const generated = datagenTable(withoutKey(schema), translation);
      return { table: generated.table, close: () => generated.close() };
    }
    case 'filesystem': {
      const path = isAbsolute(translation.path) ? translation.path : resolve(baseDir, translation.path);
      const table = fromFile(path, {
        format: translation.format,
        schema: withoutKey(schema),
        ...(translation.followMs === undefined ? {} : { follow: true, pollIntervalMs: translation.followMs }),
        ...(translation.format === 'csv' ? { csv: { header: false, ...(translation.delimiter === undefined ? {} : { delimiter: translation.delimiter }), ...(translation.quote === undefined ? {} : { quote: translation.quote }) } } : {}),
      });
      return { table, close: () => table.close() };
    }
    case 'kafka': {
      const table = kafkaTopicTable({
        kafkaConfig: translation.kafkaConfig,
        topic: translation.topic,
        schema: translation.mode === 'upsert' ? schema : withoutKey(schema),
        mode: translation.mode,
        startFrom: translation.startFrom,
      });
      return { table, close: () => table.close() };
    }
  }
}

/** A stand-in for a source when nothing may be read: an input table of the declared schema, keyed only when the source keeps a key. */
function standInSource(translation: SourceTranslation, schema: Schema): InputTable {
  const keyed = translation.connector === 'input' || (translation.connector === 'kafka' && translation.mode === 'upsert');
  return inputTable(keyed ? schema : withoutKey(schema));
}

/** Runs a job: builds its sources, opens every sink, and returns the running job. */
export async function runSql(text: string, options: RunSqlOptions = {}): Promise<SqlJob> {
  const program = await translateSql(text, options);
  const baseDir = baseDirOf(options);
  const specs = await specsOf(program, baseDir);
  const closers: (() => unknown)[] = [];
  const inputs = new Map<string, InputTable>();
  const sources = new Map<string, LiveTable>();
  for (const [name, translation] of program.sources) {
    const schema = (program.tables.get(name) as TableDeclaration).schema;
    if (translation.connector === 'input') {
      const table = inputTable(schema);
      inputs.set(name, table);
      closers.push(() => table.close());
      sources.set(name, table);
      continue;
    }
    const opened = openSource(translation, schema, baseDir);
    closers.push(opened.close);
    sources.set(name, opened.table);
  }
  const closeSources = async () => {
    await Promise.all(closers.map((close) => Promise.resolve(close())));
  };
  let plans: SinkPlan[];
  try {
    plans = planAll(program, specs, sources).plans;
  } catch (error) {
    await closeSources();
    throw error;
  }
  const sinks = plans.map((plan) => openPlan(plan, options.dependencies));
  const done = Promise.all(sinks.map((sink) => sink.done)).then(() => undefined);
  // The first failure stops the rest of the job: its sources end, the other sinks write what they have.
  done.catch(() => void closeSources());
  done.catch(() => {});
  return {
    sinks,
    inputs,
    warnings: [...program.warnings, ...plans.flatMap((plan) => plan.warnings.map((warning) => `table "${plan.name}": ${warning}`))],
    done,
    async stop() {
      await closeSources();
      const results = await Promise.allSettled(sinks.map((sink) => sink.stop()));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw (failed).reason;
    },
  };
}

/** Reads a SQL file and runs it (paths in it are relative to the file). */
export async function runSqlFile(path: string, options: Omit<RunSqlOptions, 'source'> = {}): Promise<SqlJob> {
  return runSql(readFileText(path), { ...options, source: path });
}

/** Reads a SQL file and validates it. */
export async function validateSqlFile(path: string, options: Omit<SqlOptions, 'source'> = {}): Promise<SqlValidation> {
  return validateSql(readFileText(path), { ...options, source: path });
}

/** A schema from Flink column definitions, `id BIGINT, name STRING NOT NULL, PRIMARY KEY (id) NOT ENFORCED` (for the CLI's --schema). */
export async function parseColumns(text: string, source = '--schema'): Promise<Schema> {
  const statements = statementsOf(await parseFlinkSql(`CREATE TABLE t (${text})`, source), source);
  const statement = statements[0];
  if (statements.length !== 1 || statement?.kind !== 'createTable') {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${source}: give column definitions such as "id BIGINT, name STRING"`);
  }
  return declareTable(statement, source).schema;
}
