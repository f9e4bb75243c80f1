/**
 * Kafka properties by their librdkafka and Java names, and their translation into the settings
 * of Spillway's writer (a librdkafka producer) and of the Kafka-topic source (a librdkafka
 * consumer). Each side has its own catalog, the single source of truth for validation, the
 * nearest-name hint and docs/properties.md:
 *   - every librdkafka property is taken by its own name and passed to librdkafka, its value
 *     checked against librdkafka's documented type and range first;
 *   - every Java client property is mapped to the librdkafka property with the same effect, or
 *     applied by Spillway itself, or refused with why and what to use instead;
 *   - a property of the other side (say `auto.offset.reset` given to a sink) has no effect there
 *     and is reported as a warning, as librdkafka itself does; any other name is an error naming
 *     the nearest valid one.
 * Nothing is accepted and ignored, and no secret value ever appears in a message.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { LIBRDKAFKA_PROPERTIES, type LibrdkafkaProperty } from './librdkafka-catalog.ts';
import { LIBRDKAFKA_DESCRIPTIONS } from './librdkafka-descriptions.ts';
import {
  type Acks,
  type ClientConfigValue,
  type ConsumerSettings,
  DeliveryGuarantee,
  type OAuthBearerTokenProvider,
  type ProducerSettings,
} from './producer-settings.ts';
import { isSecretProperty, redactedValue } from './secret-properties.ts';

export type KafkaPropertyValue = string | number | boolean | OAuthBearerTokenProvider;

/** A property value: text, a number, a boolean, or (for oauthbearer_token_refresh_cb only) a function. */
export const kafkaPropertyValueSchema = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.custom<OAuthBearerTokenProvider>((value) => typeof value === 'function', 'a function (only oauthbearer_token_refresh_cb takes one)'),
]);

/** True for a name of librdkafka or of the Java client, whatever it does. */
export function isKafkaPropertyName(name: string): boolean {
  return librdkafka.has(name) || JAVA_PRODUCER[name] !== undefined || JAVA_CONSUMER[name] !== undefined;
}

type Side = 'producer' | 'consumer';

class ValueProblem extends Error {}

/** Values that must never be echoed back (one rule for the whole project, in secret-properties.ts). */
export { isSecretProperty };

function shown(name: string, raw: unknown): string {
  return `\`${name}\` = ${redactedValue(name, raw)}`;
}

// ---------------------------------------------------------------------------------------------
// librdkafka's own properties: values checked by their documented type and range.

/** Properties the writer and the reader set themselves; a user value would break them. */
const OWNED_BY_SPILLWAY: Readonly<Record<string, string>> = {
  'delivery.report.only.error': 'Spillway\'s writer asks for delivery reports of failed records only and counts each write\'s acknowledgements itself; remove it',
  dr_cb: 'Spillway\'s writer handles delivery reports itself (a write resolves once its records are acknowledged); remove it',
  dr_msg_cb: 'Spillway\'s writer handles delivery reports itself (a write resolves once its records are acknowledged); remove it',
  partitioner: 'Spillway picks every record\'s partition (Java-compatible murmur2 by default); use the sink\'s `partitioner` option',
  partitioner_cb: 'Spillway picks every record\'s partition; use the sink\'s `partitioner` option (a custom function is allowed)',
  'sticky.partitioning.linger.ms': 'Spillway picks every record\'s partition, so librdkafka\'s sticky partitioner never runs; use the sink\'s `partitioner` option',
  'queuing.strategy': 'lifo would reorder records within a partition; Spillway keeps each key\'s changes in order (fifo). Remove it',
  'produce.offset.report': 'deprecated in librdkafka and without effect; remove it',
  'statistics.interval.ms': 'librdkafka\'s statistics need a stats callback, which Spillway does not expose; read the sink\'s `metrics` instead',
  'enable.partition.eof': 'the Kafka-topic table decides when it has caught up itself; remove it',
  'enable.auto.commit': 'a Kafka-topic table reads every partition itself and commits no offsets; remove it',
  'auto.commit.enable': 'a Kafka-topic table reads every partition itself and commits no offsets; remove it',
  'enable.auto.offset.store': 'a Kafka-topic table commits no offsets; remove it',
  'group.id':
    'a Kafka-topic table reads every partition itself, in a group of its own, and commits nothing; a shared group would split the partitions between readers. Remove it',
  'group.instance.id': 'a Kafka-topic table joins no consumer group; remove it',
  'offset.store.method': 'a Kafka-topic table stores no offsets; remove it',
  'offset.store.path': 'a Kafka-topic table stores no offsets; remove it',
  'offset.store.sync.interval.ms': 'a Kafka-topic table stores no offsets; remove it',
  'log.queue': 'the client binding routes librdkafka\'s logs itself; use `debug` and `log_level` to choose what is logged',
  'internal.termination.signal': 'the client binding manages librdkafka\'s threads; remove it',
  enabled_events: 'the client binding chooses the events it serves; remove it',
};

/** C-API objects and callbacks: not properties one can give as text. */
function callbackRefusal(name: string): string {
  return name === 'oauthbearer_token_refresh_cb'
    ? 'must be a function returning a promise of { tokenValue, lifetime, principal, extensions? }'
    : `\`${name}\` is a callback or object of librdkafka's C API, not a value; Spillway sets what it needs itself. Remove it`;
}

function librdkafkaParser(property: LibrdkafkaProperty): (raw: string | number | boolean) => ClientConfigValue {
  const [name, , , type, range] = property;
  const bounds = /^(-?\d+) \.\. (-?\d+)$/.exec(range);
  if (type === 'integer' && bounds !== null) {
    const min = Number(bounds[1]);
    const max = Number(bounds[2]);
    return (raw) => {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      // acks=all is librdkafka's own spelling of -1.
      if (Number.isNaN(value) && (name === 'acks' || name === 'request.required.acks') && String(raw).trim().toLowerCase() === 'all') return -1;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        throw new ValueProblem(name === 'acks' || name === 'request.required.acks' ? 'expected all, -1, 0 or 1' : `expected an integer from ${min} to ${max}`);
      }
      return value;
    };
  }
  if (type === 'boolean') {
    return (raw) => {
      if (typeof raw === 'boolean') return raw;
      const text = String(raw).trim().toLowerCase();
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new ValueProblem('expected true or false');
    };
  }
  if (type === 'float') {
    return (raw) => {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(value)) throw new ValueProblem(bounds === null ? 'expected a number' : `expected a number from ${bounds[1]} to ${bounds[2]}`);
      if (bounds !== null && (value < Number(bounds[1]) || value > Number(bounds[2]))) throw new ValueProblem(`expected a number from ${bounds[1]} to ${bounds[2]}`);
      return value;
    };
  }
  if (type === 'enum value' || type === 'CSV flags') {
    const choices = range.split(',').map((choice) => choice.trim());
    return (raw) => {
      const items = String(raw).split(',').map((item) => item.trim());
      const canonical = items.map((item) => choices.find((choice) => choice.toLowerCase() === item.toLowerCase()));
      if (canonical.some((item) => item === undefined) || (type === 'enum value' && items.length !== 1)) {
        throw new ValueProblem(`expected ${type === 'CSV flags' ? 'a comma-separated list of' : 'one of'} ${choices.join(', ')}`);
      }
      return canonical.join(',');
    };
  }
  return (raw) => {
    if (typeof raw !== 'string' || raw.length === 0) throw new ValueProblem('expected a non-empty string');
    return raw;
  };
}

