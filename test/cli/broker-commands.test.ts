import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = new URL('../../bin/spillway.js', import.meta.url).pathname;

it('`broker status` prints the address and the state on separate lines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-status-'));
  try {
    await assert.rejects(run(process.execPath, [cli, 'broker', 'status', '--dir', dir]), (error: { code?: number; stdout?: string }) => {
      assert.equal(error.code, 3);
      assert.equal(error.stdout, `state: not running (state in ${dir})\n`);
      return true;
    });
    // A state file naming a live process (this test's) reads as a running broker.
    mkdirSync(join(dir, 'logs'), { recursive: true });
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ pid: process.pid, port: 9092, controllerPort: 9093 }));
    const { stdout } = await run(process.execPath, [cli, 'broker', 'status', '--dir', dir]);
    assert.equal(stdout, `address: 127.0.0.1:9092\nstate: running (pid ${process.pid})\nlogs: ${join(dir, 'logs', 'server.log')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
