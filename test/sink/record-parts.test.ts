/**
 * Record timestamps and headers from the table, end to end: read back with kcat, which prints
 * each record's timestamp and headers as the broker stored them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { produce } from '../../src/dialects/deephaven.ts';
import { ErrorCode } from '../../src/errors.ts';
import { jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

const schema = defineSchema({
  id: 'string',
  at: 'timestamp',
  epochMs: 'int64',
  region: { type: 'string', nullable: true },
  attempt: 'int32',
  meta: { type: 'json', nullable: true },
});
const rows = [
  { id: 'a', at: '2024-05-01T12:00:00.123456789Z', epochMs: 1_600_000_000_000n, region: 'eu', attempt: 1, meta: [{ key: 'trace', value: 't-1' }] },
  { id: 'b', at: '2024-05-01T12:00:01Z', epochMs: 1_600_000_000_500n, region: null, attempt: 2, meta: null },
];

async function write(options: Record<string, unknown>) {
  const topic = randomTopic('parts');
  // Old timestamps would otherwise fall to time-based retention before the test reads them.
  await createTopic([bootstrapServers()], topic, { partitions: 1, config: { 'retention.ms': '-1' } });
  const sink = produce({ table: newTable(schema, rows), kafkaConfig: { 'bootstrap.servers': bootstrapServers() }, topic, keySpec: simpleSpec('id'), valueSpec: jsonSpec(['id']), ...options });
  await sink.done;
  return kcatRead(topic);
}

describe('record timestamps and headers from columns', () => {
  it('takes the timestamp from a timestamp column (to the millisecond) or an int64 epoch-millis column', async () => {
    assert.deepEqual((await write({ timestampColumn: 'at' })).map((r) => r.timestamp), [Date.parse('2024-05-01T12:00:00.123Z'), Date.parse('2024-05-01T12:00:01Z')]);
    assert.deepEqual((await write({ timestampColumn: 'epochMs' })).map((r) => r.timestamp), [1_600_000_000_000, 1_600_000_000_500]);
  });

  it('writes constant headers, header columns (nulls left out) and a headers column', async () => {
    const records = await write({ headers: { source: 'spillway' }, headerColumns: ['region', 'attempt'], headersColumn: 'meta' });
    assert.deepEqual(records.map((r) => r.headers), ['source=spillway,region=eu,attempt=1,trace=t-1', 'source=spillway,attempt=2']);
  });

  it('refuses a timestamp column of another type, or a header column the table lacks', () => {
    const table = newTable(schema, []);
    const base = { table, kafkaConfig: { 'bootstrap.servers': bootstrapServers() }, topic: 't', valueSpec: jsonSpec() };
    assert.throws(() => produce({ ...base, timestampColumn: 'region' }), {
      code: ErrorCode.InvalidConfig,
      message: 'sink "produce-t": timestampColumn names column "region" of type string; it must be timestamp or int64',
    });
    assert.throws(() => produce({ ...base, headerColumns: ['regoin'] }), { code: ErrorCode.UnknownColumn, message: 'sink "produce-t" option headerColumns names "regoin", which the table lacks; its columns are: id, at, epochMs, region, attempt, meta' });
  });
});