interface LibrdkafkaEntry {
  readonly property: LibrdkafkaProperty;
  readonly parse: (raw: string | number | boolean) => ClientConfigValue;
}

/**
 * The most records a sink takes per batch. Smaller batches than librdkafka's message sets let
 * their rows and records die young: in scenario 1 (docs/benchmarks.md), batches of 1,000 instead
 * of 10,000 took a third less CPU and 40% less memory; 250 cost more in hand-overs than it saved.
 */
const SINK_BATCH_RECORDS = 1_000;

const librdkafka = new Map<string, LibrdkafkaEntry>();
for (const property of LIBRDKAFKA_PROPERTIES) {
  // A name listed at global and topic level (compression.codec, opaque) is one property to a user.
  if (!librdkafka.has(property[0])) librdkafka.set(property[0], { property, parse: librdkafkaParser(property) });
}

function librdkafkaSide(name: string): '*' | 'P' | 'C' | undefined {
  return librdkafka.get(name)?.property[1];
}

/** librdkafka's own synonyms; both names set one property. */
const LIBRDKAFKA_SYNONYMS: Readonly<Record<string, string>> = {
  'metadata.broker.list': 'bootstrap.servers',
  'max.in.flight': 'max.in.flight.requests.per.connection',
  'queue.buffering.max.ms': 'linger.ms',
  'message.send.max.retries': 'retries',
  'compression.codec': 'compression.type',
  'request.required.acks': 'acks',
  'message.timeout.ms': 'delivery.timeout.ms',
  'sasl.mechanisms': 'sasl.mechanism',
  'fetch.message.max.bytes': 'max.partition.fetch.bytes',
  'sasl.oauthbearer.client.credentials.client.id': 'sasl.oauthbearer.client.id',
  'sasl.oauthbearer.client.credentials.client.secret': 'sasl.oauthbearer.client.secret',
};

// ---------------------------------------------------------------------------------------------
// Java client properties: each mapped to librdkafka, applied by Spillway, or refused.

type JavaRule =
  /** librdkafka has the property by the same name, with the same effect. */
  | { readonly same: true }
  /** The librdkafka property with the same effect, and how the value converts. */
  | { readonly to: string; readonly convert?: (raw: string | number | boolean) => string | number | boolean; readonly note: string }
  /** Read by Spillway itself (see `resolve` below). */
  | { readonly spillway: string }
  | { readonly refused: string };

const SAME: JavaRule = { same: true };
const javaClass = (what: string): JavaRule => ({ refused: `it names a Java class (${what}); Spillway runs no Java code in its client. Remove it` });
const noTokenValidation: JavaRule = {
  refused: 'it configures how the Java client validates the tokens it fetches; librdkafka does not validate tokens (the broker does). Remove it',
};
const loginRefresh: JavaRule = {
  refused: 'librdkafka refreshes OAUTHBEARER tokens at 80% of their lifetime and retries by itself; the Java login tuning does not apply. Remove it',
};

