/**
 * A broker that cannot be reached is reported while the sink retries, per address and cause,
 * and the sink fails with that cause after delivery.timeout.ms (it used to wait in silence and
 * then say only "timed out").
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runDemo } from '../../src/cli/demo-command.ts';
import { produce } from '../../src/dialects/deephaven.ts';
import { KeyValueSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { bootstrapServers, eventually } from '../helpers/kafka.ts';

function sinkTo(kafka: Record<string, string | number | boolean>) {
  const table = inputTable(defineSchema({ v: 'string' }));
  table.add({ v: 'x' });
  return produce(table, kafka, 'nowhere', KeyValueSpec.IGNORE, simpleSpec('v'));
}

describe('an unreachable broker', () => {
  it('is reported within seconds as "connection refused" per address, then fails with that cause', async () => {
    const started = Date.now();
    const sink = sinkTo({ 'bootstrap.servers': '127.0.0.1:1,127.0.0.1:2', 'delivery.timeout.ms': 5000 });
    await eventually(() => Promise.resolve(sink.warnings), (warnings) => warnings.length === 2, 3000);
    assert.ok(Date.now() - started < 3000);
    assert.deepEqual([...sink.warnings].sort(), ['Kafka broker 127.0.0.1:1: connection refused; retrying', 'Kafka broker 127.0.0.1:2: connection refused; retrying']);
    assert.equal(sink.state, 'starting', 'still retrying');
    await assert.rejects(sink.done, {
      code: 'BROKER_UNREACHABLE',
      message:
        'no Kafka broker answered within 5000 ms; tried 127.0.0.1:1: connection refused; 127.0.0.1:2: connection refused. ' +
        'Check bootstrap.servers, that the broker runs (`spillway broker status`), the security settings, and the network.',
    });
    assert.ok(Date.now() - started >= 5000, 'fails after delivery.timeout.ms, not before');
  });

  it('fails at once with "TLS handshake failed" when TLS meets a plaintext listener', async () => {
    const started = Date.now();
    const sink = sinkTo({ 'bootstrap.servers': bootstrapServers(), 'security.protocol': 'ssl' });
    const address = (bootstrapServers().split(',')[0] ?? '').replace(/\./g, '\\.');
    await assert.rejects(sink.done, {
      code: 'INVALID_CONFIG',
      message: new RegExp(`^Kafka broker ${address} refused the connection: TLS handshake failed \\(SSL handshake failed: .*\\)\\. Check security\\.protocol`),
    });
    assert.ok(Date.now() - started < 10_000, 'retrying cannot help, so it does not wait for delivery.timeout.ms (120 s)');
    assert.match(sink.warnings[0] ?? '', new RegExp(`^Kafka broker ${address}: TLS handshake failed \\(SSL handshake failed: .*\\)$`));
  });

  it('says "timed out" for a port that accepts and never answers', async () => {
    const silent = createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const sink = sinkTo({ 'bootstrap.servers': `127.0.0.1:${port}`, 'socket.timeout.ms': 1000, 'delivery.timeout.ms': 4000 });
      await eventually(() => Promise.resolve(sink.warnings), (warnings) => warnings.length > 0, 3500);
      assert.deepEqual(sink.warnings, [`Kafka broker 127.0.0.1:${port}: timed out; retrying`]);
      await assert.rejects(sink.done, { code: 'BROKER_UNREACHABLE', message: new RegExp(`tried 127\\.0\\.0\\.1:${port}: timed out\\.`) });
    } finally {
      silent.close();
    }
  });

  it('is reported on stderr by the CLI demo while it retries', async () => {
    const previous = process.env.KAFKA_BOOTSTRAP_SERVERS;
    process.env.KAFKA_BOOTSTRAP_SERVERS = '127.0.0.1:1';
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = '';
    err.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    out.resume();
    try {
      const demo = runDemo({ topic: 'nowhere', period: 'PT1S', seconds: '1' }, out, err);
      await eventually(() => Promise.resolve(stderr), (text) => text.includes('connection refused'), 3000);
      assert.equal(stderr.split('\n')[0], 'warning: Kafka broker 127.0.0.1:1: connection refused; retrying');
      await assert.rejects(demo, { code: 'BROKER_UNREACHABLE' });
    } finally {
      process.env.KAFKA_BOOTSTRAP_SERVERS = previous;
    }
  });
});
