import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isKafkaPropertyName, nearestName, parseConsumerProperties, parseKafkaProperties, propertyCatalog } from '../../src/kafka/kafka-properties.ts';
import { LIBRDKAFKA_PROPERTIES } from '../../src/kafka/librdkafka-catalog.ts';

const sink = { sink: 's1' };
const source = { source: 'kafkaTopicTable() topic "t"' };

it('applies at-least-once defaults and maps librdkafka synonyms and Java names onto librdkafka', () => {
  const { settings, warnings } = parseKafkaProperties(
    { 'metadata.broker.list': 'a:1, b:2', 'queue.buffering.max.ms': '20', 'compression.codec': 'LZ4', 'max.request.size': 2_000_000, 'buffer.memory': 33_554_432 },
    sink,
  );
  assert.deepEqual(settings.bootstrapServers, ['a:1', 'b:2']);
  assert.equal(settings.acks, -1);
  assert.equal(settings.idempotent, true);
  assert.equal(settings.lingerMs, 20);
  assert.equal(settings.maxMessageBytes, 2_000_000);
  assert.deepEqual(settings.clientConfig, {
    'bootstrap.servers': 'a:1,b:2',
    'linger.ms': 20,
    'compression.type': 'lz4',
    'message.max.bytes': 2_000_000,
    'queue.buffering.max.kbytes': 32_768,
    'client.id': 'spillway',
    acks: -1,
    'enable.idempotence': true,
    'delivery.timeout.ms': 120_000,
    'socket.connection.setup.timeout.ms': 10_000,
  });
  assert.deepEqual(warnings, []);
  const none = parseKafkaProperties({ 'bootstrap.servers': 'a:1' }, { sink: 's1', guarantee: 'none' }).settings;
  assert.equal(none.acks, 0);
  assert.equal(none.idempotent, false);
});

it('bounds memory by default: 64 MiB of unsent records in librdkafka, two batches of changes in the sink; given values are honoured', () => {
  const defaults = parseKafkaProperties({ 'bootstrap.servers': 'a:1' }, sink).settings;
  assert.equal(defaults.clientConfig['queue.buffering.max.kbytes'], 65_536);
  assert.equal(defaults.clientConfig['queue.buffering.max.messages'], undefined);
  assert.equal(defaults.clientConfig['batch.num.messages'], undefined);
  assert.equal(defaults.batchNumMessages, 10_000);
  // The sink's batches are smaller than librdkafka's message sets.
  assert.equal(defaults.sinkBatchRecords, 1_000);
  assert.equal(defaults.maxQueuedChanges, 2_000);
  // Small batches still leave the sink a queue of 1000 changes.
  const small = parseKafkaProperties({ 'bootstrap.servers': 'a:1', 'batch.num.messages': 100 }, sink).settings;
  assert.equal(small.sinkBatchRecords, 100);
  assert.equal(small.maxQueuedChanges, 1_000);
  const large = parseKafkaProperties({ 'bootstrap.servers': 'a:1', 'batch.num.messages': 80_000 }, sink).settings;
  assert.equal(large.batchNumMessages, 80_000);
  assert.equal(large.sinkBatchRecords, 1_000);
  assert.equal(large.maxQueuedChanges, 2_000);
  const given = parseKafkaProperties({ 'bootstrap.servers': 'a:1', 'queue.buffering.max.messages': 50_000, 'queue.buffering.max.kbytes': 1_024 }, sink).settings;
  assert.equal(given.maxQueuedChanges, 50_000);
  assert.equal(given.clientConfig['queue.buffering.max.messages'], 50_000);
  assert.equal(given.clientConfig['queue.buffering.max.kbytes'], 1_024);
});

it('passes batch.size and transactional.id to librdkafka instead of dropping them', () => {
  // Both were accepted and had no effect with the previous client.
  const { settings } = parseKafkaProperties({ 'bootstrap.servers': 'a:1', 'batch.size': 200, 'transactional.id': 'orders-1', 'transaction.timeout.ms': 30_000 }, sink);
  assert.equal(settings.clientConfig['batch.size'], 200);
  assert.equal(settings.clientConfig['transactional.id'], 'orders-1');
  assert.equal(settings.transactionalId, 'orders-1');
  assert.equal(settings.transactionTimeoutMs, 30_000);
});

