/**
 * Kafka producer properties by their librdkafka / Java names, and their translation into
 * ProducerSettings. The catalog is the single source of truth: validation, the nearest-name hint
 * and docs/properties.md all come from it. An unknown name is an error, never ignored; a
 * consumer-side name (common in shared configs) is accepted with a warning that it has no effect.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';
import {
  type Acks,
  type CompressionType,
  DeliveryGuarantee,
  type ProducerSettings,
  type SaslMechanism,
  type SecurityProtocol,
} from './producer-settings.ts';
import { redactedValue } from './secret-properties.ts';

type Parsed = string | number | boolean | readonly string[];
type Parser = (raw: string | number | boolean) => Parsed;

interface PropertyEntry {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  /** The value used when the property is absent, as documented. */
  readonly defaultText: string;
  readonly parse: Parser;
}

class ValueProblem extends Error {}

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser =>
  (raw) => {
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new ValueProblem(`expected an integer from ${min} to ${max}`);
    }
    return value;
  };

const bool: Parser = (raw) => {
  if (typeof raw === 'boolean') return raw;
  const text = String(raw).trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ValueProblem('expected true or false');
};

const text: Parser = (raw) => {
  if (typeof raw !== 'string' || raw.length === 0) throw new ValueProblem('expected a non-empty string');
  return raw;
};

const choice =
  (choices: readonly string[], normalize: (value: string) => string = (value) => value.toLowerCase()): Parser =>
  (raw) => {
    const value = normalize(String(raw).trim());
    if (!choices.includes(value)) throw new ValueProblem(`expected one of ${choices.join(', ')}`);
    return value;
  };

