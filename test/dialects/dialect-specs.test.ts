/**
 * Every front door is a pure function into a sink spec: these check the specs themselves, with no
 * broker and no writer, and that each spec plans.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { produceSpec } from '../../src/dialects/deephaven.ts';
import { felderaConnectorSpec } from '../../src/dialects/feldera.ts';
import { kafkaToSpec } from '../../src/dialects/flux.ts';
import { sparkSinkSpec } from '../../src/dialects/spark.ts';
import { KeyValueSpec, jsonSpec, simpleSpec } from '../../src/formats/key-value-spec.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { planSink } from '../../src/sink/plan.ts';

const kafka = { 'bootstrap.servers': '127.0.0.1:9' };

describe('dialects translate into a sink spec', () => {
  it('produce()', () => {
    const spec = produceSpec({ kafkaConfig: kafka, topic: 't', keySpec: simpleSpec('X'), valueSpec: KeyValueSpec.IGNORE, lastByKeyColumns: true });
    assert.deepEqual(spec, { name: 'produce-t', topic: 't', lastByKeyColumns: true, kafka, key: { kind: 'simple', column: 'X' }, value: { kind: 'ignore' } });
    assert.equal(planSink(newTable(defineSchema({ X: 'int32' }), []), spec).mode, 'upsert');
  });

  it('kafkaTo()', () => {
    const table = newTable(defineSchema({ _measurement: 'string', host: 'string', _value: 'float64', _time: 'timestamp' }), []);
    const spec = kafkaToSpec(table, { brokers: ['http://127.0.0.1:9/'], topic: 'm', tagColumns: ['host'], balancer: 'least-bytes' });
    assert.equal(spec.partitioner, 'least-bytes');
    assert.equal(spec.mode, 'append');
    assert.deepEqual(spec.kafka, { 'bootstrap.servers': '127.0.0.1:9' });
    assert.deepEqual(spec.key, { kind: 'influx', tagColumns: ['host'], output: 'xxhash64' });
    assert.equal(planSink(table, spec).valueEncoder.format, 'influx');
  });

  it('writeStream / stream_write_kafka', () => {
    const table = newTable(defineSchema({ key: 'string', word: 'string', n: 'int64' }), []);
    const spec = sparkSinkSpec({
      table,
      name: undefined,
      mode: 'update',
      trigger: { processingTime: '5 seconds' },
      options: { 'kafka.bootstrap.servers': '127.0.0.1:9', topic: 'counts' },
      partitionBy: ['word'],
      dialect: 'writeStream',
    });
    assert.deepEqual(spec, {
      name: 'spark-counts',
      topic: 'counts',
      kafka,
      key: { kind: 'simple', column: 'key' },
      value: jsonSpec(['word', 'n']),
      mode: 'update',
      trigger: { interval: '5 seconds' },
      partitionBy: ['word'],
    });
  });

  it('a Feldera output connector', () => {
    const spec = felderaConnectorSpec('out', {
      config: { transport: { name: 'kafka_output', config: { ...kafka, topic: 'o' } }, format: { name: 'json', config: { update_format: 'insert_delete', array: true } } },
    });
    assert.deepEqual(spec, { name: 'out', topic: 'o', kafka, value: { kind: 'json', updateFormat: 'insert_delete', array: true }, mode: 'retract' });
  });
});
