/**
 * API keys and authorization: Bearer on every route but /healthz; no key or a wrong key is a 401
 * with nothing else; read keys get 403 on changes; keys created over REST and by the CLI, shown
 * once, stored as hashes, revoked; the same data directory for both.
 */
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { ErrorCode } from '../../src/errors.ts';
import { main } from '../../src/cli/main.ts';
import { type TestService, connectorBody, testService } from './service-helpers.ts';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0);
  process.stderr.write = ((chunk: string) => err.push(String(chunk)) > 0);
  try {
    const code = await main(['node', 'spillway', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    process.exitCode = undefined;
  }
}

describe('REST authorization and API keys', () => {
  const t: TestService = testService();
  after(() => t.service.close());
  const inject = t.service.app.inject.bind(t.service.app);
  const routes: [string, string][] = [
    ['GET', '/metrics'],
    ['POST', '/'],
    ['GET', '/v0/openapi.json'],
    ['GET', '/v0/status'],
    ['GET', '/v0/connectors'],
    ['PUT', '/v0/connectors/x'],
    ['DELETE', '/v0/connectors/x'],
    ['GET', '/v0/pipelines'],
    ['POST', '/v0/pipelines/p/start'],
    ['POST', '/v0/pipelines/p/ingress/t'],
    ['GET', '/v0/api_keys'],
    ['POST', '/v0/api_keys'],
    ['GET', '/v0/no-such-route'],
  ];

  it('answers 401 and nothing else without a key, with a wrong key, or with another scheme', async () => {
    for (const headers of [{}, { authorization: 'Bearer apikey:wrong' }, { authorization: t.write.authorization.replace('Bearer', 'Basic') }, { authorization: `${t.write.authorization}x` }]) {
      for (const [method, url] of routes) {
        const response = await inject({ method: method as 'GET', url, headers });
        assert.equal(response.statusCode, 401, `${method} ${url}`);
        assert.deepEqual(response.json(), { error_code: 'UNAUTHORIZED', message: 'a valid API key is required: Authorization: Bearer <API key>', details: {} });
        assert.equal(response.headers['www-authenticate'], 'Bearer');
      }
    }
  });

  it('answers the health check without a key', async () => {
    const response = await inject({ method: 'GET', url: '/healthz' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { status: 'ok' });
  });

  it('serves the status page shell without a key, holding no data', async () => {
    await inject({ method: 'PUT', url: '/v0/connectors/shell-secret-name', headers: t.write, payload: connectorBody('shell-topic') });
    const response = await inject({ method: 'GET', url: '/' });
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] as string, /^text\/html/);
    assert.match(response.body, /<form id="login"/);
    assert.doesNotMatch(response.body, /shell-secret-name|shell-topic/);
    await inject({ method: 'DELETE', url: '/v0/connectors/shell-secret-name', headers: t.write });
  });

  it('lets read keys read and refuses them every change with 403', async () => {
    assert.equal((await inject({ method: 'GET', url: '/v0/connectors', headers: t.read })).statusCode, 200);
    for (const [method, url] of routes.filter(([method]) => method !== 'GET')) {
      const response = await inject({ method: method as 'PUT', url, headers: t.read, payload: connectorBody('t') });
      assert.equal(response.statusCode, 403, `${method} ${url}`);
      assert.equal(response.json<{ error_code: string }>().error_code, 'FORBIDDEN');
      assert.match(response.json<{ message: string }>().message, /is a read key; changes need a write key/);
    }
    assert.equal((await inject({ method: 'GET', url: '/v0/connectors/x', headers: t.read })).statusCode, 404);
  });

  it('creates a key over REST, shows it once, keeps only its hash, and revokes it', async () => {
    const created = await inject({ method: 'POST', url: '/v0/api_keys', headers: t.write, payload: { name: 'ci', role: 'read' } });
    assert.equal(created.statusCode, 201, created.body);
    const { api_key: key, name, role } = created.json<{ api_key: string; name: string; role: string }>();
    assert.match(key, /^apikey:[A-Za-z0-9_-]{43}$/);
    assert.deepEqual([name, role], ['ci', 'read']);
    const list = await inject({ method: 'GET', url: '/v0/api_keys', headers: t.read });
    assert.ok(list.json<{ name: string }[]>().some((entry) => entry.name === 'ci'));
    assert.ok(!list.body.includes(key));
    const got = await inject({ method: 'GET', url: '/v0/api_keys/ci', headers: t.read });
    assert.ok(!got.body.includes(key) && !('api_key' in got.json<object>()));
    const db = new DatabaseSync(t.service.store.path, { readOnly: true });
    const dump = JSON.stringify(db.prepare('SELECT * FROM api_keys').all(), (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : value));
    db.close();
    assert.ok(!dump.includes(key) && !dump.includes(key.slice('apikey:'.length)));
    assert.equal((await inject({ method: 'GET', url: '/v0/connectors', headers: { authorization: `Bearer ${key}` } })).statusCode, 200);
    const duplicate = await inject({ method: 'POST', url: '/v0/api_keys', headers: t.write, payload: { name: 'ci' } });
    assert.equal(duplicate.statusCode, 409);
    assert.equal(duplicate.json<{ error_code: string }>().error_code, 'DuplicateName');
    const badRole = await inject({ method: 'POST', url: '/v0/api_keys', headers: t.write, payload: { name: 'x', role: 'admin' } });
    assert.equal(badRole.statusCode, 400);
    assert.match(badRole.json<{ message: string }>().message, /role/);
    assert.equal((await inject({ method: 'DELETE', url: '/v0/api_keys/ci', headers: t.write })).statusCode, 200);
    assert.equal((await inject({ method: 'GET', url: '/v0/connectors', headers: { authorization: `Bearer ${key}` } })).statusCode, 401);
    const gone = await inject({ method: 'DELETE', url: '/v0/api_keys/ci', headers: t.write });
    assert.equal(gone.statusCode, 404);
    assert.deepEqual(gone.json(), { error_code: 'UnknownApiKey', message: 'no API key "ci"', details: { name: 'ci' } });
  });

  it('creates, lists and revokes keys with the CLI, in the same data directory', async () => {
    const created = await cli(['api-key', 'create', 'ops', '--role', 'write', '--data-dir', t.dataDir]);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(key, /^apikey:/);
    assert.match(created.stderr, /API key "ops" \(write\) created; it is shown only now/);
    assert.equal((await inject({ method: 'PUT', url: '/v0/connectors/by-cli', headers: { authorization: `Bearer ${key}` }, payload: connectorBody('t') })).statusCode, 201);
    const listed = await cli(['api-key', 'list', '--data-dir', t.dataDir]);
    assert.match(listed.stdout, /^ops\twrite\t/m);
    assert.ok(!listed.stdout.includes(key));
    const badRole = await cli(['api-key', 'create', 'x', '--role', 'owner', '--data-dir', t.dataDir]);
    assert.equal(badRole.code, exitCodeFor(ErrorCode.InvalidConfig));
    assert.match(badRole.stderr, /--role is read or write, not "owner"/);
    const revoked = await cli(['api-key', 'revoke', 'ops', '--data-dir', t.dataDir]);
    assert.equal(revoked.code, 0);
    assert.equal((await inject({ method: 'GET', url: '/v0/connectors', headers: { authorization: `Bearer ${key}` } })).statusCode, 401);
    const again = await cli(['api-key', 'revoke', 'ops', '--data-dir', t.dataDir]);
    assert.equal(again.code, exitCodeFor(ErrorCode.InvalidConfig));
    assert.match(again.stderr, /no API key named "ops"; see spillway api-key list/);
  });
});
