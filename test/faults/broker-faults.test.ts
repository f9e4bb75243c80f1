/**
 * The broker fails under a writing sink: restarted mid-stream, or frozen with SIGSTOP for longer
 * than the request timeout. A sink loses nothing (exactly-once: and writes nothing twice) and says what it saw, or, when
 * the fault outlasts delivery.timeout.ms, fails with a clear error — never hangs. Each test has
 * its own topic on a broker of this file's own (never the run's shared one).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Guarantee } from '../helpers/delivery-invariants.ts';
import { type FaultBroker, startFaultBroker } from '../helpers/fault-broker.ts';
import { eventually, randomTopic } from '../helpers/kafka.ts';
import { assertTopicKeeps, openFaultSink, within } from './fault-stream.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('broker faults under a writing sink', () => {
  let broker: FaultBroker;
  before(async () => {
    broker = await startFaultBroker();
  });
  after(async () => {
    await broker?.close();
  });

  it('a broker restarted mid-stream (down for a second) loses nothing; the sink warns while it is down', async () => {
    const topic = randomTopic('fault-restart');
    const total = 12_000;
    const { sink, heard } = await openFaultSink(broker.bootstrapServers, topic, { total, rate: 4_000 });
    await eventually(() => Promise.resolve(sink.metrics.records), (records) => records > 2_000, 15_000);
    await broker.restart({ downMs: 1_000 });
    const { ms } = await within(60_000, 'the sink after the restart', sink.done, () => ({ state: sink.state, metrics: sink.metrics, heard }));
    assert.equal(sink.state, 'stopped');
    assert.ok(sink.metrics.records >= total, `${sink.metrics.records} records acknowledged`);
    await assertTopicKeeps(broker.bootstrapServers, topic, total, Guarantee.AtLeastOnce);
    assert.ok(
      heard.some((warning) => warning.startsWith(`Kafka broker ${broker.bootstrapServers}: `) && warning.endsWith('; retrying')),
      `warnings: ${JSON.stringify(heard)}`,
    );
    assert.deepEqual(sink.warnings, heard, 'the handle keeps what onWarning heard');
    assert.ok(ms < 60_000);
  });

  it('exactly-once across a broker restart: a read_committed reader sees every row once, in order per key', async () => {
    const topic = randomTopic('fault-eos-restart');
    const total = 8_000;
    const { sink, heard } = await openFaultSink(broker.bootstrapServers, topic, { total, rate: 2_000 }, { delivery: 'exactly-once' });
    await eventually(() => Promise.resolve(sink.metrics.transactions), (transactions) => transactions >= 2, 15_000);
    await broker.restart({ downMs: 1_000 });
    await within(60_000, 'the exactly-once sink after the restart', sink.done, () => ({ state: sink.state, metrics: sink.metrics, heard }));
    assert.equal(sink.state, 'stopped');
    await assertTopicKeeps(broker.bootstrapServers, topic, total, Guarantee.ExactlyOnce);
  });

  it('a broker frozen (SIGSTOP) past the request timeout, then resumed: the sink warns, recovers and loses nothing', async () => {
    const topic = randomTopic('fault-sigstop');
    const total = 8_000;
    const { sink, heard } = await openFaultSink(broker.bootstrapServers, topic, { total, rate: 4_000 }, {
      // librdkafka times a request out on the client after socket.timeout.ms (request.timeout.ms is the broker's wait for acks).
      kafka: { 'request.timeout.ms': 1_500, 'socket.timeout.ms': 1_500, 'delivery.timeout.ms': 60_000 },
    });
    await eventually(() => Promise.resolve(sink.metrics.records), (records) => records > 1_000, 15_000);
    broker.pause();
    const frozenAt = sink.metrics.records;
    try {
      await sleep(4_000);
      // Nothing is acknowledged by a frozen broker, and the sink does not give up before delivery.timeout.ms.
      assert.ok(sink.metrics.records - frozenAt <= 2 * 10_000, 'no more than what was in flight');
      assert.equal(sink.state, 'running');
    } finally {
      broker.resume();
    }
    await within(60_000, 'the sink after SIGCONT', sink.done, () => ({ state: sink.state, metrics: sink.metrics, heard }));
    assert.equal(sink.state, 'stopped');
    await assertTopicKeeps(broker.bootstrapServers, topic, total, Guarantee.AtLeastOnce);
    assert.ok(heard.includes(`Kafka broker ${broker.bootstrapServers}: timed out; retrying`), JSON.stringify(heard));
  });

  it('a broker frozen past delivery.timeout.ms fails the sink with a clear error, within the timeout and a margin', async () => {
    const topic = randomTopic('fault-sigstop-timeout');
    const { sink, table } = await openFaultSink(broker.bootstrapServers, topic, { total: 100_000, rate: 4_000 }, {
      kafka: { 'request.timeout.ms': 1_000, 'delivery.timeout.ms': 3_000 },
    });
    await eventually(() => Promise.resolve(sink.metrics.records), (records) => records > 500, 15_000);
    broker.pause();
    const frozenAt = Date.now();
    try {
      const outcome = await within(
        20_000,
        'the sink on a frozen broker',
        sink.done.then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
      const error = outcome.value as { code?: string; message?: string } | undefined;
      assert.ok(error !== undefined, 'the sink failed');
      // Whether librdkafka logged a request timeout before the records' own timeout decides which
      // of the two it is; both name the timeout and what to check.
      if (error.code === 'BROKER_UNREACHABLE') {
        assert.equal(
          error.message,
          `no Kafka broker answered within 3000 ms; tried ${broker.bootstrapServers}: timed out. ` +
            'Check bootstrap.servers, that the broker runs (`spillway broker status`), the security settings, and the network.',
        );
        assert.ok(sink.warnings.includes(`Kafka broker ${broker.bootstrapServers}: timed out; retrying`), JSON.stringify(sink.warnings));
      } else {
        assert.equal(error.code, 'DELIVERY_FAILED', error.message);
        assert.match(
          error.message ?? '',
          /records for .*\[\d+\] were not acknowledged within delivery\.timeout\.ms \(3000 ms\); the broker is slow or the partition has no leader/,
        );
      }
      assert.equal(sink.state, 'failed');
      const waited = Date.now() - frozenAt;
      assert.ok(waited >= 2_000 && waited < 15_000, `failed after ${waited} ms`);
    } finally {
      broker.resume();
      await table.close();
    }
  });
});