it('takes any librdkafka producer property by its own name, checked against its documented range', () => {
  const { settings } = parseKafkaProperties(
    { 'bootstrap.servers': 'a:1', 'queue.buffering.backpressure.threshold': 10, 'enable.gapless.guarantee': 'true', debug: 'broker,msg', 'broker.address.family': 'V4' },
    sink,
  );
  assert.equal(settings.clientConfig['queue.buffering.backpressure.threshold'], 10);
  assert.equal(settings.clientConfig['enable.gapless.guarantee'], true);
  assert.equal(settings.clientConfig.debug, 'broker,msg');
  assert.equal(settings.clientConfig['broker.address.family'], 'v4');
  assert.throws(() => parseKafkaProperties({ 'bootstrap.servers': 'a:1', 'queue.buffering.backpressure.threshold': 0, debug: 'everything' }, sink), {
    code: 'INVALID_CONFIG',
    message: [
      'sink "s1" has invalid Kafka properties:',
      '  - `queue.buffering.backpressure.threshold` = 0: expected an integer from 1 to 1000000',
      '  - `debug` = "everything": expected a comma-separated list of generic, broker, topic, metadata, feature, queue, msg, protocol, cgrp, security, fetch, interceptor, plugin, consumer, admin, eos, mock, assignor, conf, telemetry, all',
    ].join('\n'),
  });
});

it('reports every problem at once, naming the sink, the property and the fix, never a secret', () => {
  assert.throws(
    () =>
      parseKafkaProperties(
        { 'boostrap.servers': 'a:1', acks: 'some', 'compression.type': 'brotli', 'linger.ms': -1, 'key.serializer': 'x', 'fancy.thing': 1, 'ssl.key.password': 7 },
        sink,
      ),
    {
      code: 'INVALID_CONFIG',
      message: [
        'sink "s1" has invalid Kafka properties:',
        '  - `boostrap.servers` is not a Kafka producer property of librdkafka or the Java client; did you mean `bootstrap.servers`? (the names are listed in docs/properties.md)',
        '  - `acks` = "some": expected all, -1, 0 or 1',
        '  - `compression.type` = "brotli": expected one of none, gzip, snappy, lz4, zstd',
        '  - `linger.ms` = -1: expected a number from 0 to 900000',
        '  - `key.serializer` is refused: the key spec serializes keys (simpleSpec, jsonSpec, avroSpec, …); remove it',
        '  - `fancy.thing` is not a Kafka producer property of librdkafka or the Java client (the names are listed in docs/properties.md)',
        '  - `ssl.key.password` = [redacted]: expected a non-empty string',
        '  - `bootstrap.servers` is required: the brokers to connect to, as host:port[,host:port]',
      ].join('\n'),
    },
  );
});

