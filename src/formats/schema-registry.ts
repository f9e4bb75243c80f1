/**
 * A small client for the Confluent Schema Registry REST API (also served by Apicurio Registry
 * under `/apis/ccompat/v7`, Karapace and Redpanda): register a schema under a subject, look up
 * the id of a schema already there, fetch a schema by id, set a subject's compatibility level.
 * Ids are cached, so a subject's schema costs one request per process. It speaks HTTP only and
 * never touches Kafka.
 *
 * Like Confluent's clients, `url` may list several registry nodes separated by commas; a node
 * that cannot be reached is skipped for the next one. Credentials in a URL
 * (`http://user:secret@host`) become HTTP basic authentication.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';

/** The compatibility levels a Confluent-compatible registry knows. */
export const CompatibilityLevel = {
  None: 'NONE',
  Backward: 'BACKWARD',
  BackwardTransitive: 'BACKWARD_TRANSITIVE',
  Forward: 'FORWARD',
  ForwardTransitive: 'FORWARD_TRANSITIVE',
  Full: 'FULL',
  FullTransitive: 'FULL_TRANSITIVE',
} as const;
export type CompatibilityLevel = (typeof CompatibilityLevel)[keyof typeof CompatibilityLevel];

export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF';

export interface RegisteredSchema {
  readonly id: number;
  readonly version?: number;
}

export interface SchemaById {
  readonly schema: string;
  readonly schemaType: SchemaType;
}

export interface SchemaRegistryClientOptions {
  /** One base URL, or several separated by commas. */
  readonly url: string;
  /** How long one request may take before the next node is tried (default 10 s). */
  readonly timeoutMs?: number;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

interface RegistryNode {
  /** The base URL without credentials and without a trailing slash, as shown in messages. */
  readonly base: string;
  readonly authorization?: string;
}

function parseNodes(url: string): RegistryNode[] {
  const entries = url
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) {
    throw new SpillwayError(ErrorCode.InvalidConfig, 'the schema registry URL is empty; give one such as http://127.0.0.1:8081');
  }
  return entries.map((entry) => {
    let parsed: URL;
    try {
      parsed = new URL(entry);
    } catch {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `the schema registry URL "${entry}" is not a URL; give one such as http://127.0.0.1:8081`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new SpillwayError(ErrorCode.InvalidConfig, `the schema registry URL "${entry}" must start with http:// or https://`);
    }
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    parsed.username = '';
    parsed.password = '';
    const base = parsed.toString().replace(/\/+$/, '');
    return user === '' ? { base } : { base, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
  });
}

/** The text a registry puts in an error answer: Confluent's `{error_code, message}`, or the raw body. */
function registryMessage(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error_code?: unknown; detail?: unknown };
    const message = typeof parsed.message === 'string' ? parsed.message : typeof parsed.detail === 'string' ? parsed.detail : undefined;
    if (message !== undefined) {
      return `HTTP ${status}${parsed.error_code === undefined ? '' : ` (error_code ${JSON.stringify(parsed.error_code)})`}: ${message}`;
    }
  } catch {
    // not JSON: quote the body as it is
  }
  const text = body.trim();
  return `HTTP ${status}${text === '' ? '' : `: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`}`;
}

/** A registry's refusal, with its HTTP status and Confluent error code kept for callers that branch on them. */
export class SchemaRegistryError extends SpillwayError {
  readonly status: number | undefined;
  readonly registryErrorCode: number | undefined;

  constructor(message: string, details: { status?: number; registryErrorCode?: number; cause?: unknown }) {
    super(ErrorCode.SchemaRegistry, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.registryErrorCode = details.registryErrorCode;
  }
}

export class SchemaRegistryClient {
  readonly url: string;
  readonly #nodes: readonly RegistryNode[];
  readonly #timeoutMs: number;
  /** `subject \0 schema` → id, for register and lookup alike (the same schema has one id under a subject). */
  readonly #idsBySubject = new Map<string, RegisteredSchema>();
  readonly #schemasById = new Map<number, SchemaById>();