const JAVA_COMMON: Readonly<Record<string, JavaRule>> = {
  'bootstrap.servers': SAME,
  'client.id': SAME,
  'client.dns.lookup': SAME,
  'client.rack': SAME,
  'connections.max.idle.ms': SAME,
  'enable.metrics.push': SAME,
  'metadata.max.age.ms': SAME,
  'metadata.recovery.strategy': SAME,
  'metadata.recovery.rebootstrap.trigger.ms': SAME,
  'reconnect.backoff.ms': SAME,
  'reconnect.backoff.max.ms': SAME,
  'retry.backoff.ms': SAME,
  'retry.backoff.max.ms': SAME,
  'request.timeout.ms': SAME,
  'socket.connection.setup.timeout.ms': SAME,
  'socket.connection.setup.timeout.max.ms': {
    refused: 'librdkafka uses one connection setup timeout without exponential growth; set `socket.connection.setup.timeout.ms`',
  },
  'receive.buffer.bytes': { to: 'socket.receive.buffer.bytes', convert: (raw) => (Number(raw) < 0 ? 0 : raw), note: 'Java\'s -1 (the OS default) is librdkafka\'s 0' },
  'send.buffer.bytes': { to: 'socket.send.buffer.bytes', convert: (raw) => (Number(raw) < 0 ? 0 : raw), note: 'Java\'s -1 (the OS default) is librdkafka\'s 0' },
  'security.protocol': SAME,
  'security.providers': javaClass('a java.security provider creator'),
  'sasl.mechanism': SAME,
  'sasl.jaas.config': { spillway: 'the login module\'s options become librdkafka\'s sasl.username/sasl.password (PLAIN, SCRAM), sasl.oauthbearer.config (unsecured OAUTHBEARER), the OIDC client id, secret and scope, or the Kerberos keytab and principal' },
  'sasl.client.callback.handler.class': javaClass('a SASL client callback handler; for OAUTHBEARER give an `oauthbearer_token_refresh_cb` function'),
  'sasl.login.class': javaClass('a SASL login; for OAUTHBEARER give an `oauthbearer_token_refresh_cb` function'),
  'sasl.login.callback.handler.class': {
    spillway: 'Kafka\'s OAuthBearerLoginCallbackHandler (OIDC client credentials) becomes librdkafka\'s sasl.oauthbearer.method=oidc; any other class is refused',
  },
  'sasl.login.connect.timeout.ms': loginRefresh,
  'sasl.login.read.timeout.ms': loginRefresh,
  'sasl.login.refresh.buffer.seconds': loginRefresh,
  'sasl.login.refresh.min.period.seconds': loginRefresh,
  'sasl.login.refresh.window.factor': loginRefresh,
  'sasl.login.refresh.window.jitter': loginRefresh,
  'sasl.login.retry.backoff.max.ms': loginRefresh,
  'sasl.login.retry.backoff.ms': loginRefresh,
  'sasl.kerberos.kinit.cmd': SAME,
  'sasl.kerberos.min.time.before.relogin': SAME,
  'sasl.kerberos.service.name': SAME,
  'sasl.kerberos.ticket.renew.jitter': { refused: 'librdkafka renews Kerberos tickets by running `sasl.kerberos.kinit.cmd` every `sasl.kerberos.min.time.before.relogin`; set those' },
  'sasl.kerberos.ticket.renew.window.factor': { refused: 'librdkafka renews Kerberos tickets by running `sasl.kerberos.kinit.cmd` every `sasl.kerberos.min.time.before.relogin`; set those' },
  'sasl.oauthbearer.token.endpoint.url': SAME,
  'sasl.oauthbearer.scope': SAME,
  'sasl.oauthbearer.sub.claim.name': SAME,
  'sasl.oauthbearer.client.credentials.client.id': SAME,
  'sasl.oauthbearer.client.credentials.client.secret': SAME,
  'sasl.oauthbearer.assertion.algorithm': SAME,
  'sasl.oauthbearer.assertion.claim.aud': SAME,
  'sasl.oauthbearer.assertion.claim.exp.seconds': SAME,
  'sasl.oauthbearer.assertion.claim.iss': SAME,
  'sasl.oauthbearer.assertion.claim.jti.include': SAME,
  'sasl.oauthbearer.assertion.claim.nbf.seconds': SAME,
  'sasl.oauthbearer.assertion.claim.sub': SAME,
  'sasl.oauthbearer.assertion.file': SAME,
  'sasl.oauthbearer.assertion.private.key.file': SAME,
  'sasl.oauthbearer.assertion.private.key.passphrase': SAME,
  'sasl.oauthbearer.assertion.template.file': { to: 'sasl.oauthbearer.assertion.jwt.template.file', note: 'librdkafka\'s name for the JWT template file' },
  'sasl.oauthbearer.clock.skew.seconds': noTokenValidation,
  'sasl.oauthbearer.expected.audience': noTokenValidation,
  'sasl.oauthbearer.expected.issuer': noTokenValidation,
  'sasl.oauthbearer.jwks.endpoint.refresh.ms': noTokenValidation,
  'sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms': noTokenValidation,
  'sasl.oauthbearer.jwks.endpoint.retry.backoff.ms': noTokenValidation,
  'sasl.oauthbearer.jwks.endpoint.url': noTokenValidation,
  'sasl.oauthbearer.scope.claim.name': noTokenValidation,
  'sasl.oauthbearer.jwt.validator.class': javaClass('a JWT validator'),
  'sasl.oauthbearer.jwt.retriever.class': javaClass('a JWT retriever; give an `oauthbearer_token_refresh_cb` function to fetch tokens your way'),
  'sasl.oauthbearer.header.urlencode': { refused: 'librdkafka always sends the client credentials as the OAuth specification says; remove it' },
  'ssl.cipher.suites': { to: 'ssl.cipher.suites', note: 'in OpenSSL\'s cipher list syntax, as librdkafka takes it' },
  'ssl.enabled.protocols': { refused: 'librdkafka (OpenSSL) negotiates TLS 1.2 or 1.3 by itself and cannot be limited to a list; remove it' },
  'ssl.protocol': { refused: 'librdkafka (OpenSSL) negotiates TLS 1.2 or 1.3 by itself; remove it' },
  'ssl.endpoint.identification.algorithm': {
    to: 'ssl.endpoint.identification.algorithm',
    convert: (raw) => (String(raw).trim() === '' ? 'none' : raw),
    note: 'Java\'s empty value (no host-name check) is librdkafka\'s none',
  },
  'ssl.engine.factory.class': javaClass('an SSL engine factory'),
  'ssl.key.password': SAME,
  'ssl.keymanager.algorithm': { refused: 'a JSSE key manager algorithm; OpenSSL has none to choose. Remove it' },
  'ssl.trustmanager.algorithm': { refused: 'a JSSE trust manager algorithm; OpenSSL has none to choose. Remove it' },
  'ssl.secure.random.implementation': { refused: 'a Java SecureRandom implementation; OpenSSL uses its own generator. Remove it' },
  'ssl.provider': { refused: 'a Java security provider; librdkafka uses OpenSSL (see `ssl.providers` for OpenSSL 3 providers)' },
  'ssl.keystore.certificate.chain': { to: 'ssl.certificate.pem', note: 'the PEM certificate chain' },
  'ssl.keystore.key': { to: 'ssl.key.pem', note: 'the PEM private key' },
  'ssl.keystore.location': { spillway: 'a PKCS12 keystore becomes librdkafka\'s ssl.keystore.location; a PEM one ssl.certificate.location and ssl.key.location; JKS is refused' },
  'ssl.keystore.password': { spillway: 'the PKCS12 keystore\'s password (librdkafka\'s ssl.keystore.password)' },
  'ssl.keystore.type': { spillway: 'PKCS12 or PEM (what ssl.keystore.location holds); JKS is refused' },
  'ssl.truststore.certificates': { to: 'ssl.ca.pem', note: 'the PEM CA certificates' },
  'ssl.truststore.location': { spillway: 'a PEM truststore becomes librdkafka\'s ssl.ca.location; JKS and PKCS12 are refused' },
  'ssl.truststore.password': { spillway: 'refused: a PEM truststore has no password' },
  'ssl.truststore.type': { spillway: 'PEM (what ssl.truststore.location holds); JKS and PKCS12 are refused' },
  'metric.reporters': javaClass('a metrics reporter; read the sink\'s `metrics`'),
  'metrics.num.samples': { refused: 'it tunes the Java client\'s metrics, which librdkafka does not have; read the sink\'s `metrics`' },
  'metrics.recording.level': { refused: 'it tunes the Java client\'s metrics, which librdkafka does not have; read the sink\'s `metrics`' },
  'metrics.sample.window.ms': { refused: 'it tunes the Java client\'s metrics, which librdkafka does not have; read the sink\'s `metrics`' },
  'interceptor.classes': javaClass('producer or consumer interceptors'),
};

/** How Java's compression levels become librdkafka's one `compression.level`. */
const compressionLevel = (codec: string): JavaRule => ({
  spillway: `librdkafka's compression.level, when compression.type is ${codec} (the level of a codec not in use is refused)`,
});

const JAVA_PRODUCER: Readonly<Record<string, JavaRule>> = {
  ...JAVA_COMMON,
  acks: SAME,
  'batch.size': SAME,
  'buffer.memory': {
    to: 'queue.buffering.max.kbytes',
    convert: (raw) => Math.max(1, Math.ceil(Number(raw) / 1024)),
    note: 'the bytes the producer may hold unsent, in KiB',
  },
  'compression.type': SAME,
  'compression.gzip.level': compressionLevel('gzip'),
  'compression.lz4.level': compressionLevel('lz4'),
  'compression.zstd.level': compressionLevel('zstd'),
  'delivery.timeout.ms': SAME,
  'enable.idempotence': SAME,
  'key.serializer': { refused: 'the key spec serializes keys (simpleSpec, jsonSpec, avroSpec, …); remove it' },
  'value.serializer': { refused: 'the value spec serializes values (simpleSpec, jsonSpec, avroSpec, …); remove it' },
  'linger.ms': SAME,
  'max.block.ms': { spillway: 'the longest a write waits for room in the producer\'s queue before failing' },
  'max.in.flight.requests.per.connection': SAME,
  'max.request.size': { to: 'message.max.bytes', note: 'the largest request, and so the largest record' },
  'metadata.max.idle.ms': {
    refused: 'librdkafka keeps the metadata of the topics a producer uses without an idle expiry; set `metadata.max.age.ms` for how often it is refreshed',
  },
  'partitioner.class': { refused: 'Spillway picks every record\'s partition; use the sink\'s `partitioner` option (a custom function or module is allowed)' },
  'partitioner.ignore.keys': { refused: 'Spillway picks every record\'s partition; use the sink\'s `partitioner` option (round-robin ignores keys)' },
  'partitioner.adaptive.partitioning.enable': { refused: 'Spillway picks every record\'s partition; use the sink\'s `partitioner` option (least-bytes adapts to load)' },
  'partitioner.availability.timeout.ms': { refused: 'Spillway picks every record\'s partition; use the sink\'s `partitioner` option' },
  retries: SAME,
  'transaction.timeout.ms': SAME,
  'transaction.two.phase.commit.enable': { refused: 'two-phase commit (KIP-939) is not in librdkafka; remove it' },
  'transactional.id': SAME,
};

