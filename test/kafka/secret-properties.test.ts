import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  REDACTED,
  isSecretProperty,
  jaasToLibrdkafka,
  javaSecurityToLibrdkafka,
  parseJaasConfig,
  redactProperties,
  redactText,
  redactedValue,
  secretValues,
} from '../../src/kafka/secret-properties.ts';

const PLAIN = 'org.apache.kafka.common.security.plain.PlainLoginModule';
const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const OAUTH = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule';

describe('secret properties', () => {
  it('knows the secrets by their librdkafka and Java names, and names that read like one', () => {
    for (const name of ['sasl.password', 'sasl.jaas.config', 'ssl.key.password', 'ssl.key.pem', 'ssl.keystore.password', 'ssl.truststore.password', 'ssl.keystore.key', 'sasl.oauthbearer.client.secret', 'sasl.oauthbearer.config', 'basic.auth.user.info', 'kafka.sasl.password', 'connector.properties.sasl.jaas.config', 'my.api.key']) {
      assert.equal(isSecretProperty(name), true, name);
    }
    for (const name of ['bootstrap.servers', 'sasl.username', 'sasl.mechanism', 'ssl.key.location', 'ssl.certificate.pem', 'ssl.ca.pem', 'security.protocol', 'linger.ms']) {
      assert.equal(isSecretProperty(name), false, name);
    }
  });

  it('redacts values without touching the input', () => {
    const input = Object.freeze({ 'bootstrap.servers': 'a:1', 'sasl.username': 'u', 'sasl.password': 'hunter2', 'ssl.key.pem': '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----' });
    assert.deepEqual(redactProperties(input), { 'bootstrap.servers': 'a:1', 'sasl.username': 'u', 'sasl.password': REDACTED, 'ssl.key.pem': REDACTED });
    assert.equal(input['sasl.password'], 'hunter2');
    assert.equal(redactedValue('ssl.key.password', 123), '[redacted]');
    assert.equal(redactedValue('linger.ms', -1), '-1');
  });

  it('finds the secrets inside JAAS lines and scrubs them, and every line of a key, out of any text', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQDExampleLine2\n-----END PRIVATE KEY-----\n';
    const jaas = `${SCRAM} required username="alice" password="s3cret-pw";`;
    const secrets = secretValues({ 'sasl.jaas.config': jaas, 'ssl.key.pem': key, 'sasl.username': 'alice', 'ssl.key.password': 42 });
    assert.deepEqual(secrets, [jaas, 's3cret-pw', key, '42']);
    assert.equal(
      redactText('login "s3cret-pw" failed; key line BKcwggSjAgEAAoIBAQDExampleLine2 bad', secrets),
      'login "[redacted]" failed; key line [redacted] bad',
    );
  });
});

describe('JAAS configuration lines', () => {
  it('parses modules, flags, quoted and bare values, escapes and comments as Java does', () => {
    assert.deepEqual(
      parseJaasConfig(`/* c */ ${PLAIN} required username=alice password="a \\"quoted\\" pw" // tail\n; ${SCRAM} optional user='x';`),
      [
        { loginModule: PLAIN, controlFlag: 'required', options: { username: 'alice', password: 'a "quoted" pw' } },
        { loginModule: SCRAM, controlFlag: 'optional', options: { user: 'x' } },
      ],
    );
  });

  it('refuses a malformed line without quoting it', () => {
    const cases: [string, RegExp][] = [
      ['', /it is empty/],
      [`${PLAIN} username="a" password="pw-secret";`, /needs a control flag/],
      [`${PLAIN} required username="a" password="pw-secret"`, /does not end with ";"/],
      [`${PLAIN} required username="a" password="pw-secret;`, /a quoted value is not closed/],
      [`${PLAIN} required password;`, /the option password needs a value/],
    ];
    for (const [line, expected] of cases) {
      assert.throws(() => parseJaasConfig(line), (error: Error) => {
        assert.equal((error as { code?: string }).code, 'INVALID_CONFIG');
        assert.match(error.message, expected);
        assert.ok(!error.message.includes('pw-secret'), error.message);
        return true;
      });
    }
  });

  it('translates PLAIN, SCRAM and OAUTHBEARER login modules into librdkafka properties', () => {
    assert.deepEqual(jaasToLibrdkafka(`${PLAIN} required username="alice" password="pw";`), {
      properties: { 'sasl.username': 'alice', 'sasl.password': 'pw' },
      mechanisms: ['PLAIN'],
    });
    assert.deepEqual(jaasToLibrdkafka(`${SCRAM} required username="bob" password="pw2";`).mechanisms, ['SCRAM-SHA-256', 'SCRAM-SHA-512']);
    assert.deepEqual(
      jaasToLibrdkafka(`${OAUTH} required unsecuredLoginLifetimeSeconds="600" unsecuredLoginStringClaim_sub="carol" unsecuredLoginListClaim_scope="a,b" unsecuredLoginExtension_traceId="t1";`),
      {
        properties: { 'enable.sasl.oauthbearer.unsecure.jwt': 'true', 'sasl.oauthbearer.config': 'principal=carol lifeSeconds=600 scope=a,b extension_traceId=t1' },
        mechanisms: ['OAUTHBEARER'],
      },
    );
    assert.deepEqual(jaasToLibrdkafka(`${OAUTH} required clientId="app" clientSecret="cs" scope="kafka";`).properties, {
      'sasl.oauthbearer.method': 'oidc',
      'sasl.oauthbearer.client.id': 'app',
      'sasl.oauthbearer.client.secret': 'cs',
      'sasl.oauthbearer.scope': 'kafka',
    });
  });

  it('refuses what librdkafka cannot do, naming the options that it can', () => {
    const cases: [string, RegExp][] = [
      [`${PLAIN} required username="a" password="pw" tokenauth="true";`, /option\(s\) tokenauth have no librdkafka equivalent; the options that do are username and password/],
      [`${SCRAM} required username="a";`, /ScramLoginModule needs username="…" and password="…"/],
      [`${OAUTH} required unsecuredLoginListClaim_scope="a";`, /needs unsecuredLoginStringClaim_sub="<principal>"/],
      [`${OAUTH} required unsecuredLoginStringClaim_sub="c" clientId="x";`, /either the unsecured login options or clientId\/clientSecret, not both/],
      [`${OAUTH} required unsecuredLoginStringClaim_sub="c" unsecuredLoginNumberClaim_n="1";`, /unsecuredLoginNumberClaim_n have no librdkafka equivalent/],
      ['com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;', /the login module com\.sun\.security\.auth\.module\.Krb5LoginModule is not supported; use /],
      [`${PLAIN} required username="a" password="pw"; ${PLAIN} required username="b" password="pw";`, /exactly one login module in sasl\.jaas\.config, not 2/],
    ];
    for (const [line, expected] of cases) assert.throws(() => jaasToLibrdkafka(line), { code: 'INVALID_CONFIG', message: expected });
  });
});

