/**
 * The service's durable state in SQLite (Node's own `node:sqlite`, no native build), one file in
 * the data directory: connectors, pipelines (with the state they should be in after a restart)
 * API keys (their hashes only), and each pipeline's ingress journal: every body HTTP ingress
 * accepted, in order, replayed into the tables when the pipeline starts again. Connector configs are kept as given, secrets included,
 * because they are needed to connect; the file is readable by its owner only.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type ApiKeyRole, apiKeyMatches } from './api-keys.ts';
import type { IngressEntry } from './pipeline-runtime.ts';

export interface StoredConnector {
  readonly name: string;
  readonly description: string;
  readonly config: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface AttachedConnector {
  readonly name: string;
  readonly connector_name: string;
  readonly relation_name: string;
  readonly is_input: boolean;
}

export const DesiredState = { Running: 'Running', Shutdown: 'Shutdown' } as const;
export type DesiredState = (typeof DesiredState)[keyof typeof DesiredState];

export interface StoredPipeline {
  readonly name: string;
  readonly description: string;
  readonly program: string;
  readonly attachedConnectors: readonly AttachedConnector[];
  readonly desiredState: DesiredState;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface StoredApiKey {
  readonly id: number;
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly createdAt: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS connectors (
  name TEXT PRIMARY KEY, description TEXT NOT NULL, config TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pipelines (
  name TEXT PRIMARY KEY, description TEXT NOT NULL, program TEXT NOT NULL, attached_connectors TEXT NOT NULL,
  desired_state TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ingress (
  id INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, table_name TEXT NOT NULL, options TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ingress_by_pipeline ON ingress (pipeline, id);
CREATE TABLE IF NOT EXISTS journals (pipeline TEXT PRIMARY KEY, incarnation TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ingress_totals (pipeline TEXT PRIMARY KEY, bodies INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS ingress_added AFTER INSERT ON ingress BEGIN
  INSERT INTO ingress_totals (pipeline, bodies, bytes) VALUES (NEW.pipeline, 1, LENGTH(CAST(NEW.body AS BLOB)))
    ON CONFLICT (pipeline) DO UPDATE SET bodies = bodies + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS ingress_removed AFTER DELETE ON ingress BEGIN
  UPDATE ingress_totals SET bodies = bodies - 1, bytes = bytes - LENGTH(CAST(OLD.body AS BLOB)) WHERE pipeline = OLD.pipeline;
END;
CREATE TABLE IF NOT EXISTS api_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, hash BLOB NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL);
`;

type SqlRow = Record<string, unknown>;

export class ServiceStore {
  readonly path: string;
  readonly #db: DatabaseSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.path = join(dataDir, 'spillway.sqlite');
    this.#db = new DatabaseSync(this.path);
    chmodSync(this.path, 0o600);
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;');
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const counted = this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ingress_totals'").get() !== undefined;
      this.#db.exec(SCHEMA);
      // A store made before the totals were kept counts its bodies once, here; triggers keep the
      // totals from then on, so reading them costs nothing however much is kept.
      if (!counted) {
        this.#db.exec('INSERT INTO ingress_totals (pipeline, bodies, bytes) SELECT pipeline, COUNT(*), SUM(LENGTH(CAST(body AS BLOB))) FROM ingress GROUP BY pipeline');
      }
      this.#db.exec('COMMIT');
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  close(): void {
    this.#db.close();
  }

  // Connectors

  listConnectors(): StoredConnector[] {
    return this.#db.prepare('SELECT * FROM connectors ORDER BY name').all().map(connectorOf);
  }

  getConnector(name: string): StoredConnector | undefined {
    const row = this.#db.prepare('SELECT * FROM connectors WHERE name = ?').get(name);
    return row === undefined ? undefined : connectorOf(row);
  }

  /** Creates or replaces; true when it was created. */
  putConnector(name: string, description: string, config: unknown): boolean {
    const now = new Date().toISOString();
    const existed = this.getConnector(name) !== undefined;
    this.#db
      .prepare('INSERT INTO connectors (name, description, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET description = excluded.description, config = excluded.config, updated_at = excluded.updated_at')
      .run(name, description, JSON.stringify(config), now, now);
    return !existed;
  }

  deleteConnector(name: string): boolean {
    return Number(this.#db.prepare('DELETE FROM connectors WHERE name = ?').run(name).changes) > 0;
  }

  // Pipelines

  listPipelines(): StoredPipeline[] {
    return this.#db.prepare('SELECT * FROM pipelines ORDER BY name').all().map(pipelineOf);
  }

  getPipeline(name: string): StoredPipeline | undefined {
    const row = this.#db.prepare('SELECT * FROM pipelines WHERE name = ?').get(name);
    return row === undefined ? undefined : pipelineOf(row);
  }

  putPipeline(name: string, description: string, program: string, attached: readonly AttachedConnector[]): boolean {
    const now = new Date().toISOString();
    const existed = this.getPipeline(name) !== undefined;
    this.#db
      .prepare(
        'INSERT INTO pipelines (name, description, program, attached_connectors, desired_state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET description = excluded.description, program = excluded.program, attached_connectors = excluded.attached_connectors, updated_at = excluded.updated_at',
      )
      .run(name, description, program, JSON.stringify(attached), DesiredState.Shutdown, now, now);
    return !existed;
  }

  setDesiredState(name: string, state: DesiredState): void {
    this.#db.prepare('UPDATE pipelines SET desired_state = ?, updated_at = ? WHERE name = ?').run(state, new Date().toISOString(), name);
  }

  deletePipeline(name: string): boolean {
    this.clearIngress(name);
    return Number(this.#db.prepare('DELETE FROM pipelines WHERE name = ?').run(name).changes) > 0;
  }

  // Ingress journal

  appendIngress(pipeline: string, entry: IngressEntry): void {
    this.#db.prepare('INSERT INTO ingress (pipeline, table_name, options, body, created_at) VALUES (?, ?, ?, ?, ?)').run(pipeline, entry.table, JSON.stringify(entry.options), entry.body, new Date().toISOString());
  }

  /** The pipeline's kept ingress in the order it was accepted, read a row at a time. */
  *ingressEntries(pipeline: string): Generator<IngressEntry> {
    for (const row of this.#db.prepare('SELECT table_name, options, body FROM ingress WHERE pipeline = ? ORDER BY id').iterate(pipeline)) {
      yield { table: row.table_name as string, options: JSON.parse(row.options as string) as IngressEntry['options'], body: row.body as string };
    }
  }

  /** How many ingress bodies and bytes are kept for the pipeline. */
  ingressSize(pipeline: string): { bodies: number; bytes: number } {
    const row = this.#db.prepare('SELECT bodies, bytes FROM ingress_totals WHERE pipeline = ?').get(pipeline);
    return { bodies: Number(row?.bodies ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  /**
   * The journal's incarnation: a random id that lasts until the journal is cleared. Positions in
   * the pipeline's tables count from the journal's start, so an exactly-once connector's identity
   * (whose committed progress is such a position) carries it, and a cleared journal starts afresh.
   */
  journalIncarnation(pipeline: string): string {
    const row = this.#db.prepare('SELECT incarnation FROM journals WHERE pipeline = ?').get(pipeline);
    if (row !== undefined) return row.incarnation as string;
    const incarnation = randomBytes(6).toString('hex');
    this.#db.prepare('INSERT INTO journals (pipeline, incarnation) VALUES (?, ?)').run(pipeline, incarnation);
    return incarnation;
  }

  clearIngress(pipeline: string): void {
    this.#db.prepare('DELETE FROM ingress WHERE pipeline = ?').run(pipeline);
    this.#db.prepare('DELETE FROM journals WHERE pipeline = ?').run(pipeline);
  }

  // API keys

  listApiKeys(): StoredApiKey[] {
    return this.#db.prepare('SELECT id, name, role, created_at FROM api_keys ORDER BY id').all().map(apiKeyOf);
  }

  getApiKey(name: string): StoredApiKey | undefined {
    const row = this.#db.prepare('SELECT id, name, role, created_at FROM api_keys WHERE name = ?').get(name);
    return row === undefined ? undefined : apiKeyOf(row);
  }

  addApiKey(name: string, hash: Uint8Array, role: ApiKeyRole): StoredApiKey {
    this.#db.prepare('INSERT INTO api_keys (name, hash, role, created_at) VALUES (?, ?, ?, ?)').run(name, hash, role, new Date().toISOString());
    return this.getApiKey(name) as StoredApiKey;
  }

  deleteApiKey(name: string): boolean {
    return Number(this.#db.prepare('DELETE FROM api_keys WHERE name = ?').run(name).changes) > 0;
  }

  /** The key the presented text is, checked against every stored hash (each in constant time). */
  authenticate(key: string): StoredApiKey | undefined {
    let found: StoredApiKey | undefined;
    for (const row of this.#db.prepare('SELECT id, name, role, created_at, hash FROM api_keys').all()) {
      // Every hash is compared, so the time taken does not tell which key nearly matched.
      if (apiKeyMatches(key, row.hash as Uint8Array) && found === undefined) found = apiKeyOf(row);
    }
    return found;
  }
}

function connectorOf(row: SqlRow): StoredConnector {
  return {
    name: row.name as string,
    description: row.description as string,
    config: JSON.parse(row.config as string) as unknown,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
  };
}

function pipelineOf(row: SqlRow): StoredPipeline {
  return {
    name: row.name as string,
    description: row.description as string,
    program: row.program as string,
    attachedConnectors: JSON.parse(row.attached_connectors as string) as AttachedConnector[],
    desiredState: row.desired_state as DesiredState,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
  };
}

function apiKeyOf(row: SqlRow): StoredApiKey {
  return { id: Number(row.id), name: row.name as string, role: row.role as ApiKeyRole, createdAt: row.created_at as string };
}
