/**
 * A broker of the test's own, to break: the embedded broker in a temporary directory (never the
 * run's shared one), which a test may restart, pause with SIGSTOP, or reach only through a
 * Toxiproxy proxy. Behind a proxy the broker advertises the proxy's port, so after the bootstrap
 * every client connection (metadata, produce, fetch) goes through the proxy and feels its toxics.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerStatus, freePort, startBroker, stopBroker } from '../../src/broker/embedded-broker.ts';
import { type Proxy, ToxiproxyServer } from './toxiproxy.ts';

export interface FaultBroker {
  /** What clients are given: the proxy's address when there is one, else the broker's. */
  readonly bootstrapServers: string;
  /** The broker's own address (behind a proxy, it advertises the proxy's). */
  readonly brokerAddress: string;
  /** The proxy in front of the broker, when started with `proxied: true`. */
  readonly proxy: Proxy | undefined;
  readonly brokerDir: string;
  /** The broker's process id (it changes at each restart). */
  pid(): number;
  /** Stops the broker (SIGTERM, or SIGKILL with `kill`), then starts it again on the same ports and data. */
  restart(options?: { readonly kill?: boolean; readonly downMs?: number }): Promise<void>;
  /** SIGSTOP: the broker keeps its connections open and answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops the broker and the proxy and removes the directory. */
  close(): Promise<void>;
}

export async function startFaultBroker(options: { readonly proxied?: boolean } = {}): Promise<FaultBroker> {
  const brokerDir = mkdtempSync(join(tmpdir(), 'spillway-fault-broker-'));
  const port = await freePort();
  let toxiproxy: ToxiproxyServer | undefined;
  let proxy: Proxy | undefined;
  let advertisedPort: number | undefined;
  if (options.proxied === true) {
    toxiproxy = await ToxiproxyServer.start();
    advertisedPort = await freePort();
    proxy = await toxiproxy.createProxy('kafka', advertisedPort, `127.0.0.1:${port}`);
  }
  const start = async () => {
    await startBroker({ brokerDir, port, ...(advertisedPort === undefined ? {} : { advertisedPort }), readyTimeoutMs: 60_000 });
  };
  try {
    await start();
  } catch (error) {
    toxiproxy?.stop();
    rmSync(brokerDir, { recursive: true, force: true });
    throw error;
  }
  const pid = (): number => {
    const status = brokerStatus({ brokerDir });
    if (status.pid === undefined) throw new Error(`the fault broker in ${brokerDir} is not running`);
    return status.pid;
  };
  let paused = false;
  const resume = () => {
    process.kill(pid(), 'SIGCONT');
    paused = false;
  };
  return {
    bootstrapServers: `127.0.0.1:${advertisedPort ?? port}`,
    brokerAddress: `127.0.0.1:${port}`,
    proxy,
    brokerDir,
    pid,
    async restart(restartOptions = {}) {
      if (restartOptions.kill === true) {
        const id = pid();
        process.kill(id, 'SIGKILL');
        await stopBroker({ brokerDir });
      } else {
        await stopBroker({ brokerDir });
      }
      if (restartOptions.downMs !== undefined) await new Promise((resolve) => setTimeout(resolve, restartOptions.downMs));
      await start();
    },
    pause() {
      process.kill(pid(), 'SIGSTOP');
      paused = true;
    },
    resume,
    async close() {
      try {
        if (paused) resume();
        await stopBroker({ brokerDir, graceMs: 5_000 });
      } finally {
        toxiproxy?.stop();
        rmSync(brokerDir, { recursive: true, force: true });
      }
    },
  };
}
