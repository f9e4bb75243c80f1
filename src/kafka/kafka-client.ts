/**
 * The one file that knows the Kafka client library: @confluentinc/kafka-javascript, Confluent's
 * binding of librdkafka (with batch-producer.ts, its write path). Everything else talks to Kafka
 * through `RecordWriter` and the few functions here, so the client can be replaced by changing
 * these files alone.
 *
 * The write path is the binding's plain Producer: a write's records, with the partitions Spillway
 * chose, are handed to librdkafka in one native call (batch-producer.ts: librdkafka's produce runs
 * on a libuv thread, where the binding's produce() cost the main thread ~1.2 µs a record), with
 * delivery reports for failed records only. A delivery report per record would let each write
 * count its own, but the binding builds a JavaScript object per report: measured on the
 * benchmark's records, that doubles the CPU time and halves the rate (see docs/benchmarks.md). So
 * the addon counts each partition's acknowledgements itself (a librdkafka interceptor), and an
 * idempotent writer's write resolves once every partition it wrote to has reached its count. A
 * non-idempotent writer's writes (a retried record can be acknowledged after later ones) are
 * settled by flush(), which returns once librdkafka holds no unacknowledged record: one flush runs
 * at a time and settles every write produced before it started, in 2 ms flush calls, and a write
 * smaller than a batch is handed over once the running flush has returned, so a flush ends soon
 * after its records are acknowledged (see #handOver). Inside a transaction, records are handed
 * over without either; the commit acknowledges them. A failed record fails the writer; every later
 * call rejects with that cause.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { RdKafka } from '@confluentinc/kafka-javascript';
import type {
  KafkaConsumer as RdKafkaConsumer,
  LibrdKafkaError,
  Message,
  Metadata,
  Producer as RdKafkaProducer,
} from '@confluentinc/kafka-javascript';
import { ErrorCode, SpillwayError, asSpillwayError } from '../errors.ts';
import { isSecretProperty } from './kafka-properties.ts';
import type { ClientConfigValue, ConnectionSettings, ConsumerSettings, ProducerSettings } from './producer-settings.ts';
import { LIBRDKAFKA_PROPERTIES } from './librdkafka-catalog.ts';
import type { ConsumedOffset, KafkaRecord, LoggedRecord, RecordWriter, TopicDescription, TopicLog, TransactionalRecordWriter, WriterOptions } from './record-writer.ts';
import { TransactionState, TransactionStateMachine } from './transaction-state.ts';
import { type BatchAcknowledgement, BatchLayouts, BatchProducer, type LaidOutBatch, laidOutRecord, nativeModulePath } from './batch-producer.ts';

export type { ConnectionSettings } from './producer-settings.ts';

const { Producer, KafkaConsumer, AdminClient, CODES } = RdKafka;
const ERR = CODES.ERRORS;

function isLibrdkafkaError(error: unknown): error is LibrdKafkaError {
  return typeof error === 'object' && error !== null && 'code' in error && 'origin' in error;
}

function describe(error: unknown): string {
  return error instanceof Error || isLibrdkafkaError(error) ? error.message : String(error);
}

/** Removes every secret value of the configuration from a librdkafka message. */
function redact(text: string, config: Readonly<Record<string, ClientConfigValue>>): string {
  let result = text;
  for (const [name, value] of Object.entries(config)) {
    if (isSecretProperty(name) && typeof value === 'string' && value.length > 0) result = result.split(value).join('***');
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Connection diagnostics: librdkafka logs each failed attempt per broker address; they become
// one warning per address and cause, and the cause of a failure that comes later.

const CAUSES: readonly [RegExp, string][] = [
  [/Connection refused/i, 'connection refused'],
  [/SSL handshake failed|SSL.*(certificate|verify|alert|wrong version)/i, 'TLS handshake failed'],
  [/SASL authentication error|Authentication failed|SASL.*(failed|error)/i, 'authentication failed'],
  [/timed out|Connection setup timed out/i, 'timed out'],
  [/Failed to resolve/i, 'host name not resolved'],
  [/Invalid response size|Disconnected while requesting ApiVersion|ApiVersionRequest failed/i, 'no Kafka answer (a TLS-only port, or not a Kafka broker?)'],
  [/Connect to .* failed|Receive failed|Send failed/i, 'connection failed'],
  // A connection cut by the network (a reset, not the broker's orderly close of an idle one).
  [/Disconnected: connection reset by peer/i, 'connection reset'],
];

/**
 * A plaintext client on a TLS listener: the broker drops the connection while librdkafka waits for
 * the ApiVersion answer (or answers with a TLS alert that reads as an absurd size), with no word
 * of TLS. Such an address is probed once with a TLS handshake to name the cause.
 */
const SILENT_ON_PLAINTEXT = /connection closed by peer.*APIVERSION_QUERY|Disconnected while requesting ApiVersion|Invalid response size/i;

/** TLS_PROBE_MS bounds the one handshake tried on a silent address. */
const TLS_PROBE_MS = 3_000;

/**
 * Whether `host:port` answers a TLS handshake: one that completes, or ends in a TLS alert (a
 * listener that wants a client certificate), means the listener speaks TLS. Nothing is sent after
 * the handshake, so the peer's certificate is not verified.
 */
function speaksTls(address: string): Promise<boolean> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  return new Promise<boolean>((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, ...(isIP(host) === 0 ? { servername: host } : {}) });
    const timer = setTimeout(() => done(false), TLS_PROBE_MS);
    function done(value: boolean): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    }
    socket.once('secureConnect', () => done(true));
    socket.once('error', (error: NodeJS.ErrnoException) => done(/alert/i.test(`${error.code ?? ''} ${error.message}`)));
  });
}

class ConnectionDiagnostics {
  readonly #byAddress = new Map<string, string>();
  readonly #probed = new Set<string>();
  readonly #seen = new Set<string>();
  readonly #onWarning: ((warning: string) => void) | undefined;
  readonly #config: Readonly<Record<string, ClientConfigValue>>;

  constructor(onWarning: ((warning: string) => void) | undefined, config: Readonly<Record<string, ClientConfigValue>>) {
    this.#onWarning = onWarning;
    this.#config = config;
  }