const serverList: Parser = (raw) => {
  if (typeof raw !== 'string') throw new ValueProblem('expected a comma-separated list of host:port');
  const servers = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  if (servers.length === 0) throw new ValueProblem('expected at least one host:port');
  for (const server of servers) {
    const match = /^(?:\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(server.replace(/^[a-zA-Z_]+:\/\//, ''));
    const port = Number(match?.[1]);
    if (match === null || port < 1 || port > 65535) {
      throw new ValueProblem(`"${server}" is not host:port (for example 127.0.0.1:9092 or broker-1:9092)`);
    }
  }
  return servers.map((server) => server.replace(/^[a-zA-Z_]+:\/\//, ''));
};

const urlList: Parser = (raw) => {
  if (typeof raw !== 'string') throw new ValueProblem('expected a URL such as http://127.0.0.1:8081 (several separated by commas)');
  const urls = raw.split(',').map((url) => url.trim()).filter((url) => url.length > 0);
  if (urls.length === 0) throw new ValueProblem('expected at least one URL such as http://127.0.0.1:8081');
  for (const url of urls) {
    if (!/^https?:\/\/[^\s/]+/.test(url)) throw new ValueProblem(`"${url}" is not an http:// or https:// URL`);
  }
  return raw;
};

const entry = (
  name: string,
  parse: Parser,
  defaultText: string,
  description: string,
  aliases: readonly string[] = [],
): PropertyEntry => ({ name, aliases, description, defaultText, parse });

/** Every producer property Spillway honours. */
export const SUPPORTED_KAFKA_PROPERTIES: readonly PropertyEntry[] = [
  entry('bootstrap.servers', serverList, '(required)', 'Comma-separated host:port list of brokers to connect to first.', ['metadata.broker.list']),
  entry('client.id', text, 'spillway', 'Client name the brokers log and use for quotas.'),
  entry('acks', choice(['all', '-1', '0', '1']), 'all', 'Acknowledgements a write waits for: all (every in-sync replica), 1 (the leader), 0 (none).', ['request.required.acks']),
  entry('enable.idempotence', bool, 'true (false for delivery none)', 'Idempotent producer: retries never duplicate or reorder records. Needs acks=all.'),
  entry('compression.type', choice(['none', 'gzip', 'snappy', 'lz4', 'zstd']), 'none', 'Compression of record batches.', ['compression.codec']),
  entry('linger.ms', integer(0, 900_000), '5', 'How long the sink waits for more changes before sending a batch.', ['queue.buffering.max.ms']),
  entry('batch.size', integer(1, 2_147_483_647), '1048576', 'Largest batch, in bytes of keys and values, sent in one request.'),
  entry('batch.num.messages', integer(1, 1_000_000), '10000', 'Largest batch, in records, sent in one request.'),
  entry('queue.buffering.max.messages', integer(1, 100_000_000), '100000', 'Changes a sink holds before it holds back the sources feeding it (backpressure).'),
  entry('message.max.bytes', integer(1_000, 1_000_000_000), '1048576', 'Largest record the sink sends; bigger ones go to the error policy.', ['max.request.size']),
  entry('request.timeout.ms', integer(1, 2_147_483_647), '30000', 'How long to wait for one broker response.'),
  entry('delivery.timeout.ms', integer(1, 2_147_483_647), '120000', 'Upper bound on a write, retries included; also how long an unreachable cluster is tried.', ['message.timeout.ms']),
  entry('retries', integer(0, Number.MAX_SAFE_INTEGER), 'unbounded (bounded by delivery.timeout.ms)', 'How often a failed request is retried.', ['message.send.max.retries']),
  entry('retry.backoff.ms', integer(1, 300_000), '100', 'Pause between retries.'),
  entry('socket.connection.setup.timeout.ms', integer(1, 2_147_483_647), '10000', 'How long to wait for a connection to a broker.'),
  entry('metadata.max.age.ms', integer(1, 2_147_483_647), '300000', 'How often topic metadata (partitions, leaders) is refreshed.', ['topic.metadata.refresh.interval.ms']),
  entry('max.in.flight.requests.per.connection', integer(1, 5), '5', 'Requests sent to one broker without waiting for the answers.', ['max.in.flight']),
  entry('transactional.id', text, '(derived from the sink name for exactly-once)', 'Transactional id for exactly-once delivery.'),
  entry('security.protocol', choice(['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl']), 'plaintext', 'Protocol used to talk to brokers.'),
  entry('sasl.mechanism', choice(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'], (v) => v.toUpperCase()), 'PLAIN when SASL is on', 'SASL mechanism.', ['sasl.mechanisms']),
  entry('sasl.username', text, '', 'SASL user name.'),
  entry('sasl.password', text, '', 'SASL password.'),
  entry('sasl.jaas.config', text, '', 'Java JAAS line; the username="…" password="…" of a PLAIN or SCRAM login module are used.'),
  entry('ssl.ca.location', text, 'system roots', 'File with the CA certificates that sign the brokers\' certificates.'),
  entry('ssl.ca.pem', text, '', 'CA certificates as PEM text.'),
  entry('ssl.certificate.location', text, '', 'Client certificate file (PEM) for mutual TLS.'),
  entry('ssl.certificate.pem', text, '', 'Client certificate as PEM text.'),
  entry('ssl.key.location', text, '', 'Client private key file (PEM).'),
  entry('ssl.key.pem', text, '', 'Client private key as PEM text.'),
  entry('ssl.key.password', text, '', 'Password of the client private key.'),
  entry('enable.ssl.certificate.verification', bool, 'true', 'Verify the brokers\' certificates.'),
  entry('ssl.endpoint.identification.algorithm', choice(['https', 'none', '']), 'https', 'https checks the broker host name against its certificate; none skips it.'),
  // Read by Avro specs with the Confluent wire format (as Deephaven and Confluent's serializers
  // read it); Spillway-level, never sent to the brokers.
  entry('schema.registry.url', urlList, '', 'Schema Registry for Avro specs with the Confluent wire format (Spillway-level; not sent to Kafka). Several URLs may be separated by commas.'),
];

/** Consumer-side and reader-only properties people keep in shared configs: accepted, with a warning. */
const CONSUMER_ONLY = new Set([
  'auto.offset.reset',
  'group.id',
  'group.instance.id',
  'enable.auto.commit',
  'auto.commit.interval.ms',
  'session.timeout.ms',
  'heartbeat.interval.ms',
  'max.poll.interval.ms',
  'max.poll.records',
  'isolation.level',
  'fetch.min.bytes',
  'fetch.max.bytes',
  'fetch.wait.max.ms',
  'fetch.max.wait.ms',
  'max.partition.fetch.bytes',
  'partition.assignment.strategy',
  'key.deserializer',
  'value.deserializer',
]);

/** Serializer classes are Spillway's own job (the key and value specs); naming one is a mistake. */
const SPEC_OWNED = new Set(['key.serializer', 'value.serializer', 'partitioner.class', 'partitioner']);

const byName = new Map<string, PropertyEntry>();
for (const property of SUPPORTED_KAFKA_PROPERTIES) {
  byName.set(property.name, property);
  for (const alias of property.aliases) byName.set(alias, property);
}

/** Damerau–Levenshtein distance (optimal string alignment), for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_v, i) => Array.from({ length: cols }, (_w, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      row[j] = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The candidate closest to `name`, if it is close enough to be a plausible typo. */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

/** Reads `username="…"` and `password="…"` out of a Java JAAS login-module line. */
function parseJaas(line: string): { username?: string; password?: string } {
  const field = (name: string) => new RegExp(`${name}\\s*=\\s*"([^"]*)"`).exec(line)?.[1] ?? new RegExp(`${name}\\s*=\\s*'([^']*)'`).exec(line)?.[1];
  const username = field('username');
  const password = field('password');
  return { ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) };
}

export interface ParsedKafkaProperties {
  readonly settings: ProducerSettings;
  readonly warnings: string[];
}

/**
 * Validates Kafka properties completely and translates them into settings. Every problem is
 * reported in one error, one line each; the input is never mutated.
 */
export function parseKafkaProperties(
  input: Readonly<Record<string, unknown>>,
  context: { readonly sink: string; readonly guarantee?: DeliveryGuarantee },
): ParsedKafkaProperties {
  const problems: string[] = [];
  const warnings: string[] = [];
  const values = new Map<string, Parsed>();
  const given = new Map<string, string>();

  for (const [name, raw] of Object.entries(input)) {
    const property = byName.get(name);
    if (property === undefined) {
      if (CONSUMER_ONLY.has(name)) {
        warnings.push(`\`${name}\` is a consumer property; a sink only writes, so it has no effect`);
      } else if (SPEC_OWNED.has(name)) {
        problems.push(`\`${name}\` is chosen by the sink spec, not a Kafka property: use the key/value specs and the partitioner option`);
      } else {
        const hint = nearestName(name, [...byName.keys(), ...CONSUMER_ONLY]);
        problems.push(
          `\`${name}\` is not a supported Kafka producer property${hint === undefined ? '' : `; did you mean \`${hint}\`?`} ` +
            '(the supported names are listed in docs/properties.md)',
        );
      }
      continue;
    }
    if (given.has(property.name)) {
      problems.push(`\`${name}\` and \`${given.get(property.name) ?? ''}\` both set ${property.name}; keep one`);
      continue;
    }
    given.set(property.name, name);
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      problems.push(`\`${name}\` has ${raw === null ? 'null' : typeof raw} value; give a string, number or boolean`);
      continue;
    }
    try {
      values.set(property.name, property.parse(raw));
    } catch (error) {
      if (!(error instanceof ValueProblem)) throw error;
      // A secret's value is never quoted back, even when it is malformed.
      problems.push(`\`${name}\` = ${redactedValue(name, raw)}: ${error.message}`);
    }
  }

  if (!given.has('bootstrap.servers')) {
    problems.push('`bootstrap.servers` is required: the brokers to connect to, as host:port[,host:port]');
  }

  const guarantee = context.guarantee ?? DeliveryGuarantee.AtLeastOnce;
  const fireAndForget = guarantee === DeliveryGuarantee.None;
  const acksText = values.get('acks') as string | undefined;
  const acks: Acks = acksText === undefined ? (fireAndForget ? 0 : -1) : acksText === 'all' ? -1 : (Number(acksText) as Acks);
  const idempotentGiven = values.get('enable.idempotence') as boolean | undefined;
  const idempotent = idempotentGiven ?? (!fireAndForget && acks === -1);
  if (idempotentGiven === true && acks !== -1) {
    problems.push(`\`enable.idempotence\` = true needs \`acks\` = all (got ${acksText ?? ''}); drop acks or set it to all`);
  }
  if (guarantee === DeliveryGuarantee.AtLeastOnce && acks === 0) {
    problems.push('`acks` = 0 cannot give at-least-once delivery; choose delivery "none" to fire and forget, or drop acks');
  }

  const protocol = (values.get('security.protocol') as SecurityProtocol | undefined) ?? 'plaintext';
  const jaas = parseJaas((values.get('sasl.jaas.config') as string | undefined) ?? '');
  const username = (values.get('sasl.username') as string | undefined) ?? jaas.username;
  const password = (values.get('sasl.password') as string | undefined) ?? jaas.password;
  const usesSasl = protocol === 'sasl_plaintext' || protocol === 'sasl_ssl';
  if (usesSasl && (username === undefined || password === undefined)) {
    problems.push(`\`security.protocol\` = ${protocol} needs \`sasl.username\` and \`sasl.password\` (or \`sasl.jaas.config\`)`);
  }
  if (!usesSasl && (values.has('sasl.username') || values.has('sasl.mechanism'))) {
    problems.push('SASL properties are set but `security.protocol` is not sasl_plaintext or sasl_ssl; set it');
  }

  if (problems.length > 0) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `sink "${context.sink}" has invalid Kafka properties:\n  - ${problems.join('\n  - ')}`,
    );
  }

  const number = (name: string, fallback: number) => (values.get(name) as number | undefined) ?? fallback;
  const string = (name: string) => values.get(name) as string | undefined;
  const usesTls = protocol === 'ssl' || protocol === 'sasl_ssl';
  const ca = string('ssl.ca.pem') ?? string('ssl.ca.location');
  const cert = string('ssl.certificate.pem') ?? string('ssl.certificate.location');
  const key = string('ssl.key.pem') ?? string('ssl.key.location');
  const keyPassword = string('ssl.key.password');
  const transactionalId = string('transactional.id');

  const settings: ProducerSettings = {
    bootstrapServers: values.get('bootstrap.servers') as readonly string[],
    clientId: string('client.id') ?? 'spillway',
    acks,
    idempotent,
    compression: (string('compression.type') as CompressionType | undefined) ?? 'none',
    lingerMs: number('linger.ms', 5),
    batchSize: number('batch.size', 1_048_576),
    batchNumMessages: number('batch.num.messages', 10_000),
    maxQueuedChanges: number('queue.buffering.max.messages', 100_000),
    maxMessageBytes: number('message.max.bytes', 1_048_576),
    requestTimeoutMs: number('request.timeout.ms', 30_000),
    deliveryTimeoutMs: number('delivery.timeout.ms', 120_000),
    retries: number('retries', idempotent ? Number.MAX_SAFE_INTEGER : 2_147_483_647),
    retryBackoffMs: number('retry.backoff.ms', 100),
    connectTimeoutMs: number('socket.connection.setup.timeout.ms', 10_000),
    metadataMaxAgeMs: number('metadata.max.age.ms', 300_000),
    maxInFlight: number('max.in.flight.requests.per.connection', 5),
    securityProtocol: protocol,
    ...(transactionalId === undefined ? {} : { transactionalId }),
    ...(usesSasl && username !== undefined && password !== undefined
      ? { sasl: { mechanism: (string('sasl.mechanism') as SaslMechanism | undefined) ?? 'PLAIN', username, password } }
      : {}),
    ...(usesTls
      ? {
          tls: {
            ...(ca === undefined ? {} : { ca }),
            ...(cert === undefined ? {} : { cert }),
            ...(key === undefined ? {} : { key }),
            ...(keyPassword === undefined ? {} : { keyPassword }),
            rejectUnauthorized: (values.get('enable.ssl.certificate.verification') as boolean | undefined) ?? true,
            verifyHostname: (string('ssl.endpoint.identification.algorithm') ?? 'https') === 'https',
          },
        }
      : {}),
  };
  return { settings, warnings };
}