it('refuses what it cannot honour, saying why and what to use', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ partitioner: 'murmur2' }, /`partitioner` is refused: Spillway picks every record's partition .*use the sink's `partitioner` option/],
    [{ 'partitioner.class': 'x.Y' }, /`partitioner\.class` is refused: .*`partitioner` option/],
    [{ dr_cb: true }, /`dr_cb` is refused: Spillway's writer handles delivery reports itself/],
    [{ error_cb: 'x' }, /`error_cb` is a callback or object of librdkafka's C API/],
    [{ 'ssl.enabled.protocols': 'TLSv1.3' }, /`ssl\.enabled\.protocols` is refused: librdkafka \(OpenSSL\) negotiates TLS 1\.2 or 1\.3/],
    [{ 'sasl.login.refresh.window.factor': 0.8 }, /refreshes OAUTHBEARER tokens at 80% of their lifetime/],
    [{ 'interceptor.classes': 'a.B' }, /names a Java class \(producer or consumer interceptors\)/],
    [{ 'ssl.keystore.location': '/k.jks', 'ssl.keystore.type': 'JKS' }, /librdkafka reads PKCS12 or PEM keystores, not JKS; convert it \(keytool -importkeystore/],
    [{ 'ssl.truststore.location': '/t.jks' }, /`ssl\.truststore\.type` = "JKS": librdkafka reads CA certificates as PEM; export them/],
    [{ 'compression.type': 'lz4', 'compression.gzip.level': 4 }, /`compression\.gzip\.level` applies to compression\.type=gzip, but compression\.type is lz4/],
    [{ acks: 1, 'enable.idempotence': true }, /`enable\.idempotence` = true needs `acks` = all \(got 1\)/],
    [{ acks: 2 }, /`acks` = 2: the broker accepts all \(-1\), 0 and 1/],
    [{ acks: 0 }, /`acks` = 0 cannot give at-least-once delivery; choose delivery "none"/],
    [{ 'metadata.broker.list': 'b:2' }, /`metadata\.broker\.list` and `bootstrap\.servers` both set bootstrap\.servers; keep one/],
    [{ 'security.protocol': 'sasl_plaintext', 'sasl.mechanism': 'PLAIN' }, /with PLAIN needs `sasl\.username` and `sasl\.password`/],
    [{ 'sasl.username': 'u' }, /SASL properties are set \(`sasl\.username`\) but `security\.protocol` is plaintext/],
    [{ retries: null }, /`retries` has null value; give a string, number or boolean/],
    [{ 'sasl.jaas.config': 'com.example.Custom required secret="s3cr3t";', 'security.protocol': 'sasl_ssl' }, /the login module com\.example\.Custom is not one librdkafka can stand in for/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseKafkaProperties({ 'bootstrap.servers': 'a:1', ...input }, sink), { code: 'INVALID_CONFIG', message }, JSON.stringify(input));
  }
  assert.throws(() => parseKafkaProperties({ 'bootstrap.servers': 'nohost' }, sink), { message: /"nohost" is not host:port \(for example 127\.0\.0\.1:9092/ });
  // No value of a secret property appears in any of those messages.
  try {
    parseKafkaProperties({ 'bootstrap.servers': 'a:1', 'security.protocol': 'sasl_ssl', 'sasl.jaas.config': 'com.example.Custom required secret="s3cr3t";' }, sink);
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /s3cr3t/);
  }
});

it('refuses OAUTHBEARER without a way to get tokens, and maps each way onto librdkafka', () => {
  const oauth = { 'bootstrap.servers': 'a:1', 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'OAUTHBEARER' };
  // Accepted before and unable to authenticate: now refused before anything connects.
  assert.throws(() => parseKafkaProperties(oauth, sink), { code: 'INVALID_CONFIG', message: /OAUTHBEARER needs a way to get tokens: an `oauthbearer_token_refresh_cb` function/ });
  const jaas = parseKafkaProperties(
    { ...oauth, 'sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice" unsecuredLoginLifetimeSeconds="60";' },
    sink,
  ).settings.clientConfig;
  assert.equal(jaas['sasl.oauthbearer.config'], 'principal=alice lifeSeconds=60');
  assert.equal(jaas['enable.sasl.oauthbearer.unsecure.jwt'], true);
  assert.equal(jaas['security.protocol'], 'sasl_ssl');
  const provider = () => Promise.resolve({ tokenValue: 't', lifetime: Date.now() + 60_000, principal: 'alice' });
  const withProvider = parseKafkaProperties({ ...oauth, oauthbearer_token_refresh_cb: provider }, sink).settings;
  assert.equal(withProvider.oauthBearerTokenProvider, provider);
  assert.equal(withProvider.clientConfig.oauthbearer_token_refresh_cb, undefined, 'the function is not a librdkafka text property');
  const oidc = parseKafkaProperties(
    {
      ...oauth,
      'sasl.login.callback.handler.class': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler',
      'sasl.oauthbearer.token.endpoint.url': 'https://idp.example/token',
      'sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="app" clientSecret="s3cr3t" scope="kafka";',
    },
    sink,
  ).settings.clientConfig;
  assert.equal(oidc['sasl.oauthbearer.method'], 'oidc');
  assert.equal(oidc['sasl.oauthbearer.client.id'], 'app');
  assert.equal(oidc['sasl.oauthbearer.client.secret'], 's3cr3t');
  assert.equal(oidc['sasl.oauthbearer.scope'], 'kafka');
  assert.throws(() => parseKafkaProperties({ ...oauth, oauthbearer_token_refresh_cb: 'fetch-token' }, sink), {
    message: /`oauthbearer_token_refresh_cb` must be a function returning a promise/,
  });
});

