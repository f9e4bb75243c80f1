/**
 * Flux's kafkaTo(), end to end against the real broker, read back with kcat: the lines and keys
 * Flux writes, the partitions kafka-go's balancers choose, and the errors of its options.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { kafkaTo, kafkaToSpec } from '../../src/dialects/flux.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { sampledata } from '../../src/sources/sampledata.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

/** Partitions kafka-go's Hash balancer picks, from the Python-computed vectors (test/fixtures/python). */
const kafkaGoPartitions = new Map(
  readFileSync(new URL('../fixtures/kafka-go-hash-vectors.jsonl', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { hex: string; partitions: Record<string, number> })
    .map((vector) => [vector.hex, vector.partitions] as const),
);

// The rows of Flux's own kafka.to tests (stdlib/kafka/to_test.go), with the keys Flux expects.
const fluxSchema = defineSchema({ _time: 'timestamp', _measurement: 'string', _value: 'float64', fred: 'string' });
const fluxRows = [
  { _time: 11n, _measurement: 'a', _value: 2.0, fred: 'one' },
  { _time: 21n, _measurement: 'a', _value: 2.0, fred: 'one' },
  { _time: 21n, _measurement: 'b', _value: 1.0, fred: 'seven' },
  { _time: 31n, _measurement: 'a', _value: 3.0, fred: 'nine' },
  { _time: 41n, _measurement: 'c', _value: 4.0, fred: 'elevendyone' },
];

describe('kafkaTo() on the real broker', () => {
  it('writes one line per row keyed by its XXH64 digest, on the partition kafka-go\'s hash of its group key picks', async () => {
    const topic = randomTopic('flux-hash');
    await createTopic([bootstrapServers()], topic, { partitions: 6 });
    // Flux's example passes brokers as URLs; the scheme is dropped.
    const sink = kafkaTo(newTable(fluxSchema, fluxRows), { brokers: [`http://${bootstrapServers()}`], topic, tagColumns: ['fred'] });
    await sink.done;
    const records = await kcatRead(topic);
    // Line, Flux's key for it, and its group key: the measurement and the tag, as partitionBy bytes.
    const expected = [
      ['a,fred=one _value=2 11', 'e9dec51efb2677fe', 'a\x1fone'],
      ['a,fred=one _value=2 21', '526d0ae81db3e5eb', 'a\x1fone'],
      ['b,fred=seven _value=1 21', '1891ed7e795cc2e3', 'b\x1fseven'],
      ['a,fred=nine _value=3 31', '7515e53eddfd4f9a', 'a\x1fnine'],
      ['c,fred=elevendyone _value=4 41', 'd4c9caeaa68d144b', 'c\x1felevendyone'],
    ] as const;
    const byValue = new Map(records.map((record) => [record.value?.toString(), record]));
    assert.equal(records.length, expected.length);
    const partitions = new Set<number>();
    for (const [line, key, groupKey] of expected) {
      const record = byValue.get(line);
      assert.ok(record !== undefined, `no record "${line}"`);
      assert.equal(record.key?.toString('hex'), key);
      const kafkaGo = kafkaGoPartitions.get(Buffer.from(groupKey).toString('hex'))?.['6'];
      assert.ok(kafkaGo !== undefined, `the vectors lack group key ${JSON.stringify(groupKey)}`);
      assert.equal(record.partition, kafkaGo, `partition of "${line}"`);
      partitions.add(record.partition);
    }
    // The test means something only if the rows do not all share one partition.
    assert.ok(partitions.size > 1);
  });

  it('hash routes by the table\'s own group key (sample data\'s tag), and a table without one to partition 0', async () => {
    const topic = randomTopic('flux-group');
    await createTopic([bootstrapServers()], topic, { partitions: 6 });
    await kafkaTo(sampledata.int(), { brokers: [bootstrapServers()], topic, name: 'example-metric-name', tagColumns: ['tag'] }).done;
    const records = await kcatRead(topic);
    assert.equal(records.length, 12);
    for (const record of records) {
      const tag = /,tag=(t\d) /.exec(record.value?.toString() ?? '')?.[1] ?? '';
      assert.equal(record.partition, kafkaGoPartitions.get(Buffer.from(tag).toString('hex'))?.['6'], `partition of "${record.value?.toString()}"`);
    }
    assert.deepEqual(new Set(records.map((record) => record.partition)), new Set([4, 5]));
    const single = randomTopic('flux-one-table');
    await createTopic([bootstrapServers()], single, { partitions: 6 });
    await kafkaTo(newTable(fluxSchema, fluxRows), { brokers: [bootstrapServers()], topic: single, name: 'm' }).done;
    assert.deepEqual(new Set((await kcatRead(single)).map((record) => record.partition)), new Set([0]));
  });

  it('uses _measurement, _time and _value by default, and a fixed name when given', async () => {
    const topic = randomTopic('flux-defaults');
    await kafkaTo(newTable(fluxSchema, fluxRows.slice(0, 3)), { brokers: [bootstrapServers()], topic }).done;
    const named = randomTopic('flux-named');
    await kafkaTo(newTable(fluxSchema, fluxRows.slice(0, 1)), { brokers: [bootstrapServers()], topic: named, name: 'one_block', valueColumns: ['_value', 'fred'] }).done;
    assert.deepEqual((await kcatRead(topic)).map((record) => [record.value?.toString(), record.key?.toString('hex')]), [
      ['a _value=2 11', 'f1b029d79d04317c'],
      ['a _value=2 21', 'b5c2e47895e06266'],
      ['b _value=1 21', '0e624ee736ac77f3'],
    ]);
    assert.deepEqual((await kcatRead(named)).map((record) => record.value?.toString()), ['one_block _value=2,fred="one" 11']);
  });

  it('round-robin gives partitions 0, 1, 2, … in row order; least-bytes fills the emptiest partition', async () => {
    const schema = defineSchema({ _time: 'timestamp', host: 'string', _value: 'int64' });
    const rows = Array.from({ length: 14 }, (_v, i) => ({ _time: BigInt(i), host: 'h'.repeat(1 + ((i * 7) % 5)), _value: BigInt(i * 1000) }));
    const rrTopic = randomTopic('flux-rr');
    const lbTopic = randomTopic('flux-lb');
    await createTopic([bootstrapServers()], rrTopic, { partitions: 4 });
    await createTopic([bootstrapServers()], lbTopic, { partitions: 3 });
    const options = { brokers: [bootstrapServers()], name: 'cpu', tagColumns: ['host'] };
    await kafkaTo(newTable(schema, rows), { ...options, topic: rrTopic, balancer: 'round-robin' }).done;
    await kafkaTo(newTable(schema, rows), { ...options, topic: lbTopic, balancer: 'least-bytes' }).done;
    const lineOf = (i: number) => `cpu,host=${rows[i]?.host ?? ''} _value=${i * 1000}i ${i}`;

    const rr = new Map((await kcatRead(rrTopic)).map((record) => [record.value?.toString(), record.partition]));
    assert.deepEqual(rows.map((_row, i) => rr.get(lineOf(i))), rows.map((_row, i) => i % 4));

    // kafka-go's LeastBytes, restated: the partition with the fewest key + value bytes so far, lowest on a tie.
    const sent = [0, 0, 0];
    const expected = rows.map((_row, i) => {
      const partition = sent.indexOf(Math.min(...sent));
      sent[partition] = (sent[partition] ?? 0) + 8 + Buffer.byteLength(lineOf(i));
      return partition;
    });
    const lb = new Map((await kcatRead(lbTopic)).map((record) => [record.value?.toString(), record.partition]));
    assert.deepEqual(rows.map((_row, i) => lb.get(lineOf(i))), expected);
    assert.equal(new Set(expected).size, 3);
  });
});

describe('kafkaTo() errors', () => {
  const table = newTable(fluxSchema, fluxRows);
  const brokers = ['127.0.0.1:1'];
  const columns = '_time, _measurement, _value, fred';

  it('names the option and the column a table lacks', () => {
    const cases = [
      [{ timeColumn: 'time' }, 'timeColumn', 'time'],
      [{ nameColumn: 'metric' }, 'nameColumn', 'metric'],
      [{ tagColumns: ['fred', 'host'] }, 'tagColumns', 'host'],
      [{ valueColumns: ['value'] }, 'valueColumns', 'value'],
    ] as const;
    for (const [options, option, column] of cases) {
      assert.throws(() => kafkaTo(table, { brokers, topic: 't', ...options }), {
        code: 'UNKNOWN_COLUMN',
        message: `kafkaTo() option ${option} names "${column}", which the table lacks; its columns are: ${columns}`,
      });
    }
    const noMeasurement = newTable(defineSchema({ _time: 'timestamp', _value: 'float64' }), []);
    assert.throws(() => kafkaTo(noMeasurement, { brokers, topic: 't' }), {
      code: 'UNKNOWN_COLUMN',
      message: 'kafkaTo() option nameColumn names "_measurement", which the table lacks; its columns are: _time, _value',
    });
    assert.throws(() => kafkaTo(table, { brokers, topic: 't', timeColumn: 'fred' }), {
      code: 'UNKNOWN_COLUMN',
      message: 'kafkaTo() option timeColumn names column "fred" of type string; it must be timestamp',
    });
  });

  it('validates brokers, topic, balancer and unknown options before connecting', () => {
    assert.throws(() => kafkaTo(table, { brokers: [], topic: 't' }), {
      code: 'INVALID_CONFIG',
      message: 'kafkaTo(): option brokers: at least one broker is required',
    });
    assert.throws(() => kafkaTo(table, { brokers, topic: '', balancer: 'random' as never }), {
      code: 'INVALID_CONFIG',
      message: 'kafkaTo(): option topic: the topic name is empty; option balancer: Invalid option: expected one of "hash"|"round-robin"|"least-bytes"',
    });
    assert.throws(() => kafkaTo(table, { brokers, topic: 't', msgBufferSize: 10 } as never), {
      code: 'INVALID_CONFIG',
      message: 'kafkaTo(): unknown option(s) "msgBufferSize"',
    });
  });

  it('refuses brokers in kafkaConfig, and name together with nameColumn', () => {
    for (const property of ['bootstrap.servers', 'metadata.broker.list']) {
      assert.throws(() => kafkaTo(table, { brokers, topic: 't', kafkaConfig: { [property]: '10.0.0.1:9092', 'compression.type': 'zstd' } }), {
        code: 'INVALID_CONFIG',
        message: `kafkaTo(): option kafkaConfig.${property}: the brokers come from the brokers option, not kafkaConfig; give the brokers option instead`,
      });
    }
    assert.throws(() => kafkaTo(table, { brokers, topic: 't', name: 'cpu', nameColumn: '_measurement' }), {
      code: 'INVALID_CONFIG',
      message: "kafkaTo(): option nameColumn: give name or nameColumn, not both: name is every line's measurement, nameColumn the column each line's is read from",
    });
    // Other Kafka properties pass through beside the brokers.
    const spec = kafkaToSpec(table, { brokers: ['http://127.0.0.1:9092'], topic: 't', kafkaConfig: { 'compression.type': 'zstd' } });
    assert.deepEqual(spec.kafka, { 'compression.type': 'zstd', 'bootstrap.servers': '127.0.0.1:9092' });
  });

  it('refuses a table that updates or deletes rows', () => {
    const live = inputTable(defineSchema({ id: 'int64', _time: 'timestamp', _measurement: 'string', _value: 'float64' }, { primaryKey: ['id'] }));
    assert.throws(() => kafkaTo(live, { brokers, topic: 'metrics' }), {
      code: 'INCOMPATIBLE_MODE',
      message:
        'kafkaTo(): topic "metrics": Flux\'s kafka.to appends one line per row and cannot express an update or a delete, ' +
        'but this table updates or deletes rows; write it with produce() in upsert or retract mode instead',
    });
  });
});
