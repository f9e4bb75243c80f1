/**
 * A pipeline's lifecycle, an explicit state machine: Shutdown → Running → Shutdown, or Failed when
 * a connector fails (start again from Failed or shut it down). Starting builds the program's
 * tables and views, plans every attached output connector on its relation with the connector's
 * Feldera spec, and only then opens the sinks; ingress feeds the input tables while it runs.
 */
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import { normalizeRow } from '../model/schema.ts';
import type { InputTable } from '../sources/input-table.ts';
import { openPlan } from '../sink/open-sink.ts';
import type { SinkPlan } from '../sink/plan.ts';
import { planConnector } from './connectors.ts';
import type { SinkDependencies, SinkHandle, SinkMetrics } from '../sink/sink.ts';
import type { IngressChange } from './ingress.ts';
import { buildPipelineProgram } from './pipeline-program.ts';
import { scrub, secretStrings } from './secrets.ts';
import type { AttachedConnector, StoredConnector } from './store.ts';

export const PipelineState = { Shutdown: 'Shutdown', Running: 'Running', Failed: 'Failed' } as const;
export type PipelineState = (typeof PipelineState)[keyof typeof PipelineState];

const transitions: Readonly<Record<PipelineState, readonly PipelineState[]>> = {
  Shutdown: ['Running', 'Failed'],
  Running: ['Shutdown', 'Failed'],
  Failed: ['Running', 'Shutdown'],
};

export interface PipelineError {
  readonly time: string;
  readonly pipeline: string;
  readonly connector?: string;
  readonly message: string;
}

export interface ConnectorStatus {
  readonly name: string;
  readonly connector_name: string;
  readonly relation_name: string;
  readonly topic: string | undefined;
  readonly state: string;
  readonly metrics: SinkMetrics;
  readonly errors: readonly PipelineError[];
}

export interface PipelineDefinition {
  readonly name: string;
  readonly program: string;
  readonly attached: readonly AttachedConnector[];
}

export type ConnectorLookup = (name: string) => StoredConnector | undefined;

interface Planned {
  readonly inputs: ReadonlyMap<string, InputTable>;
  readonly plans: readonly { readonly attachment: AttachedConnector; readonly plan: SinkPlan; readonly secrets: ReadonlySet<string> }[];
  readonly warnings: readonly string[];
}

const MAX_ERRORS = 50;

/** Checks the whole pipeline — program, attachments, every sink plan — connecting to nothing. */
export async function planPipeline(definition: PipelineDefinition, connectors: ConnectorLookup): Promise<Planned> {
  const program = await buildPipelineProgram(definition.name, definition.program);
  const names = new Set<string>();
  const plans = definition.attached.map((attachment, index) => {
    const field = `attached_connectors.${index}`;
    const fail = (message: string, at: string, hint?: string) =>
      new SpillwayError(ErrorCode.InvalidConfig, `pipeline "${definition.name}": ${field}.${at}: ${message}${hint === undefined ? '' : `; ${hint}`}`, { details: { field: `${field}.${at}`, ...(hint === undefined ? {} : { hint }) } });
    if (names.has(attachment.name)) throw fail(`the name "${attachment.name}" is attached twice`, 'name', 'give each attachment its own name');
    names.add(attachment.name);
    if (attachment.is_input) throw fail('input connectors are not supported in this version', 'is_input', `feed tables with POST /v0/pipelines/${definition.name}/ingress/{table}, and set is_input to false`);
    const connector = connectors(attachment.connector_name);
    if (connector === undefined) throw fail(`no connector "${attachment.connector_name}"`, 'connector_name', 'create it first with PUT /v0/connectors/{name}');
    const relation = program.relations.get(attachment.relation_name);
    if (relation === undefined) {
      throw fail(`the program has no table or view "${attachment.relation_name}"`, 'relation_name', `name one of: ${[...program.relations.keys()].join(', ')}`);
    }
    const sinkName = `${definition.name}.${attachment.name}`;
    const plan = planConnector(relation, sinkName, attachment.connector_name, connector.config);
    return { attachment, plan, secrets: secretStrings(connector.config) };
  });
  return { inputs: program.inputs, plans, warnings: [...program.warnings, ...plans.flatMap(({ plan }) => plan.warnings)] };
}

export class PipelineRuntime {
  readonly name: string;
  #state: PipelineState = PipelineState.Shutdown;
  #inputs: ReadonlyMap<string, InputTable> = new Map();
  #sinks: { attachment: AttachedConnector; sink: SinkHandle }[] = [];
  readonly #errors: PipelineError[] = [];
  #warnings: readonly string[] = [];
  #starting: Promise<void> | undefined;
  readonly #dependencies: Partial<SinkDependencies>;
  readonly #onError: (error: PipelineError) => void;

  constructor(name: string, options: { dependencies?: Partial<SinkDependencies>; onError?: (error: PipelineError) => void } = {}) {
    this.name = name;
    this.#dependencies = options.dependencies ?? {};
    this.#onError = options.onError ?? (() => {});
  }

  get state(): PipelineState {
    return this.#state;
  }

  get warnings(): readonly string[] {
    return this.#warnings;
  }

  get errors(): readonly PipelineError[] {
    return this.#errors;
  }

