/**
 * The embedded broker: a single-node Apache Kafka KRaft broker on 127.0.0.1, built from Apache
 * Kafka's jars on Maven Central. The jars are resolved once with Maven into a cache directory and
 * reused; storage is formatted on first start; the broker runs detached so it outlives the
 * command that started it, and its state (pid, ports) lives in a small JSON file beside its logs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { describeCluster } from '../kafka/kafka-client.ts';
import { redactText } from '../kafka/secret-properties.ts';
import {
  type BrokerSecurityOptions,
  type ListenerProtocol,
  type NormalizedSecurity,
  addScramArguments,
  ensureTlsMaterial,
  isTls,
  normalizeSecurity,
  reconcileScramUsers,
  securedListenerConfig,
  securitySecrets,
} from './broker-security.ts';

export const KAFKA_VERSION = '4.1.1';
/** The port every Kafka example uses; the embedded broker takes it when it is free. */
export const DEFAULT_KAFKA_PORT = 9092;
const LOG4J_VERSION = '2.24.3';

export interface BrokerLocation {
  /** Where the jars are cached; default `$SPILLWAY_HOME` or `~/.cache/spillway`. */
  readonly cacheDir?: string;
  /** Where this broker keeps its data, logs and state; default `<cacheDir>/broker`. */
  readonly brokerDir?: string;
}

export interface BrokerStartOptions extends BrokerLocation {
  /** Port for clients; when absent, the previous one if free, else 9092 if free, else any free one. */
  readonly port?: number;
  /**
   * The PLAINTEXT port the broker tells clients to use, when it is not `port`: a proxy in front of
   * the broker (Toxiproxy, in the network-fault tests), so that every client connection after the
   * bootstrap goes through it too. The proxy must forward to `port` on 127.0.0.1.
   */
  readonly advertisedPort?: number;
  /** How long to wait for the broker to answer a metadata request. */
  readonly readyTimeoutMs?: number;
  /** Progress lines (downloading jars, formatting storage); silent by default. */
  readonly log?: (line: string) => void;
  /**
   * Secured listeners (SASL_PLAINTEXT, SSL, SASL_SSL) beside the PLAINTEXT one, their SASL users
   * and mechanisms; see `broker-security.ts` and docs/security.md.
   */
  readonly security?: BrokerSecurityOptions;
}

export interface BrokerListener {
  readonly name: string;
  readonly protocol: ListenerProtocol | 'PLAINTEXT';
  /** host:port of this listener, for `bootstrap.servers`. */
  readonly bootstrapServers: string;
}

/** The client side of the broker's TLS material: what `ssl.ca.location` and a client certificate need. */
export interface BrokerTlsFiles {
  readonly caLocation: string;
  readonly clientCertificateLocation: string;
  readonly clientKeyLocation: string;
}

export interface BrokerStatus {
  readonly running: boolean;
  readonly bootstrapServers?: string;
  readonly pid?: number;
  readonly brokerDir: string;
  readonly logFile: string;
  /** Every listener, PLAINTEXT first; only when secured listeners were asked for. */
  readonly listeners?: readonly BrokerListener[];
  /** Present when a listener uses TLS. */
  readonly tls?: BrokerTlsFiles;
}

interface BrokerState {
  readonly pid: number;
  readonly port: number;
  readonly controllerPort: number;
  /** Secured listeners by name; absent for a plain broker. */
  readonly listeners?: Readonly<Record<string, { readonly protocol: ListenerProtocol; readonly port: number }>>;
  /** A digest of the security options (never the passwords themselves), to tell a restart with others. */
  readonly security?: string;
  readonly tls?: BrokerTlsFiles;
}

export function defaultCacheDir(): string {
  return process.env.SPILLWAY_HOME ?? join(homedir(), '.cache', 'spillway');
}

function paths(location: BrokerLocation) {
  const cacheDir = location.cacheDir ?? defaultCacheDir();
  const brokerDir = location.brokerDir ?? process.env.SPILLWAY_BROKER_DIR ?? join(cacheDir, 'broker');
  return {
    cacheDir,
    libsDir: join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs'),
    brokerDir,
    dataDir: join(brokerDir, 'data'),
    logsDir: join(brokerDir, 'logs'),
    stateFile: join(brokerDir, 'state.json'),
    serverProperties: join(brokerDir, 'server.properties'),
    log4jConfig: join(brokerDir, 'log4j2.properties'),
    stdoutLog: join(brokerDir, 'logs', 'stdout.log'),
    tlsDir: join(brokerDir, 'tls'),
  };
}

/** Who needs a tool, the code to fail with, and the way around it; the broker's by default. */
export interface ToolUser {
  readonly name: string;
  readonly code: ErrorCode;
  readonly alternative: string;
}

