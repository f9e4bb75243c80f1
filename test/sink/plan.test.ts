/**
 * planSink: a frozen plan that connects to nothing, refusals with structured details, a plan run
 * twice, and custom partitioner functions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { planSink } from '../../src/sink/plan.ts';
import { runSink } from '../../src/sink/sink.ts';
import { sinkSpecFieldSchema, sinkSpecJsonSchema } from '../../src/sink/spec-json-schema.ts';

const schema = defineSchema({ k: 'string', v: 'int32' });
const base = { name: 'p', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, value: jsonSpec() };

describe('planSink', () => {
  it('builds a frozen plan without connecting (the address is unreachable)', () => {
    const spec = { ...base, key: simpleSpec('k'), kafka: { 'bootstrap.servers': '127.0.0.1:9', 'linger.ms': 7, 'auto.offset.reset': 'earliest' } };
    const copy = structuredClone(spec);
    const plan = planSink(newTable(schema, [{ k: 'a', v: 1 }]), spec);
    assert.ok(Object.isFrozen(plan));
    assert.equal(plan.mode, 'append');
    assert.equal(plan.settings.lingerMs, 7);
    assert.deepEqual(plan.settings.bootstrapServers, ['127.0.0.1:9']);
    assert.match(plan.warnings[0] ?? '', /auto\.offset\.reset/);
    assert.deepEqual(spec, copy, 'the caller\'s spec is not mutated');
  });

  it('refuses a bad spec with the sink and field in details', () => {
    assert.throws(
      () => planSink(newTable(schema, []), { ...base, topic: 'bad topic!' }),
      (error: unknown) => {
        assert.ok(error instanceof SpillwayError);
        assert.equal(error.code, ErrorCode.InvalidConfig);
        assert.equal(error.details.sink, 'p');
        assert.equal(error.details.field, 'topic');
        assert.match(error.message, /topic: a topic name is 1–249 letters/);
        return true;
      },
    );
  });

  it('plans exactly-once with a stable transactional id from the name, or the prefix, or the one given', () => {
    const table = newTable(schema, []);
    assert.equal(planSink(table, { ...base, delivery: 'exactly-once' }).settings.transactionalId, `spillway-${base.name}-0`);
    assert.equal(planSink(table, { ...base, delivery: 'exactly-once', transactionalIdPrefix: 'orders' }).settings.transactionalId, 'orders-0');
    assert.equal(planSink(table, { ...base, delivery: 'exactly-once', kafka: { ...base.kafka, 'transactional.id': 'mine' } }).settings.transactionalId, 'mine');
    assert.equal(planSink(table, base).settings.transactionalId, undefined);
  });

  it('refuses exactly-once without acks=all and idempotence, with both id options, or a timeout shorter than two epochs', () => {
    const table = newTable(schema, []);
    const refused = (spec: object, field: string, message: string) =>
      assert.throws(() => planSink(table, { ...base, delivery: 'exactly-once', ...spec }), (error: unknown) => {
        assert.ok(error instanceof SpillwayError);
        assert.equal(error.details.field, field);
        assert.equal(error.message, message);
        return true;
      });
    refused({ kafka: { ...base.kafka, acks: 1 } }, 'kafka.acks', `sink "${base.name}": exactly-once delivery needs acks=all and enable.idempotence=true; remove the acks or enable.idempotence override`);
    refused(
      { kafka: { ...base.kafka, 'transactional.id': 'a' }, transactionalIdPrefix: 'b' },
      'transactionalIdPrefix',
      `sink "${base.name}": give transactional.id or transactionalIdPrefix (sink.transactional-id-prefix), not both`,
    );
    assert.throws(() => planSink(table, { ...base, delivery: 'exactly-once', trigger: { interval: '40 seconds' } }), {
      code: ErrorCode.InvalidConfig,
      message: `sink "${base.name}": transaction.timeout.ms is 60000 but an epoch lasts 40000 ms, so the broker could abort an epoch before it commits; set transaction.timeout.ms to at least 80000 (twice the epoch), or use a shorter trigger interval`,
    });
  });

  it('warns, under exactly-once, about a source it cannot replay', () => {
    const plan = planSink(inputTable(defineSchema({ a: 'int32' })), { ...base, delivery: 'exactly-once' });
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0] ?? '', /cannot be replayed .*: after a restart its rows are not read again/);
    assert.deepEqual(planSink(newTable(schema, []), { ...base, delivery: 'exactly-once' }).warnings, []);
  });

  it('checks the update mode against the table at plan time', () => {
    assert.throws(() => planSink(inputTable(defineSchema({ k: 'string' }, { primaryKey: ['k'] })), { ...base, mode: 'upsert' }), {
      code: ErrorCode.IncompatibleMode,
      message: /update mode "upsert" needs a record key, but the key spec is IGNORE/,
    });
  });

  it('runs one plan twice, each run with its own writer and partitioner state', async () => {
    const plan = planSink(newTable(schema, [{ k: 'a', v: 1 }, { k: 'b', v: 2 }, { k: 'c', v: 3 }]), { ...base, partitioner: 'round-robin' });
    for (let run = 0; run < 2; run++) {
      const writer = new MemoryWriter({ partitions: 3 });
      await runSink(plan, writer).done;
      assert.deepEqual(writer.records('out').map((record) => record.partition), [0, 1, 2]);
    }
  });
});

describe('a custom partitioner function', () => {
  it('chooses each record\'s partition from key, value and partition count', async () => {
    const seen: number[] = [];
    const partitioner = (key: Buffer | null, value: Buffer | null, partitions: number) => {
      seen.push(partitions);
      return (key?.toString() === 'a' ? 2 : 0) + (value === null ? 0 : 0);
    };
    const writer = new MemoryWriter({ partitions: 3 });
    await runSink(planSink(newTable(schema, [{ k: 'a', v: 1 }, { k: 'b', v: 2 }]), { ...base, key: simpleSpec('k'), partitioner }), writer).done;
    assert.deepEqual(writer.topics.get('out')?.map((partition) => partition.map((record) => record.key?.toString())), [['b'], [], ['a']]);
    assert.deepEqual(seen, [3, 3]);
  });

  it('fails the sink when it returns no partition of the topic', async () => {
    const plan = planSink(newTable(schema, [{ k: 'a', v: 1 }]), { ...base, partitioner: () => 5 });
    await assert.rejects(runSink(plan, new MemoryWriter({ partitions: 3 })).done, {
      code: ErrorCode.InvalidValue,
      message: 'sink "p": the partitioner function returned 5, which is not a partition of a topic with 3 partition(s); return an integer from 0 to 2 (partitions − 1)',
    });
  });

  it('fails the sink when it throws, quoting the error', async () => {
    const plan = planSink(newTable(schema, [{ k: 'a', v: 1 }]), {
      ...base,
      partitioner: () => {
        throw new Error('no luck');
      },
    });
    await assert.rejects(runSink(plan, new MemoryWriter()).done, { code: ErrorCode.InvalidValue, message: 'sink "p": the partitioner function threw: no luck' });
  });

  it('is refused when it is neither a name nor a function', () => {
    assert.throws(() => planSink(newTable(schema, []), { ...base, partitioner: 42 }), /partitioner: a partitioner cannot be number; use one of hash, round-robin, least-bytes, fixed, kafka-go-hash, a function/);
  });
});

describe('the JSON Schema of the sink spec', () => {
  it('is generated from the zod schema, with descriptions and allowed values', () => {
    const jsonSchema = sinkSpecJsonSchema();
    assert.equal(jsonSchema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.deepEqual(jsonSchema.required, ['name', 'value', 'kafka']);
    assert.equal(jsonSchema.additionalProperties, false);
    assert.deepEqual((sinkSpecFieldSchema('delivery') as { enum: string[] }).enum, ['none', 'at-least-once', 'exactly-once']);
    assert.match(String(sinkSpecFieldSchema('mode')?.description), /append, retract, upsert, complete or update/);
  });
});
