/**
 * `spillway broker start` with secured listeners, checked with kcat (librdkafka, the same
 * property names Spillway takes): records produced and consumed through every listener and
 * mechanism, and the refusals that prove each one checks what it should.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { normalizeSecurity } from '../../src/broker/broker-security.ts';
import { brokerStatus, ensureKafkaJars, startBroker, stopBroker } from '../../src/broker/embedded-broker.ts';
import { securityFromFlags } from '../../src/cli/broker-commands.ts';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { ErrorCode } from '../../src/errors.ts';
import { randomTopic } from '../helpers/kafka.ts';
import { kcatConsume, kcatMetadata, kcatProduce, kcatScramSkip } from '../helpers/kcat-client.ts';
import { MessageLog } from '../helpers/message-log.ts';
import { listenerMap, securedBrokerOptions, testPassword } from '../helpers/secured-broker.ts';

const run = promisify(execFile);
const cli = join(import.meta.dirname, '..', '..', 'bin', 'spillway.js');
const messages = new MessageLog();

async function spillway(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 180_000 });
    messages.add(`spillway ${args.slice(0, 2).join(' ')} stdout`, stdout);
    messages.add(`spillway ${args.slice(0, 2).join(' ')} stderr`, stderr);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    messages.add(`spillway ${args.slice(0, 2).join(' ')} stdout`, failed.stdout ?? '');
    messages.add(`spillway ${args.slice(0, 2).join(' ')} stderr`, failed.stderr ?? '');
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('option checks (no broker)', () => {
  it('refuses every inconsistent option at once, naming the fix and never a password', () => {
    const secret = 'never-shown-Zq8';
    assert.throws(
      () =>
        normalizeSecurity({
          listeners: [
            { protocol: 'PLAINTEXT' as never },
            { protocol: 'SASL_PLAINTEXT', clientAuth: 'required' },
            { protocol: 'SSL', name: 'mtls' },
            { protocol: 'SSL', port: 70000 },
            { protocol: 'SASL_SSL', name: 'SSL' },
          ],
          users: [
            { username: 'alice', password: `${secret} x` },
            { username: 'alice', password: 'ok-password' },
            { username: 'b"ob', password: 'ok-password' },
          ],
          saslMechanisms: ['PLAIN', 'GSSAPI' as never, 'PLAIN'],
        }),
      (error: Error) => {
        assert.equal((error as { code?: string }).code, 'INVALID_CONFIG');
        assert.equal(
          error.message,
          [
            "the embedded broker's security options are invalid:",
            '  - listener protocol "PLAINTEXT" is not one of SASL_PLAINTEXT, SSL, SASL_SSL (a PLAINTEXT listener always runs; --port sets its port)',
            '  - listener SASL_PLAINTEXT: client certificates need TLS; use protocol SSL or SASL_SSL, or drop client auth',
            '  - listener name "mtls" must be upper-case letters, digits and _ (such as MTLS)',
            '  - listener SSL: port 70000 is not a port number from 1 to 65535',
            '  - two listeners are named SSL; give the second a name of its own (such as SSL_2)',
            '  - SASL mechanism "GSSAPI" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER',
            '  - a SASL mechanism is listed twice',
            '  - the password of user alice must be non-empty, without whitespace, quotes, backslashes, commas, brackets or "=" (the broker\'s JAAS and SCRAM syntax cannot carry them)',
            '  - user alice is given twice',
            '  - user name "b\\"ob" may only hold letters, digits and . _ @ -',
          ].join('\n'),
        );
        assert.ok(!error.message.includes(secret));
        messages.addError('normalizeSecurity', error);
        return true;
      },
    );
  });

  it('refuses users or mechanisms without a SASL listener, and SASL listeners without a way to log in', () => {
    assert.throws(() => normalizeSecurity({ listeners: [{ protocol: 'SSL' }], users: [{ username: 'a', password: 'pw-123456' }] }), {
      message: /SASL users are given but no listener uses SASL; add a SASL_PLAINTEXT or SASL_SSL listener/,
    });
    assert.throws(() => normalizeSecurity({ listeners: [{ protocol: 'SSL' }], saslMechanisms: ['PLAIN'] }), {
      message: /SASL mechanisms are given but no listener uses SASL/,
    });
    assert.throws(() => normalizeSecurity({ listeners: [{ protocol: 'SASL_SSL' }] }), {
      message: /PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 need at least one user \(name:password\); or enable only OAUTHBEARER/,
    });
    assert.throws(
      () => normalizeSecurity({ listeners: [{ protocol: 'SASL_SSL' }], saslMechanisms: ['OAUTHBEARER'], users: [{ username: 'a', password: 'pw-123456' }] }),
      { message: /users are given but only OAUTHBEARER is enabled, which takes no passwords; add PLAIN or SCRAM mechanisms/ },
    );
    assert.throws(() => normalizeSecurity({ listeners: [{ protocol: 'SASL_SSL' }], saslMechanisms: [] }), {
      message: /the SASL listeners need at least one SASL mechanism/,
    });
    // Only OAUTHBEARER needs no users; the defaults are the three password mechanisms.
    assert.deepEqual(normalizeSecurity({ listeners: [{ protocol: 'SASL_PLAINTEXT' }], saslMechanisms: ['OAUTHBEARER'] }).users, []);
    assert.deepEqual(
      normalizeSecurity({ listeners: [{ protocol: 'SASL_PLAINTEXT' }], users: [{ username: 'a', password: 'pw-123456' }] }).saslMechanisms,
      ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    );
  });

  it('maps the CLI flags onto the options, and leaves the plain broker alone without them', () => {
    assert.equal(securityFromFlags({}), undefined);
    assert.deepEqual(
      securityFromFlags({ saslPlaintext: '9093', ssl: true, mtls: true, saslSsl: '9095', user: ['alice:a-b:c'], saslMechanisms: 'plain, oauthbearer' }),
      {
        listeners: [
          { protocol: 'SASL_PLAINTEXT', port: 9093 },
          { protocol: 'SSL' },
          { protocol: 'SSL', name: 'MTLS', clientAuth: 'required' },
          { protocol: 'SASL_SSL', port: 9095 },
        ],
        users: [{ username: 'alice', password: 'a-b:c' }],
        saslMechanisms: ['PLAIN', 'OAUTHBEARER'],
      },
    );
    assert.throws(() => securityFromFlags({ ssl: '80a' }), { code: 'INVALID_CONFIG', message: '--ssl takes an optional port from 1 to 65535, not "80a"' });
    assert.throws(() => securityFromFlags({ user: ['no-colon-secret'] }), {
      code: 'INVALID_CONFIG',
      message: '--user takes name:password (for example --user alice:alice-secret)',
    });
  });

  it('the CLI reports a bad option with its code and exit status 1, before starting anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-broker-cli-'));
    try {
      const secret = testPassword('carol');
      const result = await spillway(['broker', 'start', '--dir', dir, '--ssl', '--user', `carol:${secret}`]);
      assert.equal(result.code, exitCodeFor(ErrorCode.InvalidConfig));
      assert.match(result.stderr, /spillway \[INVALID_CONFIG\]: the embedded broker's security options are invalid:\n {2}- SASL users are given but no listener uses SASL/);
      assert.ok(!result.stderr.includes(secret));
      assert.equal(brokerStatus({ brokerDir: dir }).running, false);
      const help = await spillway(['broker', 'start', '--help']);
      for (const flag of ['--sasl-plaintext [port]', '--ssl [port]', '--mtls [port]', '--sasl-ssl [port]', '--user <name:password>', '--sasl-mechanisms <list>', 'Examples:']) {
        assert.ok(help.stdout.includes(flag), `--help lacks ${flag}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a broker started by the CLI with every secured listener', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-broker-security-'));
  const users = { alice: testPassword('alice'), bob: testPassword('bob') };
  let listeners: Record<string, string> = {};
  let ca = '';
  let clientCert = '';
  let clientKey = '';

  before(async () => {
    const started = await spillway([
      'broker', 'start', '--dir', dir, '--sasl-plaintext', '--ssl', '--mtls', '--sasl-ssl',
      '--user', `alice:${users.alice}`, '--user', `bob:${users.bob}`,
      '--sasl-mechanisms', 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
    ]);
    assert.equal(started.code, 0, started.stderr);
    const lines = started.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^127\.0\.0\.1:\d+$/);
    listeners = { PLAINTEXT: lines[0] ?? '' };
    for (const line of lines.slice(1)) {
      const match = /^([A-Z_]+):\/\/(127\.0\.0\.1:\d+)$/.exec(line);
      assert.ok(match !== null, `unexpected line ${line}`);
      listeners[match[1] ?? ''] = match[2] ?? '';
    }
    assert.deepEqual(Object.keys(listeners), ['PLAINTEXT', 'SASL_PLAINTEXT', 'SSL', 'MTLS', 'SASL_SSL']);
    ca = join(dir, 'tls', 'ca.pem');
    clientCert = join(dir, 'tls', 'client.pem');
    clientKey = join(dir, 'tls', 'client.key');
    assert.match(started.stderr, new RegExp(`TLS: ssl.ca.location=${ca}; client certificate ssl.certificate.location=${clientCert}, ssl.key.location=${clientKey}`));
  });

  after(async () => {
    const stopped = await spillway(['broker', 'stop', '--dir', dir]);
    assert.match(stopped.stderr, /broker stopped/);
    rmSync(dir, { recursive: true, force: true });
  });

  const sasl = (mechanism: string, user: 'alice' | 'bob' = 'alice', password?: string) => ({
    'sasl.mechanisms': mechanism,
    'sasl.username': user,
    'sasl.password': password ?? users[user],
  });

  async function roundTrip(listener: string, properties: Record<string, string>): Promise<void> {
    const topic = randomTopic(`kcat-${listener.toLowerCase()}`);
    const lines = ['k1:one', 'k2:two', 'k3:three'];
    await kcatProduce(listeners[listener] ?? '', properties, topic, lines);
    assert.deepEqual(await kcatConsume(listeners[listener] ?? '', properties, topic, lines.length), lines);
  }

  it('status lists every listener', async () => {
    const status = await spillway(['broker', 'status', '--dir', dir]);
    assert.equal(status.code, 0);
    assert.deepEqual(status.stdout.trim().split('\n').slice(0, 5), [
      `address: ${listeners.PLAINTEXT ?? ''}`,
      ...['SASL_PLAINTEXT', 'SSL', 'MTLS', 'SASL_SSL'].map((name) => `listener: ${name}://${listeners[name] ?? ''}`),
    ]);
    assert.match(status.stdout, /\nstate: running \(pid \d+\)\nlogs: /);
  });

  it('SASL_PLAINTEXT with PLAIN', () => roundTrip('SASL_PLAINTEXT', { 'security.protocol': 'SASL_PLAINTEXT', ...sasl('PLAIN') }));
  it('SASL_PLAINTEXT with SCRAM-SHA-256', { skip: kcatScramSkip }, () =>
    roundTrip('SASL_PLAINTEXT', { 'security.protocol': 'SASL_PLAINTEXT', ...sasl('SCRAM-SHA-256', 'bob') }));
  it('SASL_PLAINTEXT with SCRAM-SHA-512', { skip: kcatScramSkip }, () =>
    roundTrip('SASL_PLAINTEXT', { 'security.protocol': 'SASL_PLAINTEXT', ...sasl('SCRAM-SHA-512') }));
  it('SASL_PLAINTEXT with OAUTHBEARER and an unsecured JWT', () =>
    roundTrip('SASL_PLAINTEXT', {
      'security.protocol': 'SASL_PLAINTEXT',
      'sasl.mechanisms': 'OAUTHBEARER',
      'enable.sasl.oauthbearer.unsecure.jwt': 'true',
      'sasl.oauthbearer.config': 'principal=carol',
    }));
  it('SSL with the CA', () => roundTrip('SSL', { 'security.protocol': 'SSL', 'ssl.ca.location': ca }));
  it('SSL with client certificate and key (ssl.client.auth=required)', () =>
    roundTrip('MTLS', { 'security.protocol': 'SSL', 'ssl.ca.location': ca, 'ssl.certificate.location': clientCert, 'ssl.key.location': clientKey }));
  it('SASL_SSL with PLAIN', () => roundTrip('SASL_SSL', { 'security.protocol': 'SASL_SSL', 'ssl.ca.location': ca, ...sasl('PLAIN', 'bob') }));
  it('SASL_SSL with SCRAM-SHA-512', { skip: kcatScramSkip }, () =>
    roundTrip('SASL_SSL', { 'security.protocol': 'SASL_SSL', 'ssl.ca.location': ca, ...sasl('SCRAM-SHA-512') }));

  it('refuses a wrong password, a missing client certificate, an unknown CA and plaintext on TLS', async () => {
    // kcat retries until its metadata timeout, so the four run side by side.
    const [wrong, noCert, unknownCa, plaintext] = await Promise.all([
      kcatMetadata(listeners.SASL_PLAINTEXT ?? '', { 'security.protocol': 'SASL_PLAINTEXT', ...sasl('PLAIN', 'alice', 'wrong-password') }),
      kcatMetadata(listeners.MTLS ?? '', { 'security.protocol': 'SSL', 'ssl.ca.location': ca }),
      // The client certificate is no CA: the broker's certificate cannot be verified with it.
      kcatMetadata(listeners.SSL ?? '', { 'security.protocol': 'SSL', 'ssl.ca.location': clientCert }),
      kcatMetadata(listeners.SSL ?? '', {}),
    ]);
    assert.equal(wrong.ok, false);
    assert.match(wrong.stderr, /Authentication failed|invalid credentials/i);
    assert.equal(noCert.ok, false);
    assert.match(noCert.stderr, /bad certificate|certificate required|handshake/i);
    assert.equal(unknownCa.ok, false);
    assert.match(unknownCa.stderr, /certificate verify failed/i);
    assert.equal(plaintext.ok, false);
    // librdkafka 2.0 suspects the SSL listener by name; later ones report the closed connection.
    assert.match(plaintext.stderr, /security\.protocol|SSL listener|connection closed by peer/);
  });

  it('a second start with other users is refused while it runs', async () => {
    const other = await spillway(['broker', 'start', '--dir', dir, '--sasl-plaintext', '--user', 'alice:another-password']);
    assert.equal(other.code, exitCodeFor(ErrorCode.EmbeddedBroker));
    assert.match(other.stderr, /spillway \[EMBEDDED_BROKER\]: the broker in .* already runs with other listeners or users; stop it first/);
    assert.ok(!other.stderr.includes('another-password'));
  });

  it('keeps the files that hold passwords for their owner only', () => {
    for (const file of ['server.properties', 'state.json', join('tls', 'store-password'), join('tls', 'ca.key'), join('tls', 'client.key')]) {
      assert.equal((statSync(join(dir, file)).mode & 0o777).toString(8), '600', file);
    }
    assert.ok(!readFileSync(join(dir, 'state.json'), 'utf8').includes(users.alice));
  });

  it('never prints a password', () => {
    messages.assertNoSecrets({ 'alice password': users.alice, 'bob password': users.bob });
    assert.ok(messages.size > 10);
  });
});

describe('a restart on storage formatted earlier', () => {
  it('keeps the listeners and ports, and sets SCRAM users to the ones given now', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-broker-restart-'));
    try {
      const first = { alice: testPassword('alice'), bob: testPassword('bob') };
      const started = await startBroker({ brokerDir: dir, security: securedBrokerOptions(first) });
      const ports = listenerMap(started);
      await stopBroker({ brokerDir: dir });
      // bob's password changes; alice is gone.
      const bob = testPassword('bob');
      const restarted = await startBroker({
        brokerDir: dir,
        security: { listeners: [{ protocol: 'SASL_PLAINTEXT' }], users: [{ username: 'bob', password: bob }], saslMechanisms: ['SCRAM-SHA-512', 'PLAIN'] },
      });
      assert.equal(listenerMap(restarted).SASL_PLAINTEXT, ports.SASL_PLAINTEXT);
      assert.equal(restarted.bootstrapServers, started.bootstrapServers);
      assert.equal(restarted.tls, undefined);
      const servers = listenerMap(restarted).SASL_PLAINTEXT ?? '';
      const login = (user: string, password: string, mechanism: string) =>
        kcatMetadata(servers, { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': mechanism, 'sasl.username': user, 'sasl.password': password });
      // SCRAM checked with Kafka's own Java client, which every Kafka 4 broker accepts.
      const javaScram = async (user: string, password: string) => {
        const config = join(dir, `client-${user}-${password}.properties`);
        writeFileSync(config, [
          'security.protocol=SASL_PLAINTEXT',
          'sasl.mechanism=SCRAM-SHA-512',
          `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`,
          '',
        ].join('\n'));
        try {
          await run('java', ['-cp', join(ensureKafkaJars(), '*'), 'org.apache.kafka.tools.TopicCommand', '--bootstrap-server', servers, '--command-config', config, '--list'], { timeout: 60_000 });
          return true;
        } catch (error) {
          const failed = error as { stdout?: unknown; stderr?: unknown };
          assert.match(`${String(failed.stdout)}${String(failed.stderr)}`, /Authentication failed/);
          return false;
        }
      };
      const [plainBob, plainAlice, scramBob, scramOldBob, scramAlice] = await Promise.all([
        login('bob', bob, 'PLAIN'),
        login('alice', first.alice, 'PLAIN'),
        javaScram('bob', bob),
        javaScram('bob', first.bob),
        javaScram('alice', first.alice),
      ]);
      assert.deepEqual([plainBob.ok, plainAlice.ok, scramBob, scramOldBob, scramAlice], [true, false, true, false, false]);
    } finally {
      await stopBroker({ brokerDir: dir });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
