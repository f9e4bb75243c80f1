/**
 * The REST connector service, in Feldera's v0 shape, on Fastify: connectors, pipelines with HTTP
 * ingress, API keys, the OpenAPI document, a status page and Prometheus metrics. Every route but
 * `/healthz` and the status page shell (`GET /`, which holds no data) need `Authorization: Bearer <API key>`; read keys may only read. State lives in
 * SQLite in the data directory, and pipelines that were running start again with the service.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ErrorCode, SpillwayError, asSpillwayError, zodIssuesError } from '../errors.ts';
import type { SinkDependencies } from '../sink/sink.ts';
import { ApiKeyRole, generateApiKey, hashApiKey } from './api-keys.ts';
import { validateConnector } from './connectors.ts';
import { serviceMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import { type PipelineError, PipelineRuntime, planPipeline } from './pipeline-runtime.ts';
import { NAME_PATTERN, apiKeyBodySchema, pipelineBodySchema } from './schemas.ts';
import { redactJson, scrub, secretStrings } from './secrets.ts';
import { statusPage } from './status-page.ts';
import { DesiredState, ServiceStore, type StoredApiKey, type StoredConnector, type StoredPipeline } from './store.ts';

export interface ServiceOptions {
  readonly dataDir: string;
  /** Largest request body in bytes (JSON and ingress); default 1 MiB. */
  readonly bodyLimit?: number;
  /** How sinks reach Kafka (the Kafka client by default). */
  readonly dependencies?: Partial<SinkDependencies>;
  /** Service events (never secrets); default: stderr. */
  readonly log?: (line: string) => void;
}

export interface Service {
  readonly app: FastifyInstance;
  readonly store: ServiceStore;
  /** Starts the pipelines that were running, then listens; resolves with the URL. */
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

/** An HTTP error that is not a SpillwayError: the request itself (auth, route, size) is at fault. */
class HttpError extends Error {
  readonly status: number;
  readonly errorCode: string;
  readonly details: Record<string, unknown>;
  constructor(status: number, errorCode: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
    this.details = details;
  }
}

const STATUS_OF: Readonly<Record<string, number>> = {
  [ErrorCode.InvalidConfig]: 400,
  [ErrorCode.UnknownColumn]: 400,
  [ErrorCode.InvalidValue]: 400,
  [ErrorCode.EncodeFailed]: 400,
  [ErrorCode.IncompatibleMode]: 400,
  [ErrorCode.InvalidState]: 409,
  [ErrorCode.BrokerUnreachable]: 503,
  [ErrorCode.DeliveryFailed]: 502,
};

const RECENT_ERRORS = 50;
const EVENTS_PER_PIPELINE_FIELD = 'errors';

function errorBody(code: string, message: string, details: Record<string, unknown>) {
  return { error_code: code, message, details };
}

/** Feldera's error codes for unknown names, so its clients can tell them apart. */
const UNKNOWN_CODES: Readonly<Record<string, string>> = { connector: 'UnknownConnectorName', pipeline: 'UnknownPipelineName', 'API key': 'UnknownApiKey' };

function notFound(kind: string, name: string): HttpError {
  return new HttpError(404, UNKNOWN_CODES[kind] ?? 'NOT_FOUND', `no ${kind} "${name}"`, { name });
}

function checkName(kind: string, name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new HttpError(400, 'INVALID_NAME', `the ${kind} name "${name.slice(0, 100)}" is not valid; use 1–100 letters, digits, "_", "." or "-", starting with a letter or digit`, { field: 'name' });
  }
  return name;
}

function connectorDescriptor(connector: StoredConnector) {
  return { name: connector.name, description: connector.description, config: redactJson(connector.config), created_at: connector.createdAt, updated_at: connector.updatedAt };
}

function apiKeyDescriptor(key: StoredApiKey) {
  return { id: key.id, name: key.name, role: key.role, created_at: key.createdAt };
}

