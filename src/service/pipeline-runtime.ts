/**
 * A pipeline's lifecycle, an explicit state machine: Shutdown → Running → Shutdown, or Failed when
 * a connector fails (start again from Failed or shut it down). Starting builds the program's
 * tables and views, plans every attached output connector on its relation with the connector's
 * Feldera spec, and only then opens the sinks; ingress and input connectors feed the input tables
 * while it runs, and the program's tables with a connector read their topics, files or generators.
 * What ingress accepted is kept in the pipeline's journal and replayed into the tables when the
 * pipeline starts again, before the sinks open, so views are whole after a restart.
 */
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import { normalizeRow } from '../model/schema.ts';
import type { InputTable } from '../sources/input-table.ts';
import { openPlan } from '../sink/open-sink.ts';
import type { SinkPlan } from '../sink/plan.ts';
import { felderaInputConnectorSpec, type InputConnectorSpec, isInputConnector } from '../dialects/feldera-input.ts';
import { planConnector } from './connectors.ts';
import { InputFeed, type InputFeedMetrics } from './input-connectors.ts';
import type { SinkDependencies, SinkHandle, SinkMetrics } from '../sink/sink.ts';
import { type IngressChange, type IngressOptions, parseIngress } from './ingress.ts';
import { type PipelineProgram, buildPipelineProgram } from './pipeline-program.ts';
import { scrub, secretStrings } from './secrets.ts';
import type { AttachedConnector, StoredConnector } from './store.ts';

/** The most rows of an ingress body added to a table at once; each slice waits for room in its sinks' queues. */
const INGRESS_SLICE_ROWS = 1_000;

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

export interface InputConnectorStatus {
  readonly name: string;
  readonly connector_name: string;
  readonly relation_name: string;
  readonly transport: 'kafka_input' | 'file_input';
  readonly state: string;
  readonly metrics: InputFeedMetrics;
  readonly errors: readonly PipelineError[];
}

/** What ingress accepted, in order, as it was sent: replayed through the same parser on a start. */
export interface IngressEntry {
  readonly table: string;
  readonly options: IngressOptions;
  readonly body: string;
}

export interface IngressJournal {
  entries(): Iterable<IngressEntry>;
  append(entry: IngressEntry): void;
}

export interface PipelineDefinition {
  readonly name: string;
  readonly program: string;
  readonly attached: readonly AttachedConnector[];
  /** The ingress journal's incarnation, part of an exactly-once connector's identity. */
  readonly incarnation?: string;
}

export type ConnectorLookup = (name: string) => StoredConnector | undefined;

interface Planned {
  readonly program: PipelineProgram;
  readonly inputs: ReadonlyMap<string, InputTable>;
  readonly plans: readonly { readonly attachment: AttachedConnector; readonly plan: SinkPlan; readonly secrets: ReadonlySet<string> }[];
  readonly feeds: readonly { readonly attachment: AttachedConnector; readonly spec: InputConnectorSpec; readonly secrets: ReadonlySet<string> }[];
  readonly warnings: readonly string[];
}

const MAX_ERRORS = 50;

/**
 * Checks the whole pipeline — program, attachments, every sink plan and input connector —
 * connecting to nothing; with `open`, the program's sources are opened (to run it).
 */
