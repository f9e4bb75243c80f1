/**
 * Toxiproxy (Shopify's TCP proxy that injects network faults) for the network-fault tests: a
 * server on 127.0.0.1 started by the test, proxies created through its HTTP API, and toxics
 * (latency, reset_peer, bandwidth, …) added and removed while a sink writes through them.
 *
 * The server is `toxiproxy-server` from `.tools/bin` (scripts/bootstrap.sh builds it with Go when
 * SPILLWAY_NEED_KCAT=1), or the one TOXIPROXY_SERVER names, or one on PATH.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/broker/embedded-broker.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the server binary is; fails naming how to install it. */
export function toxiproxyServerPath(): string {
  const named = process.env.TOXIPROXY_SERVER;
  if (named !== undefined && named !== '') {
    if (!existsSync(named)) throw new Error(`TOXIPROXY_SERVER names ${named}, which does not exist`);
    return named;
  }
  const local = join(repoRoot, '.tools', 'bin', 'toxiproxy-server');
  if (existsSync(local)) return local;
  if (spawnSync('toxiproxy-server', ['-version'], { stdio: 'ignore' }).status === 0) return 'toxiproxy-server';
  throw new Error(
    'toxiproxy-server is missing: run `SPILLWAY_NEED_KCAT=1 source scripts/bootstrap.sh` (it builds it with Go into .tools/bin), ' +
      'or set TOXIPROXY_SERVER to its path',
  );
}

export type ToxicType = 'latency' | 'bandwidth' | 'reset_peer' | 'timeout' | 'slow_close' | 'slicer' | 'limit_data';

export interface Toxic {
  readonly type: ToxicType;
  /** `downstream` (broker → client, the default) or `upstream` (client → broker). */
  readonly stream?: 'upstream' | 'downstream';
  /** The share of connections it applies to, 0–1 (default 1). */
  readonly toxicity?: number;
  /** The toxic's own attributes: latency/jitter (ms), rate (KB/s), timeout (ms), bytes, … */
  readonly attributes: Readonly<Record<string, number>>;
}

/** One proxy: `listen` on 127.0.0.1 forwarding to `upstream`. */
export class Proxy {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly #api: string;

  constructor(api: string, name: string, listen: string, upstream: string) {
    this.#api = api;
    this.name = name;
    this.listen = listen;
    this.upstream = upstream;
  }

  /** Adds a toxic; resolves with its name, for `removeToxic`. */
  async addToxic(name: string, toxic: Toxic): Promise<string> {
    await request(this.#api, 'POST', `/proxies/${this.name}/toxics`, {
      name,
      type: toxic.type,
      stream: toxic.stream ?? 'downstream',
      toxicity: toxic.toxicity ?? 1,
      attributes: toxic.attributes,
    });
    return name;
  }

  async removeToxic(name: string): Promise<void> {
    await request(this.#api, 'DELETE', `/proxies/${this.name}/toxics/${name}`);
  }

  /** Disabled, the proxy closes its connections and refuses new ones: a network partition. */
  async setEnabled(enabled: boolean): Promise<void> {
    await request(this.#api, 'POST', `/proxies/${this.name}`, { enabled });
  }

  /** Enabled again, with no toxic. */
  async heal(): Promise<void> {
    const toxics = (await request(this.#api, 'GET', `/proxies/${this.name}/toxics`)) as { name: string }[];
    for (const toxic of toxics) await this.removeToxic(toxic.name);
    await this.setEnabled(true);
  }
}

async function request(api: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    // Generous: removing a latency toxic waits for the data it holds, which on a loaded machine took over 5 s.
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`toxiproxy ${method} ${path} answered ${response.status}: ${text}`);
  // /version answers plain text; the rest answer JSON.
  return (response.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as unknown) : text;
}

/** A toxiproxy server on 127.0.0.1, stopped with `stop()`. */
export class ToxiproxyServer {
  readonly api: string;
  readonly #child: ChildProcess;
  #output = '';

  private constructor(api: string, child: ChildProcess) {
    this.api = api;
    this.#child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.#keep(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.#keep(chunk));
  }

  #keep(chunk: Buffer): void {
    this.#output = (this.#output + chunk.toString()).slice(-4_000);
  }

  /** Starts the server and waits (at most 10 s) for its API to answer. */
  static async start(): Promise<ToxiproxyServer> {
    const port = await freePort();
    const child = spawn(toxiproxyServerPath(), ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new ToxiproxyServer(`http://127.0.0.1:${port}`, child);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`toxiproxy-server exited with ${child.exitCode}: ${server.#output}`);
      try {
        await request(server.api, 'GET', '/version');
        return server;
      } catch (error) {
        if (Date.now() > deadline) {
          server.stop();
          throw new Error(`toxiproxy-server did not answer at ${server.api} within 10 s: ${server.#output}`, { cause: error });
        }
        await sleep(100);
      }
    }
  }

  /** A proxy listening on 127.0.0.1:`listenPort` in front of `upstream` (host:port). */
  async createProxy(name: string, listenPort: number, upstream: string): Promise<Proxy> {
    const listen = `127.0.0.1:${listenPort}`;
    await request(this.api, 'POST', '/proxies', { name, listen, upstream, enabled: true });
    return new Proxy(this.api, name, listen, upstream);
  }

  stop(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGTERM');
  }
}
