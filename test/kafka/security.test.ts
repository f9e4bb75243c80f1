/**
 * Writing through secured listeners with Spillway's public API: Kafka properties by their
 * librdkafka and Java names, keys and certificates as PEM files and inline, each write read back
 * with kcat. Failures fail fast naming their cause, and no secret used here appears in any
 * message the run produced.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { defineSchema, newTable, parseKafkaProperties, produce, simpleSpec } from '../../src/index.ts';
import { needsLibrdkafkaAdapter } from '../helpers/kafka-adapter.ts';
import { randomTopic } from '../helpers/kafka.ts';
import { kcatConsume } from '../helpers/kcat-client.ts';
import { MessageLog } from '../helpers/message-log.ts';
import { type SecuredBroker, startSecuredBroker, testPassword } from '../helpers/secured-broker.ts';

const schema = defineSchema({ k: 'string', v: 'string' });
const messages = new MessageLog();
/** Every secret the tests hand to Spillway, by a label that may be printed. */
const secrets: Record<string, string> = {};

let broker: SecuredBroker;
let ca = '';
let clientCert = '';
let clientKey = '';
let encryptedKeyFile = '';
let encryptedKey = '';
let keyPassword = '';
let keystoreFile = '';
let keystorePassword = '';
let principal = '';