it('reads SASL credentials from a JAAS line and Java keystores as librdkafka takes them', () => {
  const { settings } = parseKafkaProperties(
    Object.freeze({
      'bootstrap.servers': 'a:1',
      'security.protocol': 'SASL_SSL',
      'sasl.mechanisms': 'scram-sha-256',
      'sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";',
      'ssl.truststore.location': '/ca.pem',
      'ssl.truststore.type': 'PEM',
      'ssl.keystore.location': '/client.p12',
      'ssl.keystore.type': 'PKCS12',
      'ssl.keystore.password': 'kp',
      'ssl.endpoint.identification.algorithm': '',
    }),
    sink,
  );
  assert.equal(settings.clientConfig['sasl.mechanism'], 'SCRAM-SHA-256');
  assert.equal(settings.clientConfig['sasl.username'], 'u');
  assert.equal(settings.clientConfig['sasl.password'], 'p');
  assert.equal(settings.clientConfig['ssl.ca.location'], '/ca.pem');
  assert.equal(settings.clientConfig['ssl.keystore.location'], '/client.p12');
  assert.equal(settings.clientConfig['ssl.keystore.password'], 'kp');
  assert.equal(settings.clientConfig['ssl.endpoint.identification.algorithm'], 'none');
});

it('warns that a consumer property has no effect on a sink, as librdkafka does', () => {
  const { warnings } = parseKafkaProperties({ 'bootstrap.servers': 'a:1', 'auto.offset.reset': 'earliest', 'group.id': 'g' }, sink);
  assert.deepEqual(warnings, [
    '`auto.offset.reset` is a consumer property; a sink only writes, so it has no effect',
    '`group.id` is a consumer property; a sink only writes, so it has no effect',
  ]);
});

it('gives the Kafka-topic source its own consumer catalog', () => {
  // These were checked against the producer catalog, and their warnings dropped.
  const { settings, warnings } = parseConsumerProperties(
    { 'bootstrap.servers': 'a:1', 'auto.offset.reset': 'latest', 'isolation.level': 'read_uncommitted', 'fetch.max.wait.ms': 50, 'max.poll.records': 10, 'linger.ms': 5 },
    source,
  );
  assert.equal(settings.startFrom, 'latest');
  assert.equal(settings.readCommitted, false);
  assert.equal(settings.maxPollRecords, 10);
  assert.equal(settings.clientConfig['fetch.wait.max.ms'], 50);
  assert.deepEqual(warnings, ['`linger.ms` is a producer property; a Kafka-topic table only reads, so it has no effect']);
  assert.equal(parseConsumerProperties({ 'bootstrap.servers': 'a:1' }, source).settings.readCommitted, true);
  assert.throws(() => parseConsumerProperties({ 'bootstrap.servers': 'a:1', 'group.id': 'g', 'enable.auto.commit': true, 'isolation.level': 'dirty' }, source), {
    code: 'INVALID_CONFIG',
    message: [
      'kafkaTopicTable() topic "t" has invalid Kafka properties:',
      '  - `group.id` is refused: a Kafka-topic table reads every partition itself, in a group of its own, and commits nothing; a shared group would split the partitions between readers. Remove it',
      '  - `enable.auto.commit` is refused: a Kafka-topic table reads every partition itself and commits no offsets; remove it',
      '  - `isolation.level` = "dirty": expected one of read_uncommitted, read_committed',
    ].join('\n'),
  });
});

it('catalogues every librdkafka property of each side and every Java client property', () => {
  const producer = new Set(propertyCatalog('producer').map((p) => p.name));
  const consumer = new Set(propertyCatalog('consumer').map((p) => p.name));
  for (const [name, side] of LIBRDKAFKA_PROPERTIES) {
    if (side !== 'C') assert.ok(producer.has(name), `producer catalog lacks ${name}`);
    if (side !== 'P') assert.ok(consumer.has(name), `consumer catalog lacks ${name}`);
  }
  // The Java client's ProducerConfig names (Kafka 4.1), each applied, mapped or refused.
  for (const name of ['buffer.memory', 'max.block.ms', 'compression.zstd.level', 'ssl.truststore.location', 'sasl.jaas.config', 'transaction.two.phase.commit.enable', 'metadata.max.idle.ms']) {
    assert.ok(producer.has(name), name);
  }
  assert.ok(isKafkaPropertyName('linger.ms'));
  assert.ok(!isKafkaPropertyName('lingers.ms'));
});

it('suggests only plausible near names', () => {
  assert.equal(nearestName('lingr.ms', ['linger.ms', 'acks']), 'linger.ms');
  assert.equal(nearestName('zzzzzz', ['linger.ms', 'acks']), undefined);
});
