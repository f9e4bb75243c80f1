/**
 * Scenario 6-rest of the benchmark suite: the REST connector service as a user runs it —
 * `spillway serve` in a process of its own, under /usr/bin/time, with its SQLite file in a
 * temporary directory — fed by HTTP ingress. The client (the suite's own process) creates an
 * output connector (a 6-partition topic, JSON values of the row itself, `update_format: raw`) and
 * a pipeline whose input table has the bench's six columns, starts it, then POSTs the rows in
 * bodies of a fixed size with a bounded number of requests in flight, and polls the service's
 * `/metrics` until the connector has counted every record as acknowledged. Peak RSS and CPU
 * seconds are the service process's alone (from its start to its exit), never the client's.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEncoder, csvSpec, keyValueSpecSchema } from '../src/formats/key-value-spec.ts';
import { normalizeRow } from '../src/model/schema.ts';
import { sensorRow, sensorSchema } from './sensor-table.ts';
import { TIME_ARGS, processFigures } from './process-figures.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../bin/spillway.js', import.meta.url));
/** Rows per ingress body (BENCH_REST_BODY_ROWS) and bodies in flight at once (BENCH_REST_IN_FLIGHT). */
const BODY_ROWS = Number(process.env.BENCH_REST_BODY_ROWS ?? 10_000);
const IN_FLIGHT = Number(process.env.BENCH_REST_IN_FLIGHT ?? 4);
/** The service's body limit: room for a body of BODY_ROWS rows (~120 bytes each as JSON). */
const BODY_LIMIT = 64 * 1024 * 1024;
/** The bench's six columns (bench/sensor-table.ts) in the types the SQL scenario gives them. */
const PROGRAM = 'CREATE TABLE sensors (id BIGINT, key STRING, a DOUBLE, b DOUBLE, n INT, note STRING);';

export type IngressFormat = 'json' | 'csv';

export interface RestMeasured {
  readonly rows: number;
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  /** The service process's peak RSS (MiB) and CPU seconds, from its start to its exit. */
  readonly rssMiB: number;
  readonly cpuSeconds: number;
  /** The service's kept ingress when the records were all acknowledged: bodies and bytes in SQLite. */
  readonly kept: { readonly bodies: number; readonly bytes: number };
}

/** The ingress bodies, built before the clock starts: `rows` rows, BODY_ROWS per body. */
export function ingressBodies(format: IngressFormat, rows: number, payloads: string): string[] {
  let lines: string[];
  if (format === 'json') {
    // The same pre-encoded JSON values kcat and Java send (the payloads file), one row per line.
    lines = readFileSync(payloads, 'utf8').split('\n').slice(0, rows);
  } else {
    const encoder = createEncoder(keyValueSpecSchema.parse(csvSpec()), sensorSchema, 'value');
    lines = [];
    for (let i = 0; i < rows; i++) lines.push((encoder.encode(normalizeRow(sensorSchema, sensorRow(i), 'bench')) as Buffer).toString('utf8'));
  }
  const bodies: string[] = [];
  for (let start = 0; start < lines.length; start += BODY_ROWS) bodies.push(`${lines.slice(start, start + BODY_ROWS).join('\n')}\n`);
  return bodies;
}

interface ServiceProcess {
  readonly url: string;
  /** SIGTERM to the service (the service stops its pipelines and exits); resolves with /usr/bin/time's figures. */
  stop(): Promise<{ rssMiB: number; cpuSeconds: number }>;
}

/** `spillway serve` on a free port under /usr/bin/time; resolves once it prints its URL. */
async function startTimedService(dataDir: string, nodeOptions: readonly string[]): Promise<ServiceProcess> {
  const time: ChildProcess = spawn('/usr/bin/time', [...TIME_ARGS, process.execPath, ...nodeOptions, CLI, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--body-limit', String(BODY_LIMIT)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  time.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => time.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`spillway serve did not print its URL within 30 s: ${stderr}`)), 30_000);
    time.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = /^(http:\/\/\S+)\n/.exec(stdout);
      if (line?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(line[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`spillway serve exited before it listened: ${stderr}`));
    });
  });
  return {
    url,
    async stop() {
      // The service is /usr/bin/time's only child; SIGTERM goes to it, so time reports its figures.
      const children = readFileSync(`/proc/${String(time.pid)}/task/${String(time.pid)}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (children.length !== 1) throw new Error(`expected one spillway serve process under /usr/bin/time, found ${children.length}`);
      process.kill(Number(children[0]), 'SIGTERM');
      await exited;
      const figures = processFigures(stderr);
      if (figures === undefined) throw new Error(`/usr/bin/time printed no figures for spillway serve: ${stderr}`);
      return { rssMiB: figures.rssMiB, cpuSeconds: figures.cpu };
    },
  };
}

/** A call to the service that must succeed; resolves with the answer's text. */
function api(url: string, key: string) {
  return async (method: string, path: string, body?: string, type = 'application/json'): Promise<string> => {
    const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': type }) }, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path.split('?')[0] ?? ''}: ${response.status} ${text.slice(0, 500)}`);
    return text;
  };
}