  constructor(options: SchemaRegistryClientOptions) {
    this.#nodes = parseNodes(options.url);
    this.url = this.#nodes.map((node) => node.base).join(',');
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Registers `schema` under `subject` (a no-op answering the same id when it is already there). */
  async register(subject: string, schema: string, schemaType: SchemaType = 'AVRO'): Promise<RegisteredSchema> {
    const key = `${subject}\u0000${schema}`;
    const cached = this.#idsBySubject.get(key);
    if (cached !== undefined) return cached;
    const answer = await this.#request<{ id?: unknown }>(
      'POST',
      `/subjects/${encodeURIComponent(subject)}/versions`,
      `registering a schema under subject "${subject}"`,
      { schema, ...(schemaType === 'AVRO' ? {} : { schemaType }) },
    );
    const registered = { id: this.#requireId(answer.id, subject) };
    this.#idsBySubject.set(key, registered);
    this.#schemasById.set(registered.id, { schema, schemaType });
    return registered;
  }

  /** The id and version of `schema` when it is registered under `subject`; fails otherwise. */
  async lookup(subject: string, schema: string, schemaType: SchemaType = 'AVRO'): Promise<RegisteredSchema> {
    const key = `${subject}\u0000${schema}`;
    const cached = this.#idsBySubject.get(key);
    if (cached !== undefined) return cached;
    const answer = await this.#request<{ id?: unknown; version?: unknown }>(
      'POST',
      `/subjects/${encodeURIComponent(subject)}`,
      `looking up the schema under subject "${subject}"`,
      { schema, ...(schemaType === 'AVRO' ? {} : { schemaType }) },
    );
    const found: RegisteredSchema = {
      id: this.#requireId(answer.id, subject),
      ...(typeof answer.version === 'number' ? { version: answer.version } : {}),
    };
    this.#idsBySubject.set(key, found);
    this.#schemasById.set(found.id, { schema, schemaType });
    return found;
  }

  /** The schema text registered with `id`. */
  async schemaById(id: number): Promise<SchemaById> {
    const cached = this.#schemasById.get(id);
    if (cached !== undefined) return cached;
    const answer = await this.#request<{ schema?: unknown; schemaType?: unknown }>('GET', `/schemas/ids/${id}`, `fetching schema id ${id}`);
    if (typeof answer.schema !== 'string') {
      throw new SchemaRegistryError(`fetching schema id ${id} at ${this.url}: the answer has no "schema" text`, {});
    }
    const found: SchemaById = { schema: answer.schema, schemaType: (answer.schemaType as SchemaType | undefined) ?? 'AVRO' };
    this.#schemasById.set(id, found);
    return found;
  }

  /** Sets the compatibility level of one subject (or the registry's default when `subject` is absent). */
  async setCompatibility(level: CompatibilityLevel, subject?: string): Promise<void> {
    const path = subject === undefined ? '/config' : `/config/${encodeURIComponent(subject)}`;
    await this.#request('PUT', path, `setting compatibility ${level}${subject === undefined ? '' : ` on subject "${subject}"`}`, {
      compatibility: level,
    });
  }

  /** The subjects the registry holds. */
  async subjects(): Promise<string[]> {
    const answer = await this.#request<unknown>('GET', '/subjects', 'listing subjects');
    return Array.isArray(answer) ? answer.filter((entry): entry is string => typeof entry === 'string') : [];
  }

  #requireId(id: unknown, subject: string): number {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new SchemaRegistryError(
        `the registry at ${this.url} answered subject "${subject}" without a usable schema id (got ${JSON.stringify(id)})`,
        {},
      );
    }
    return id;
  }

  /** One request, trying each node until one answers; an HTTP error answer is final. */
  async #request<T>(method: 'GET' | 'POST' | 'PUT', path: string, what: string, body?: unknown): Promise<T> {
    const failures: string[] = [];
    let lastCause: unknown;
    for (const node of this.#nodes) {
      const url = `${node.base}${path}`;
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          method,
          headers: {
            accept: `${CONTENT_TYPE}, application/json`,
            ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }),
            ...(node.authorization === undefined ? {} : { authorization: node.authorization }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        text = await response.text();
      } catch (error) {
        lastCause = error;
        const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
        failures.push(`${node.base}: ${cause}`);
        continue;
      }
      if (!response.ok) {
        let registryErrorCode: number | undefined;
        try {
          const parsed = JSON.parse(text) as { error_code?: unknown };
          if (typeof parsed.error_code === 'number') registryErrorCode = parsed.error_code;
        } catch {
          // not JSON
        }
        throw new SchemaRegistryError(`${what} at ${node.base}: the registry answered ${registryMessage(response.status, text)}`, {
          status: response.status,
          ...(registryErrorCode === undefined ? {} : { registryErrorCode }),
        });
      }
      try {
        return (text === '' ? undefined : JSON.parse(text)) as T;
      } catch (error) {
        throw new SchemaRegistryError(`${what} at ${node.base}: the answer is not JSON: ${text.slice(0, 200)}`, { cause: error });
      }
    }
    const tried = this.#nodes.length === 1 ? `at ${this.url} (${failures[0]?.slice(this.url.length + 2) ?? ''})` : `(${failures.join('; ')})`;
    throw new SchemaRegistryError(`${what}: no schema registry answered ${tried}; check the URL and that the registry is running`, {
      cause: lastCause,
    });
  }
}
