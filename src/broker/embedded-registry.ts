/**
 * The embedded schema registry: Apicurio Registry, whose Confluent-compatible API lives at
 * `/apis/ccompat/v7`, for tests and local use. Maven fetches Apicurio's `all` tar.gz from Maven
 * Central once into the cache directory, where it is unpacked; each start runs it on the
 * machine's Java, on 127.0.0.1 and a free port, with in-memory storage (H2 in memory: nothing
 * outlives the process), and waits until the ccompat API answers. The process belongs to its
 * caller, who stops it (and it is killed if the caller exits first).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type ToolUser, defaultCacheDir, freePort, processAlive, requireTool, tail } from './embedded-broker.ts';

/**
 * The newest Apicurio 3.x on Maven Central that runs on Java 17 (3.3.x needs Java 21).
 * `SPILLWAY_APICURIO_VERSION` or the `version` option choose another.
 */
export const APICURIO_VERSION = '3.0.9';

/** Where a Confluent-compatible client finds Apicurio's ccompat API, below the server's root. */
export const CCOMPAT_PATH = '/apis/ccompat/v7';

const REGISTRY_USER: ToolUser = {
  name: 'the embedded schema registry',
  code: ErrorCode.SchemaRegistry,
  alternative: 'point Spillway at a running registry with SCHEMA_REGISTRY_URL',
};

export interface RegistryStartOptions {
  /** Where the unpacked registry is cached; default `$SPILLWAY_HOME` or `~/.cache/spillway`. */
  readonly cacheDir?: string;
  /** Apicurio Registry version (3.x) to fetch from Maven Central. */
  readonly version?: string;
  /** Port on 127.0.0.1; a free one when absent. */
  readonly port?: number;
  /** How long to wait for the ccompat API to answer (default 120 s). */
  readonly readyTimeoutMs?: number;
  /** Progress lines (the one-time download); silent by default. */
  readonly log?: (line: string) => void;
}

export interface EmbeddedRegistry {
  /** The Confluent-compatible base URL, for `schema.registry.url`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Apicurio's console output. */
  readonly logFile: string;
  /** Stops the registry (SIGTERM, then SIGKILL after the grace period); its storage goes with it. */
  stop(graceMs?: number): Promise<void>;
}

function registryFailure(message: string, cause?: unknown): SpillwayError {
  return new SpillwayError(ErrorCode.SchemaRegistry, message, cause === undefined ? undefined : { cause });
}

/** Maven's first error line, without colours or its `[ERROR]` tag. */
function mavenError(output: string): string {
  // eslint-disable-next-line no-control-regex
  const lines = output.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  const errors = lines.filter((line) => line.startsWith('[ERROR]')).map((line) => line.slice('[ERROR]'.length).trim());
  const first = errors.find((line) => line !== '') ?? lines.map((line) => line.trim()).filter((line) => line !== '').at(-1);
  return (first ?? 'no output').replace(/\.+$/, '');
}

/**
 * Fetches and unpacks Apicurio Registry once; later calls reuse the cache. Concurrent callers
 * (test files run in parallel) each unpack into their own directory and the first rename wins.
 */
