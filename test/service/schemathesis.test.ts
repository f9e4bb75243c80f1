/**
 * schemathesis (PyPI) against the served OpenAPI document: generated requests on every operation,
 * authorized with a write key, on a service with a running pipeline, find no 5xx, no response outside the documented schema, status
 * codes or content types. Bounded: a few examples per operation, a fixed seed, a time limit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { bootstrapServers, randomTopic } from '../helpers/kafka.ts';
import { createKeyWithCli, startService } from './running-service.ts';
import { SALES_PROGRAM, connectorBody } from './service-helpers.ts';

const BUNDLED = fileURLToPath(new URL('../../.tools/python/bin/schemathesis', import.meta.url));
const SCHEMATHESIS = process.env.SCHEMATHESIS ?? (existsSync(BUNDLED) ? BUNDLED : 'schemathesis');

/** Runs in `cwd` (a temporary directory), where schemathesis keeps its own state. */
function runSchemathesis(args: string[], timeoutMs: number, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(SCHEMATHESIS, args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, output: `${stdout}${stderr}` });
    });
  });
}

describe('schemathesis against /v0/openapi.json', () => {
  it('finds no server error and no response outside the document', { timeout: 240_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-fuzz-'));
    // A name the generated requests will not guess, so DELETE /v0/api_keys/{name} cannot revoke it.
    const key = await createKeyWithCli(dataDir, `fuzz-${randomBytes(8).toString('hex')}`);
    const service = await startService(dataDir);
    try {
      const response = await fetch(`${service.url}/v0/openapi.json`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(response.status, 200);
      // A running pipeline with a connector and rows, so the listings and the status carry every field.
      const topic = randomTopic('fuzz');
      await createTopic([bootstrapServers()], topic, { partitions: 1 });
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const call = async (method: string, path: string, body?: unknown) => {
        const answer = await fetch(`${service.url}${path}`, { method, headers: body === undefined ? { authorization: headers.authorization } : headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
        assert.ok(answer.ok, `${method} ${path}: ${answer.status} ${await answer.text()}`);
      };
      await call('PUT', '/v0/connectors/total-sales', connectorBody(topic, bootstrapServers()));
      await call('PUT', '/v0/pipelines/book-fair', { program: SALES_PROGRAM, attached_connectors: [{ name: 'out', connector_name: 'total-sales', relation_name: 'total_sales', is_input: false }] });
      await call('POST', '/v0/pipelines/book-fair/start');
      await call('POST', '/v0/pipelines/book-fair/ingress/sales?format=json&update_format=raw', '{"id":1,"book":"Dune","amount":3}');
      const document = join(dataDir, 'openapi.json');
      writeFileSync(document, await response.text());
      const { code, output } = await runSchemathesis(
        [
          'run', document, '--url', service.url,
          '-H', `Authorization: Bearer ${key}`,
          '--checks', 'not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance',
          '--max-examples', '20', '--seed', '7', '--phases', 'coverage,fuzzing', '--request-timeout', '10', '--generation-database', 'none',
        ],
        180_000,
        dataDir,
      );
      assert.equal(code, 0, output.slice(-6000));
      assert.match(output, /Tested: 20/);
      assert.match(output, /\d+ generated, \d+ passed/);
      assert.doesNotMatch(output, /\d+ failed/);
      assert.doesNotMatch(service.stderr(), /internal error/);
      const still = await fetch(`${service.url}/v0/connectors`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(still.status, 200, 'the key survived the run');
    } finally {
      await service.stop();
    }
  });
});
