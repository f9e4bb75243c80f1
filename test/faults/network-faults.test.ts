/**
 * Network faults between a sink and the broker, through Toxiproxy: the broker of this file's own
 * advertises the proxy's port, so every connection the sink makes goes through it. Added latency,
 * a 10-second partition, connection resets in the middle of batches and a bandwidth limit: a sink
 * loses nothing (an exactly-once one writes nothing twice either), never hangs, and its warnings
 * say what it saw. And when
 * Kafka is slower than the table, the sink's queue stays at its bound (backpressure).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createKafkaWriter, createTopic } from '../../src/kafka/kafka-client.ts';
import { parseKafkaProperties } from '../../src/kafka/kafka-properties.ts';
import { Guarantee } from '../helpers/delivery-invariants.ts';
import { type FaultBroker, startFaultBroker } from '../helpers/fault-broker.ts';
import { eventually, randomTopic } from '../helpers/kafka.ts';
import type { Proxy } from '../helpers/toxiproxy.ts';
import { assertTopicKeeps, openFaultSink, within } from './fault-stream.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('network faults between a sink and the broker (Toxiproxy)', () => {
  let broker: FaultBroker;
  let proxy: Proxy;
  before(async () => {
    broker = await startFaultBroker({ proxied: true });
    proxy = broker.proxy as Proxy;
  });
  afterEach(async () => {
    await proxy.heal();
  });
  after(async () => {
    await broker?.close();
  });

  it('added latency past socket.timeout.ms: requests time out and are retried; nothing is lost', async () => {
    const topic = randomTopic('fault-latency');
    const total = 6_000;
    const { sink, heard } = await openFaultSink(broker.bootstrapServers, topic, { total, rate: 3_000 }, {
      // librdkafka's client-side timeout of a request is socket.timeout.ms (request.timeout.ms is the broker's).
      kafka: { 'socket.timeout.ms': 1_000, 'delivery.timeout.ms': 60_000 },
    });
    await eventually(() => Promise.resolve(sink.metrics.records), (records) => records > 500, 15_000);
    await proxy.addToxic('slow', { type: 'latency', stream: 'downstream', attributes: { latency: 1_500, jitter: 200 } });
    const during = sink.metrics.records;
    await sleep(3_000);
    assert.ok(sink.metrics.records - during < total, 'the slow answers held the sink back');
    await proxy.removeToxic('slow');
    await within(60_000, 'the sink after the latency', sink.done);
    await assertTopicKeeps(broker.bootstrapServers, topic, total, Guarantee.AtLeastOnce);
    assert.ok(heard.includes(`Kafka broker ${broker.bootstrapServers}: timed out; retrying`), JSON.stringify(heard));
  });

  it('connections reset in the middle of batches: the sink reconnects, warns, and loses nothing', async () => {
    const topic = randomTopic('fault-reset');
    const total = 6_000;
    const { sink, heard } = await openFaultSink(broker.bootstrapServers, topic, { total, rate: 3_000 }, {
      kafka: { 'delivery.timeout.ms': 60_000, 'batch.num.messages': 500, 'reconnect.backoff.max.ms': 1_000 },
    });
    await eventually(() => Promise.resolve(sink.metrics.records), (records) => records > 500, 15_000);
    // Every connection (the ones open and each new one) is reset 200 ms into its life, so produce
    // requests are cut while in flight.
    await proxy.addToxic('resets', { type: 'reset_peer', stream: 'upstream', attributes: { timeout: 200 } });
    await sleep(2_500);
    await proxy.removeToxic('resets');
    await within(60_000, 'the sink after the resets', sink.done);
    await assertTopicKeeps(broker.bootstrapServers, topic, total, Guarantee.AtLeastOnce);
    assert.ok(heard.includes(`Kafka broker ${broker.bootstrapServers}: connection reset; retrying`), JSON.stringify(heard));
  });

  it('exactly-once through connection resets and a 10-second partition (the proxy disabled): the sink waits, warns, and a read_committed reader sees every row once', async () => {
    const topic = randomTopic('fault-eos-network');
    const total = 8_000;
    const { sink, heard } = await openFaultSink(broker.bootstrapServers, topic, { total, rate: 1_500 }, {
      delivery: 'exactly-once',
      kafka: { 'delivery.timeout.ms': 60_000, 'reconnect.backoff.max.ms': 1_000 },
    });
    await eventually(() => Promise.resolve(sink.metrics.transactions), (transactions) => transactions >= 2, 15_000);
    await proxy.addToxic('resets', { type: 'reset_peer', stream: 'upstream', attributes: { timeout: 200 } });
    await sleep(2_000);
    await proxy.removeToxic('resets');
    await proxy.setEnabled(false);
    const cutAt = sink.metrics.records;
    await sleep(10_000);
    // Nothing gets through a cut network, and the sink waits rather than fail (delivery.timeout.ms is 60 s).
    assert.ok(sink.metrics.records - cutAt <= 1_000, `${sink.metrics.records - cutAt} records acknowledged through a cut network`);
    assert.equal(sink.state, 'running');
    assert.ok(heard.includes(`Kafka broker ${broker.bootstrapServers}: connection refused; retrying`), JSON.stringify(heard));
    await proxy.setEnabled(true);
    await within(60_000, 'the exactly-once sink after the faults', sink.done, () => ({ state: sink.state, metrics: sink.metrics, heard }));
    await assertTopicKeeps(broker.bootstrapServers, topic, total, Guarantee.ExactlyOnce);
    assert.ok(heard.includes(`Kafka broker ${broker.bootstrapServers}: connection reset; retrying`), JSON.stringify(heard));
  });

  it('a bandwidth limit: the sink goes at the link speed and loses nothing', async () => {
    const topic = randomTopic('fault-bandwidth');
    const total = 4_000;
    await proxy.addToxic('narrow', { type: 'bandwidth', stream: 'upstream', attributes: { rate: 64 } });
    const started = Date.now();
    const { sink } = await openFaultSink(broker.bootstrapServers, topic, { total });
    await within(60_000, 'the sink through a narrow link', sink.done);
    assert.ok(Date.now() - started > 1_000, 'the link was narrow');
    await proxy.removeToxic('narrow');
    await assertTopicKeeps(broker.bootstrapServers, topic, total, Guarantee.AtLeastOnce);
  });

  it('Kafka slower than the table: the queue stays at queue.buffering.max.messages and memory stays flat', async (t) => {
    const topic = randomTopic('fault-backpressure');
    const total = 100_000;
    const bound = 2_000;
    await proxy.addToxic('narrow', { type: 'bandwidth', stream: 'upstream', attributes: { rate: 32 } });
    const rssBefore = process.memoryUsage().rss;
    const { sink } = await openFaultSink(broker.bootstrapServers, topic, { total }, {
      kafka: { 'queue.buffering.max.messages': bound, 'batch.num.messages': 500 },
    });
    let peakQueued = 0;
    let peakRss = rssBefore;
    const sample = setInterval(() => {
      peakQueued = Math.max(peakQueued, sink.metrics.queued);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 5);
    try {
      await sleep(4_000);
      const taken = sink.metrics.rows + sink.metrics.queued;
      // The source offers rows as fast as it can; the gate held it to what the link took plus the queue.
      assert.ok(taken < total / 4, `the source went on to ${taken} rows`);
      assert.ok(peakQueued >= bound / 2, `the queue filled (${peakQueued})`);
      assert.ok(peakQueued <= bound + 50, `queued reached ${peakQueued}, over its bound ${bound}`);
      await proxy.removeToxic('narrow');
      await within(60_000, 'the sink once the link is wide again', sink.done);
      assert.ok(peakQueued <= bound + 50, `queued reached ${peakQueued}, over its bound ${bound}`);
    } finally {
      clearInterval(sample);
    }
    const grewMb = (peakRss - rssBefore) / 2 ** 20;
    t.diagnostic(`peak queued ${peakQueued} (bound ${bound}); peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB, +${grewMb.toFixed(0)} MB over the run`);
    assert.ok(grewMb < 256, `RSS grew by ${grewMb.toFixed(0)} MB`);
    await assertTopicKeeps(broker.bootstrapServers, topic, total, Guarantee.AtLeastOnce);
  });

  it("librdkafka's queue full while the broker is cut off: a write waits max.block.ms for room, then fails saying so; close() ends such a wait at once", async () => {
    const topic = randomTopic('fault-queue-full');
    await createTopic([broker.bootstrapServers], topic, { partitions: 1 });
    const writerWith = (properties: Record<string, string | number>) =>
      createKafkaWriter(
        parseKafkaProperties({ 'bootstrap.servers': broker.bootstrapServers, 'queue.buffering.max.messages': 100, ...properties }, { sink: 'queue-full' }).settings,
      );
    const records = Array.from({ length: 500 }, (_, i) => ({ topic, partition: 0, key: null, value: Buffer.from(`r${i}`) }));

    const waiting = writerWith({ 'max.block.ms': 1_000, 'delivery.timeout.ms': 3_000 });
    await waiting.describeTopic(topic);
    await proxy.setEnabled(false);
    const started = Date.now();
    await assert.rejects(waiting.write(records), /^SpillwayError: the producer's queue stayed full for max.block.ms \(1000 ms\); the broker is not keeping up or unreachable/);
    assert.ok(Date.now() - started >= 900, `waited ${Date.now() - started} ms`);
    await waiting.close();

    await proxy.setEnabled(true);
    const closed = writerWith({ 'max.block.ms': 60_000, 'delivery.timeout.ms': 3_000 });
    await closed.describeTopic(topic);
    await proxy.setEnabled(false);
    const write = closed.write(records).then(
      () => assert.fail('the write cannot finish with the broker cut off'),
      (error: unknown) => error,
    );
    await sleep(500);
    const closing = Date.now();
    await closed.close();
    assert.match(String(await write), /^SpillwayError: cannot write: the writer is closed/);
    assert.ok(Date.now() - closing < 15_000, `close took ${Date.now() - closing} ms, not max.block.ms`);
  });
});