const JAVA_CONSUMER: Readonly<Record<string, JavaRule>> = {
  ...JAVA_COMMON,
  // librdkafka's request.timeout.ms is producer-only; a reader's requests are bounded by Spillway.
  'request.timeout.ms': { spillway: 'bounds connecting, each metadata request and positioning, so an unreachable cluster fails instead of hanging' },
  'allow.auto.create.topics': SAME,
  'auto.offset.reset': SAME,
  'check.crcs': SAME,
  'fetch.max.bytes': SAME,
  'fetch.min.bytes': SAME,
  'fetch.max.wait.ms': { to: 'fetch.wait.max.ms', note: 'how long the broker may wait for fetch.min.bytes' },
  'max.partition.fetch.bytes': SAME,
  'isolation.level': SAME,
  'max.poll.records': { spillway: 'the most records the table takes from the reader at once' },
  'key.deserializer': { refused: 'a Kafka-topic table decodes records itself (its `decode` option); remove it' },
  'value.deserializer': { refused: 'a Kafka-topic table decodes records itself (its `decode` option); remove it' },
  'default.api.timeout.ms': { refused: 'a Kafka-topic table bounds joining and positioning by `request.timeout.ms`; set that' },
  'exclude.internal.topics': { refused: 'a Kafka-topic table reads the one topic it names and subscribes to no pattern; remove it' },
  'enable.auto.commit': { refused: OWNED_BY_SPILLWAY['enable.auto.commit'] as string },
  'auto.commit.interval.ms': { refused: OWNED_BY_SPILLWAY['enable.auto.commit'] as string },
  'group.id': { refused: OWNED_BY_SPILLWAY['group.id'] as string },
  'group.instance.id': { refused: OWNED_BY_SPILLWAY['group.instance.id'] as string },
  'group.protocol': { refused: 'a Kafka-topic table joins no consumer group; remove it' },
  'group.remote.assignor': { refused: 'a Kafka-topic table joins no consumer group; remove it' },
  'heartbeat.interval.ms': { refused: 'a Kafka-topic table joins no consumer group; remove it' },
  'session.timeout.ms': { refused: 'a Kafka-topic table joins no consumer group; remove it' },
  'max.poll.interval.ms': { refused: 'a Kafka-topic table joins no consumer group, so no poll deadline applies; remove it' },
  'partition.assignment.strategy': { refused: 'a Kafka-topic table reads every partition itself; remove it' },
  'internal.leave.group.on.close': { refused: 'an internal Java setting; a Kafka-topic table joins no group. Remove it' },
  'internal.throw.on.fetch.stable.offset.unsupported': { refused: 'an internal Java setting; remove it' },
  'share.acknowledgement.mode': { refused: 'share groups (KIP-932) are for share consumers; a Kafka-topic table reads every record itself. Remove it' },
};

/** Properties of Spillway's own, kept beside the Kafka ones in a sink's configuration. */
const SPILLWAY_PROPERTIES: Readonly<Record<string, string>> = {
  'schema.registry.url':
    'Schema Registry for Avro specs with the Confluent wire format (Spillway-level; not sent to Kafka). Several URLs may be separated by commas.',
};

const javaRules = (side: Side) => (side === 'producer' ? JAVA_PRODUCER : JAVA_CONSUMER);
const otherSideJava = (side: Side) => (side === 'producer' ? JAVA_CONSUMER : JAVA_PRODUCER);

// ---------------------------------------------------------------------------------------------
// Names and hints.

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

function validNames(side: Side): string[] {
  const names = new Set<string>(Object.keys(SPILLWAY_PROPERTIES));
  for (const [name, entry] of librdkafka) {
    const own = entry.property[1];
    if ((own === '*' || own === (side === 'producer' ? 'P' : 'C')) && entry.property[3] !== 'see dedicated API' && OWNED_BY_SPILLWAY[name] === undefined) {
      names.add(name);
    }
  }
  for (const [name, rule] of Object.entries(javaRules(side))) if (!('refused' in rule)) names.add(name);
  return [...names];
}

// ---------------------------------------------------------------------------------------------
// JAAS and Java keystores.

/** The options of a Java JAAS line: `<LoginModule class> required key="value" …;`. */
export function parseJaas(line: string): { readonly module: string; readonly options: ReadonlyMap<string, string> } {
  const module = /^\s*([\w.$]+)/.exec(line)?.[1] ?? '';
  const options = new Map<string, string>();
  for (const match of line.matchAll(/([\w.]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s;]+))/g)) {
    options.set(match[1] as string, (match[2] ?? match[3] ?? match[4] ?? '').replace(/\\(.)/g, '$1'));
  }
  return { module, options };
}

const OIDC_HANDLERS = new Set([
  'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler',
  'org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler',
]);

// ---------------------------------------------------------------------------------------------
// Resolution.

interface Resolved {
  readonly config: Map<string, ClientConfigValue>;
  /** Which name the user gave for each librdkafka property, for messages. */
  readonly givenAs: Map<string, string>;
  readonly spillway: Map<string, string | number | boolean>;
  readonly tokenProvider?: OAuthBearerTokenProvider;
  readonly problems: string[];
  readonly warnings: string[];
}