export function createService(options: ServiceOptions): Service {
  const store = new ServiceStore(options.dataDir);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const runtimes = new Map<string, PipelineRuntime>();
  const recentErrors: PipelineError[] = [];
  const allSecrets = () => {
    const secrets = new Set<string>();
    for (const connector of store.listConnectors()) secretStrings(connector.config, secrets);
    return secrets;
  };
  const runtimeOf = (name: string) => {
    let runtime = runtimes.get(name);
    if (runtime === undefined) {
      runtime = new PipelineRuntime(name, {
        ...(options.dependencies === undefined ? {} : { dependencies: options.dependencies }),
        journal: { entries: () => store.ingressEntries(name), append: (entry) => store.appendIngress(name, entry) },
        onError: (error) => {
          recentErrors.push(error);
          if (recentErrors.length > RECENT_ERRORS) recentErrors.shift();
          log(`spillway serve: pipeline "${error.pipeline}"${error.connector === undefined ? '' : ` connector "${error.connector}"`}: ${scrub(error.message, allSecrets())}`);
        },
      });
      runtimes.set(name, runtime);
    }
    return runtime;
  };
  const metrics = serviceMetrics(() => runtimes.values());

  const app = Fastify({ logger: false, bodyLimit });

  app.setErrorHandler((error: unknown, _request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof HttpError) return reply.code(error.status).send(errorBody(error.errorCode, error.message, error.details));
    if (error instanceof SpillwayError) {
      const status = STATUS_OF[error.code] ?? 500;
      return reply.code(status).send(errorBody(error.code, scrub(error.message, allSecrets()), redactJson(error.details) as Record<string, unknown>));
    }
    const fastifyError = error as { statusCode?: number; code?: string; message?: string };
    if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      const code = fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'PAYLOAD_TOO_LARGE' : fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
      const message = code === 'PAYLOAD_TOO_LARGE' ? `the request body is larger than the limit of ${bodyLimit} bytes` : (fastifyError.message ?? 'bad request');
      return reply.code(fastifyError.statusCode).send(errorBody(code, message, code === 'PAYLOAD_TOO_LARGE' ? { limit: bodyLimit } : {}));
    }
    const internal = asSpillwayError(error);
    log(`spillway serve: internal error: ${scrub(internal.message, allSecrets())}`);
    return reply.code(500).send(errorBody(ErrorCode.Internal, 'internal error', {}));
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`, {})));

  // Authentication before anything else is read: no key or a wrong key is a 401 and nothing more.
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    // The health check and the status page's shell carry no data; the shell asks for a key and
    // sends it on every data request, which is authenticated here like any other.
    if (path === '/healthz' || (path === '/' && (request.method === 'GET' || request.method === 'HEAD'))) return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S+)$/i.exec(header.trim()) : null;
    const key = match?.[1] === undefined ? undefined : store.authenticate(match[1]);
    if (key === undefined) {
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody('UNAUTHORIZED', 'a valid API key is required: Authorization: Bearer <API key>', {}));
    }
    if (key.role === ApiKeyRole.Read && request.method !== 'GET' && request.method !== 'HEAD') {
      return reply.code(403).send(errorBody('FORBIDDEN', `the API key "${key.name}" is a read key; changes need a write key`, {}));
    }
    return undefined;
  });

  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/v0/openapi.json', () => openApiDocument());
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(statusPage()));

  const pipelineDescriptor = (pipeline: StoredPipeline, detailed: boolean) => {
    const runtime = runtimes.get(pipeline.name);
    return {
      name: pipeline.name,
      description: pipeline.description,
      program: pipeline.program,
      attached_connectors: pipeline.attachedConnectors,
      state: { current_status: runtime?.state ?? 'Shutdown', desired_status: pipeline.desiredState },
      created_at: pipeline.createdAt,
      updated_at: pipeline.updatedAt,
      ...(detailed
        ? {
            tables: runtime?.tables ?? [],
            connectors: (runtime?.connectors() ?? []).map((connector) => ({ ...connector, errors: connector.errors.map((error) => ({ ...error, message: scrub(error.message, allSecrets()) })) })),
            input_connectors: (runtime?.inputConnectors() ?? []).map((connector) => ({ ...connector, errors: connector.errors.map((error) => ({ ...error, message: scrub(error.message, allSecrets()) })) })),
            ingress_kept: store.ingressSize(pipeline.name),
            [EVENTS_PER_PIPELINE_FIELD]: (runtime?.errors ?? []).map((error) => ({ ...error, message: scrub(error.message, allSecrets()) })),
            warnings: runtime?.warnings ?? [],
          }
        : {}),
    };
  };

  app.get('/v0/status', () => ({
    time: new Date().toISOString(),
    pipelines: store.listPipelines().map((pipeline) => pipelineDescriptor(pipeline, true)),
    connectors: store.listConnectors().map((connector) => ({ name: connector.name, description: connector.description })),
    errors: recentErrors.map((error) => ({ ...error, message: scrub(error.message, allSecrets()) })),
  }));

  // Connectors

  app.get('/v0/connectors', () => store.listConnectors().map(connectorDescriptor));
  app.get<{ Params: { name: string } }>('/v0/connectors/:name', (request) => {
    const connector = store.getConnector(checkName('connector', request.params.name));
    if (connector === undefined) throw notFound('connector', request.params.name);
    return connectorDescriptor(connector);
  });
  app.put<{ Params: { name: string } }>('/v0/connectors/:name', async (request, reply) => {
    const name = checkName('connector', request.params.name);
    const body = request.body;
    const warnings = validateConnector(name, body);
    const inUse = store.listPipelines().filter((pipeline) => runtimes.get(pipeline.name)?.state === 'Running' && pipeline.attachedConnectors.some((attached) => attached.connector_name === name));
    if (inUse.length > 0) throw new HttpError(409, 'CONNECTOR_IN_USE', `the connector "${name}" is attached to the running pipeline "${inUse[0]?.name ?? ''}"; shut it down first`, { name });
    const description = (body as { description?: string }).description ?? '';
    const created = store.putConnector(name, description, (body as { config: unknown }).config);
    const stored = store.getConnector(name) as StoredConnector;
    return reply.code(created ? 201 : 200).send({ ...connectorDescriptor(stored), warnings });
  });
  app.delete<{ Params: { name: string } }>('/v0/connectors/:name', (request) => {
    const name = checkName('connector', request.params.name);
    if (store.getConnector(name) === undefined) throw notFound('connector', name);
    const users = store.listPipelines().filter((pipeline) => pipeline.attachedConnectors.some((attached) => attached.connector_name === name));
    if (users.length > 0) throw new HttpError(409, 'CONNECTOR_IN_USE', `the connector "${name}" is attached to the pipeline "${users[0]?.name ?? ''}"; detach it first`, { name });
    store.deleteConnector(name);
    return { name };
  });

  // Pipelines

  app.get('/v0/pipelines', () => store.listPipelines().map((pipeline) => pipelineDescriptor(pipeline, false)));
  app.get<{ Params: { name: string } }>('/v0/pipelines/:name', (request) => {
    const pipeline = store.getPipeline(checkName('pipeline', request.params.name));
    if (pipeline === undefined) throw notFound('pipeline', request.params.name);
    return pipelineDescriptor(pipeline, true);
  });
  app.put<{ Params: { name: string } }>('/v0/pipelines/:name', async (request, reply) => {
    const name = checkName('pipeline', request.params.name);
    const parsed = pipelineBodySchema.safeParse(request.body);
    if (!parsed.success) throw zodIssuesError(parsed.error.issues, { subject: `pipeline "${name}"`, root: 'body', sink: name });
    if (runtimes.get(name)?.state === 'Running') throw new HttpError(409, 'PIPELINE_RUNNING', `the pipeline "${name}" is running; shut it down before changing it`, { name });
    const { program, attached_connectors: attached, description } = parsed.data;
    const planned = await planPipeline({ name, program, attached }, (connector) => store.getConnector(connector));
    // Kept ingress belongs to the program it was pushed to: a new program starts with empty tables.
    if (store.getPipeline(name)?.program !== program) store.clearIngress(name);
    const created = store.putPipeline(name, description ?? '', program, attached);
    return reply.code(created ? 201 : 200).send({ ...pipelineDescriptor(store.getPipeline(name) as StoredPipeline, false), warnings: planned.warnings });
  });
  app.delete<{ Params: { name: string } }>('/v0/pipelines/:name', (request) => {
    const name = checkName('pipeline', request.params.name);
    if (store.getPipeline(name) === undefined) throw notFound('pipeline', name);
    if (runtimes.get(name)?.state === 'Running') throw new HttpError(409, 'PIPELINE_RUNNING', `the pipeline "${name}" is running; shut it down first`, { name });
    store.deletePipeline(name);
    runtimes.delete(name);
    return { name };
  });
  const startPipeline = async (pipeline: StoredPipeline) => {
    const definition = { name: pipeline.name, program: pipeline.program, attached: pipeline.attachedConnectors, incarnation: store.journalIncarnation(pipeline.name) };
    await runtimeOf(pipeline.name).start(definition, (connector) => store.getConnector(connector));
  };
  app.post<{ Params: { name: string } }>('/v0/pipelines/:name/start', async (request) => {
    const pipeline = store.getPipeline(checkName('pipeline', request.params.name));
    if (pipeline === undefined) throw notFound('pipeline', request.params.name);
    await startPipeline(pipeline);
    store.setDesiredState(pipeline.name, DesiredState.Running);
    return pipelineDescriptor(store.getPipeline(pipeline.name) as StoredPipeline, true);
  });
  app.post<{ Params: { name: string } }>('/v0/pipelines/:name/shutdown', async (request) => {
    const pipeline = store.getPipeline(checkName('pipeline', request.params.name));
    if (pipeline === undefined) throw notFound('pipeline', request.params.name);
    store.setDesiredState(pipeline.name, DesiredState.Shutdown);
    await runtimes.get(pipeline.name)?.shutdown();
    return pipelineDescriptor(store.getPipeline(pipeline.name) as StoredPipeline, true);
  });

  // Ingress takes any content type as text (NDJSON, a JSON array, CSV), under the same size limit.
  void app.register((scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
      done(null, body);
    });
    scope.post<{ Params: { name: string; table: string }; Querystring: Record<string, string | undefined> }>('/v0/pipelines/:name/ingress/:table', async (request) => {
      const pipeline = store.getPipeline(checkName('pipeline', request.params.name));
      if (pipeline === undefined) throw notFound('pipeline', request.params.name);
      const known = new Set(['format', 'update_format', 'array']);
      const unknown = Object.keys(request.query).find((key) => !known.has(key));
      if (unknown !== undefined) throw new HttpError(400, 'BAD_REQUEST', `unknown query parameter "${unknown}"; ingress takes format, update_format and array`, { field: unknown });
      const runtime = runtimes.get(pipeline.name);
      if (runtime === undefined) throw new SpillwayError(ErrorCode.InvalidState, `pipeline "${pipeline.name}" is Shutdown; start it with POST /v0/pipelines/${pipeline.name}/start before pushing rows`);
      const body = typeof request.body === 'string' ? request.body : '';
      const { format, update_format: updateFormat, array } = request.query;
      const count = await runtime.ingestBody(request.params.table, body, { format, ...(updateFormat === undefined ? {} : { update_format: updateFormat }), ...(array === undefined ? {} : { array }) });
      return { table: request.params.table, changes: count };
    });
  });

  // API keys

  app.get('/v0/api_keys', () => store.listApiKeys().map(apiKeyDescriptor));
  app.get<{ Params: { name: string } }>('/v0/api_keys/:name', (request) => {
    const key = store.getApiKey(checkName('API key', request.params.name));
    if (key === undefined) throw notFound('API key', request.params.name);
    return apiKeyDescriptor(key);
  });
  app.post('/v0/api_keys', async (request, reply) => {
    const parsed = apiKeyBodySchema.safeParse(request.body);
    if (!parsed.success) throw zodIssuesError(parsed.error.issues, { subject: 'API key', root: 'body' });
    const created = createApiKey(store, parsed.data.name, parsed.data.role);
    return reply.code(201).send({ ...apiKeyDescriptor(created.stored), api_key: created.key });
  });
  app.delete<{ Params: { name: string } }>('/v0/api_keys/:name', (request) => {
    const name = checkName('API key', request.params.name);
    if (!store.deleteApiKey(name)) throw notFound('API key', name);
    return { name };
  });

  let closed = false;
  return {
    app,
    store,
    async listen(port, host) {
      for (const pipeline of store.listPipelines()) {
        if (pipeline.desiredState !== DesiredState.Running) continue;
        try {
          await startPipeline(pipeline);
          log(`spillway serve: pipeline "${pipeline.name}" resumed`);
        } catch (error) {
          log(`spillway serve: pipeline "${pipeline.name}" did not resume: ${scrub(asSpillwayError(error).message, allSecrets())}`);
        }
      }
      return app.listen({ port, host });
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await Promise.allSettled([...runtimes.values()].map((runtime) => runtime.shutdown()));
      store.close();
    },
  };
}

/** Creates a key; the key itself is returned once and only its hash is kept. */
export function createApiKey(store: ServiceStore, name: string, role: ApiKeyRole): { key: string; stored: StoredApiKey } {
  if (!NAME_PATTERN.test(name)) throw new SpillwayError(ErrorCode.InvalidConfig, `the API key name "${name.slice(0, 100)}" is not valid; use 1–100 letters, digits, "_", "." or "-"`, { details: { field: 'name' } });
  if (store.getApiKey(name) !== undefined) throw new HttpError(409, 'DuplicateName', `an API key named "${name}" exists; revoke it first or choose another name`, { name });
  const key = generateApiKey();
  return { key, stored: store.addApiKey(name, hashApiKey(key), role) };
}
