/**
 * One broker for the whole test run: the embedded broker in its own directory, started fresh
 * before the first test file and stopped after the last, unless KAFKA_BOOTSTRAP_SERVERS names
 * another cluster. Test processes inherit the address through the environment.
 *
 * And one temporary directory for the run: test processes inherit it as TMPDIR (os.tmpdir()),
 * so what the tests make there goes with it when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir, startBroker, stopBroker, wipeBroker } from '../src/broker/embedded-broker.ts';

const brokerDir = process.env.SPILLWAY_TEST_BROKER_DIR ?? join(defaultCacheDir(), 'test-broker');
let started = false;
let runTmp: string | undefined;

export async function globalSetup(): Promise<void> {
  runTmp = mkdtempSync(join(tmpdir(), 'spillway-tests-'));
  process.env.TMPDIR = runTmp;
  if (process.env.KAFKA_BOOTSTRAP_SERVERS !== undefined) return;
  await stopBroker({ brokerDir });
  wipeBroker({ brokerDir });
  const status = await startBroker({ brokerDir, log: (line) => process.stderr.write(`test broker: ${line}\n`) });
  process.env.KAFKA_BOOTSTRAP_SERVERS = status.bootstrapServers;
  started = true;
  process.stderr.write(`test broker: ${status.bootstrapServers ?? '?'} (logs in ${status.logFile})\n`);
}

export async function globalTeardown(): Promise<void> {
  if (started) await stopBroker({ brokerDir });
  if (runTmp !== undefined) rmSync(runTmp, { recursive: true, force: true });
}