function resolve(input: Readonly<Record<string, unknown>>, side: Side): Resolved {
  const config = new Map<string, ClientConfigValue>();
  const givenAs = new Map<string, string>();
  const spillway = new Map<string, string | number | boolean>();
  const problems: string[] = [];
  const warnings: string[] = [];
  let tokenProvider: OAuthBearerTokenProvider | undefined;
  const own = side === 'producer' ? 'P' : 'C';
  const what = side === 'producer' ? 'Kafka producer property' : 'Kafka consumer property';

  const set = (target: string, value: ClientConfigValue, name: string): void => {
    const canonical = LIBRDKAFKA_SYNONYMS[target] ?? target;
    const previous = givenAs.get(canonical);
    if (previous !== undefined) {
      problems.push(`\`${name}\` and \`${previous}\` both set ${canonical}; keep one`);
      return;
    }
    givenAs.set(canonical, name);
    config.set(canonical, value);
  };
  const passLibrdkafka = (target: string, raw: string | number | boolean, name: string): void => {
    const entry = librdkafka.get(target);
    if (entry === undefined) throw new Error(`internal: no librdkafka property ${target}`);
    try {
      set(target, entry.parse(raw), name);
    } catch (error) {
      if (!(error instanceof ValueProblem)) throw error;
      problems.push(`${shown(name, raw)}: ${error.message}`);
    }
  };

  for (const [name, raw] of Object.entries(input)) {
    if (name === 'oauthbearer_token_refresh_cb') {
      if (typeof raw === 'function') tokenProvider = raw as OAuthBearerTokenProvider;
      else problems.push(`\`${name}\` ${callbackRefusal(name)}`);
      continue;
    }
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      problems.push(`\`${name}\` has ${raw === null ? 'null' : typeof raw} value; give a string, number or boolean`);
      continue;
    }
    if (SPILLWAY_PROPERTIES[name] !== undefined) {
      spillway.set(name, raw);
      continue;
    }
    const refusedAs = OWNED_BY_SPILLWAY[name];
    if (refusedAs !== undefined && (librdkafkaSide(name) === '*' || librdkafkaSide(name) === own)) {
      problems.push(`\`${name}\` is refused: ${refusedAs}`);
      continue;
    }
    const java = javaRules(side)[name];
    const rdSide = librdkafkaSide(name);
    if (java !== undefined && !('same' in java)) {
      if ('refused' in java) problems.push(`\`${name}\` is refused: ${java.refused}`);
      else if ('to' in java) passLibrdkafka(java.to, java.convert?.(raw) ?? raw, name);
      else spillway.set(name, raw);
      continue;
    }
    if (rdSide === '*' || rdSide === own) {
      if (librdkafka.get(name)?.property[3] === 'see dedicated API') {
        problems.push(callbackRefusal(name));
        continue;
      }
      // Java's upper-case security.protocol (SASL_SSL) is librdkafka's lower case.
      passLibrdkafka(name, raw, name);
      continue;
    }
    if (rdSide !== undefined || otherSideJava(side)[name] !== undefined) {
      warnings.push(
        side === 'producer'
          ? `\`${name}\` is a consumer property; a sink only writes, so it has no effect`
          : `\`${name}\` is a producer property; a Kafka-topic table only reads, so it has no effect`,
      );
      continue;
    }
    const hint = nearestName(name, validNames(side));
    problems.push(
      `\`${name}\` is not a ${what} of librdkafka or the Java client${hint === undefined ? '' : `; did you mean \`${hint}\`?`} ` +
        '(the names are listed in docs/properties.md)',
    );
  }
  resolveJavaSecurity(spillway, config, givenAs, problems, set);
  return { config, givenAs, spillway, ...(tokenProvider === undefined ? {} : { tokenProvider }), problems, warnings };
}

/** JAAS lines, the OIDC handler and Java keystores, into librdkafka's properties. */
function resolveJavaSecurity(
  spillway: Map<string, string | number | boolean>,
  config: Map<string, ClientConfigValue>,
  givenAs: Map<string, string>,
  problems: string[],
  set: (target: string, value: ClientConfigValue, name: string) => void,
): void {
  const jaasText = spillway.get('sasl.jaas.config');
  if (jaasText !== undefined) {
    const { module, options } = parseJaas(String(jaasText));
    const option = (key: string) => options.get(key);
    if (/\.(PlainLoginModule|ScramLoginModule)$/.test(module)) {
      const username = option('username');
      const password = option('password');
      if (username === undefined || password === undefined) problems.push('`sasl.jaas.config` (value hidden): a PLAIN or SCRAM login module needs username="…" and password="…"');
      else {
        set('sasl.username', username, 'sasl.jaas.config');
        set('sasl.password', password, 'sasl.jaas.config');
      }
    } else if (/\.OAuthBearerLoginModule$/.test(module)) {
      const clientId = option('clientId');
      if (clientId !== undefined) {
        set('sasl.oauthbearer.client.id', clientId, 'sasl.jaas.config');
        const secret = option('clientSecret');
        if (secret !== undefined) set('sasl.oauthbearer.client.secret', secret, 'sasl.jaas.config');
        const scope = option('scope');
        if (scope !== undefined) set('sasl.oauthbearer.scope', scope, 'sasl.jaas.config');
      }
      // Kafka's unsecured login options are librdkafka's unsecured-JWT configuration, one to one.
      const unsecured: string[] = [];
      for (const [key, value] of options) {
        if (key === 'unsecuredLoginStringClaim_sub') unsecured.push(`principal=${value}`);
        else if (key === 'unsecuredLoginLifetimeSeconds') unsecured.push(`lifeSeconds=${value}`);
        else if (key === 'unsecuredLoginScopeClaimName') unsecured.push(`scopeClaimName=${value}`);
        else if (key === 'unsecuredLoginListClaim_scope') unsecured.push(`scope=${value}`);
        else if (key === 'unsecuredLoginPrincipalClaimName') unsecured.push(`principalClaimName=${value}`);
        else if (key.startsWith('unsecuredLoginExtension_')) unsecured.push(`extension_${key.slice('unsecuredLoginExtension_'.length)}=${value}`);
        else if (key.startsWith('unsecuredLogin')) problems.push(`\`sasl.jaas.config\`: the OAUTHBEARER option ${key} has no librdkafka equivalent; remove it`);
      }
      if (unsecured.length > 0) {
        set('sasl.oauthbearer.config', unsecured.join(' '), 'sasl.jaas.config');
        set('enable.sasl.oauthbearer.unsecure.jwt', true, 'sasl.jaas.config');
      }
    } else if (/\.Krb5LoginModule$/.test(module)) {
      const keyTab = option('keyTab');
      const principal = option('principal');
      if (keyTab !== undefined) set('sasl.kerberos.keytab', keyTab, 'sasl.jaas.config');
      if (principal !== undefined) set('sasl.kerberos.principal', principal, 'sasl.jaas.config');
    } else {
      problems.push(
        `\`sasl.jaas.config\`: the login module ${module === '' ? '(none)' : module} is not one librdkafka can stand in for; ` +
          'use PlainLoginModule, ScramLoginModule, OAuthBearerLoginModule or Krb5LoginModule, or librdkafka\'s sasl.username/sasl.password',
      );
    }
  }

  const handler = spillway.get('sasl.login.callback.handler.class');
  if (handler !== undefined) {
    if (OIDC_HANDLERS.has(String(handler))) set('sasl.oauthbearer.method', 'oidc', 'sasl.login.callback.handler.class');
    else problems.push(`\`sasl.login.callback.handler.class\` is refused: ${String(handler)} is Java code Spillway cannot run; for OAUTHBEARER give an \`oauthbearer_token_refresh_cb\` function`);
  }

  const keystore = spillway.get('ssl.keystore.location');
  const keystoreType = String(spillway.get('ssl.keystore.type') ?? (keystore === undefined ? 'PEM' : 'JKS')).toUpperCase();
  if (keystore !== undefined || spillway.has('ssl.keystore.type') || spillway.has('ssl.keystore.password')) {
    if (keystoreType === 'PKCS12') {
      if (keystore !== undefined) set('ssl.keystore.location', String(keystore), 'ssl.keystore.location');
      const password = spillway.get('ssl.keystore.password');
      if (password !== undefined) set('ssl.keystore.password', String(password), 'ssl.keystore.password');
    } else if (keystoreType === 'PEM') {
      if (keystore !== undefined) {
        set('ssl.certificate.location', String(keystore), 'ssl.keystore.location');
        set('ssl.key.location', String(keystore), 'ssl.keystore.location');
      }
      if (spillway.has('ssl.keystore.password')) problems.push('`ssl.keystore.password`: a PEM keystore has no store password; give the key\'s password as `ssl.key.password`');
    } else {
      problems.push(
        `\`ssl.keystore.type\` = ${JSON.stringify(keystoreType)}: librdkafka reads PKCS12 or PEM keystores, not ${keystoreType}; ` +
          'convert it (keytool -importkeystore -srckeystore client.jks -destkeystore client.p12 -deststoretype PKCS12) and set ssl.keystore.type=PKCS12',
      );
    }
  }
  const truststore = spillway.get('ssl.truststore.location');
  const truststoreType = String(spillway.get('ssl.truststore.type') ?? (truststore === undefined ? 'PEM' : 'JKS')).toUpperCase();
  if (truststore !== undefined || spillway.has('ssl.truststore.type') || spillway.has('ssl.truststore.password')) {
    if (truststoreType === 'PEM') {
      if (truststore !== undefined) set('ssl.ca.location', String(truststore), 'ssl.truststore.location');
      if (spillway.has('ssl.truststore.password')) problems.push('`ssl.truststore.password`: a PEM truststore has no password; remove it');
    } else {
      problems.push(
        `\`ssl.truststore.type\` = ${JSON.stringify(truststoreType)}: librdkafka reads CA certificates as PEM; ` +
          'export them (keytool -exportcert -rfc -keystore truststore.jks -alias ca > ca.pem) and set ssl.ca.location (or ssl.truststore.type=PEM)',
      );
    }
  }

  for (const codec of ['gzip', 'lz4', 'zstd']) {
    const level = spillway.get(`compression.${codec}.level`);
    if (level === undefined) continue;
    const type = String(config.get('compression.type') ?? 'none');
    if (type !== codec) {
      problems.push(`\`compression.${codec}.level\` applies to compression.type=${codec}, but compression.type is ${type}; set compression.type=${codec} or remove it`);
      continue;
    }
    const value = Number(level);
    if (!Number.isInteger(value) || value < -1 || value > 12) problems.push(`\`compression.${codec}.level\` = ${JSON.stringify(level)}: expected an integer from -1 to 12`);
    else set('compression.level', value, `compression.${codec}.level`);
  }
  void givenAs;
}

