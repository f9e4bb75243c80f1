/**
 * The service's OpenAPI 3.1 document, generated from the same zod schemas the routes validate
 * with (the Feldera output and input connectors, the pipeline and API key bodies) and carrying the sink spec's JSON
 * Schema, which a connector translates into.
 */
import { z } from 'zod';
import { felderaConnectorSchema } from '../dialects/feldera.ts';
import { felderaInputConnectorSchema } from '../dialects/feldera-input.ts';
import { sinkSpecFieldSchema, sinkSpecJsonSchema } from '../sink/spec-json-schema.ts';
import { apiKeyBodySchema, attachedConnectorSchema, errorSchema, pipelineBodySchema } from './schemas.ts';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

/**
 * The Feldera connector body, its transport config described by the sink spec's own fields: the
 * topic as the spec's `topic`, every other key a Kafka property as the spec's `kafka` values.
 */
function connectorSchema(): Json {
  const schema = jsonSchema(felderaConnectorSchema);
  const kafka = sinkSpecFieldSchema('kafka') ?? {};
  const topic = sinkSpecFieldSchema('topic') ?? { type: 'string' };
  const transport = ((schema.properties as Json).config as { properties: { transport: { properties: Json } } }).properties.transport;
  const faultTolerance = (transport.properties.config as { properties?: Json }).properties?.fault_tolerance;
  transport.properties.config = {
    type: 'object',
    description: `The topic, librdkafka properties and fault_tolerance (exactly-once delivery). ${typeof kafka.description === 'string' ? kafka.description : ''}`.trim(),
    properties: { topic, ...(faultTolerance === undefined ? {} : { fault_tolerance: faultTolerance }) },
    required: ['topic'],
    additionalProperties: kafka.additionalProperties ?? { type: ['string', 'number', 'boolean'] },
  };
  return schema;
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });
const errors = (...codes: number[]): Json =>
  Object.fromEntries(codes.map((code) => [String(code), { description: ERROR_TEXT[code] ?? 'Error', content: json(ref('Error')) }]));
const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request; the message and details name the field',
  401: 'No API key, or not a valid one',
  403: 'A read key cannot change anything',
  404: 'No such object',
  409: 'Not in this state (running, in use, exists)',
  413: 'Body larger than the limit',
  415: 'Unsupported content type',
};
const nameParameter = (what: string): Json => ({ name: 'name', in: 'path', required: true, description: `The ${what}'s name`, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$' } });
const ok = (description: string, schema: Json): Json => ({ description, content: json(schema) });

const connectorDescriptor: Json = {
  type: 'object',
  required: ['name', 'description', 'config', 'created_at', 'updated_at'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    config: { type: 'object', description: 'The connector config as given, secrets shown as [redacted]' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    warnings: { type: 'array', items: { type: 'string' } },
  },
};

const pipelineDescriptor: Json = {
  type: 'object',
  required: ['name', 'description', 'program', 'attached_connectors', 'state', 'created_at', 'updated_at'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    program: { type: 'string' },
    attached_connectors: { type: 'array', items: ref('AttachedConnector') },
    state: {
      type: 'object',
      required: ['current_status', 'desired_status'],
      properties: { current_status: { enum: ['Shutdown', 'Running', 'Failed'] }, desired_status: { enum: ['Shutdown', 'Running'] } },
    },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    tables: { type: 'array', items: { type: 'string' } },
    connectors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'connector_name', 'relation_name', 'state', 'metrics', 'errors'],
        properties: {
          name: { type: 'string' },
          connector_name: { type: 'string' },
          relation_name: { type: 'string' },
          topic: { type: 'string' },
          state: { type: 'string' },
          metrics: {
            type: 'object',
            required: ['rows', 'records', 'bytes', 'errors', 'queued', 'dropped', 'triggers'],
            properties: Object.fromEntries(['rows', 'records', 'bytes', 'errors', 'queued', 'dropped', 'triggers'].map((key) => [key, { type: 'integer' }])),
          },
          errors: { type: 'array', items: ref('PipelineError') },
        },
      },
    },
    errors: { type: 'array', items: ref('PipelineError') },
    warnings: { type: 'array', items: { type: 'string' } },
  },
};

const apiKeyDescriptor: Json = {
  type: 'object',
  required: ['id', 'name', 'role', 'created_at'],
  properties: { id: { type: 'integer' }, name: { type: 'string' }, role: { enum: ['read', 'write'] }, created_at: { type: 'string' } },
};

const deleted: Json = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } };

export function openApiDocument(): Json {
  const auth = [{ bearer: [] }];
  return {
    openapi: '3.1.0',
    info: { title: 'Spillway connector service', version: '0', description: 'Kafka output connectors and pipelines, in the shape of Feldera\'s v0 REST API.' },
    security: auth,
    paths: {
      '/healthz': { get: { operationId: 'health', security: [], responses: { 200: ok('The service is up', { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }) } } },
      '/v0/connectors': { get: { operationId: 'listConnectors', responses: { 200: ok('Every connector', { type: 'array', items: ref('ConnectorDescriptor') }), ...errors(401) } } },
      '/v0/connectors/{name}': {
        parameters: [nameParameter('connector')],
        get: { operationId: 'getConnector', responses: { 200: ok('The connector', ref('ConnectorDescriptor')), ...errors(400, 401, 404) } },
        put: {
          operationId: 'putConnector',
          requestBody: { required: true, content: json(ref('Connector')) },
          responses: { 200: ok('Replaced', ref('ConnectorDescriptor')), 201: ok('Created', ref('ConnectorDescriptor')), ...errors(400, 401, 403, 409, 413, 415) },
        },
        delete: { operationId: 'deleteConnector', responses: { 200: ok('Deleted', deleted), ...errors(400, 401, 403, 404, 409) } },
      },
      '/v0/pipelines': { get: { operationId: 'listPipelines', responses: { 200: ok('Every pipeline', { type: 'array', items: ref('PipelineDescriptor') }), ...errors(401) } } },
      '/v0/pipelines/{name}': {
        parameters: [nameParameter('pipeline')],
        get: { operationId: 'getPipeline', responses: { 200: ok('The pipeline, its state, connectors, metrics and errors', ref('PipelineDescriptor')), ...errors(400, 401, 404) } },
        put: {
          operationId: 'putPipeline',
          requestBody: { required: true, content: json(ref('Pipeline')) },
          responses: { 200: ok('Replaced', ref('PipelineDescriptor')), 201: ok('Created', ref('PipelineDescriptor')), ...errors(400, 401, 403, 409, 413, 415) },
        },
        delete: { operationId: 'deletePipeline', responses: { 200: ok('Deleted', deleted), ...errors(400, 401, 403, 404, 409) } },
      },
      '/v0/pipelines/{name}/start': {
        parameters: [nameParameter('pipeline')],
        post: { operationId: 'startPipeline', responses: { 200: ok('Running', ref('PipelineDescriptor')), ...errors(400, 401, 403, 404, 409) } },
      },
      '/v0/pipelines/{name}/shutdown': {
        parameters: [nameParameter('pipeline')],
        post: { operationId: 'shutdownPipeline', responses: { 200: ok('Shut down', ref('PipelineDescriptor')), ...errors(400, 401, 403, 404, 409) } },
      },
      '/v0/pipelines/{name}/ingress/{table}': {
        parameters: [
          nameParameter('pipeline'),
          { name: 'table', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'format', in: 'query', schema: { enum: ['json', 'csv'] } },
          { name: 'update_format', in: 'query', schema: { enum: ['raw', 'insert_delete'] } },
          { name: 'array', in: 'query', schema: { enum: ['true', 'false'] } },
        ],
        post: {
          operationId: 'ingress',
          requestBody: { required: true, content: { 'application/json': { schema: {} }, 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } } },
          responses: {
            200: ok('Applied', { type: 'object', required: ['table', 'changes'], properties: { table: { type: 'string' }, changes: { type: 'integer' } } }),
            ...errors(400, 401, 403, 404, 409, 413),
          },
        },
      },
      '/v0/api_keys': {
        get: { operationId: 'listApiKeys', responses: { 200: ok('Every key (never the key itself)', { type: 'array', items: ref('ApiKeyDescriptor') }), ...errors(401) } },
        post: {
          operationId: 'createApiKey',
          requestBody: { required: true, content: json(ref('ApiKeyRequest')) },
          responses: {
            201: ok('Created; the key is shown this once', { allOf: [ref('ApiKeyDescriptor'), { type: 'object', required: ['api_key'], properties: { api_key: { type: 'string' } } }] }),
            ...errors(400, 401, 403, 409, 413, 415),
          },
        },
      },
      '/v0/api_keys/{name}': {
        parameters: [nameParameter('API key')],
        get: { operationId: 'getApiKey', responses: { 200: ok('The key\'s name and role', ref('ApiKeyDescriptor')), ...errors(400, 401, 404) } },
        delete: { operationId: 'deleteApiKey', responses: { 200: ok('Revoked', deleted), ...errors(400, 401, 403, 404) } },
      },
      '/v0/status': {
        get: {
          operationId: 'status',
          responses: {
            200: ok('What the status page shows: every pipeline in detail, the connectors, the recent errors', {
              type: 'object',
              required: ['time', 'pipelines', 'connectors', 'errors'],
              properties: {
                time: { type: 'string' },
                pipelines: { type: 'array', items: ref('PipelineDescriptor') },
                connectors: { type: 'array', items: { type: 'object', required: ['name', 'description'], properties: { name: { type: 'string' }, description: { type: 'string' } } } },
                errors: { type: 'array', items: ref('PipelineError') },
              },
            }),
            ...errors(401),
          },
        },
      },
      '/v0/openapi.json': { get: { operationId: 'openApi', responses: { 200: ok('This document', { type: 'object' }), ...errors(401) } } },
      '/metrics': { get: { operationId: 'metrics', responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(401) } } },
      '/': { get: { operationId: 'statusPage', responses: { 200: { description: 'The status page', content: { 'text/html': { schema: { type: 'string' } } } }, ...errors(401) } } },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key: apikey:…' } },
      schemas: {
        Connector: { oneOf: [ref('OutputConnector'), ref('InputConnector')] },
        OutputConnector: connectorSchema(),
        InputConnector: jsonSchema(felderaInputConnectorSchema),
        ConnectorDescriptor: connectorDescriptor,
        Pipeline: jsonSchema(pipelineBodySchema),
        AttachedConnector: jsonSchema(attachedConnectorSchema),
        PipelineDescriptor: pipelineDescriptor,
        PipelineError: { type: 'object', required: ['time', 'pipeline', 'message'], properties: { time: { type: 'string' }, pipeline: { type: 'string' }, connector: { type: 'string' }, message: { type: 'string' } } },
        ApiKeyRequest: jsonSchema(apiKeyBodySchema),
        ApiKeyDescriptor: apiKeyDescriptor,
        Error: jsonSchema(errorSchema, 'output'),
        SinkSpec: sinkSpecJsonSchema(),
      },
    },
  };
}
