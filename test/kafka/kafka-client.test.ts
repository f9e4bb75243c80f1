/**
 * The Kafka adapter against the real broker, read back with kcat: null versus empty keys and
 * values, headers, and exact timestamps even when one batch spans decades.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { createKafkaWriter, createTopic } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

const run = promisify(execFile);

it('writes null and empty keys and values distinctly, with headers and exact timestamps', async () => {
  const topic = randomTopic('client');
  // Old timestamps would otherwise fall to time-based retention before the test reads them.
  await createTopic([bootstrapServers()], topic, { partitions: 2, config: { 'retention.ms': '-1' } });
  const writer = createKafkaWriter(parseKafkaProperties({ 'bootstrap.servers': bootstrapServers() }, { sink: 'client-test' }).settings);
  assert.deepEqual(await writer.describeTopic(topic), { name: topic, partitions: 2 });
  await writer.write([
    { topic, partition: 1, key: Buffer.from('k'), value: null, timestamp: 1_000n },
    { topic, partition: 1, key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: 1_700_000_000_000n },
    { topic, partition: 1, key: null, value: Buffer.from('v'), headers: [{ key: 'kind', value: Buffer.from('insert') }], timestamp: 1_600_000_000_000n },
  ]);
  await writer.close();
  const records = await kcatRead(topic);
  assert.deepEqual(records.map((r) => [r.partition, r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers]), [
    [1, 'k', null, ''],
    [1, '', '', ''],
    [1, null, 'v', 'kind=insert'],
  ]);
  const { stdout } = await run('kcat', ['-b', bootstrapServers(), '-C', '-t', topic, '-p', '1', '-o', 'beginning', '-e', '-q', '-f', '%T\n']);
  assert.deepEqual(stdout.trim().split('\n'), ['1000', '1700000000000', '1600000000000']);
});

it('hands sasl.oauthbearer.config to the OAUTHBEARER token provider and reports its failure at once, without the token', async () => {
  const seen: string[] = [];
  const messages: string[] = [];
  const connect = async (provider: (config: string) => Promise<{ tokenValue: string; lifetime: number; principal: string }>) => {
    const properties = {
      'bootstrap.servers': bootstrapServers(),
      'security.protocol': 'sasl_plaintext',
      'sasl.mechanism': 'OAUTHBEARER',
      'sasl.oauthbearer.config': 'scope=kafka',
      oauthbearer_token_refresh_cb: provider,
    };
    const writer = createKafkaWriter(parseKafkaProperties(properties, { sink: 'oauth' }).settings, { onWarning: (warning) => messages.push(warning) });
    const started = Date.now();
    // The test broker has no SASL listener: the handshake is refused, after the token was fetched.
    await assert.rejects(writer.describeTopic('t'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INVALID_CONFIG');
      messages.push(error.message);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, 'refused at once, not after delivery.timeout.ms');
    await writer.close();
  };
  await connect((config) => {
    seen.push(config);
    return Promise.resolve({ tokenValue: 'eyJhbGciOiJub25lIn0.s3cr3t-claims.', lifetime: Date.now() + 60_000, principal: 'alice' });
  });
  await connect((config) => {
    seen.push(config);
    return Promise.reject(new Error('the identity provider is down'));
  });
  assert.deepEqual(seen, ['scope=kafka', 'scope=kafka']);
  assert.ok(messages.some((m) => m.includes('authentication failed (SASL authentication error: oauthbearer_token_refresh_cb: the identity provider is down)')), messages.join('\n'));
  assert.ok(messages.every((m) => !m.includes('s3cr3t')), 'the token never appears');
});