function checkSasl(resolved: Resolved): void {
  const { config, problems } = resolved;
  const protocol = String(config.get('security.protocol') ?? 'plaintext');
  const usesSasl = protocol === 'sasl_plaintext' || protocol === 'sasl_ssl';
  if (!usesSasl) {
    const saslNames = [...resolved.givenAs.entries()].filter(([target]) => target.startsWith('sasl.') && !target.startsWith('sasl.kerberos')).map(([, name]) => name);
    if (saslNames.length > 0 || resolved.tokenProvider !== undefined) {
      problems.push(`SASL properties are set (${[...new Set(saslNames)].map((n) => `\`${n}\``).join(', ') || '`oauthbearer_token_refresh_cb`'}) but \`security.protocol\` is ${protocol}; set it to sasl_plaintext or sasl_ssl`);
    }
    return;
  }
  // Java's default mechanism is GSSAPI, librdkafka's too; with a user name given, PLAIN is meant.
  if (!config.has('sasl.mechanism')) config.set('sasl.mechanism', config.has('sasl.username') ? 'PLAIN' : 'GSSAPI');
  const mechanism = String(config.get('sasl.mechanism')).toUpperCase();
  config.set('sasl.mechanism', mechanism);
  if (!['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER', 'GSSAPI'].includes(mechanism)) {
    problems.push(`\`sasl.mechanism\` = ${JSON.stringify(mechanism)}: expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, GSSAPI`);
  } else if ((mechanism === 'PLAIN' || mechanism.startsWith('SCRAM')) && (!config.has('sasl.username') || !config.has('sasl.password'))) {
    problems.push(`\`security.protocol\` = ${protocol} with ${mechanism} needs \`sasl.username\` and \`sasl.password\` (or \`sasl.jaas.config\`)`);
  } else if (mechanism === 'OAUTHBEARER') {
    const oidc = config.get('sasl.oauthbearer.method') === 'oidc';
    const unsecured = config.get('enable.sasl.oauthbearer.unsecure.jwt') === true;
    const modes = [resolved.tokenProvider !== undefined, oidc, unsecured].filter(Boolean).length;
    if (modes === 0) {
      problems.push(
        '`sasl.mechanism` = OAUTHBEARER needs a way to get tokens: an `oauthbearer_token_refresh_cb` function (API), ' +
          '`sasl.oauthbearer.method` = oidc with `sasl.oauthbearer.token.endpoint.url` and a client id and secret, ' +
          'or `enable.sasl.oauthbearer.unsecure.jwt` = true with `sasl.oauthbearer.config` = principal=… (tests only)',
      );
    } else if (modes > 1) {
      problems.push('`sasl.mechanism` = OAUTHBEARER has more than one way to get tokens (a token function, oidc, unsecured JWT); keep one');
    } else if (oidc && !config.has('sasl.oauthbearer.token.endpoint.url')) {
      problems.push('`sasl.oauthbearer.method` = oidc needs `sasl.oauthbearer.token.endpoint.url`');
    }
  }
}

