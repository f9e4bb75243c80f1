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

it('`broker start --port` refuses a port other than the running broker\'s, and takes its own or a bad one as told', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-port-'));
  try {
    // A state file naming a live process (this test's) reads as a broker running on 9092; nothing is started.
    mkdirSync(join(dir, 'logs'), { recursive: true });
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ pid: process.pid, port: 9092, controllerPort: 9093 }));
    await assert.rejects(run(process.execPath, [cli, 'broker', 'start', '--dir', dir, '--port', '9999']), (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 23);
      assert.equal(error.stderr, `spillway [EMBEDDED_BROKER]: a broker is already running on 127.0.0.1:9092, not on the port 9999 asked for; stop it first (spillway broker stop --dir ${dir}) or leave out --port\n`);
      return true;
    });
    const same = await run(process.execPath, [cli, 'broker', 'start', '--dir', dir, '--port', '9092']);
    assert.equal(same.stdout, '127.0.0.1:9092\n');
    const none = await run(process.execPath, [cli, 'broker', 'start', '--dir', dir]);
    assert.equal(none.stdout, '127.0.0.1:9092\n');
    await assert.rejects(run(process.execPath, [cli, 'broker', 'start', '--dir', dir, '--port', 'abc']), (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 10);
      assert.equal(error.stderr, 'spillway [INVALID_CONFIG]: --port takes a port from 1 to 65535, not "abc"\n');
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