export async function planPipeline(definition: PipelineDefinition, connectors: ConnectorLookup, options: { open?: boolean } = {}): Promise<Planned> {
  const fedByInputConnectors = new Set(definition.attached.filter((attachment) => attachment.is_input).map((attachment) => attachment.relation_name));
  const program = await buildPipelineProgram(definition.name, definition.program, { ...options, fedByInputConnectors });
  try {
    const names = new Set<string>();
    const plans: Planned['plans'][number][] = [];
    const feeds: Planned['feeds'][number][] = [];
    definition.attached.forEach((attachment, index) => {
      const field = `attached_connectors.${index}`;
      const fail = (message: string, at: string, hint?: string) =>
        new SpillwayError(ErrorCode.InvalidConfig, `pipeline "${definition.name}": ${field}.${at}: ${message}${hint === undefined ? '' : `; ${hint}`}`, { details: { field: `${field}.${at}`, ...(hint === undefined ? {} : { hint }) } });
      if (names.has(attachment.name)) throw fail(`the name "${attachment.name}" is attached twice`, 'name', 'give each attachment its own name');
      names.add(attachment.name);
      const connector = connectors(attachment.connector_name);
      if (connector === undefined) throw fail(`no connector "${attachment.connector_name}"`, 'connector_name', 'create it first with PUT /v0/connectors/{name}');
      const input = isInputConnector({ config: connector.config });
      if (attachment.is_input !== input) {
        throw fail(`the connector "${attachment.connector_name}" is an ${input ? 'input' : 'output'} connector`, 'is_input', `set is_input to ${String(input)}, or attach a${input ? 'n output' : 'n input'} connector`);
      }
      if (input) {
        if (!program.inputs.has(attachment.relation_name)) {
          const why = program.relations.has(attachment.relation_name) ? `"${attachment.relation_name}" is ${program.sources.has(attachment.relation_name) ? 'a table with its own connector (WITH …)' : 'a view'}` : `the program has no table "${attachment.relation_name}"`;
          throw fail(`an input connector feeds a table declared without WITH (…); ${why}`, 'relation_name', `name one of: ${[...program.inputs.keys()].join(', ') || 'none'}`);
        }
        feeds.push({ attachment, spec: felderaInputConnectorSpec(attachment.connector_name, { config: connector.config }), secrets: secretStrings(connector.config) });
        return;
      }
      const relation = program.relations.get(attachment.relation_name);
      if (relation === undefined) {
        throw fail(`the program has no table or view "${attachment.relation_name}"`, 'relation_name', `name one of: ${[...program.relations.keys()].join(', ')}`);
      }
      // An exactly-once connector's name is its identity (transactional id, committed progress):
      // it names the journal's incarnation too, so a new program's tables never inherit old progress.
      const exactlyOnce = (connector.config as { transport?: { config?: { fault_tolerance?: unknown } } } | null)?.transport?.config?.fault_tolerance != null;
      const sinkName = `${definition.name}.${attachment.name}${exactlyOnce && definition.incarnation !== undefined ? `.${definition.incarnation}` : ''}`;
      const plan = planConnector(relation, sinkName, attachment.connector_name, connector.config);
      plans.push({ attachment, plan, secrets: secretStrings(connector.config) });
    });
    const sourceWarnings = [...program.sources].flatMap(([name, table]) => ((table as { warnings?: readonly string[] }).warnings ?? []).map((warning) => `table "${name}": ${warning}`));
    // An opened Kafka table repeats the property warnings the program's check gave: each is said once.
    const warnings = [...new Set([...program.warnings, ...sourceWarnings, ...plans.flatMap(({ plan }) => plan.warnings)])];
    return { program, inputs: program.inputs, plans, feeds, warnings };
  } catch (error) {
    await program.close();
    throw error;
  }
}

export class PipelineRuntime {
  readonly name: string;
  #state: PipelineState = PipelineState.Shutdown;
  #program: PipelineProgram | undefined;
  #inputs: ReadonlyMap<string, InputTable> = new Map();
  #sinks: { attachment: AttachedConnector; sink: SinkHandle }[] = [];
  #feeds: { attachment: AttachedConnector; feed: InputFeed }[] = [];
  readonly #errors: PipelineError[] = [];
  #warnings: readonly string[] = [];
  #starting: Promise<void> | undefined;
  readonly #dependencies: Partial<SinkDependencies>;
  readonly #onError: (error: PipelineError) => void;
  readonly #journal: IngressJournal | undefined;