before(async () => {
  broker = await startSecuredBroker('kafka-security');
  secrets['alice password'] = broker.users.alice;
  secrets['bob password'] = broker.users.bob;
  ca = readFileSync(broker.tls.caLocation, 'utf8');
  clientCert = readFileSync(broker.tls.clientCertificateLocation, 'utf8');
  clientKey = readFileSync(broker.tls.clientKeyLocation, 'utf8');
  secrets['client key PEM'] = clientKey;
  // The client key again, encrypted with a password (PKCS#8), and in a PKCS12 keystore.
  keyPassword = testPassword('key');
  secrets['ssl.key.password'] = keyPassword;
  encryptedKeyFile = join(broker.dir, 'client-encrypted.key');
  execFileSync('openssl', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', broker.tls.clientKeyLocation, '-out', encryptedKeyFile, '-passout', `pass:${keyPassword}`]);
  encryptedKey = readFileSync(encryptedKeyFile, 'utf8');
  secrets['encrypted client key PEM'] = encryptedKey;
  keystorePassword = testPassword('store');
  secrets['ssl.keystore.password'] = keystorePassword;
  keystoreFile = join(broker.dir, 'client.p12');
  execFileSync('openssl', ['pkcs12', '-export', '-in', broker.tls.clientCertificateLocation, '-inkey', broker.tls.clientKeyLocation, '-name', 'client', '-out', keystoreFile, '-passout', `pass:${keystorePassword}`]);
  principal = `carol-${testPassword('jwt')}`;
  secrets['sasl.oauthbearer.config'] = `principal=${principal}`;
});

after(async () => {
  await broker.stop();
});

type Listener = 'SASL_PLAINTEXT' | 'SSL' | 'MTLS' | 'SASL_SSL';

/** Writes three rows through a listener with the given properties and reads them back with kcat. */
async function writeThrough(listener: Listener, kafka: Record<string, unknown>, label: string): Promise<void> {
  const topic = randomTopic(`security-${label}`);
  const rows = [1, 2, 3].map((i) => ({ k: `k${i}`, v: `${label}-${i}` }));
  const sink = produce(newTable(schema, rows), { 'bootstrap.servers': broker.listeners[listener] ?? '', ...kafka }, topic, simpleSpec('k'), simpleSpec('v'));
  try {
    await sink.done;
  } catch (error) {
    messages.addError(`write ${label}`, error);
    throw error;
  } finally {
    recordHandle(label, sink);
  }
  assert.equal(sink.metrics.records, 3);
  // kcat reads back through the PLAINTEXT listener: an independent client, whatever the writer used.
  const read = await kcatConsume(broker.listeners.PLAINTEXT ?? '', {}, topic, 3);
  assert.deepEqual(read, rows.map((row) => `${row.k}:${row.v}`));
}

function recordHandle(label: string, sink: ReturnType<typeof produce>): void {
  messages.add(`${label} warnings`, sink.warnings.join('\n'));
  messages.add(`${label} metrics`, JSON.stringify(sink.metrics));
  messages.add(`${label} handle`, inspect(sink, { depth: 6, showHidden: true }));
  const describable = sink as unknown as { describe?: () => unknown };
  if (typeof describable.describe === 'function') messages.add(`${label} describe()`, JSON.stringify(describable.describe()));
}

/** Starts a write that must fail; resolves with the error and how long it took. */
async function failingWrite(listener: Listener, kafka: Record<string, unknown>, label: string): Promise<{ error: Error; ms: number }> {
  const started = Date.now();
  const sink = produce(newTable(schema, [{ k: 'k', v: label }]), { 'bootstrap.servers': broker.listeners[listener] ?? '', ...kafka }, randomTopic(`security-${label}`), simpleSpec('k'), simpleSpec('v'));
  try {
    await sink.done;
  } catch (error) {
    messages.addError(`failing write ${label}`, error);
    recordHandle(label, sink);
    return { error: error as Error, ms: Date.now() - started };
  }
  assert.fail(`the write ${label} succeeded`);
}

const sasl = (protocol: 'SASL_PLAINTEXT' | 'SASL_SSL') => ({ 'security.protocol': protocol });

describe('SASL by librdkafka and Java names', () => {
  it('PLAIN with sasl.mechanisms, sasl.username and sasl.password (librdkafka)', () =>
    writeThrough('SASL_PLAINTEXT', { ...sasl('SASL_PLAINTEXT'), 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'alice', 'sasl.password': broker.users.alice, 'group.id': 'shared-config' }, 'plain'));

  it('PLAIN with a Java sasl.jaas.config', () => {
    const jaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="${broker.users.bob}";`;
    secrets['PLAIN sasl.jaas.config'] = jaas;
    return writeThrough('SASL_PLAINTEXT', { ...sasl('SASL_PLAINTEXT'), 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': jaas }, 'plain-jaas');
  });

  it('SCRAM-SHA-256 with sasl.mechanism (Java) and sasl.username/sasl.password', () =>
    writeThrough('SASL_PLAINTEXT', { ...sasl('SASL_PLAINTEXT'), 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.username': 'bob', 'sasl.password': broker.users.bob }, 'scram256'));

  it('SCRAM-SHA-512 with a Java ScramLoginModule sasl.jaas.config', () => {
    const jaas = `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="${broker.users.alice}";`;
    secrets['SCRAM sasl.jaas.config'] = jaas;
    return writeThrough('SASL_PLAINTEXT', { ...sasl('SASL_PLAINTEXT'), 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.jaas.config': jaas }, 'scram512-jaas');
  });

  it('OAUTHBEARER with an unsecured JWT (enable.sasl.oauthbearer.unsecure.jwt, sasl.oauthbearer.config)', { skip: needsLibrdkafkaAdapter('OAUTHBEARER tokens') }, () =>
    writeThrough('SASL_PLAINTEXT', {
      ...sasl('SASL_PLAINTEXT'),
      'sasl.mechanisms': 'OAUTHBEARER',
      'enable.sasl.oauthbearer.unsecure.jwt': 'true',
      'sasl.oauthbearer.config': `principal=${principal}`,
    }, 'oauthbearer'));

  it('OAUTHBEARER with a Java OAuthBearerLoginModule unsecured login', { skip: needsLibrdkafkaAdapter('OAUTHBEARER tokens') }, () =>
    writeThrough('SASL_PLAINTEXT', {
      ...sasl('SASL_PLAINTEXT'),
      'sasl.mechanism': 'OAUTHBEARER',
      'sasl.jaas.config': `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="${principal}";`,
    }, 'oauthbearer-jaas'));

  it('OAUTHBEARER with a token provider function (oauthbearer_token_refresh_cb) returning an unsecured JWT', { skip: needsLibrdkafkaAdapter('OAUTHBEARER token providers') }, async () => {
    const sub = `dave-${testPassword('sub')}`;
    const now = Math.floor(Date.now() / 1000);
    const token = unsecuredJwt({ sub, iat: now, exp: now + 3600 });
    secrets['provided OAUTHBEARER token'] = token;
    const calls: string[] = [];
    const provider = async (oauthbearerConfig: string) => {
      calls.push(oauthbearerConfig);
      // As if fetched from an identity provider.
      await setImmediate();
      return { tokenValue: token, lifetime: (now + 3600) * 1000, principal: sub };
    };
    await writeThrough('SASL_PLAINTEXT', { ...sasl('SASL_PLAINTEXT'), 'sasl.mechanism': 'OAUTHBEARER', oauthbearer_token_refresh_cb: provider }, 'oauthbearer-provider');
    assert.ok(calls.length >= 1, 'the token provider was never called');
  });
});

/** An unsecured JWT (RFC 7519 with alg none): a header, a payload, an empty signature. */
function unsecuredJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.`;
}

describe('SSL: the CA, client certificates and keys, as files and inline', () => {
  it('ssl.ca.location', () => writeThrough('SSL', { 'security.protocol': 'SSL', 'ssl.ca.location': broker.tls.caLocation }, 'ssl-ca-file'));

  it('ssl.ca.pem inline', () => writeThrough('SSL', { 'security.protocol': 'ssl', 'ssl.ca.pem': ca }, 'ssl-ca-pem'));

  it('client certificate and key files (ssl.client.auth=required)', () =>
    writeThrough('MTLS', {
      'security.protocol': 'SSL',
      'ssl.ca.location': broker.tls.caLocation,
      'ssl.certificate.location': broker.tls.clientCertificateLocation,
      'ssl.key.location': broker.tls.clientKeyLocation,
    }, 'mtls-files'));

  it('client certificate and key inline (ssl.certificate.pem, ssl.key.pem)', () =>
    writeThrough('MTLS', { 'security.protocol': 'SSL', 'ssl.ca.pem': ca, 'ssl.certificate.pem': clientCert, 'ssl.key.pem': clientKey }, 'mtls-pem'));

  it('an encrypted key file with ssl.key.password', () =>
    writeThrough('MTLS', {
      'security.protocol': 'SSL',
      'ssl.ca.location': broker.tls.caLocation,
      'ssl.certificate.location': broker.tls.clientCertificateLocation,
      'ssl.key.location': encryptedKeyFile,
      'ssl.key.password': keyPassword,
    }, 'mtls-encrypted-file'));

  it('an encrypted inline key with ssl.key.password', () =>
    writeThrough('MTLS', { 'security.protocol': 'SSL', 'ssl.ca.pem': ca, 'ssl.certificate.pem': clientCert, 'ssl.key.pem': encryptedKey, 'ssl.key.password': keyPassword }, 'mtls-encrypted-pem'));

  it('Java PEM names: ssl.truststore.certificates, ssl.keystore.certificate.chain, ssl.keystore.key', { skip: needsLibrdkafkaAdapter('Java PEM truststore/keystore names') }, () =>
    writeThrough('MTLS', {
      'security.protocol': 'SSL',
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.certificates': ca,
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.certificate.chain': clientCert,
      'ssl.keystore.key': clientKey,
    }, 'mtls-java-pem'));

  it('a PKCS12 keystore (ssl.keystore.location, ssl.keystore.password) and a PEM truststore file', { skip: needsLibrdkafkaAdapter('PKCS12 keystores and Java truststore names') }, () =>
    writeThrough('MTLS', {
      'security.protocol': 'SSL',
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': broker.tls.caLocation,
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.location': keystoreFile,
      'ssl.keystore.password': keystorePassword,
    }, 'mtls-pkcs12'));
});

describe('SASL_SSL', () => {
  it('SCRAM-SHA-512 over TLS with ssl.ca.location', () =>
    writeThrough('SASL_SSL', { ...sasl('SASL_SSL'), 'ssl.ca.location': broker.tls.caLocation, 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': 'alice', 'sasl.password': broker.users.alice }, 'sasl-ssl-scram'));

  it('PLAIN over TLS with an inline CA', () =>
    writeThrough('SASL_SSL', { ...sasl('SASL_SSL'), 'ssl.ca.pem': ca, 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'bob', 'sasl.password': broker.users.bob }, 'sasl-ssl-plain'));
});

describe('failures fail fast and name their cause', () => {
  // With the default delivery.timeout.ms (120 s): an error that cannot pass must not wait it out.
  const fast = 15_000;

  it('a wrong password: authentication failed', { skip: needsLibrdkafkaAdapter('reporting a SASL authentication failure at once') }, async () => {
    const wrong = testPassword('wrong');
    secrets['wrong password'] = wrong;
    const { error, ms } = await failingWrite('SASL_PLAINTEXT', { ...sasl('SASL_PLAINTEXT'), 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'alice', 'sasl.password': wrong }, 'wrong-password');
    assert.match(error.message, /authentication failed/i);
    assert.ok(ms < fast, `took ${ms} ms`);
  });

  it('an unknown CA: certificate verify failed', { skip: needsLibrdkafkaAdapter('reporting a certificate verification failure at once') }, async () => {
    // The client certificate is not a CA: nothing the broker presents chains to it.
    const { error, ms } = await failingWrite('SSL', { 'security.protocol': 'SSL', 'ssl.ca.location': broker.tls.clientCertificateLocation }, 'unknown-ca');
    assert.match(error.message, /certificate verify failed/i);
    assert.ok(ms < fast, `took ${ms} ms`);
  });

  it('no client certificate where one is required: the broker refused the certificate', { skip: needsLibrdkafkaAdapter('reporting a refused TLS handshake at once') }, async () => {
    const { error, ms } = await failingWrite('MTLS', { 'security.protocol': 'SSL', 'ssl.ca.location': broker.tls.caLocation }, 'mtls-no-certificate');
    assert.match(error.message, /certificate/i);
    assert.ok(ms < fast, `took ${ms} ms`);
  });

  // librdkafka only says the broker closed the connection; the writer names TLS by probing the address.
  it('a plaintext client on a TLS listener: the listener needs TLS', async () => {
    const { error, ms } = await failingWrite('SSL', {}, 'plaintext-to-tls');
    assert.equal((error as { code?: string }).code, 'INVALID_CONFIG');
    assert.match(error.message, new RegExp(`Kafka broker ${broker.listeners.SSL}: the listener speaks TLS; set security\\.protocol=SSL \\(or SASL_SSL\\)`));
    assert.ok(ms < fast, `took ${ms} ms`);
  });

  it('SASL_PLAINTEXT on a SASL_SSL listener: the listener needs TLS', async () => {
    const { error, ms } = await failingWrite('SASL_SSL', { ...sasl('SASL_PLAINTEXT'), 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'bob', 'sasl.password': broker.users.bob }, 'sasl-plaintext-to-tls');
    assert.equal((error as { code?: string }).code, 'INVALID_CONFIG');
    assert.match(error.message, /the listener speaks TLS; set security\.protocol=SASL_SSL/);
    assert.ok(ms < fast, `took ${ms} ms`);
  });

  it('a token provider that throws: fails fast with its message and no token', { skip: needsLibrdkafkaAdapter('reporting a token provider failure at once') }, async () => {
    const now = Math.floor(Date.now() / 1000);
    // A token the provider holds but never hands over: it must not leak into any message.
    const token = unsecuredJwt({ sub: `erin-${testPassword('held')}`, iat: now, exp: now + 3600 });
    secrets['token held by a failing provider'] = token;
    const provider = async () => {
      await setImmediate();
      if (token.length > 0) throw new Error('the identity provider is unavailable (HTTP 503)');
      return { tokenValue: token, lifetime: (now + 3600) * 1000, principal: 'erin' };
    };
    const { error, ms } = await failingWrite('SASL_PLAINTEXT', { ...sasl('SASL_PLAINTEXT'), 'sasl.mechanism': 'OAUTHBEARER', oauthbearer_token_refresh_cb: provider }, 'oauthbearer-provider-throws');
    assert.match(error.message, /the identity provider is unavailable \(HTTP 503\)/);
    assert.ok(!error.message.includes(token));
    assert.ok(ms < fast, `took ${ms} ms`);
  });

  it('invalid security properties are refused before connecting, without quoting a secret', () => {
    const password = testPassword('typo');
    secrets['password given with a typo'] = password;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ 'security.protocol': 'SSL', 'ssl.key.password': 12345678901 }, /`ssl\.key\.password` = \[redacted\]: expected a non-empty string/],
      [{ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'alice', 'sasl.pasword': password }, /`sasl\.pasword` is not a Kafka producer property of librdkafka or the Java client; did you mean `sasl\.password`\?/],
      [{ 'sasl.mechanism': 'PLAIN', 'sasl.username': 'alice', 'sasl.password': password }, /SASL properties are set \(`sasl\.mechanism`, `sasl\.username`, `sasl\.password`\) but `security\.protocol` is plaintext; set it to sasl_plaintext or sasl_ssl/],
    ];
    secrets['numeric ssl.key.password'] = '12345678901';
    for (const [kafka, expected] of cases) {
      assert.throws(
        () => parseKafkaProperties({ 'bootstrap.servers': broker.listeners.PLAINTEXT ?? '', ...kafka }, { sink: 'secured' }),
        (error: Error) => {
          messages.addError('parseKafkaProperties', error);
          assert.equal((error as { code?: string }).code, 'INVALID_CONFIG');
          assert.match(error.message, expected);
          return true;
        },
      );
      // produce() refuses the same configuration the same way.
      assert.throws(
        () => produce(newTable(schema, []), { 'bootstrap.servers': broker.listeners.PLAINTEXT ?? '', ...kafka }, 'never-written', simpleSpec('k'), simpleSpec('v')),
        (error: Error) => {
          messages.addError('produce', error);
          return (error as { code?: string }).code === 'INVALID_CONFIG';
        },
      );
    }
  });
});

it('no secret used above appears in any error, warning, metric or description', () => {
  assert.ok(messages.size > 20, `only ${messages.size} messages were collected`);
  messages.assertNoSecrets(secrets);
});
