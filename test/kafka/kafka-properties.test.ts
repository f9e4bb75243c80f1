import assert from 'node:assert/strict';
import { it } from 'node:test';
import { nearestName, parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';

const sink = { sink: 's1' };

it('applies at-least-once defaults and maps librdkafka and Java synonyms', () => {
  const { settings, warnings } = parseKafkaProperties({ 'metadata.broker.list': 'a:1, b:2', 'queue.buffering.max.ms': '20', 'compression.codec': 'LZ4', 'max.request.size': 2_000_000 }, sink);
  assert.deepEqual(settings.bootstrapServers, ['a:1', 'b:2']);
  assert.equal(settings.acks, -1);
  assert.equal(settings.idempotent, true);
  assert.equal(settings.lingerMs, 20);
  assert.equal(settings.compression, 'lz4');
  assert.equal(settings.maxMessageBytes, 2_000_000);
  assert.deepEqual(warnings, []);
  const none = parseKafkaProperties({ 'bootstrap.servers': 'a:1' }, { sink: 's1', guarantee: 'none' }).settings;
  assert.equal(none.acks, 0);
  assert.equal(none.idempotent, false);
});

it('accepts consumer properties with a warning, and reads SASL from a JAAS line', () => {
  const input = Object.freeze({
    'bootstrap.servers': 'a:1',
    'auto.offset.reset': 'earliest',
    'security.protocol': 'SASL_SSL',
    'sasl.mechanisms': 'scram-sha-256',
    'sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";',
  });
  const { settings, warnings } = parseKafkaProperties(input, sink);
  assert.deepEqual(warnings, ['`auto.offset.reset` is a consumer property; a sink only writes, so it has no effect']);
  assert.deepEqual(settings.sasl, { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' });
  assert.equal(settings.tls?.rejectUnauthorized, true);
});

it('reports every problem at once, naming the sink, the property and the fix', () => {
  assert.throws(
    () =>
      parseKafkaProperties(
        { 'boostrap.servers': 'a:1', acks: 'some', 'compression.type': 'brotli', 'linger.ms': -1, 'key.serializer': 'x', 'fancy.thing': 1 },
        sink,
      ),
    {
      code: 'INVALID_CONFIG',
      message: [
        'sink "s1" has invalid Kafka properties:',
        '  - `boostrap.servers` is not a supported Kafka producer property; did you mean `bootstrap.servers`? (the supported names are listed in docs/properties.md)',
        '  - `acks` = "some": expected one of all, -1, 0, 1',
        '  - `compression.type` = "brotli": expected one of none, gzip, snappy, lz4, zstd',
        '  - `linger.ms` = -1: expected an integer from 0 to 900000',
        '  - `key.serializer` is chosen by the sink spec, not a Kafka property: use the key/value specs and the partitioner option',
        '  - `fancy.thing` is not a supported Kafka producer property (the supported names are listed in docs/properties.md)',
        '  - `bootstrap.servers` is required: the brokers to connect to, as host:port[,host:port]',
      ].join('\n'),
    },
  );
});

it('refuses conflicting or malformed settings', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ 'bootstrap.servers': 'a:1', acks: 1, 'enable.idempotence': true }, /`enable\.idempotence` = true needs `acks` = all \(got 1\)/],
    [{ 'bootstrap.servers': 'a:1', acks: 0 }, /`acks` = 0 cannot give at-least-once delivery; choose delivery "none"/],
    [{ 'bootstrap.servers': 'nohost' }, /"nohost" is not host:port \(for example 127\.0\.0\.1:9092/],
    [{ 'bootstrap.servers': 'a:1', 'metadata.broker.list': 'b:2' }, /`metadata\.broker\.list` and `bootstrap\.servers` both set bootstrap\.servers; keep one/],
    [{ 'bootstrap.servers': 'a:1', 'security.protocol': 'sasl_plaintext' }, /needs `sasl\.username` and `sasl\.password`/],
    [{ 'bootstrap.servers': 'a:1', 'sasl.username': 'u' }, /SASL properties are set but `security\.protocol` is not sasl_plaintext or sasl_ssl/],
    [{ 'bootstrap.servers': 'a:1', retries: null }, /`retries` has null value; give a string, number or boolean/],
  ];
  for (const [input, message] of cases) assert.throws(() => parseKafkaProperties(input, sink), { code: 'INVALID_CONFIG', message }, JSON.stringify(input));
});

it('suggests only plausible near names', () => {
  assert.equal(nearestName('lingr.ms', ['linger.ms', 'acks']), 'linger.ms');
  assert.equal(nearestName('zzzzzz', ['linger.ms', 'acks']), undefined);
});