export function ensureApicurio(options: Pick<RegistryStartOptions, 'cacheDir' | 'version' | 'log'> = {}): string {
  const version = options.version ?? process.env.SPILLWAY_APICURIO_VERSION ?? APICURIO_VERSION;
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const appDir = join(cacheDir, `apicurio-registry-${version}`);
  if (existsSync(join(appDir, '.complete'))) return appDir;
  requireTool('java', ['-version'], 'Java 17 or newer', REGISTRY_USER);
  requireTool('mvn', ['-v'], 'Maven', REGISTRY_USER);
  mkdirSync(cacheDir, { recursive: true });
  const workDir = mkdtempSync(join(cacheDir, `.apicurio-${version}-`));
  try {
    const artifact = `io.apicurio:apicurio-registry-app:${version}:tar.gz:all`;
    options.log?.(`fetching Apicurio Registry ${version} from Maven Central into ${appDir} (once)`);
    // maven-dependency-plugin 2.8's copy fetches the one archive without building the artifact's
    // POM hierarchy; newer versions do, and some Apicurio releases name a parent POM that Maven
    // Central does not serve, which would fail a download that needs nothing from it.
    const result = spawnSync(
      'mvn',
      ['-q', '-B', 'org.apache.maven.plugins:maven-dependency-plugin:2.8:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${workDir}`],
      { cwd: workDir, encoding: 'utf8' },
    );
    const archive = join(workDir, `apicurio-registry-app-${version}-all.tar.gz`);
    if (result.status !== 0 || !existsSync(archive)) {
      throw registryFailure(
        `Maven could not fetch ${artifact} from Maven Central (exit ${String(result.status)}): ` +
          `${mavenError(`${result.stdout}${result.stderr}`)}. ` +
          'Check that Maven Central is reachable and the version exists, or set SCHEMA_REGISTRY_URL to use a running registry.',
      );
    }
    const unpacked = join(workDir, 'app');
    mkdirSync(unpacked);
    const untar = spawnSync('tar', ['-xzf', archive, '-C', unpacked], { encoding: 'utf8' });
    if (untar.status !== 0) throw registryFailure(`unpacking ${archive} failed: ${untar.stderr.trim() || String(untar.error)}`);
    writeFileSync(join(unpacked, '.complete'), `${new Date().toISOString()}\n`);
    try {
      renameSync(unpacked, appDir);
    } catch (error) {
      if (!existsSync(join(appDir, '.complete'))) throw registryFailure(`could not move the registry into ${appDir}: ${(error as Error).message}`, error);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return appDir;
}

/** The jar that starts Quarkus: `quarkus-run.jar` (fast-jar layout) or `*-runner.jar` (legacy layout). */
function launcherJar(appDir: string): string {
  if (existsSync(join(appDir, 'quarkus-run.jar'))) return join(appDir, 'quarkus-run.jar');
  const runner = readdirSync(appDir).find((name) => name.endsWith('-runner.jar'));
  if (runner === undefined) throw registryFailure(`${appDir} holds no quarkus-run.jar or *-runner.jar; delete the directory to fetch it again`);
  return join(appDir, runner);
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || !processAlive(pid) || child.exitCode !== null) return;
  child.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(100);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  while (child.exitCode === null && child.signalCode === null) await sleep(50);
}

/** Starts an Apicurio Registry with in-memory storage; resolves once its ccompat API answers. */
export async function startRegistry(options: RegistryStartOptions = {}): Promise<EmbeddedRegistry> {
  const appDir = ensureApicurio(options);
  const jar = launcherJar(appDir);
  const port = options.port ?? (await freePort());
  const managementPort = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'spillway-registry-'));
  const logFile = join(runDir, 'registry.log');
  const out = openSync(logFile, 'a');
  const child = spawn(
    'java',
    [
      '-Xms64m',
      '-Xmx512m',
      '-Djava.awt.headless=true',
      // Quarkus: HTTP (and the management interface of newer releases) on loopback only.
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${port}`,
      '-Dquarkus.management.host=127.0.0.1',
      `-Dquarkus.management.port=${managementPort}`,
      // Apicurio: SQL storage on an in-memory H2 database, gone when the process ends.
      '-Dapicurio.storage.kind=sql',
      '-Dapicurio.storage.sql.kind=h2',
      `-Dapicurio.datasource.url=jdbc:h2:mem:spillway_${port}`,
      '-jar',
      jar,
    ],
    { cwd: runDir, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw registryFailure('could not spawn java for the schema registry');
  // A registry must not outlive the process that started it, even when that process dies.
  const killOnExit = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const url = `http://127.0.0.1:${port}${CCOMPAT_PATH}`;
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.removeListener('exit', killOnExit);
      const lines = tail(logFile, 40);
      const javaTooOld = /UnsupportedClassVersionError/.test(lines);
      throw registryFailure(
        javaTooOld
          ? `Apicurio Registry in ${appDir} needs a newer Java than this machine's; install Java 21, or use version ${APICURIO_VERSION} (SPILLWAY_APICURIO_VERSION), which runs on Java 17`
          : `the schema registry exited during start-up (exit ${String(child.exitCode ?? child.signalCode)}); last log lines:\n${lines.split('\n').filter((line) => !/^\s+at /.test(line)).slice(-12).join('\n')}`,
      );
    }
    if (await answers(`${url}/subjects`)) break;
    if (Date.now() > deadline) {
      await stopProcess(child, 5_000);
      process.removeListener('exit', killOnExit);
      throw registryFailure(`the schema registry did not answer at ${url} within ${timeoutMs} ms; see ${logFile}`);
    }
    await sleep(250);
  }
  options.log?.(`schema registry (Apicurio) at ${url}, pid ${pid}, log ${logFile}`);

  return {
    url,
    port,
    pid,
    logFile,
    async stop(graceMs = 10_000) {
      await stopProcess(child, graceMs);
      process.removeListener('exit', killOnExit);
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