const serverList = (raw: ClientConfigValue): string[] | string => {
  const servers = String(raw).split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  if (servers.length === 0) return 'expected at least one host:port';
  for (const server of servers) {
    const match = /^(?:\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(server.replace(/^[a-zA-Z_]+:\/\//, ''));
    const port = Number(match?.[1]);
    if (match === null || port < 1 || port > 65535) return `"${server}" is not host:port (for example 127.0.0.1:9092 or broker-1:9092)`;
  }
  return servers.map((server) => server.replace(/^[a-zA-Z_]+:\/\//, ''));
};

function bootstrap(resolved: Resolved): string[] {
  const raw = resolved.config.get('bootstrap.servers');
  if (raw === undefined) {
    resolved.problems.push('`bootstrap.servers` is required: the brokers to connect to, as host:port[,host:port]');
    return [];
  }
  const servers = serverList(raw);
  if (typeof servers === 'string') {
    resolved.problems.push(`\`${resolved.givenAs.get('bootstrap.servers') ?? 'bootstrap.servers'}\` = ${JSON.stringify(raw)}: ${servers}`);
    return [];
  }
  resolved.config.set('bootstrap.servers', servers.join(','));
  return servers;
}

function fail(context: string, problems: readonly string[]): never {
  throw new SpillwayError(ErrorCode.InvalidConfig, `${context} has invalid Kafka properties:\n  - ${problems.join('\n  - ')}`);
}

export interface ParsedKafkaProperties {
  readonly settings: ProducerSettings;
  readonly warnings: string[];
}

/**
 * Validates a sink's Kafka properties completely and translates them into the writer's settings.
 * Every problem is reported in one error, one line each; the input is never mutated.
 */
export function parseKafkaProperties(
  input: Readonly<Record<string, unknown>>,
  context: { readonly sink: string; readonly guarantee?: DeliveryGuarantee },
): ParsedKafkaProperties {
  const resolved = resolve(input, 'producer');
  const { config, problems } = resolved;
  const servers = bootstrap(resolved);
  for (const [name, raw] of resolved.spillway) {
    if (name === 'schema.registry.url') {
      const urls = String(raw).split(',').map((url) => url.trim()).filter((url) => url.length > 0);
      const bad = urls.find((url) => !/^https?:\/\/[^\s/]+/.test(url));
      if (urls.length === 0) problems.push(`\`schema.registry.url\` = ${JSON.stringify(raw)}: expected at least one URL such as http://127.0.0.1:8081`);
      else if (bad !== undefined) problems.push(`\`schema.registry.url\` = ${JSON.stringify(raw)}: "${bad}" is not an http:// or https:// URL`);
    }
  }
  const maxBlockRaw = resolved.spillway.get('max.block.ms');
  const maxBlockMs = maxBlockRaw === undefined ? 60_000 : Number(maxBlockRaw);
  if (!Number.isSafeInteger(maxBlockMs) || maxBlockMs < 0) problems.push(`\`max.block.ms\` = ${JSON.stringify(maxBlockRaw)}: expected an integer from 0`);

  const guarantee = context.guarantee ?? DeliveryGuarantee.AtLeastOnce;
  const fireAndForget = guarantee === DeliveryGuarantee.None;
  const acksGiven = config.get('acks') as number | undefined;
  const acks = (acksGiven ?? (fireAndForget ? 0 : -1)) as Acks;
  if (acksGiven !== undefined && ![-1, 0, 1].includes(acksGiven)) {
    // librdkafka takes any count of replicas up to 1000; the broker only knows all, 0 and 1.
    problems.push(`\`${resolved.givenAs.get('acks') ?? 'acks'}\` = ${acksGiven}: the broker accepts all (-1), 0 and 1`);
  }
  const idempotentGiven = config.get('enable.idempotence') as boolean | undefined;
  const idempotent = idempotentGiven ?? (!fireAndForget && acks === -1);
  if (idempotentGiven === true && acks !== -1) {
    problems.push(`\`enable.idempotence\` = true needs \`acks\` = all (got ${acks}); drop acks or set it to all`);
  }
  if (guarantee === DeliveryGuarantee.AtLeastOnce && acks === 0) {
    problems.push('`acks` = 0 cannot give at-least-once delivery; choose delivery "none" to fire and forget, or drop acks');
  }
  const transactionalId = config.get('transactional.id') as string | undefined;
  if (transactionalId !== undefined && fireAndForget) {
    problems.push('`transactional.id` needs acknowledged, idempotent writes; it cannot go with delivery "none"');
  }
  checkSasl(resolved);
  if (problems.length > 0) fail(`sink "${context.sink}"`, problems);

  // librdkafka needs a transactional record's delivery timeout within the transaction's.
  const transactionTimeout = Number(config.get('transaction.timeout.ms') ?? 60_000);
  const deliveryGiven = config.get('delivery.timeout.ms') as number | undefined;
  if (transactionalId !== undefined && deliveryGiven !== undefined && deliveryGiven > transactionTimeout) {
    problems.push(
      `\`${resolved.givenAs.get('delivery.timeout.ms') ?? 'delivery.timeout.ms'}\` (${deliveryGiven} ms) must not exceed \`transaction.timeout.ms\` (${transactionTimeout} ms) ` +
        'with a transactional.id, as librdkafka requires; lower it or raise transaction.timeout.ms',
    );
  }
  if (problems.length > 0) fail(`sink "${context.sink}"`, problems);

  // Spillway's documented defaults where they differ from librdkafka's (they follow the Java client).
  const defaults: Record<string, ClientConfigValue> = {
    'client.id': 'spillway',
    acks,
    'enable.idempotence': idempotent,
    'linger.ms': 5,
    'delivery.timeout.ms': transactionalId === undefined ? 120_000 : Math.min(120_000, transactionTimeout),
    'message.max.bytes': 1_048_576,
    'socket.connection.setup.timeout.ms': 10_000,
    // librdkafka's own bound is 1 GiB of unsent records; Java's buffer.memory is 32 MiB. 64 MiB
    // holds several sink batches of ordinary records, so memory stays flat however slow the broker.
    'queue.buffering.max.kbytes': 65_536,
  };
  const queueGiven = config.has('queue.buffering.max.messages');
  for (const [name, value] of Object.entries(defaults)) if (!config.has(name)) config.set(name, value);
  const number = (name: string) => Number(config.get(name) ?? librdkafka.get(name)?.property[5]);

  const sinkBatchRecords = Math.min(number('batch.num.messages'), SINK_BATCH_RECORDS);
  const settings: ProducerSettings = {
    bootstrapServers: servers,
    clientConfig: Object.fromEntries(config),
    ...(resolved.tokenProvider === undefined ? {} : { oauthBearerTokenProvider: resolved.tokenProvider }),
    requestTimeoutMs: number('request.timeout.ms'),
    acks,
    idempotent,
    lingerMs: number('linger.ms'),
    batchNumMessages: number('batch.num.messages'),
    sinkBatchRecords,
    // The sink's own queue: two batches by default (one written while the next fills). Changes
    // that wait longer than that outlive V8's young generation and swell the old one (see
    // docs/benchmarks.md: at 1M rows, peak RSS ~510 MiB with 100,000 queued changes, ~440 with 20,000).
    maxQueuedChanges: queueGiven ? number('queue.buffering.max.messages') : Math.max(1_000, 2 * sinkBatchRecords),
    maxMessageBytes: number('message.max.bytes'),
    deliveryTimeoutMs: number('delivery.timeout.ms'),
    maxBlockMs,
    ...(transactionalId === undefined ? {} : { transactionalId }),
    transactionTimeoutMs: number('transaction.timeout.ms'),
  };
  return { settings, warnings: resolved.warnings };
}

export interface ParsedConsumerProperties {
  readonly settings: ConsumerSettings;
  readonly warnings: string[];
}

/** Validates the Kafka-topic source's properties against the consumer catalog. */
export function parseConsumerProperties(input: Readonly<Record<string, unknown>>, context: { readonly source: string }): ParsedConsumerProperties {
  const resolved = resolve(input, 'consumer');
  const { config, problems } = resolved;
  const servers = bootstrap(resolved);
  for (const name of resolved.spillway.keys()) {
    if (name === 'schema.registry.url') problems.push('`schema.registry.url` is for Avro sinks; a Kafka-topic table decodes with its `decode` option. Remove it');
  }
  const timeoutRaw = resolved.spillway.get('request.timeout.ms');
  if (timeoutRaw !== undefined && (!Number.isSafeInteger(Number(timeoutRaw)) || Number(timeoutRaw) < 1)) {
    problems.push(`\`request.timeout.ms\` = ${JSON.stringify(timeoutRaw)}: expected an integer from 1`);
  }
  const pollRaw = resolved.spillway.get('max.poll.records');
  const maxPollRecords = pollRaw === undefined ? 500 : Number(pollRaw);
  if (!Number.isSafeInteger(maxPollRecords) || maxPollRecords < 1) problems.push(`\`max.poll.records\` = ${JSON.stringify(pollRaw)}: expected an integer from 1`);
  checkSasl(resolved);
  if (problems.length > 0) fail(context.source, problems);
  const reset = config.get('auto.offset.reset') as string | undefined;
  const startFrom = reset === undefined ? undefined : ['smallest', 'earliest', 'beginning'].includes(reset) ? 'earliest' : reset === 'error' ? undefined : 'latest';
  if (!config.has('client.id')) config.set('client.id', 'spillway-reader');
  const settings: ConsumerSettings = {
    bootstrapServers: servers,
    clientConfig: Object.fromEntries(config),
    ...(resolved.tokenProvider === undefined ? {} : { oauthBearerTokenProvider: resolved.tokenProvider }),
    requestTimeoutMs: Number(resolved.spillway.get('request.timeout.ms') ?? 30_000),
    readCommitted: (config.get('isolation.level') ?? 'read_committed') === 'read_committed',
    ...(startFrom === undefined ? {} : { startFrom }),
    maxPollRecords,
  };
  return { settings, warnings: resolved.warnings };
}

// ---------------------------------------------------------------------------------------------
// The catalog as documentation rows.

export interface PropertyDoc {
  readonly name: string;
  /** Where the name comes from. */
  readonly origin: 'librdkafka' | 'Java' | 'librdkafka, Java' | 'Spillway';
  readonly effect: 'applied' | 'refused' | 'warning';
  readonly defaultText: string;
  readonly text: string;
}

const SPILLWAY_DEFAULTS: Readonly<Record<string, string>> = {
  'client.id': 'spillway',
  acks: 'all (0 for delivery none)',
  'enable.idempotence': 'true (false for delivery none)',
  'delivery.timeout.ms': '120000',
  'message.max.bytes': '1048576',
  'socket.connection.setup.timeout.ms': '10000',
  'queue.buffering.max.kbytes': '65536',
};

const SPILLWAY_ALSO: Readonly<Record<string, string>> = {
  'linger.ms': ' The sink waits this long for more changes before it takes a batch; an idempotent writer outside transactions then sends the batch at once (librdkafka lingers 0).',
  'batch.num.messages': ' A sink takes at most this many changes per batch, and at most 1000: librdkafka fills its message sets from several batches.',
  'queue.buffering.max.messages': ' When given, a sink also holds at most this many changes before it holds back its sources (backpressure); by default a sink holds two of its batches (2 × the smaller of batch.num.messages and 1000, at least 1000 changes).',
  'message.max.bytes': ' A bigger record goes to the sink\'s error policy.',
  'delivery.timeout.ms': ' An unreachable cluster fails a write after this long, naming each address and why it failed.',
  'transactional.id': ' The transactional id of an exactly-once sink (default `spillway-<name>-0`); refused with another delivery guarantee.',
  'auto.offset.reset': ' A Kafka-topic table starts there unless its startFrom says otherwise.',
  'isolation.level': ' Default read_committed.',
};

/** Every name of one side's catalog, with what it does or why it is refused. */
export function propertyCatalog(side: Side): PropertyDoc[] {
  const own = side === 'producer' ? 'P' : 'C';
  const docs = new Map<string, PropertyDoc>();
  for (const [name, entry] of librdkafka) {
    const [, rdSide, , type, range, defaultText] = entry.property;
    // Every catalogued name has one: scripts/librdkafka-catalog.ts writes no catalog otherwise.
    const description = LIBRDKAFKA_DESCRIPTIONS[name] as string;
    if (rdSide !== '*' && rdSide !== own) continue;
    const refusal = OWNED_BY_SPILLWAY[name];
    const java = javaRules(side)[name];
    const origin = java !== undefined && 'same' in java ? 'librdkafka, Java' : 'librdkafka';
    if (name === 'oauthbearer_token_refresh_cb') {
      docs.set(name, { name, origin, effect: 'applied', defaultText: '', text: 'A function (API only) returning a promise of { tokenValue, lifetime, principal, extensions? }: the OAUTHBEARER token provider.' });
    } else if (refusal !== undefined || type === 'see dedicated API') {
      docs.set(name, { name, origin, effect: 'refused', defaultText: '', text: refusal ?? callbackRefusal(name) });
    } else {
      const synonym = LIBRDKAFKA_SYNONYMS[name];
      const rangeText = range === '' ? '' : ` (${range})`;
      docs.set(name, {
        name,
        origin,
        effect: 'applied',
        defaultText: SPILLWAY_DEFAULTS[name] ?? defaultText,
        text: `${synonym === undefined ? '' : `Synonym of ${synonym}. `}${description}${rangeText}${SPILLWAY_ALSO[name] ?? ''}`,
      });
    }
  }
  for (const [name, rule] of Object.entries(javaRules(side))) {
    if ('same' in rule) continue;
    const text =
      'refused' in rule ? rule.refused : 'to' in rule ? `Mapped to librdkafka's ${rule.to}: ${rule.note}.` : `Applied by Spillway: ${rule.spillway}.`;
    const existing = docs.get(name);
    docs.set(name, {
      name,
      origin: existing === undefined ? 'Java' : 'librdkafka, Java',
      effect: 'refused' in rule ? 'refused' : 'applied',
      defaultText: name === 'max.block.ms' ? '60000' : name === 'max.poll.records' ? '500' : name === 'request.timeout.ms' ? '30000' : '',
      text: existing === undefined || existing.text === text ? text : `${existing.text} Java: ${text}`,
    });
  }
  if (side === 'producer') {
    for (const [name, text] of Object.entries(SPILLWAY_PROPERTIES)) docs.set(name, { name, origin: 'Spillway', effect: 'applied', defaultText: '', text });
  }
  return [...docs.values()].sort((a, b) => a.name.localeCompare(b.name));
}
