/**
 * The REST bodies as zod schemas, the one source of the service's validation and of its OpenAPI
 * document (with the Feldera connector schema and the sink spec's JSON Schema).
 */
import { z } from 'zod';

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export const attachedConnectorSchema = z
  .object({
    name: z.string().min(1).describe('The attachment\'s name within the pipeline.'),
    connector_name: z.string().min(1).describe('A connector created with PUT /v0/connectors/{name}.'),
    relation_name: z.string().min(1).describe('Output: the table or view whose changes the connector writes; input: the table (declared without WITH) it feeds.'),
    is_input: z.boolean().describe('true for an input connector (kafka_input, file_input), false for an output connector.'),
  })
  .strict();

export const pipelineBodySchema = z
  .object({
    description: z.string().optional(),
    program: z.string().min(1).describe('SQL: CREATE TABLE (without WITH: fed over ingress and input connectors; WITH a connector: its source) and CREATE VIEW statements.'),
    attached_connectors: z.array(attachedConnectorSchema).default([]),
  })
  .strict();

export const apiKeyBodySchema = z
  .object({
    name: z.string().regex(NAME_PATTERN).describe('A unique name for the key.'),
    role: z.enum(['read', 'write']).default('write').describe('read: GET only; write: every route.'),
  })
  .strict();

export const errorSchema = z.object({
  error_code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
});