  /** Reads one librdkafka log line (`[thrd:…]: [ssl://]host:port/bootstrap: Connect to … failed: …`). */
  observe(line: string): void {
    const match = /(?:^|\]: )(?:[a-z_]+:\/\/)?([^\s/]+:\d+)\/(?:bootstrap|\d+): (.*)$/.exec(line);
    if (match === null) return;
    const address = match[1] as string;
    const text = match[2] as string;
    if (SILENT_ON_PLAINTEXT.test(text)) this.#probeTls(address);
    const cause = CAUSES.find(([pattern]) => pattern.test(text))?.[1];
    if (cause === undefined) return;
    // The TLS and SASL causes say more than a word: keep librdkafka's reason (never a secret).
    const detail = cause === 'TLS handshake failed' || cause === 'authentication failed' ? ` (${redact(text.replace(/\s*\(after \d+ms.*\)$/, ''), this.#config)})` : '';
    const summary = `${cause}${detail}`;
    this.#byAddress.set(address, summary);
    const key = `${address} ${summary}`;
    if (!this.#seen.has(key)) {
      this.#seen.add(key);
      const refusal = cause === 'authentication failed' || cause === 'TLS handshake failed';
      this.#onWarning?.(`Kafka broker ${address}: ${summary}${refusal ? '' : '; retrying'}`);
    }
    if ((cause === 'authentication failed' || cause === 'TLS handshake failed') && this.#refused === undefined) {
      this.#refused = new SpillwayError(
        ErrorCode.InvalidConfig,
        `Kafka broker ${address} refused the connection: ${summary}. ` +
          'Check security.protocol, sasl.mechanism and the credentials, and the TLS settings (ssl.ca.location, the certificate and key).',
      );
      this.#onRefused?.(this.#refused);
    }
  }

  /** Probes a silent address once when the client speaks plaintext; a TLS answer refuses the connection. */
  #probeTls(address: string): void {
    const protocol = String(this.#config['security.protocol'] ?? 'plaintext').toLowerCase();
    if ((protocol !== 'plaintext' && protocol !== 'sasl_plaintext') || this.#probed.has(address)) return;
    this.#probed.add(address);
    void speaksTls(address).then((tls) => {
      if (!tls) return;
      const summary = `the listener speaks TLS; set security.protocol=${protocol === 'sasl_plaintext' ? 'SASL_SSL' : 'SSL (or SASL_SSL)'}`;
      this.#byAddress.set(address, summary);
      this.#onWarning?.(`Kafka broker ${address}: ${summary}`);
      if (this.#refused !== undefined) return;
      this.#refused = new SpillwayError(ErrorCode.InvalidConfig, `Kafka broker ${address}: ${summary}. Retrying cannot help: the client speaks plaintext.`);
      this.#onRefused?.(this.#refused);
    });
  }

  firstAddress(): string {
    return String(this.#config['bootstrap.servers'] ?? '').split(',')[0] ?? '';
  }

  /** `host:port: cause` for every address that failed, or undefined when none did. */
  summary(): string | undefined {
    if (this.#byAddress.size === 0) return undefined;
    return [...this.#byAddress].map(([address, cause]) => `${address}: ${cause}`).join('; ');
  }

  /** Every address given and every one learned, each with why it failed ("no answer" when nothing was heard). */
  tried(servers: readonly string[]): string {
    const addresses = [...new Set([...servers, ...this.#byAddress.keys()])];
    return addresses.map((address) => `${address}: ${this.#byAddress.get(address) ?? 'no answer'}`).join('; ');
  }

  #refused: SpillwayError | undefined;
  #onRefused: ((error: SpillwayError) => void) | undefined;

  /**
   * Settles with the first authentication or TLS failure: retrying cannot fix a wrong password,
   * an unknown CA or TLS against a plaintext listener, so connecting fails at once.
   */
  whenRefused(): Promise<never> {
    return new Promise<never>((_resolve, reject) => {
      if (this.#refused !== undefined) reject(this.#refused);
      else this.#onRefused = reject;
    });
  }
}

function unreachable(servers: readonly string[], timeoutMs: number, diagnostics: ConnectionDiagnostics, cause?: unknown): SpillwayError {
  const tried = diagnostics.tried(servers);
  return new SpillwayError(
    ErrorCode.BrokerUnreachable,
    `no Kafka broker answered within ${timeoutMs} ms; tried ${tried}. ` +
      'Check bootstrap.servers, that the broker runs (`spillway broker status`), the security settings, and the network.',
    { cause },
  );
}

type Config = Record<string, ClientConfigValue | ((...args: never[]) => unknown)>;

function clientConfig(settings: ConnectionSettings): Config {
  const config: Config = { ...settings.clientConfig };
  const provider = settings.oauthBearerTokenProvider;
  if (provider !== undefined) {
    // The binding calls this with sasl.oauthbearer.config whenever librdkafka needs a token.
    config.oauthbearer_token_refresh_cb = (oauthbearerConfig: string) => provider(oauthbearerConfig);
  }
  return config;
}

function refusedConfig(error: unknown, settings: ConnectionSettings): SpillwayError {
  return new SpillwayError(ErrorCode.InvalidConfig, `librdkafka refused the Kafka properties: ${redact(describe(error), settings.clientConfig)}`, { cause: error });
}

function watch(client: RdKafkaProducer | RdKafkaConsumer, diagnostics: ConnectionDiagnostics): void {
  const emitter = client as unknown as NodeJS.EventEmitter;
  emitter.on('event.log', (event: { message?: string }) => diagnostics.observe(String(event.message ?? '')));
  // A failure of the token provider is reported by librdkafka as an authentication failure; the
  // binding also emits it here, where an unheard 'error' event would end the process.
  emitter.on('error', (error: unknown) => diagnostics.observe(`${diagnostics.firstAddress()}/bootstrap: SASL authentication error: ${describe(error)}`));
  emitter.on('event.error', () => {});
}

/** One connection attempt: the client starts and asks for the brokers, within `timeoutMs`. */
async function connectOnce(client: RdKafkaProducer | RdKafkaConsumer, settings: ConnectionSettings, timeoutMs: number): Promise<Metadata> {
  return new Promise<Metadata>((resolve, reject) => {
    // Brokers only: a cluster's metadata for every topic can be large.
    client.connect({ timeout: timeoutMs, allTopics: false }, (error, metadata) => {
      // librdkafka checks how the properties fit together when the client starts.
      if (error && (error.code === ERR.ERR__STATE || error.code === ERR.ERR__INVALID_ARG)) reject(refusedConfig(error, settings));
      else if (error) reject(new Error(error.message, { cause: error }));
      else resolve(metadata);
    });
  });
}

/**
 * Connects within `timeoutMs`, in attempts of a few seconds, so that a failure found on the way
 * (an authentication or TLS refusal, reported by the diagnostics) ends it promptly and a client
 * that gave up is not left waiting on a long metadata request.
 */
async function connectClient(
  client: RdKafkaProducer | RdKafkaConsumer,
  settings: ConnectionSettings,
  timeoutMs: number,
  diagnostics: ConnectionDiagnostics,
): Promise<Metadata> {
  const deadline = Date.now() + timeoutMs;
  const refused = diagnostics.whenRefused();
  refused.catch(() => {});
  for (;;) {
    const attempt = connectOnce(client, settings, Math.max(1000, Math.min(3000, deadline - Date.now())));
    attempt.catch(() => {});
    try {
      return await Promise.race([attempt, refused]);
    } catch (error) {
      if (error instanceof SpillwayError) {
        // Let the attempt in flight end before the caller closes the client.
        await attempt.catch(() => {});
        throw error;
      }
      if (Date.now() >= deadline) throw unreachable(settings.bootstrapServers, timeoutMs, diagnostics, error);
    }
  }
}

async function metadataOf(client: RdKafkaProducer | RdKafkaConsumer, topic: string, timeoutMs: number): Promise<Metadata> {
  return new Promise<Metadata>((resolve, reject) => {
    client.getMetadata({ topic, timeout: timeoutMs }, (error, metadata) => (error ? reject(new Error(error.message, { cause: error })) : resolve(metadata)));
  });
}

/** Partition count of a topic; waits while a just-created topic has no partitions yet. */
async function partitionCount(client: RdKafkaProducer | RdKafkaConsumer, topic: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metadata = await metadataOf(client, topic, timeoutMs).catch(() => undefined);
    const partitions = metadata?.topics.find((entry) => entry.name === topic)?.partitions.length ?? 0;
    if (partitions > 0) return partitions;
    if (Date.now() > deadline) {
      throw new SpillwayError(
        ErrorCode.DeliveryFailed,
        `topic "${topic}" does not exist and the broker did not create it; create it first (auto.create.topics.enable is off)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface ClusterDescription {
  readonly brokers: readonly string[];
}

/** Asks the cluster for its metadata; fails within `timeoutMs` naming the addresses tried. */
export async function describeCluster(bootstrapServers: readonly string[], timeoutMs: number): Promise<ClusterDescription> {
  const settings: ConnectionSettings = {
    bootstrapServers,
    clientConfig: { 'bootstrap.servers': bootstrapServers.join(','), 'client.id': 'spillway-probe', 'socket.connection.setup.timeout.ms': Math.max(1000, timeoutMs) },
    requestTimeoutMs: timeoutMs,
  };
  const diagnostics = new ConnectionDiagnostics(undefined, settings.clientConfig);
  const producer = new Producer(clientConfig(settings));
  watch(producer, diagnostics);
  const metadata = await connectClient(producer, settings, timeoutMs, diagnostics);
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  return { brokers: metadata.brokers.map((broker) => `${broker.host}:${broker.port}`) };
}

/**
 * The names of the cluster's topics, from its metadata, leaving out Kafka's internal topics
 * (those whose names start with `__`, such as `__consumer_offsets`), as a consumer does by default.
 */
export async function listTopics(settings: ConnectionSettings, timeoutMs: number): Promise<string[]> {
  const diagnostics = new ConnectionDiagnostics(undefined, settings.clientConfig);
  let producer: RdKafkaProducer;
  try {
    producer = new Producer(clientConfig(settings));
  } catch (error) {
    throw refusedConfig(error, settings);
  }
  watch(producer, diagnostics);
  try {
    await connectClient(producer, settings, timeoutMs, diagnostics);
    const metadata = await new Promise<Metadata>((resolve, reject) => {
      producer.getMetadata({ allTopics: true, timeout: timeoutMs }, (error, data) => (error ? reject(new Error(error.message, { cause: error })) : resolve(data)));
    }).catch((error: unknown) => {
      throw new SpillwayError(ErrorCode.Internal, `listing the topics of ${settings.bootstrapServers.join(', ')} failed: ${describe(error)}`, { cause: error });
    });
    return metadata.topics.map((topic) => topic.name).filter((name) => !name.startsWith('__')).sort();
  } finally {
    if (producer.isConnected()) await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// The writer.

/** The binding's native producer object, which holds librdkafka's handle once connected. */
function nativeClientOf(producer: RdKafkaProducer): object {
  return (producer as unknown as { readonly _client: object })._client;
}

/** A record librdkafka did not take, in the shape of the binding's own errors. */
class ProduceRefused extends Error implements Pick<LibrdKafkaError, 'code' | 'errno' | 'origin'> {
  readonly code: number;
  readonly errno: number;
  readonly origin: string;
  constructor(code: number, text: string) {
    super(text);
    this.code = code;
    this.errno = code;
    this.origin = code < 0 ? 'local' : 'kafka';
  }
}

/** How long one flush call waits: the longest a write waits once its records are acknowledged. */
const FLUSH_STEP_MS = 2;

const FENCED_CODES = new Set<number>([ERR.ERR__FENCED, ERR.ERR_PRODUCER_FENCED, ERR.ERR_INVALID_PRODUCER_EPOCH]);

class LibrdkafkaRecordWriter implements TransactionalRecordWriter {
  readonly #settings: ProducerSettings;
  readonly #producer: RdKafkaProducer;
  readonly #diagnostics: ConnectionDiagnostics;
  readonly #transactions: TransactionStateMachine | undefined;
  readonly #partitions = new Map<string, number>();
  #connecting: Promise<void> | undefined;
  #producing: Promise<void> = Promise.resolve();
  #batches: BatchProducer | undefined;
  readonly #layouts = new BatchLayouts();
  /**
   * Whether a write resolves once its own records are acknowledged, as the addon counts them per
   * partition: an idempotent producer's records of a partition are acknowledged in the order they
   * were produced. Without idempotence a retried record can be acknowledged after later ones, and
   * inside a transaction the commit acknowledges, so those writes are settled by a flush.
   */
  readonly #countsAcknowledgements: boolean;
  #failure: SpillwayError | undefined;
  /** The first record the broker refused, from its delivery report. */
  #refused: SpillwayError | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Consumers whose group metadata sendOffsets hands the coordinator, one per group; never joined. */
  readonly #groups = new Map<string, Promise<RdKafkaConsumer>>();

  constructor(settings: ProducerSettings, options: WriterOptions) {
    this.#settings = settings;
    this.#diagnostics = new ConnectionDiagnostics(options.onWarning, settings.clientConfig);
    this.#transactions = settings.transactionalId === undefined ? undefined : new TransactionStateMachine(settings.transactionalId);
    this.#countsAcknowledgements = settings.idempotent && settings.transactionalId === undefined;
    const config: Config = { ...clientConfig(settings), dr_cb: true, 'delivery.report.only.error': true };
    if (this.#countsAcknowledgements) {
      // Spillway's addon is also a librdkafka plugin counting each partition's acknowledgements.
      const given = config['plugin.library.paths'];
      config['plugin.library.paths'] = typeof given === 'string' && given !== '' ? `${given};${nativeModulePath()}` : nativeModulePath();
      // linger.ms is the sink's: it waits that long for changes to fill a batch, and hands each
      // batch over whole. librdkafka lingering again would hold every write that long once more,
      // where a flush used to send it at once.
      config['linger.ms'] = 0;
    }
    try {
      // The binding checks every property here, before anything connects.
      this.#producer = new Producer(config);
    } catch (error) {
      throw refusedConfig(error, settings);
    }
    watch(this.#producer, this.#diagnostics);
    this.#producer.on('delivery-report', (error: LibrdKafkaError | null, report: { topic: string; partition: number }) => {
      // An abort purges the records librdkafka still holds; discarding them is what it is for.
      if (error && error.code !== ERR.ERR__PURGE_QUEUE && error.code !== ERR.ERR__PURGE_INFLIGHT) {
        this.#refuse(error, `${report.topic}[${report.partition}]`);
      }
    });
  }

  get transactionState(): TransactionState {
    return this.#transactions?.state ?? TransactionState.Uninitialized;
  }

  #deliveryError(error: LibrdKafkaError, where: string): SpillwayError {
    if (error.code === ERR.ERR__MSG_TIMED_OUT) {
      const tried = this.#diagnostics.summary();
      if (tried !== undefined) return unreachable(this.#settings.bootstrapServers, this.#settings.deliveryTimeoutMs, this.#diagnostics, error);
      return new SpillwayError(
        ErrorCode.DeliveryFailed,
        `records for ${where} were not acknowledged within delivery.timeout.ms (${this.#settings.deliveryTimeoutMs} ms); the broker is slow or the partition has no leader`,
        { cause: error },
      );
    }
    if (FENCED_CODES.has(error.code)) return this.#fenced(error);
    if (error.code === ERR.ERR_MSG_SIZE_TOO_LARGE) {
      // The broker refuses a whole batch whose size passes the topic's limit, so the records
      // around a large one fail with it: no single record can be set aside by an error policy.
      return new SpillwayError(
        ErrorCode.DeliveryFailed,
        `the broker refused a batch of records for ${where} as too large: the topic's max.message.bytes is below the batches this producer builds ` +
          `(up to message.max.bytes, ${this.#settings.maxMessageBytes} bytes); set message.max.bytes to at most the topic's max.message.bytes (larger records then go to the error policy), or raise the topic's`,
        { cause: error },
      );
    }
    return new SpillwayError(ErrorCode.DeliveryFailed, `Kafka did not accept records for ${where}: ${redact(error.message, this.#settings.clientConfig)}`, { cause: error });
  }

  #fenced(error: unknown): SpillwayError {
    this.#transactions?.force(TransactionState.Fenced);
    return new SpillwayError(
      ErrorCode.DeliveryFailed,
      `the writer with transactional.id "${this.#settings.transactionalId ?? ''}" was fenced: another writer with the same ` +
        'transactional.id started after it, so this one can no longer write or commit. Stop this writer; the newer one carries on.',
      { cause: error },
    );
  }

  /** A record the broker or librdkafka refused fails the writer; the first one is its cause. */
  #refuse(error: LibrdKafkaError | ProduceRefused, where: string): SpillwayError {
    this.#refused ??= this.#deliveryError(error, where);
    this.#fail(this.#refused);
    return this.#refused;
  }

  #fail(error: SpillwayError): void {
    this.#failure ??= error;
    // A write waiting for room in librdkafka's queue ends now.
    this.#batches?.stop();
  }

  /** The writer's failure, the refused record's when there is one (it names the cause). */
  get #cause(): SpillwayError | undefined {
    return this.#refused ?? this.#failure;
  }

  #check(operation: string): void {
    const refusal = this.#refusal(operation);
    if (refusal !== undefined) throw refusal;
  }

  /** Why `operation` cannot run now (the writer is closed or has failed), if it cannot. */
  #refusal(operation: string): SpillwayError | undefined {
    if (this.#closed) return new SpillwayError(ErrorCode.InvalidState, `cannot ${operation}: the writer is closed`);
    return this.#cause;
  }

  async #connect(): Promise<void> {
    this.#connecting ??= connectClient(this.#producer, this.#settings, this.#settings.deliveryTimeoutMs, this.#diagnostics).then(() => {
      // Errors-only delivery reports and token refreshes are served by polling.
      this.#producer.setPollInterval(50);
    });
    await this.#connecting;
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    this.#check('describe a topic');
    await this.#connect();
    const partitions = await partitionCount(this.#producer, topic, this.#settings.requestTimeoutMs);
    this.#partitions.set(topic, partitions);
    return { name: topic, partitions };
  }

  // Not an async function: one would keep `records` alive until the write is acknowledged,
  // though librdkafka copied them when they were handed over.
  write(records: readonly KafkaRecord[]): Promise<void> {
    const refused = this.#refuseWrite('write');
    if (refused !== undefined) return Promise.reject(refused);
    if (records.length === 0) return Promise.resolve();
    if (!this.#countsAcknowledgements) return this.#acknowledgedAfter(this.#handOver(records));
    const acknowledgements: Promise<void>[] = [];
    return this.#handOver(records, acknowledgements)
      .then(() => Promise.all(acknowledgements))
      .then(() => this.#check('write'));
  }

  /**
   * Inside a transaction the commit acknowledges every record (librdkafka's commit waits for them
   * all and fails if one was refused), so a flush per write would only add waiting: each returns
   * once librdkafka holds nothing unacknowledged, which under steady writing means draining it.
   */
  handOver(records: readonly KafkaRecord[]): Promise<void> {
    const refused =
      this.#transactions === undefined
        ? new SpillwayError(ErrorCode.InvalidState, 'cannot hand records over: this writer has no transactional.id; set one to use transactions')
        : this.#refuseWrite('hand records over');
    if (refused !== undefined) return Promise.reject(refused);
    if (records.length === 0) return Promise.resolve();
    return this.#handOver(records).then(
      () => this.#check('hand records over'),
      (error: unknown) => this.#refusedByTransaction(error),
    );
  }

  /**
   * librdkafka refuses to take records once a record of the transaction was refused (ERR__STATE),
   * which can be before that record's delivery report has reached this thread. The report says
   * which partition and why, so it is waited for (it lands with the next flush) and made the error.
   */
  #refusedByTransaction(error: unknown): Promise<never> {
    const failure = asSpillwayError(error, ErrorCode.DeliveryFailed);
    const state = isLibrdkafkaError(failure.cause) && failure.cause.code === ERR.ERR__STATE;
    if (!state || this.#refused !== undefined) return Promise.reject(this.#refused ?? failure);
    const settled = () => Promise.reject(this.#refused ?? failure);
    return this.#acknowledged().then(settled, settled);
  }

  /** Why records cannot be written now, if they cannot. */
  #refuseWrite(operation: string): SpillwayError | undefined {
    const refusal = this.#refusal(operation);
    if (refusal !== undefined) return refusal;
    if (this.#transactions !== undefined && this.#transactions.state !== TransactionState.InTransaction) {
      return new SpillwayError(
        ErrorCode.InvalidState,
        `cannot ${operation} with transactional.id "${this.#settings.transactionalId ?? ''}" in state ${this.#transactions.state}; begin a transaction first`,
      );
    }
    return undefined;
  }

  /**
   * Hands the records to librdkafka, which copies them. Writes overlap (one is acknowledged while
   * the next is produced), but their records are handed over strictly in call order, so each
   * partition keeps the order given. The records are laid out at once; a write waiting its turn
   * holds only their bytes.
   */
  #handOver(records: readonly KafkaRecord[], acknowledgements?: Promise<void>[]): Promise<void> {
    // A write smaller than a batch waits for the running flush to return first. librdkafka's
    // flush returns only once nothing at all is unacknowledged, checking every 10 ms, so small
    // writes handed over while it runs (a continuous sink at a modest rate) would keep it from
    // ever returning: measured at 10,000 rows/s, a write took 21 ms (p50) and 50 ms (p90) to be
    // acknowledged. Batch-sized writes keep flowing during a flush, which keeps the pipe full.
    const small = acknowledgements === undefined && records.length < this.#settings.sinkBatchRecords;
    const batch = this.#layouts.layOut(records);
    let produced: Promise<void> | undefined;
    // The next write is given once this one is given (and there is room), not once it is produced.
    const given = this.#producing
      .then(() => (small ? this.#flushReturned : undefined))
      .then(() => this.#connect())
      .then(() => {
        produced = this.#produce(batch, acknowledgements).finally(() => this.#layouts.release(batch));
        // Its failure is the caller's, once it is given; it is no unhandled rejection meanwhile.
        produced.catch(() => {});
        return this.#batches?.room();
      });
    this.#producing = given.catch(() => {});
    return given.then(() => produced);
  }

  /** Resolves once every write given so far is handed over to librdkafka (or failed). */
  async #allHandedOver(): Promise<void> {
    await this.#producing;
    await this.#batches?.idle();
  }

  async #acknowledgedAfter(produced: Promise<void>): Promise<void> {
    await produced;
    await this.#acknowledged();
    this.#check('write');
  }

  /** Writes produced since the running flush started: the next flush settles them. */
  #unflushed: { readonly resolve: () => void; readonly reject: (error: unknown) => void }[] = [];
  #flushRunning = false;
  /** Resolves when no flush is running. */
  #flushReturned: Promise<void> = Promise.resolve();
  #endFlush: () => void = () => {};

  /** Resolves once a flush that started after this call has returned. */
  #acknowledged(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#unflushed.push({ resolve, reject });
      // In a moment, not now: writes handed over together (say, those a flush held back) are
      // settled by one flush.
      if (this.#unflushed.length === 1) setImmediate(() => this.#startFlush());
    });
  }

  #startFlush(): void {
    if (this.#flushRunning || this.#unflushed.length === 0) return;
    const writes = this.#unflushed;
    this.#unflushed = [];
    this.#flushRunning = true;
    this.#flushReturned = new Promise<void>((resolve) => (this.#endFlush = resolve));
    // A little past delivery.timeout.ms: by then librdkafka has failed what it could not deliver.
    const timeout = this.#settings.deliveryTimeoutMs + 5_000;
    const deadline = Date.now() + timeout;
    // Flushes of FLUSH_STEP_MS, again until one finds nothing unacknowledged: a longer flush
    // looks only every 10 ms, which a write would wait for after its records were acknowledged.
    const step = (error: LibrdKafkaError | null | undefined): void => {
      if (error?.code === ERR.ERR__TIMED_OUT && Date.now() < deadline) {
        this.#producer.flush(FLUSH_STEP_MS, step);
        return;
      }
      // Failed delivery reports are served just before flush returns; let them land.
      setImmediate(() => {
        this.#flushRunning = false;
        const failure = error ? (this.#failure ?? unreachable(this.#settings.bootstrapServers, timeout, this.#diagnostics, error)) : undefined;
        for (const write of writes) {
          if (failure === undefined) write.resolve();
          else write.reject(failure);
        }
        this.#endFlush();
        // After the writes it held back are handed over (promise reactions run before this).
        setImmediate(() => this.#startFlush());
      });
    };
    this.#producer.flush(FLUSH_STEP_MS, step);
  }

  /** Hands the records over; with `acknowledgements`, adds what settles once they are acknowledged. */
  async #produce(batch: LaidOutBatch, acknowledgements?: Promise<void>[]): Promise<void> {
    // Created once connected: it takes librdkafka's handle from the connected client.
    this.#batches ??= new BatchProducer(nativeClientOf(this.#producer));
    const outcome = await this.#batches.produce(batch, this.#settings.maxBlockMs, acknowledgements && this.#acknowledgement(acknowledgements));
    if (outcome.errorCode === ERR.ERR_NO_ERROR) return;
    // The records before `outcome.produced` are on their way.
    if (outcome.errorCode === ERR.ERR__QUEUE_FULL) {
      // The queue stayed full (queue.buffering.max.messages / .kbytes) for max.block.ms, as
      // Java's send() blocks, or the writer stopped waiting because it failed or was closed.
      this.#check('write');
      throw new SpillwayError(
        ErrorCode.DeliveryFailed,
        `the producer's queue stayed full for max.block.ms (${this.#settings.maxBlockMs} ms); the broker is not keeping up or unreachable` +
          `${this.#diagnostics.summary() === undefined ? '' : ` (${this.#diagnostics.summary() ?? ''})`}`,
      );
    }
    const failure = this.#produceError(new ProduceRefused(outcome.errorCode, outcome.errorText), laidOutRecord(batch, outcome.produced));
    this.#fail(failure);
    throw failure;
  }

  /** A callback for one batch's acknowledgement, and the promise it settles. */
  #acknowledgement(acknowledgements: Promise<void>[]): (outcome: BatchAcknowledgement) => void {
    let settle!: (outcome: BatchAcknowledgement) => void;
    const acknowledged = new Promise<void>((resolve, reject) => {
      settle = ({ errorCode, errorText, topic, partition }) => {
        if (errorCode === ERR.ERR_NO_ERROR) resolve();
        else if (errorCode === ERR.ERR__DESTROY) reject(this.#refusal('write') ?? new SpillwayError(ErrorCode.InvalidState, 'cannot write: the writer is closed'));
        else reject(this.#refuse(new ProduceRefused(errorCode, errorText), `${topic}[${partition}]`));
      };
    });
    // Handled where the write waits for it; a failure before then is no unhandled rejection.
    acknowledged.catch(() => {});
    acknowledgements.push(acknowledged);
    return settle;
  }

  #produceError(error: unknown, record: Pick<KafkaRecord, 'topic' | 'partition'>): SpillwayError {
    if (isLibrdkafkaError(error) && error.code === ERR.ERR__UNKNOWN_PARTITION) {
      return new SpillwayError(ErrorCode.DeliveryFailed, `partition ${record.partition} of "${record.topic}" does not exist`, { cause: error });
    }
    if (isLibrdkafkaError(error) && error.code === ERR.ERR_MSG_SIZE_TOO_LARGE) {
      return new SpillwayError(
        ErrorCode.DeliveryFailed,
        `a record for ${record.topic}[${record.partition}] is larger than message.max.bytes (${this.#settings.maxMessageBytes}); raise it or write smaller records`,
        { cause: error },
      );
    }
    if (isLibrdkafkaError(error) && FENCED_CODES.has(error.code)) return this.#fenced(error);
    return new SpillwayError(ErrorCode.DeliveryFailed, `Kafka refused a record for ${record.topic}[${record.partition}]: ${describe(error)}`, { cause: error });
  }

  // -- transactions -----------------------------------------------------------------------------

  #machine(operation: string): TransactionStateMachine {
    if (this.#transactions === undefined) {
      throw new SpillwayError(ErrorCode.InvalidState, `cannot ${operation}: this writer has no transactional.id; set one to use transactions`);
    }
    return this.#transactions;
  }

  #transactionError(error: unknown, operation: string): SpillwayError {
    if (error instanceof SpillwayError) return error;
    const machine = this.#transactions;
    if (isLibrdkafkaError(error)) {
      if (FENCED_CODES.has(error.code)) return this.#fenced(error);
      if (error.code === ERR.ERR_INVALID_TRANSACTION_TIMEOUT) {
        machine?.force(TransactionState.Failed);
        return new SpillwayError(
          ErrorCode.InvalidConfig,
          `transaction.timeout.ms (${this.#settings.transactionTimeoutMs} ms) is larger than the broker's transaction.max.timeout.ms; ` +
            'lower transaction.timeout.ms, or raise transaction.max.timeout.ms on the brokers',
          { cause: error },
        );
      }
      if (error.isFatal === true) machine?.force(TransactionState.Failed);
      else if (error.isTxnRequiresAbort === true) machine?.force(TransactionState.AbortRequired);
    }
    return new SpillwayError(
      ErrorCode.DeliveryFailed,
      `${operation} of transactional.id "${this.#settings.transactionalId ?? ''}" failed: ${redact(describe(error), this.#settings.clientConfig)}` +
        (machine?.state === TransactionState.AbortRequired ? '; abort the transaction' : ''),
      { cause: error },
    );
  }

  async #call(operation: string, run: (done: (error: LibrdKafkaError | null | undefined) => void) => void): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      run((error) => (error ? reject(this.#transactionError(error, operation)) : resolve()));
    });
  }

  async initTransactions(): Promise<void> {
    const machine = this.#machine('initialize transactions');
    this.#check('initialize transactions');
    machine.transition(TransactionState.Initializing, 'initialize transactions');
    try {
      await this.#connect();
      // The coordinator fences any older writer with this id and checks transaction.timeout.ms
      // against its transaction.max.timeout.ms here, before anything is written.
      await this.#call('initialization', (done) => this.#producer.initTransactions(this.#settings.deliveryTimeoutMs, done));
      machine.transition(TransactionState.Ready, 'initialize transactions');
    } catch (error) {
      if (machine.state === TransactionState.Initializing) machine.force(TransactionState.Uninitialized);
      throw error instanceof SpillwayError ? error : this.#transactionError(error, 'initialization');
    }
  }

  async beginTransaction(): Promise<void> {
    const machine = this.#machine('begin a transaction');
    this.#check('begin a transaction');
    if (machine.state === TransactionState.Uninitialized) await this.initTransactions();
    machine.assert(TransactionState.InTransaction, 'begin a transaction');
    await this.#call('begin', (done) => this.#producer.beginTransaction(done));
    machine.transition(TransactionState.InTransaction, 'begin a transaction');
  }

  async commitTransaction(): Promise<void> {
    const machine = this.#machine('commit');
    // A record of this transaction was refused (its delivery report came in): it can only be aborted.
    if (this.#failure !== undefined && machine.state === TransactionState.InTransaction) machine.force(TransactionState.AbortRequired);
    this.#check('commit');
    machine.transition(TransactionState.Committing, 'commit');
    // The commit covers every record handed over before it.
    await this.#allHandedOver();
    try {
      await this.#call('commit', (done) => this.#producer.commitTransaction(this.#settings.deliveryTimeoutMs, done));
    } catch (error) {
      if (machine.state === TransactionState.Committing) machine.force(TransactionState.AbortRequired);
      // A refused record fails the commit; its delivery report, served during the commit, says
      // which partition and why, so it is the error once it has landed.
      await new Promise((resolve) => setImmediate(resolve));
      throw this.#cause ?? error;
    }
    machine.transition(TransactionState.Ready, 'commit');
  }

  async abortTransaction(): Promise<void> {
    const machine = this.#machine('abort');
    if (this.#closed) throw new SpillwayError(ErrorCode.InvalidState, 'cannot abort: the writer is closed');
    machine.transition(TransactionState.Aborting, 'abort');
    try {
      await this.#call('abort', (done) => this.#producer.abortTransaction(this.#settings.deliveryTimeoutMs, done));
    } catch (error) {
      if (machine.state === TransactionState.Aborting) machine.force(TransactionState.Failed);
      throw error;
    }
    // An abort clears a failure of the aborted records; the writer may begin again.
    this.#failure = undefined;
    this.#refused = undefined;
    machine.transition(TransactionState.Ready, 'abort');
  }

  async sendOffsets(groupId: string, offsets: readonly ConsumedOffset[]): Promise<void> {
    const machine = this.#machine('send offsets');
    this.#check('send offsets');
    // Only inside a transaction: the state from which a commit may follow.
    machine.assert(TransactionState.Committing, 'send offsets');
    if (offsets.length === 0) return;
    let group = this.#groups.get(groupId);
    if (group === undefined) {
      group = (async () => {
        const consumer = new KafkaConsumer({ ...connectionConfig(this.#settings), 'group.id': groupId, 'enable.auto.commit': false }, {});
        watch(consumer, this.#diagnostics);
        await connectClient(consumer, this.#settings, this.#settings.deliveryTimeoutMs, this.#diagnostics);
        return consumer;
      })();
      this.#groups.set(groupId, group);
      group.catch(() => this.#groups.delete(groupId));
    }
    const consumer = await group;
    const list = offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: Number(offset) }));
    await this.#call('sending offsets', (done) => this.#producer.sendOffsetsToTransaction(list, consumer, this.#settings.deliveryTimeoutMs, done));
  }

  async close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#transactions?.force(TransactionState.Closed);
      for (const group of this.#groups.values()) {
        const consumer = await group.catch(() => undefined);
        if (consumer?.isConnected() === true) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
      }
      if (this.#connecting === undefined) return;
      const connected = await this.#connecting.then(
        () => true,
        () => false,
      );
      if (!this.#producer.isConnected()) return;
      // The records being handed over are librdkafka's to deliver or fail (a write waiting for
      // room in its queue stops waiting); the producer is not closed under them.
      this.#batches?.stop();
      await this.#allHandedOver();
      this.#producer.setPollInterval(0);
      await new Promise<void>((resolve) => {
        // disconnect() flushes what is queued (bounded by its timeout) before closing; after a
        // failed connect nothing was queued, and the metadata request still in flight is dropped.
        this.#producer.disconnect(connected ? this.#settings.deliveryTimeoutMs : 100, () => resolve());
      });
    })();
    await this.#closing;
  }
}

/** A writer backed by a real Kafka producer with the given settings. Nothing connects until used. */
export function createKafkaWriter(settings: ProducerSettings, options: WriterOptions = {}): RecordWriter {
  return new LibrdkafkaRecordWriter(settings, options);
}

/** A transactional writer: `settings.transactionalId` is required. */
export function createTransactionalWriter(settings: ProducerSettings, options: WriterOptions = {}): TransactionalRecordWriter {
  if (settings.transactionalId === undefined) {
    throw new SpillwayError(ErrorCode.InvalidConfig, 'a transactional writer needs `transactional.id`; set it in the Kafka properties');
  }
  return new LibrdkafkaRecordWriter(settings, options);
}

// ---------------------------------------------------------------------------------------------
// Admin.

export interface CreateTopicOptions {
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly config?: Readonly<Record<string, string>>;
  /** How long the cluster may take to answer (default 30 s). */
  readonly timeoutMs?: number;
  /** Told of each broker address that cannot be reached, and why, while the request is retried. */
  readonly onWarning?: (warning: string) => void;
}

/** Creates a topic (for tests, the demo and benchmarks); an existing topic is left as it is. */
export async function createTopic(bootstrapServers: readonly string[], topic: string, options: CreateTopicOptions = {}): Promise<void> {
  const config = { 'bootstrap.servers': bootstrapServers.join(','), 'client.id': 'spillway-admin' };
  const diagnostics = new ConnectionDiagnostics(options.onWarning, config);
  const admin = AdminClient.create(config, { 'event.log': (event: { message?: string }) => diagnostics.observe(String(event.message ?? '')) });
  const timeoutMs = options.timeoutMs ?? 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      admin.createTopic(
        {
          topic,
          num_partitions: options.partitions ?? 1,
          replication_factor: options.replicationFactor ?? 1,
          ...(options.config === undefined ? {} : { config: { ...options.config } }),
        },
        timeoutMs,
        (error) => {
          if (!error || error.code === ERR.ERR_TOPIC_ALREADY_EXISTS) resolve();
          else if (error.code === ERR.ERR__TIMED_OUT || error.code === ERR.ERR__TRANSPORT) reject(unreachable(bootstrapServers, timeoutMs, diagnostics, error));
          else reject(new SpillwayError(ErrorCode.DeliveryFailed, `creating topic "${topic}" failed: ${error.message}`, { cause: error }));
        },
      );
    });
  } finally {
    admin.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Reading.

export interface ReadRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly [string, Buffer][];
  readonly timestamp: bigint;
}