  get tables(): string[] {
    return [...this.#inputs.keys()];
  }

  #transition(to: PipelineState): void {
    if (!transitions[this.#state].includes(to)) {
      throw new SpillwayError(ErrorCode.InvalidState, `pipeline "${this.name}" is ${this.#state} and cannot become ${to}`);
    }
    this.#state = to;
  }

  #record(message: string, connector?: string): void {
    const entry: PipelineError = { time: new Date().toISOString(), pipeline: this.name, ...(connector === undefined ? {} : { connector }), message };
    this.#errors.push(entry);
    if (this.#errors.length > MAX_ERRORS) this.#errors.shift();
    this.#onError(entry);
  }

  /** Starts the pipeline; a start while one is under way waits for it instead of starting twice. */
  start(definition: PipelineDefinition, connectors: ConnectorLookup): Promise<void> {
    if (this.#state === PipelineState.Running) return Promise.resolve();
    this.#starting ??= this.#start(definition, connectors).finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(definition: PipelineDefinition, connectors: ConnectorLookup): Promise<void> {
    // After a failure the other connectors may still run: stop them before starting afresh.
    if (this.#state === PipelineState.Failed) await this.#stopAll();
    let planned: Planned;
    try {
      planned = await planPipeline(definition, connectors);
    } catch (error) {
      // A pipeline that cannot be planned stays as it was; the caller gets the error.
      this.#record(asSpillwayError(error).message);
      throw error;
    }
    this.#inputs = planned.inputs;
    this.#warnings = planned.warnings;
    this.#sinks = planned.plans.map(({ attachment, plan, secrets }) => {
      const sink = openPlan(plan, {
        ...this.#dependencies,
        onError: (error) => {
          this.#record(scrub(error.message, secrets), attachment.name);
          if (this.#state === PipelineState.Running) this.#transition(PipelineState.Failed);
        },
      });
      sink.done.catch(() => {});
      return { attachment, sink };
    });
    this.#transition(PipelineState.Running);
  }

  async shutdown(): Promise<void> {
    await this.#starting?.catch(() => {});
    if (this.#state === PipelineState.Shutdown) return;
    await this.#stopAll();
    this.#transition(PipelineState.Shutdown);
  }

  /** Ends the input tables and stops every sink, writing what is queued; a failed sink's error is already recorded. */
  async #stopAll(): Promise<void> {
    for (const input of this.#inputs.values()) input.close();
    const sinks = this.#sinks;
    const results = await Promise.allSettled(sinks.map(({ sink }) => sink.stop()));
    results.forEach((result, index) => {
      const attachment = sinks[index]?.attachment;
      if (result.status === 'rejected' && sinks[index]?.sink.state !== 'failed') this.#record(asSpillwayError(result.reason).message, attachment?.name);
    });
    this.#inputs = new Map();
    this.#sinks = [];
  }

  inputTable(table: string): InputTable {
    if (this.#state !== PipelineState.Running) {
      throw new SpillwayError(ErrorCode.InvalidState, `pipeline "${this.name}" is ${this.#state}; start it with POST /v0/pipelines/${this.name}/start before pushing rows`);
    }
    const input = this.#inputs.get(table);
    if (input === undefined) {
      throw new SpillwayError(ErrorCode.UnknownColumn, `pipeline "${this.name}" has no input table "${table}"; its tables are: ${this.tables.join(', ') || 'none'}`, { details: { field: 'table' } });
    }
    return input;
  }

  /** Applies changes in order, consecutive inserts (and deletes) as one batch each. */
  async ingest(table: string, changes: readonly IngressChange[]): Promise<number> {
    const input = this.inputTable(table);
    const runs: { kind: IngressChange['kind']; rows: Record<string, unknown>[] }[] = [];
    for (const change of changes) {
      const last = runs.at(-1);
      if (last?.kind === change.kind) last.rows.push(change.row);
      else runs.push({ kind: change.kind, rows: [change.row] });
    }
    if (runs.some((run) => run.kind === 'delete') && input.schema.primaryKey === undefined) {
      throw new SpillwayError(ErrorCode.InvalidConfig, `the table "${table}" has no primary key, so rows cannot be deleted from it; declare PRIMARY KEY (…) NOT ENFORCED in the program`, { details: { field: 'table' } });
    }
    // Every row is checked before any is applied, so a bad body changes nothing.
    const keyColumns = input.schema.columns.filter((column) => input.schema.primaryKey?.includes(column.name) === true);
    changes.forEach((change, index) => {
      const where = `ingress into "${table}": value ${index + 1}`;
      if (change.kind === 'insert') normalizeRow(input.schema, change.row, where);
      else normalizeRow({ columns: keyColumns }, Object.fromEntries(keyColumns.map((column) => [column.name, change.row[column.name]])), where);
    });
    for (const run of runs) {
      await input.whenWritable();
      if (run.kind === 'insert') input.add(run.rows);
      else input.delete(run.rows);
    }
    return changes.length;
  }

  connectors(): ConnectorStatus[] {
    return this.#sinks.map(({ attachment, sink }) => ({
      name: attachment.name,
      connector_name: attachment.connector_name,
      relation_name: attachment.relation_name,
      topic: sink.topic,
      state: sink.state,
      metrics: sink.metrics,
      errors: this.#errors.filter((error) => error.connector === attachment.name),
    }));
  }
}