/** A counter of the connector from the Prometheus text of `/metrics`. */
function counter(text: string, name: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`${name}{`) && entry.includes('pipeline="bench"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * One run: a fresh service and data directory, a pipeline writing to `topic`, `bodies` POSTed with
 * IN_FLIGHT at once; timed from the first POST to the last record acknowledged.
 * The service's Node runs with `nodeFlags`; BENCH_REST_PROFILE=<dir> adds `--cpu-prof` into that directory.
 */
export async function restIngressRun(format: IngressFormat, rows: number, bodies: readonly string[], topic: string, bootstrap: string, nodeFlags: readonly string[]): Promise<RestMeasured> {
  const dataDir = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'spillway-bench-rest-'));
  const profile = process.env.BENCH_REST_PROFILE;
  try {
    const key = (await run(process.execPath, [CLI, 'api-key', 'create', 'bench', '--role', 'write', '--data-dir', dataDir])).stdout.trim();
    const service = await startTimedService(dataDir, [...nodeFlags, ...(profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`])]);
    let figures: { rssMiB: number; cpuSeconds: number } | undefined;
    try {
      const call = api(service.url, key);
      const connector = {
        description: 'benchmark output: the rows as JSON values',
        config: {
          transport: { name: 'kafka_output', config: { 'bootstrap.servers': bootstrap, topic, 'linger.ms': 5 } },
          format: { name: 'json', config: { update_format: 'raw', array: false } },
        },
      };
      await call('PUT', '/v0/connectors/bench-out', JSON.stringify(connector));
      await call('PUT', '/v0/pipelines/bench', JSON.stringify({ program: PROGRAM, attached_connectors: [{ name: 'out', connector_name: 'bench-out', relation_name: 'sensors', is_input: false }] }));
      await call('POST', '/v0/pipelines/bench/start');
      const query = format === 'json' ? 'format=json&update_format=raw' : 'format=csv';
      const type = format === 'json' ? 'application/x-ndjson' : 'text/csv';
      const started = performance.now();
      // Bodies in order, at most IN_FLIGHT at once; the first refused body ends the run.
      const inFlight = new Set<Promise<unknown>>();
      let refused: Error | undefined;
      for (const body of bodies) {
        const post: Promise<unknown> = call('POST', `/v0/pipelines/bench/ingress/sensors?${query}`, body, type)
          .catch((error: unknown) => {
            refused ??= error instanceof Error ? error : new Error(String(error));
          })
          .finally(() => inFlight.delete(post));
        inFlight.add(post);
        if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
        if (refused !== undefined) break;
      }
      await Promise.all(inFlight);
      if (refused !== undefined) throw refused;
      // Every record acknowledged: a bounded poll of the connector's counters.
      const deadline = performance.now() + Math.max(120_000, rows / 2);
      let records = 0;
      let bytes = 0;
      while (records < rows) {
        if (performance.now() > deadline) throw new Error(`the connector acknowledged ${records} of ${rows} records within ${Math.round((deadline - started) / 1000)} s`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const metrics = await call('GET', '/metrics');
        records = counter(metrics, 'spillway_connector_records_total');
        bytes = counter(metrics, 'spillway_connector_bytes_total');
        if (counter(metrics, 'spillway_connector_errors_total') > 0) throw new Error(`the connector failed: ${await call('GET', '/v0/pipelines/bench')}`);
      }
      const seconds = (performance.now() - started) / 1000;
      const kept = (JSON.parse(await call('GET', '/v0/pipelines/bench')) as { ingress_kept: { bodies: number; bytes: number } }).ingress_kept;
      await call('POST', '/v0/pipelines/bench/shutdown');
      figures = await service.stop();
      return { rows, records, bytes, seconds, rssMiB: figures.rssMiB, cpuSeconds: figures.cpuSeconds, kept };
    } finally {
      if (figures === undefined) await service.stop().catch(() => undefined);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    if (profile !== undefined) process.stderr.write(`service CPU profiles in ${profile}: ${readdirSync(profile).join(', ')}\n`);
  }
}