export interface ReadTopicOptions {
  /** Stop after this many records. */
  readonly maxRecords: number;
  /** Stop after this long even if fewer records arrived. */
  readonly timeoutMs: number;
  /** Only committed transactional records (default true). */
  readonly readCommitted?: boolean;
}

function toReadRecord(message: Message): ReadRecord {
  const headers: [string, Buffer][] = [];
  for (const header of message.headers ?? []) {
    for (const [key, value] of Object.entries(header)) headers.push([key, Buffer.isBuffer(value) ? value : Buffer.from(value)]);
  }
  const key = message.key;
  return {
    topic: message.topic,
    partition: message.partition,
    offset: BigInt(message.offset),
    key: key === undefined || key === null ? null : Buffer.isBuffer(key) ? key : Buffer.from(key),
    value: message.value ?? null,
    headers,
    timestamp: BigInt(message.timestamp ?? 0),
  };
}

/** Reads a topic from its beginning; used by the demo, the tests and Kafka-to-Kafka pipelines. */
export async function readTopic(bootstrapServers: readonly string[], topic: string, options: ReadTopicOptions): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  const follower = followTopic({
    connection: {
      bootstrapServers,
      clientConfig: { 'bootstrap.servers': bootstrapServers.join(','), 'client.id': 'spillway-reader' },
      requestTimeoutMs: options.timeoutMs,
      readCommitted: options.readCommitted ?? true,
      maxPollRecords: 500,
    },
    topic,
    startFrom: 'earliest',
    timeoutMs: options.timeoutMs,
    onRecords: (batch) => {
      for (const record of batch) if (records.length < options.maxRecords) records.push(record);
      if (records.length >= options.maxRecords) void follower.close();
    },
  });
  const timer = setTimeout(() => void follower.close(), options.timeoutMs);
  try {
    await follower.done;
  } finally {
    clearTimeout(timer);
  }
  return records;
}