  constructor(name: string, options: { dependencies?: Partial<SinkDependencies>; onError?: (error: PipelineError) => void; journal?: IngressJournal } = {}) {
    this.name = name;
    this.#dependencies = options.dependencies ?? {};
    this.#onError = options.onError ?? (() => {});
    this.#journal = options.journal;
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
    let planned: Planned | undefined;
    try {
      planned = await planPipeline(definition, connectors, { open: true });
      // The whole journal is checked before any sink opens, so a start that cannot replay writes nothing.
      await this.#replay(planned.inputs, 'check');
    } catch (error) {
      // A pipeline that cannot be planned stays as it was; the caller gets the error.
      await planned?.program.close();
      this.#record(asSpillwayError(error).message);
      throw error;
    }
    const { program, inputs, plans, feeds, warnings } = planned;
    this.#program = program;
    this.#inputs = inputs;
    this.#warnings = warnings;
    const fail = () => {
      if (this.#state === PipelineState.Running) this.#transition(PipelineState.Failed);
    };
    this.#sinks = plans.map(({ attachment, plan, secrets }) => {
      const sink = openPlan(plan, {
        ...this.#dependencies,
        onError: (error) => {
          this.#record(scrub(error.message, secrets), attachment.name);
          fail();
        },
      });
      sink.done.catch(() => {});
      return { attachment, sink };
    });
    await this.#replayInto(inputs);
    this.#feeds = feeds.map(({ attachment, spec, secrets }) => {
      const table = attachment.relation_name;
      const input = inputs.get(table) as InputTable;
      const feed = new InputFeed(spec, table, input, {
        apply: (changes) => this.#apply(table, input, changes),
        onBadMessage: (message) => this.#record(scrub(message, secrets), attachment.name),
        onFailure: (message) => {
          this.#record(scrub(message, secrets), attachment.name);
          fail();
        },
      });
      return { attachment, feed };
    });
    this.#transition(PipelineState.Running);
    // A sink that failed while the journal was replayed has recorded why; the pipeline has failed.
    if (this.#sinks.some(({ sink }) => sink.state === 'failed')) this.#transition(PipelineState.Failed);
  }

  /**
   * Applies the journal once the sinks are open, so each sink sees the kept edits at the
   * positions they first had: an exactly-once sink skips what it committed before and writes the
   * rest; another writes them all (its topic then folds to the same view).
   */
  async #replayInto(inputs: ReadonlyMap<string, InputTable>): Promise<void> {
    try {
      await this.#replay(inputs, 'apply');
    } catch (error) {
      // Checked whole before the sinks opened; what fails now is the sinks' to report.
      this.#record(asSpillwayError(error).message);
    }
  }

  /** Reads what ingress accepted before, in order, through the parser it came in by: checking it, or applying it. */
  async #replay(inputs: ReadonlyMap<string, InputTable>, step: 'check' | 'apply'): Promise<void> {
    if (this.#journal === undefined) return;
    let index = 0;
    for (const entry of this.#journal.entries()) {
      index++;
      const input = inputs.get(entry.table);
      try {
        if (input === undefined) throw new SpillwayError(ErrorCode.InvalidState, `the program has no input table "${entry.table}"`);
        const changes = parseIngress(entry.table, input.schema, entry.body, entry.options);
        if (step === 'check') this.#check(entry.table, input, changes);
        else await this.#apply(entry.table, input, changes);
      } catch (error) {
        throw new SpillwayError(ErrorCode.InvalidState, `pipeline "${this.name}": the kept ingress ${index} into "${entry.table}" cannot be replayed: ${asSpillwayError(error).message}`, { cause: error });
      }
    }
  }

  async shutdown(): Promise<void> {
    await this.#starting?.catch(() => {});
    if (this.#state === PipelineState.Shutdown) return;
    await this.#stopAll();
    this.#transition(PipelineState.Shutdown);
  }

  /** Stops the input connectors, ends the tables and sources, and stops every sink, writing what is queued; a failed sink's error is already recorded. */
  async #stopAll(): Promise<void> {
    await Promise.allSettled(this.#feeds.map(({ feed }) => feed.close()));
    await this.#program?.close();
    const sinks = this.#sinks;
    const results = await Promise.allSettled(sinks.map(({ sink }) => sink.stop()));
    results.forEach((result, index) => {
      const attachment = sinks[index]?.attachment;
      if (result.status === 'rejected' && sinks[index]?.sink.state !== 'failed') this.#record(asSpillwayError(result.reason).message, attachment?.name);
    });
    this.#program = undefined;
    this.#inputs = new Map();
    this.#sinks = [];
    this.#feeds = [];
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

  /** Applies changes in order (checked whole first), as ingress sends them. */
  async ingest(table: string, changes: readonly IngressChange[]): Promise<number> {
    const input = this.inputTable(table);
    await this.#apply(table, input, changes);
    return changes.length;
  }

  /**
   * Reads an ingress body into changes and applies them; what is accepted is kept in the journal
   * before it is applied, so a restart replays it.
   */
  async ingestBody(table: string, body: string, options: IngressOptions): Promise<number> {
    const input = this.inputTable(table);
    const changes = parseIngress(table, input.schema, body, options);
    this.#check(table, input, changes);
    this.#journal?.append({ table, options, body });
    await this.#apply(table, input, changes, 'checked');
    return changes.length;
  }

  /** Every change is checked before any is applied, so a bad body changes nothing. */
  #check(table: string, input: InputTable, changes: readonly IngressChange[]): void {
    if (changes.some((change) => change.kind === 'delete') && input.schema.primaryKey === undefined) {
      throw new SpillwayError(ErrorCode.InvalidConfig, `the table "${table}" has no primary key, so rows cannot be deleted from it; declare PRIMARY KEY (…) NOT ENFORCED in the program`, { details: { field: 'table' } });
    }
    const keyColumns = input.schema.columns.filter((column) => input.schema.primaryKey?.includes(column.name) === true);
    changes.forEach((change, index) => {
      const where = `ingress into "${table}": value ${index + 1}`;
      if (change.kind === 'insert') normalizeRow(input.schema, change.row, where);
      else normalizeRow({ columns: keyColumns }, Object.fromEntries(keyColumns.map((column) => [column.name, change.row[column.name]])), where);
    });
  }

  /**
   * Applies changes in order, consecutive inserts (and deletes) as one batch each; checked whole
   * first unless the caller has just checked them (each check normalizes every row once more).
   */
  async #apply(table: string, input: InputTable, changes: readonly IngressChange[], checked?: 'checked'): Promise<void> {
    if (checked === undefined) this.#check(table, input, changes);
    const runs: { kind: IngressChange['kind']; rows: Record<string, unknown>[] }[] = [];
    for (const change of changes) {
      const last = runs.at(-1);
      if (last?.kind === change.kind) last.rows.push(change.row);
      else runs.push({ kind: change.kind, rows: [change.row] });
    }
    for (const run of runs) {
      // In slices, each waiting for room: a body's rows added at once would pass the sinks'
      // queue bound by a whole body (4 bodies of 10,000 rows in flight: 40,000 changes past it).
      for (let start = 0; start < run.rows.length; start += INGRESS_SLICE_ROWS) {
        await input.whenWritable();
        if (input.ended) return;
        const rows = run.rows.length <= INGRESS_SLICE_ROWS ? run.rows : run.rows.slice(start, start + INGRESS_SLICE_ROWS);
        if (run.kind === 'insert') input.add(rows);
        else input.delete(rows);
      }
    }
  }

  inputConnectors(): InputConnectorStatus[] {
    return this.#feeds.map(({ attachment, feed }) => ({
      name: attachment.name,
      connector_name: attachment.connector_name,
      relation_name: attachment.relation_name,
      transport: feed.spec.transport === 'kafka' ? 'kafka_input' : 'file_input',
      state: feed.state,
      metrics: feed.metrics,
      errors: this.#errors.filter((error) => error.connector === attachment.name),
    }));
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