describe('Java security names as librdkafka properties', () => {
  it('maps JAAS, the mechanism, PEM truststores and keystores, and PKCS12 keystores', () => {
    const input = Object.freeze({
      'bootstrap.servers': 'a:1',
      'security.protocol': 'SASL_SSL',
      'sasl.mechanism': 'SCRAM-SHA-512',
      'sasl.jaas.config': `${SCRAM} required username="alice" password="pw";`,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.certificates': 'CA-PEM',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.certificate.chain': 'CERT-PEM',
      'ssl.keystore.key': 'KEY-PEM',
      'ssl.key.password': 'kp',
    });
    assert.deepEqual(javaSecurityToLibrdkafka(input), {
      'bootstrap.servers': 'a:1',
      'security.protocol': 'SASL_SSL',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'alice',
      'sasl.password': 'pw',
      'ssl.ca.pem': 'CA-PEM',
      'ssl.certificate.pem': 'CERT-PEM',
      'ssl.key.pem': 'KEY-PEM',
      'ssl.key.password': 'kp',
    });
    assert.deepEqual(
      javaSecurityToLibrdkafka({ 'ssl.truststore.type': 'pem', 'ssl.truststore.location': '/ca.pem', 'ssl.keystore.type': 'PKCS12', 'ssl.keystore.location': '/c.p12', 'ssl.keystore.password': 'sp' }),
      { 'ssl.ca.location': '/ca.pem', 'ssl.keystore.location': '/c.p12', 'ssl.keystore.password': 'sp' },
    );
    assert.deepEqual(javaSecurityToLibrdkafka({ 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': '/both.pem' }), {
      'ssl.certificate.location': '/both.pem',
      'ssl.key.location': '/both.pem',
    });
  });

  it('refuses JKS stores and conflicting names, saying how to convert', () => {
    assert.throws(() => javaSecurityToLibrdkafka({ 'ssl.truststore.location': '/t.jks', 'ssl.keystore.location': '/k.jks' }), {
      code: 'INVALID_CONFIG',
      message: [
        'Kafka security properties cannot be used:',
        '  - `ssl.truststore.location` of type JKS cannot be read by librdkafka; export the CA as PEM (keytool -exportcert -rfc -alias <ca> -keystore <truststore>) and give it as `ssl.ca.location`, or set `ssl.truststore.type` = PEM',
        '  - `ssl.keystore.location` of type JKS cannot be read by librdkafka; convert it to PKCS12 (keytool -importkeystore -deststoretype PKCS12) and set `ssl.keystore.type` = PKCS12',
      ].join('\n'),
    });
    assert.throws(() => javaSecurityToLibrdkafka({ 'sasl.username': 'x', 'sasl.jaas.config': `${PLAIN} required username="a" password="pw";` }), {
      message: /`sasl\.jaas\.config` and `sasl\.username` both set sasl\.username; keep one/,
    });
    assert.throws(() => javaSecurityToLibrdkafka({ 'sasl.mechanism': 'PLAIN', 'sasl.mechanisms': 'PLAIN' }), {
      message: /`sasl\.mechanism` and `sasl\.mechanisms` both set sasl\.mechanisms; keep one/,
    });
    assert.throws(() => javaSecurityToLibrdkafka({ 'ssl.truststore.certificates': 'CA' }), { message: /needs `ssl\.truststore\.type` = PEM/ });
  });
});