export interface FollowTopicOptions {
  readonly connection: ConsumerSettings;
  readonly topic: string;
  /** `earliest`: every record the topic holds, then new ones; `latest`: only records written after `ready`. */
  readonly startFrom: 'earliest' | 'latest';
  /** Partitions to start at a given offset instead (a resume); the others start as `startFrom` says. */
  readonly startOffsets?: ReadonlyMap<number, bigint>;
  /** How long joining and positioning may take before the follower fails (default 30 s). */
  readonly timeoutMs?: number;
  /** Told of connection problems while the follower retries. */
  readonly onWarning?: (warning: string) => void;
  /**
   * Receives the records as they arrive, in offset order within each partition, a fetch at a
   * time. If it throws, following stops and `done` rejects with that error.
   */
  readonly onRecords: (records: readonly ReadRecord[]) => void;
}

export interface TopicFollower {
  /** Resolves once the follower knows where it starts: with `latest`, records written after this are seen. */
  readonly ready: Promise<void>;
  /** Settles when following stops: resolves after `close()`, rejects on a failure. */
  readonly done: Promise<void>;
  /** Stops fetching (backpressure) until `resume()`; records already received are still delivered. */
  pause(): void;
  resume(): void;
  /** Stops following (records already received are delivered first) and closes the connections. */
  close(): Promise<void>;
}

