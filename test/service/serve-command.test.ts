/**
 * `spillway serve` flags: each has its effect (the port, the data directory, the body limit, the
 * first-run hint), and a bad value is refused with what to give instead.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { ErrorCode } from '../../src/errors.ts';
import { promisify } from 'node:util';
import { CLI, createKeyWithCli, startService } from './running-service.ts';

const run = promisify(execFile);

async function refused(args: string[]): Promise<string> {
  const error = (await run(process.execPath, [CLI, 'serve', ...args]).then(() => undefined, (failure: unknown) => failure)) as { code: number; stderr: string } | undefined;
  assert.ok(error !== undefined, 'serve should have exited with an error');
  assert.equal(error.code, exitCodeFor(ErrorCode.InvalidConfig));
  return error.stderr;
}

describe('spillway serve', () => {
  it('refuses a port or body limit that is not a number in range', async () => {
    assert.match(await refused(['--port', 'abc']), /spillway \[INVALID_CONFIG\]: --port is a whole number from 0 to 65535, not "abc"/);
    assert.match(await refused(['--port', '70000']), /--port is a whole number from 0 to 65535, not "70000"/);
    assert.match(await refused(['--body-limit', '0']), /--body-limit is a whole number from 1 to 1073741824, not "0"/);
  });

  it('keeps its state in --data-dir, says how to make the first key, and applies --body-limit', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'spillway-serve-')), 'state');
    const service = await startService(dataDir, ['--body-limit', '100']);
    try {
      assert.ok(existsSync(join(dataDir, 'spillway.sqlite')));
      assert.match(service.stderr(), /no API keys yet; create one with: spillway api-key create NAME --data-dir /);
      assert.match(service.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const key = await createKeyWithCli(dataDir, 'late');
      const response = await fetch(`${service.url}/v0/api_keys`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(100) }) });
      assert.equal(response.status, 413);
      assert.equal(((await response.json()) as { error_code: string }).error_code, 'PAYLOAD_TOO_LARGE');
    } finally {
      assert.equal(await service.stop(), 0);
    }
  });
});
