/**
 * The dead-letter error policy against the broker: what cannot be written goes to the
 * dead-letter topic with Kafka Connect's `__connect.errors.*` headers, the rest to the topic;
 * under exactly-once the dead letters commit in the same transaction.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { jsonSpec } from '../../src/formats/key-value-spec.ts';
import { createTopic, readTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { openSink } from '../../src/sink/open-sink.ts';
import { parseSinkSpec } from '../../src/sink/sink-spec.ts';
import { rowAsJson } from '../../src/sink/dead-letter.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';

const headersOf = (record: { headers: readonly [string, Buffer][] }) => Object.fromEntries(record.headers.map(([key, value]) => [key, value.toString()]));

describe('the dead-letter error policy', () => {
  for (const delivery of ['at-least-once', 'exactly-once'] as const) {
    it(`sends a row it cannot encode, and one too large, to the dead-letter topic with __connect.errors headers (${delivery})`, async () => {
      const topic = randomTopic('dlq-out');
      const deadLetterTopic = randomTopic('dlq');
      const name = `dlq-${randomBytes(4).toString('hex')}`;
      const table = newTable(defineSchema({ id: 'int32', x: 'float64', s: 'string' }), [
        { id: 1, x: 1.5, s: 'ok' },
        { id: 2, x: Number.NaN, s: 'nan' },
        { id: 3, x: 3, s: 'y'.repeat(3000) },
        { id: 4, x: 4, s: 'ok' },
      ]);
      const sink = openSink(table, {
        name,
        topic,
        kafka: { 'bootstrap.servers': bootstrapServers(), 'message.max.bytes': 2000 },
        key: jsonSpec(['id']),
        value: jsonSpec(),
        errorPolicy: 'dead-letter',
        deadLetterTopic,
        delivery,
        ...(delivery === 'exactly-once' ? { progressTopic: randomTopic('dlq-progress') } : {}),
      });
      await sink.done;
      assert.equal(sink.metrics.errors, 2);
      // A commit's markers may reach the partitions a moment after it returns.
      const written = await eventually(() => kcatRead(topic, { readCommitted: true }), (records) => records.length >= 2);
      assert.deepEqual(written.map((r) => (JSON.parse(r.value?.toString() ?? '{}') as { id: number }).id).sort(), [1, 4]);
      // Header values hold commas and spaces, which kcat's header format cannot quote: read with the client.
      const letters = await readTopic([bootstrapServers()], deadLetterTopic, { maxRecords: 2, timeoutMs: 15_000 });
      assert.equal(letters.length, 2);
      const nan = letters.find((r) => headersOf(r)['__connect.errors.stage'] === 'VALUE_CONVERTER');
      assert.ok(nan !== undefined);
      assert.deepEqual(headersOf(nan), {
        '__connect.errors.topic': topic,
        '__connect.errors.connector.name': name,
        '__connect.errors.task.id': '0',
        '__connect.errors.stage': 'VALUE_CONVERTER',
        '__connect.errors.exception.class.name': 'ENCODE_FAILED',
        '__connect.errors.exception.message': `sink "${name}": row 1 cannot be written: column "x" holds NaN, which JSON cannot represent; filter it out or map it to null`,
      });
      // Not encodable: the row itself, as JSON, and no key.
      assert.equal(nan.key, null);
      assert.deepEqual(JSON.parse(nan.value?.toString() ?? ''), { id: 2, x: null, s: 'nan' });
      const large = letters.find((r) => headersOf(r)['__connect.errors.stage'] === 'KAFKA_PRODUCE');
      assert.ok(large !== undefined);
      // Encoded but too large to write: its key, no value, and why.
      assert.equal(large.key?.toString(), '{"id":3}');
      assert.equal(large.value, null);
      assert.match(headersOf(large)['__connect.errors.exception.message'] ?? '', /^sink ".*": row 2 cannot be written: a record of \d+ bytes exceeds message\.max\.bytes \(2000\)/);
    });
  }

  it("a topic whose max.message.bytes is below the producer's fails the sink saying which to lower; with message.max.bytes lowered, the large row is dead-lettered", async () => {
    const topic = randomTopic('dlq-small-topic');
    // The failing run may have written the rows before the large one: the second writes a topic of its own.
    const second = randomTopic('dlq-small-topic');
    const deadLetterTopic = randomTopic('dlq');
    for (const name of [topic, second]) await createTopic([bootstrapServers()], name, { partitions: 1, config: { 'max.message.bytes': '2000' } });
    const rows = () => newTable(defineSchema({ id: 'int32', s: 'string' }), [{ id: 1, s: 'ok' }, { id: 2, s: 'y'.repeat(5000) }, { id: 3, s: 'ok' }]);
    const spec = (kafka: Record<string, unknown>, to = topic) => ({
      name: `dlq-small-${randomBytes(4).toString('hex')}`,
      topic: to,
      kafka: { 'bootstrap.servers': bootstrapServers(), ...kafka },
      key: jsonSpec(['id']),
      value: jsonSpec(),
      errorPolicy: 'dead-letter',
      deadLetterTopic,
    });
    await assert.rejects(openSink(rows(), spec({})).done, {
      code: ErrorCode.DeliveryFailed,
      message: new RegExp(
        `^the broker refused a batch of records for ${topic}\\[0\\] as too large: the topic's max\\.message\\.bytes is below the batches this producer builds \\(up to message\\.max\\.bytes, 1048576 bytes\\); set message\\.max\\.bytes to at most the topic's max\\.message\\.bytes`,
      ),
    });
    const sink = openSink(rows(), spec({ 'message.max.bytes': 2000 }, second));
    await sink.done;
    assert.equal(sink.metrics.errors, 1);
    const written = await eventually(() => kcatRead(second), (records) => records.length >= 2);
    assert.deepEqual(written.map((r) => r.key?.toString()).sort(), ['{"id":1}', '{"id":3}']);
    const letters = await readTopic([bootstrapServers()], deadLetterTopic, { maxRecords: 1, timeoutMs: 15_000 });
    assert.equal(letters[0]?.key?.toString(), '{"id":2}');
  });

  it('needs its topic, and the topic needs the policy', () => {
    const base = { name: 'd', topic: 't', kafka: { 'bootstrap.servers': 'a:1' }, value: jsonSpec() };
    for (const spec of [{ ...base, errorPolicy: 'dead-letter' }, { ...base, deadLetterTopic: 'dlq' }]) {
      assert.throws(() => parseSinkSpec(spec), (error: unknown) => {
        assert.ok(error instanceof SpillwayError);
        assert.equal(error.code, ErrorCode.InvalidConfig);
        assert.equal(error.details.field, 'deadLetterTopic');
        assert.match(error.message, /errorPolicy 'dead-letter' and deadLetterTopic go together: name the topic that receives what cannot be written, or choose another errorPolicy/);
        return true;
      });
    }
  });

  it('renders a row as JSON with 64-bit numbers as text and bytes as base64', () => {
    assert.equal(rowAsJson({ a: 1n << 60n, b: Buffer.from('hi'), c: 'x', d: null }).toString(), '{"a":"1152921504606846976","b":"aGk=","c":"x","d":null}');
  });
});
