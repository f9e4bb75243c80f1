/**
 * A program whose sinks are stopped and whose tables are closed exits by itself: the issue's own
 * program (a time table, update, lastBy, Spark's writeStream, stop, close) runs in a child process
 * against the broker, and the child must exit on its own soon after it closed its table.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

const program = fileURLToPath(new URL('../fixtures/programs/stop-then-close.ts', import.meta.url));
/** How long after its last line the child may take to exit: the writer's sockets closing, no timer. */
const EXIT_BOUND_MS = 3_000;

it('stop the query, close the table: the program exits by itself', async () => {
  const topic = randomTopic('lifecycle-exit');
  await createTopic([bootstrapServers()], topic, { partitions: 1 });
  const child = spawn(process.execPath, [program, bootstrapServers(), topic], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let closedAt: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    if (closedAt === undefined && stdout.includes('\n')) closedAt = Date.now();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = await new Promise<{ code: number | null; after: number | undefined; killed: boolean }>((resolve) => {
    // A child that is still alive well past the bound is the bug this test is about; end it.
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, after: closedAt === undefined ? undefined : Date.now() - closedAt, killed: signal === 'SIGKILL' });
    });
  });
  assert.equal(exit.killed, false, `the program did not exit by itself; its output: ${stdout}${stderr}`);
  assert.equal(exit.code, 0, stderr);
  assert.ok(exit.after !== undefined && exit.after < EXIT_BOUND_MS, `exited ${exit.after} ms after closing (bound ${EXIT_BOUND_MS} ms)`);
  const report = JSON.parse(stdout.trim()) as { records: number };
  assert.ok(report.records > 0, 'the query wrote before it stopped');
  const records = await kcatRead(topic);
  assert.equal(records.length, report.records);
  assert.deepEqual([...new Set(records.map((r) => r.key?.toString()))].sort().slice(0, 1), ['k0']);
});