async function watermarks(consumer: RdKafkaConsumer, topic: string, partition: number, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (error, offsets) => (error ? reject(new Error(`reading the end offset of ${topic}[${partition}] failed: ${error.message}`, { cause: error })) : resolve(offsets.highOffset)));
  });
}

/**
 * Follows a topic: reads every partition from the beginning or the end and keeps delivering new
 * records until closed. The consumer is assigned the partitions itself (no group join, nothing
 * committed). Records are bytes; what they mean is for the caller to decide.
 */
export function followTopic(options: FollowTopicOptions): TopicFollower {
  const settings = options.connection;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const diagnostics = new ConnectionDiagnostics(options.onWarning, settings.clientConfig);
  const config = {
    ...clientConfig(settings),
    // Assignment without a group join; the id only names the client to the brokers.
    'group.id': `spillway-follow-${randomUUID()}`,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'isolation.level': settings.readCommitted ? 'read_committed' : 'read_uncommitted',
  };
  let consumer: RdKafkaConsumer;
  try {
    consumer = new KafkaConsumer(config, {});
  } catch (error) {
    throw refusedConfig(error, settings);
  }
  watch(consumer, diagnostics);
  consumer.setDefaultConsumeTimeout(200);
  // Wait for the first record only, then take what is ready: by default the binding waits up to
  // the timeout for every record, so a topic written to steadily would never hand a batch over.
  (consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void }).setDefaultIsTimeoutOnlyForFirstMessage(true);

  let stopped = false;
  let paused = false;
  let looping = false;
  let closing: Promise<void> | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // A failure is reported through `done`; one nobody awaits must not crash the process.
  done.catch(() => {});

  let idle: (() => void) | undefined;
  const shutdown = async (): Promise<void> => {
    // Wait for a consume() in flight to return before disconnecting.
    if (looping) await new Promise<void>((resolve) => (idle = resolve));
    if (consumer.isConnected()) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  };
  const fail = (error: unknown): void => {
    if (stopped) return;
    stopped = true;
    const failure =
      error instanceof SpillwayError
        ? error
        : new SpillwayError(
            ErrorCode.Internal,
            `following topic "${options.topic}" on ${settings.bootstrapServers.join(', ')} failed: ${describe(error)}`,
            { cause: error },
          );
    closing = shutdown().then(() => rejectDone(failure));
  };

  const loop = (): void => {
    if (looping || stopped || paused) return;
    looping = true;
    consumer.consume(settings.maxPollRecords, (error, messages) => {
      looping = false;
      if (stopped) {
        idle?.();
        return;
      }
      if (error && error.code !== ERR.ERR__PARTITION_EOF && error.code !== ERR.ERR__TIMED_OUT) {
        fail(error);
        return;
      }
      if (messages.length > 0) {
        try {
          options.onRecords(messages.map(toReadRecord));
        } catch (failure) {
          fail(failure);
          return;
        }
      }
      if (stopped) idle?.();
      else setImmediate(loop);
    });
  };

  const ready = (async () => {
    const metadata = await connectClient(consumer, settings, timeoutMs, diagnostics);
    const described = metadata.topics.find((topic) => topic.name === options.topic);
    const partitions =
      described !== undefined && described.partitions.length > 0
        ? described.partitions.map((partition) => partition.id)
        : Array.from({ length: await partitionCount(consumer, options.topic, timeoutMs) }, (_v, i) => i);
    // librdkafka's RD_KAFKA_OFFSET_BEGINNING.
    const start = options.startFrom === 'latest' ? undefined : -2;
    const assignments = [];
    for (const partition of partitions.sort((a, b) => a - b)) {
      // `latest` starts at the end as it is now, so records written after `ready` are seen.
      const given = options.startOffsets?.get(partition);
      const offset = given === undefined ? (start ?? (await watermarks(consumer, options.topic, partition, timeoutMs))) : Number(given);
      assignments.push({ topic: options.topic, partition, offset });
    }
    if (stopped) return;
    consumer.assign(assignments);
    loop();
  })();
  ready.catch((error: unknown) => fail(error));

  return {
    ready,
    done,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      loop();
    },
    close() {
      if (closing !== undefined) return closing.then(() => done);
      stopped = true;
      closing = ready
        .catch(() => {})
        .then(shutdown)
        .then(() => resolveDone());
      return closing.then(() => done);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A log topic: the sink's compacted progress topic, read back in full at recovery.

const PRODUCER_ONLY = new Set(LIBRDKAFKA_PROPERTIES.filter(([, side]) => side === 'P').map(([name]) => name));

/** The connection part of a producer's configuration, for a consumer or admin client beside it. */
function connectionConfig(settings: ConnectionSettings): Config {
  const config = clientConfig(settings);
  for (const name of Object.keys(config)) if (PRODUCER_ONLY.has(name)) delete config[name];
  return config;
}

class KafkaTopicLog implements TopicLog {
  readonly #settings: ConnectionSettings;
  readonly #timeoutMs: number;

  constructor(settings: ConnectionSettings, timeoutMs: number) {
    this.#settings = settings;
    this.#timeoutMs = timeoutMs;
  }

  async ensureCompacted(topic: string): Promise<void> {
    const diagnostics = new ConnectionDiagnostics(undefined, this.#settings.clientConfig);
    const admin = AdminClient.create({ ...connectionConfig(this.#settings), 'client.id': 'spillway-progress-admin' }, {
      'event.log': (event: { message?: string }) => diagnostics.observe(String(event.message ?? '')),
    });
    try {
      await new Promise<void>((resolve, reject) => {
        admin.createTopic({ topic, num_partitions: 1, replication_factor: -1, config: { 'cleanup.policy': 'compact' } }, this.#timeoutMs, (error) => {
          if (!error || error.code === ERR.ERR_TOPIC_ALREADY_EXISTS) resolve();
          else if (error.code === ERR.ERR__TIMED_OUT || error.code === ERR.ERR__TRANSPORT) reject(unreachable(this.#settings.bootstrapServers, this.#timeoutMs, diagnostics, error));
          else {
            reject(
              new SpillwayError(
                ErrorCode.DeliveryFailed,
                `creating the progress topic "${topic}" failed: ${redact(error.message, this.#settings.clientConfig)}; create it yourself (one partition, cleanup.policy=compact) or allow this client to create topics`,
                { cause: error },
              ),
            );
          }
        });
      });
    } finally {
      admin.disconnect();
    }
  }

  async readCommitted(topic: string, after?: Promise<unknown>): Promise<LoggedRecord[]> {
    const diagnostics = new ConnectionDiagnostics(undefined, this.#settings.clientConfig);
    const consumer = new KafkaConsumer(
      {
        ...connectionConfig(this.#settings),
        'group.id': `spillway-progress-${randomUUID()}`,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'enable.partition.eof': true,
        'isolation.level': 'read_committed',
        // The end is known once a fetch comes back empty; the broker holds an empty fetch this long
        // (500 ms by default), which every recovery would wait for.
        'fetch.wait.max.ms': 10,
      } as never,
      {},
    );
    watch(consumer, diagnostics);
    // Take what each fetch brought, and look again soon: by default the binding waits up to the
    // timeout for every record of a consume call, which made recovery read for a second or more.
    consumer.setDefaultConsumeTimeout(20);
    (consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void }).setDefaultIsTimeoutOnlyForFirstMessage(true);
    const records: LoggedRecord[] = [];
    try {
      // Connecting is not reading: it may overlap what `after` waits for. Both settle before
      // either error is thrown, so the consumer is not left connecting when it is closed.
      const [connected, ready] = await Promise.allSettled([connectClient(consumer, this.#settings, this.#timeoutMs, diagnostics), after]);
      if (ready.status === 'rejected') throw ready.reason;
      if (connected.status === 'rejected') throw connected.reason;
      const partitions = await partitionCount(consumer, topic, this.#timeoutMs);
      const open = new Set<number>();
      const assignments = [];
      for (let partition = 0; partition < partitions; partition++) {
        // After fencing nothing is open, so the committed end is the high watermark.
        if ((await watermarks(consumer, topic, partition, this.#timeoutMs)) > 0) open.add(partition);
        assignments.push({ topic, partition, offset: -2 });
      }
      if (open.size === 0) return records;
      consumer.on('partition.eof', (eof: { partition: number }) => open.delete(eof.partition));
      consumer.assign(assignments);
      const deadline = Date.now() + this.#timeoutMs;
      while (open.size > 0) {
        if (Date.now() > deadline) {
          throw new SpillwayError(ErrorCode.DeliveryFailed, `reading the progress topic "${topic}" did not reach its end within ${this.#timeoutMs} ms; check the broker`);
        }
        const messages = await new Promise<Message[]>((resolve, reject) => {
          consumer.consume(500, (error, batch) => {
            if (error && error.code !== ERR.ERR__PARTITION_EOF && error.code !== ERR.ERR__TIMED_OUT) reject(new SpillwayError(ErrorCode.DeliveryFailed, `reading the progress topic "${topic}" failed: ${describe(error)}`, { cause: error }));
            else resolve(batch);
          });
        });
        for (const message of messages) {
          const record = toReadRecord(message);
          records.push({ key: record.key, value: record.value, where: `topic "${topic}" partition ${record.partition} offset ${record.offset}` });
        }
      }
      return records;
    } finally {
      if (consumer.isConnected()) await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
  }
}

/** The sink's log topic (its progress) on the cluster these settings reach. */
export function createTopicLog(settings: ConnectionSettings, timeoutMs = settings.requestTimeoutMs): TopicLog {
  return new KafkaTopicLog(settings, timeoutMs);
}