const BROKER_USER: ToolUser = {
  name: 'the embedded Kafka broker',
  code: ErrorCode.EmbeddedBroker,
  alternative: 'point Spillway at an existing cluster with KAFKA_BOOTSTRAP_SERVERS',
};

/** Fails with an install hint when `command` is missing or does not run. */
export function requireTool(command: string, args: string[], what: string, user: ToolUser = BROKER_USER): void {
  const probe = spawnSync(command, args, { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new SpillwayError(
      user.code,
      `${user.name} needs ${what}, but \`${command}\` was not found or failed. ` +
        `Install it (Debian/Ubuntu: apt-get install ${command === 'java' ? 'openjdk-17-jre-headless' : 'maven'}), ` +
        `or ${user.alternative}.`,
    );
  }
}

/** Resolves Kafka's jars (and a log4j2 binding) with Maven once; later calls reuse the cache. */
export function ensureKafkaJars(location: BrokerLocation = {}, log: (line: string) => void = () => {}): string {
  const { libsDir } = paths(location);
  const complete = join(libsDir, '.complete');
  if (existsSync(complete)) return libsDir;
  requireTool('java', ['-version'], 'Java 17 or newer');
  requireTool('mvn', ['-v'], 'Maven');
  const projectDir = join(libsDir, '..', 'resolve');
  mkdirSync(projectDir, { recursive: true });
  const dependency = (group: string, artifact: string, version: string) =>
    `<dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${version}</version></dependency>`;
  writeFileSync(
    join(projectDir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>spillway.embedded</groupId><artifactId>kafka-runtime</artifactId><version>${KAFKA_VERSION}</version>
<dependencies>
${dependency('org.apache.kafka', 'kafka_2.13', KAFKA_VERSION)}
${dependency('org.apache.kafka', 'kafka-tools', KAFKA_VERSION)}
${dependency('org.apache.logging.log4j', 'log4j-slf4j2-impl', LOG4J_VERSION)}
${dependency('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION)}
</dependencies></project>
`,
  );
  log(`resolving Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${libsDir} (once)`);
  const result = spawnSync('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`], {
    cwd: projectDir,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new SpillwayError(
      ErrorCode.EmbeddedBroker,
      `Maven could not resolve Apache Kafka ${KAFKA_VERSION} from Maven Central (exit ${String(result.status)}): ` +
        `${(result.stdout + result.stderr).trim().split('\n').slice(-5).join(' | ')}. ` +
        'Check that Maven Central is reachable, or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster.',
    );
  }
  writeFileSync(complete, `${new Date().toISOString()}\n`);
  return libsDir;
}

function readState(stateFile: string): BrokerState | undefined {
  if (!existsSync(stateFile)) return undefined;
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as BrokerState;
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The client port: the one asked for; else the previous start's (kept across restarts) if free;
 * else 9092, the address every Kafka example uses, if free; else any free port. `note` says why
 * the broker is not on 9092, for the caller to print.
 */
export async function choosePort(
  requested: number | undefined,
  previous: number | undefined,
  isFree: (port: number) => Promise<boolean>,
): Promise<{ readonly port: number; readonly note?: string }> {
  if (requested !== undefined) return { port: requested };
  if (previous !== undefined && (await isFree(previous))) {
    return previous === DEFAULT_KAFKA_PORT ? { port: previous } : { port: previous, note: `the broker listens on 127.0.0.1:${previous} (its port from the last start)` };
  }
  if (await isFree(DEFAULT_KAFKA_PORT)) return { port: DEFAULT_KAFKA_PORT };
  const port = await freePort();
  return { port, note: `port ${DEFAULT_KAFKA_PORT} is in use; the broker listens on 127.0.0.1:${port}` };
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64 without padding. */
function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

interface SecuredConfig {
  readonly listeners: readonly string[];
  readonly protocolMap: readonly string[];
  readonly lines: readonly string[];
}

function serverProperties(dataDir: string, port: number, controllerPort: number, secured?: SecuredConfig, advertisedPort = port): string {
  const extraListeners = secured === undefined ? '' : secured.listeners.map((listener) => `,${listener}`).join('');
  const extraProtocols = secured === undefined ? '' : secured.protocolMap.map((entry) => `,${entry}`).join('');
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${extraListeners}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${advertisedPort}${extraListeners}`,
    'controller.listener.names=CONTROLLER',
    // The controller and the broker itself keep talking PLAINTEXT; clients choose a listener.
    'inter.broker.listener.name=PLAINTEXT',
    `listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${extraProtocols}`,
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    // One node: every internal topic at replication factor 1, so transactions and groups work.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=5',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=5',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=24',
    ...(secured?.lines ?? []),
    '',
  ].join('\n');
}

function log4jProperties(logsDir: string): string {
  return [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${join(logsDir, 'server.log')}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = info',
    'rootLogger.appenderRef.file.ref = file',
    '',
  ].join('\n');
}

export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export function brokerStatus(location: BrokerLocation = {}): BrokerStatus {
  const p = paths(location);
  const state = readState(p.stateFile);
  const logFile = join(p.logsDir, 'server.log');
  if (state === undefined || !processAlive(state.pid)) return { running: false, brokerDir: p.brokerDir, logFile };
  return {
    running: true,
    bootstrapServers: `127.0.0.1:${state.port}`,
    pid: state.pid,
    brokerDir: p.brokerDir,
    logFile,
    ...describeListeners(state),
  };
}

function describeListeners(state: BrokerState): Pick<BrokerStatus, 'listeners' | 'tls'> {
  if (state.listeners === undefined) return {};
  return {
    listeners: [
      { name: 'PLAINTEXT', protocol: 'PLAINTEXT', bootstrapServers: `127.0.0.1:${state.port}` },
      ...Object.entries(state.listeners).map(([name, listener]) => ({
        name,
        protocol: listener.protocol,
        bootstrapServers: `127.0.0.1:${listener.port}`,
      })),
    ],
    ...(state.tls === undefined ? {} : { tls: state.tls }),
  };
}

function securityDigest(security: NormalizedSecurity): string {
  return createHash('sha256').update(JSON.stringify(security)).digest('hex');
}

/** Starts the embedded broker unless it already runs; resolves with its bootstrap address. */
export async function startBroker(options: BrokerStartOptions = {}): Promise<BrokerStatus> {
  const log = options.log ?? (() => {});
  // Checked before anything else, so a bad option fails without touching a running broker.
  const security = options.security === undefined ? undefined : normalizeSecurity(options.security);
  const current = brokerStatus(options);
  const p = paths(options);
  if (current.running) {
    const digest = security === undefined ? undefined : securityDigest(security);
    if (digest !== undefined && readState(p.stateFile)?.security !== digest) {
      throw new SpillwayError(
        ErrorCode.EmbeddedBroker,
        `the broker in ${p.brokerDir} already runs with other listeners or users; stop it first ` +
          `(spillway broker stop --dir ${p.brokerDir}), then start it with the new ones`,
      );
    }
    return current;
  }

  const libsDir = ensureKafkaJars(options, log);
  mkdirSync(p.logsDir, { recursive: true });
  const previous = readState(p.stateFile);
  const { port, note } = await choosePort(options.port, previous?.port, portFree);
  if (note !== undefined) log(note);
  if (!(await portFree(port))) {
    throw new SpillwayError(ErrorCode.EmbeddedBroker, `port ${port} on 127.0.0.1 is in use; choose another with --port`);
  }
  const controllerPort =
    previous !== undefined && previous.controllerPort !== port && (await portFree(previous.controllerPort))
      ? previous.controllerPort
      : await freePort();

  let secured: SecuredConfig | undefined;
  let listenerState: Record<string, { protocol: ListenerProtocol; port: number }> | undefined;
  let tlsFiles: BrokerTlsFiles | undefined;
  let secrets: string[] = [];
  if (security !== undefined) {
    const taken = new Set([port, controllerPort]);
    listenerState = {};
    for (const listener of security.listeners) {
      const kept = previous?.listeners?.[listener.name]?.port;
      let listenerPort = listener.port;
      if (listenerPort === undefined) {
        listenerPort = kept !== undefined && !taken.has(kept) && (await portFree(kept)) ? kept : await freePort();
        while (taken.has(listenerPort)) listenerPort = await freePort();
      } else if (taken.has(listenerPort) || !(await portFree(listenerPort))) {
        throw new SpillwayError(ErrorCode.EmbeddedBroker, `port ${listenerPort} for listener ${listener.name} on 127.0.0.1 is in use; choose another`);
      }
      taken.add(listenerPort);
      listenerState[listener.name] = { protocol: listener.protocol, port: listenerPort };
    }
    const tls = security.listeners.some((listener) => isTls(listener.protocol)) ? ensureTlsMaterial(p.tlsDir, log) : undefined;
    if (tls !== undefined) {
      tlsFiles = {
        caLocation: tls.caLocation,
        clientCertificateLocation: tls.clientCertificateLocation,
        clientKeyLocation: tls.clientKeyLocation,
      };
    }
    const ports = Object.fromEntries(Object.entries(listenerState).map(([name, listener]) => [name, listener.port]));
    secured = securedListenerConfig(security, ports, tls);
    secrets = securitySecrets(security, tls);
  }

  // It holds the users' passwords and the keystore password when secured: for the owner only.
  writeFileSync(p.serverProperties, serverProperties(p.dataDir, port, controllerPort, secured, options.advertisedPort), { mode: 0o600 });
  chmodSync(p.serverProperties, 0o600);
  writeFileSync(p.log4jConfig, log4jProperties(p.logsDir));
  const classpath = join(libsDir, '*');
  const javaLogging = [`-Dlog4j2.configurationFile=${p.log4jConfig}`, `-Dkafka.logs.dir=${p.logsDir}`];

  const formatted = existsSync(join(p.dataDir, 'meta.properties'));
  if (!formatted) {
    log(`formatting broker storage in ${p.dataDir}`);
    rmSync(p.dataDir, { recursive: true, force: true });
    const format = spawnSync(
      'java',
      [
        ...javaLogging, '-cp', classpath, 'kafka.tools.StorageTool', 'format', `--cluster-id=${newClusterId()}`, '-c', p.serverProperties,
        // `--cluster-id=` because an id may begin with "-", which would read as an option.
        // SCRAM credentials live in the cluster metadata; a new cluster gets them with its first records.
        ...(security === undefined ? [] : addScramArguments(security)),
      ],
      { encoding: 'utf8' },
    );
    if (format.status !== 0) {
      throw new SpillwayError(
        ErrorCode.EmbeddedBroker,
        `formatting the broker's storage failed: ${redactText((format.stdout + format.stderr).trim(), secrets)}`,
      );
    }
  }

  const out = openSync(p.stdoutLog, 'a');
  const child = spawn(
    'java',
    [
      '-Xms256m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      ...javaLogging,
      '-cp',
      classpath,
      'kafka.Kafka',
      p.serverProperties,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  child.unref();
  if (child.pid === undefined) throw new SpillwayError(ErrorCode.EmbeddedBroker, 'could not spawn java for the broker');
  const state: BrokerState = {
    pid: child.pid,
    port,
    controllerPort,
    ...(listenerState === undefined || security === undefined
      ? {}
      : { listeners: listenerState, security: securityDigest(security), ...(tlsFiles === undefined ? {} : { tls: tlsFiles }) }),
  };
  // The security digest is of the passwords too: the state is for the owner only, like the config.
  writeFileSync(p.stateFile, JSON.stringify(state), { mode: 0o600 });
  chmodSync(p.stateFile, 0o600);

  const bootstrapServers = `127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (!processAlive(child.pid)) {
      throw new SpillwayError(
        ErrorCode.EmbeddedBroker,
        `the broker exited during start-up; last log lines:\n${tail(join(p.logsDir, 'server.log'), 15)}\n${tail(p.stdoutLog, 10)}`,
      );
    }
    try {
      await describeCluster([bootstrapServers], 2_000);
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stopBroker(options);
        throw new SpillwayError(
          ErrorCode.EmbeddedBroker,
          `the broker did not answer a metadata request at ${bootstrapServers} within ${options.readyTimeoutMs ?? 90_000} ms; ` +
            `see ${join(p.logsDir, 'server.log')}`,
          { cause: error },
        );
      }
      await sleep(250);
    }
  }
  if (security !== undefined && formatted) {
    // Storage formatted by an earlier start: its SCRAM users are set through the running broker.
    try {
      reconcileScramUsers(security, { classpath, javaOptions: [], bootstrapServers });
    } catch (error) {
      await stopBroker(options);
      throw error;
    }
  }
  return {
    running: true,
    bootstrapServers,
    pid: child.pid,
    brokerDir: p.brokerDir,
    logFile: join(p.logsDir, 'server.log'),
    ...describeListeners(state),
  };
}

/** Stops the broker (SIGTERM, then SIGKILL after the grace period). */
export async function stopBroker(location: BrokerLocation & { readonly graceMs?: number } = {}): Promise<boolean> {
  const p = paths(location);
  const state = readState(p.stateFile);
  if (state === undefined || !processAlive(state.pid)) return false;
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + (location.graceMs ?? 20_000);
  while (processAlive(state.pid) && Date.now() < deadline) await sleep(100);
  if (processAlive(state.pid)) process.kill(state.pid, 'SIGKILL');
  while (processAlive(state.pid)) await sleep(50);
  return true;
}

/** Removes a stopped broker's data, so its next start formats fresh storage. */
export function wipeBroker(location: BrokerLocation = {}): void {
  const p = paths(location);
  for (const entry of ['data', 'logs', 'state.json']) rmSync(join(p.brokerDir, entry), { recursive: true, force: true });
  if (existsSync(p.brokerDir) && readdirSync(p.brokerDir).length === 0) rmSync(p.brokerDir, { recursive: true });
}
