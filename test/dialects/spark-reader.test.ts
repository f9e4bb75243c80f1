/**
 * Spark's Kafka source, `stream_read_kafka` / `readStream().format('kafka')`, on the real broker.
 * Records go in with kcat (an independent writer) and come out with kcat: the sparklyr seed's
 * own example copies topic1 to topic2 with the same keys, values and partitions, headers too with
 * includeHeaders; startingOffsets and assign choose the records; every refused option is named.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { readStream, streamStop, stream_read_kafka, stream_stop, stream_write_kafka, writeStream } from '../../src/dialects/spark.ts';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import type { Row } from '../../src/model/schema.ts';
import type { Table } from '../../src/model/table.ts';
import { SparkKafkaSource, sparkKafkaSchema } from '../../src/sources/spark-kafka-source.ts';
import { type KcatRecord, bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

const run = promisify(execFile);

/** Writes lines to one partition with kcat: `key\tvalue` lines (or values alone, keyless), with the given headers. */
async function kcatWrite(
  topic: string,
  partition: number,
  lines: readonly string[],
  options: { keyed?: boolean; headers?: readonly string[]; emptyIsNull?: boolean } = {},
): Promise<void> {
  const args = ['-b', bootstrapServers(), '-P', '-t', topic, '-p', String(partition)];
  if (options.keyed !== false) args.push('-K', '\t');
  if (options.emptyIsNull === true) args.push('-Z');
  for (const header of options.headers ?? []) args.push('-H', header);
  await new Promise<void>((resolve, reject) => {
    const child = execFile('kcat', args, (error) => (error === null ? resolve() : reject(new Error(`kcat -P failed: ${error.message}`))));
    child.stdin?.end(`${lines.join('\n')}\n`);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function rowsOf(table: Table): Row[] {
  return [...table.rows()].map(([, row]) => row);
}

const described = (record: KcatRecord) => `${record.partition}|${record.key?.toString('hex') ?? 'null'}|${record.value?.toString('hex') ?? 'null'}`;

describe('Spark\'s Kafka source on the real broker', () => {
  it('runs the sparklyr seed\'s example: stream_read_kafka(topic1) |> stream_write_kafka(topic2) copies every record written after it starts', async () => {
    const topic1 = randomTopic('spark-topic1');
    const topic2 = randomTopic('spark-topic2');
    await createTopic([bootstrapServers()], topic1, { partitions: 3 });
    await createTopic([bootstrapServers()], topic2, { partitions: 3 });
    // Written before the query starts: startingOffsets is "latest" by default for a stream, so these stay behind.
    await kcatWrite(topic1, 0, ['old\tbefore the query']);

    const read_options = { 'kafka.bootstrap.servers': bootstrapServers(), subscribe: topic1 };
    const write_options = { 'kafka.bootstrap.servers': bootstrapServers(), topic: topic2 };
    const source = stream_read_kafka(undefined, { options: read_options });
    const stream = stream_write_kafka(source, { options: write_options });
    await source.ready;

    await kcatWrite(topic1, 0, ['k1\tv1', 'k2\t{"json":true}', 'k1\tv1 again']);
    await kcatWrite(topic1, 1, ['ünï\tcödé ✓', 'k3\t']);
    await kcatWrite(topic1, 2, ['no key here', 'another keyless'], { keyed: false, headers: ['h=ignored'] });
    await kcatWrite(topic1, 2, ['k1\t'], { emptyIsNull: true });
    const input = (await kcatRead(topic1)).filter((record) => record.value?.toString() !== 'before the query');
    assert.equal(input.length, 8);
    assert.ok(input.some((record) => record.value === null) && input.some((record) => record.key === null), 'a tombstone and keyless records go in');

    const output = await until('topic2 to hold the copies', async () => {
      const records = await kcatRead(topic2);
      return records.length >= input.length ? records : undefined;
    });
    await stream_stop(stream);
    assert.equal(source.ended, true, 'stream_stop stops the query\'s source too');
    assert.equal(source.records, input.length);
    assert.deepEqual(output.map(described).sort(), input.map(described).sort());
    assert.ok(output.every((record) => record.headers === ''), 'without includeHeaders no headers are copied');
    assert.equal((await kcatRead(topic2)).length, input.length, 'nothing else was written');
  });

  it('subscribePattern follows every topic whose whole name matches, and only those', async () => {
    const base = randomTopic('spark-pattern');
    const [a, b, other, longer] = [`${base}-a`, `${base}-b`, `${base}-c`, `${base}-a-x`];
    const out = randomTopic('spark-pattern-out');
    for (const topic of [a, b, other, longer, out]) await createTopic([bootstrapServers()], topic, { partitions: 1 });
    await kcatWrite(a, 0, ['ka\tfrom a']);
    await kcatWrite(b, 0, ['kb\tfrom b']);
    await kcatWrite(other, 0, ['kc\tfrom c']);
    await kcatWrite(longer, 0, ['kx\tfrom a-x']);

    const source = readStream()
      .format('kafka')
      .option('kafka.bootstrap.servers', bootstrapServers())
      // Matched as a whole, as Java's Matcher.matches(): `${base}-a-x` is left out.
      .option('subscribePattern', `${base.replaceAll('.', '\\.')}-[ab]`)
      .option('startingOffsets', 'earliest')
      .load();
    const query = writeStream(source).format('kafka').option('kafka.bootstrap.servers', bootstrapServers()).option('topic', out).start();
    await source.ready;
    assert.deepEqual(source.topics, [a, b]);
    await kcatWrite(b, 0, ['kb2\tlater from b']);
    const output = await until('three copies', async () => {
      const records = await kcatRead(out);
      return records.length >= 3 ? records : undefined;
    });
    await streamStop(query);
    assert.deepEqual(output.map((record) => `${record.key?.toString()}=${record.value?.toString()}`).sort(), ['ka=from a', 'kb2=later from b', 'kb=from b']);
    assert.deepEqual(rowsOf(source).map((row) => row.topic).sort(), [a, b, b]);
  });

  it('subscribePattern matching no topic fails the source, naming the pattern', async () => {
    const pattern = `${randomTopic('spark-nothing')}-.*`;
    const source = readStream().format('kafka').option('kafka.bootstrap.servers', bootstrapServers()).option('subscribePattern', pattern).load();
    await assert.rejects(source.ready, (error: unknown) =>
      error instanceof SpillwayError && error.code === ErrorCode.InvalidConfig &&
      error.message === `kafka-source-${pattern}: no topic of the cluster matches the pattern ${JSON.stringify(pattern)}; create the topics first (topics created after the source starts are not read)`,
    );
    await assert.rejects(source.done);
    assert.equal(source.ended, true);
  });

  it('subscribePattern with no broker answering fails the source, saying what was tried', async () => {
    const source = readStream()
      .format('kafka')
      .option('kafka.bootstrap.servers', '127.0.0.1:1')
      .option('kafka.request.timeout.ms', 1500)
      .option('subscribePattern', 'anything.*')
      .load();
    await assert.rejects(source.ready, (error: unknown) =>
      error instanceof SpillwayError && error.code === ErrorCode.BrokerUnreachable && error.message.startsWith('no Kafka broker answered within 1500 ms; tried 127.0.0.1:1'),
    );
    await assert.rejects(source.done);
    assert.equal(source.failure?.code, ErrorCode.BrokerUnreachable);
  });

  it('readStream().format("kafka") with includeHeaders copies headers, and reads from the earliest offset when asked', async () => {
    const topic1 = randomTopic('spark-headers-in');
    const topic2 = randomTopic('spark-headers-out');
    await createTopic([bootstrapServers()], topic1, { partitions: 1 });
    await createTopic([bootstrapServers()], topic2, { partitions: 1 });
    await kcatWrite(topic1, 0, ['a\t1', 'b\t2'], { headers: ['trace=abc', 'kind=täst'] });
    await kcatWrite(topic1, 0, ['c\t3']);

    const source = readStream()
      .format('kafka')
      .option('kafka.bootstrap.servers', bootstrapServers())
      .option('subscribe', topic1)
      .option('startingOffsets', 'earliest')
      .option('includeHeaders', 'true')
      .load();
    assert.deepEqual(source.schema, sparkKafkaSchema(true));
    const query = writeStream(source).format('kafka').option('kafka.bootstrap.servers', bootstrapServers()).option('topic', topic2).start();
    const output = await until('three copies', async () => {
      const records = await kcatRead(topic2);
      return records.length >= 3 ? records : undefined;
    });
    await streamStop(query);
    assert.deepEqual(
      output.map((record) => [record.key?.toString(), record.value?.toString(), record.headers]),
      [['a', '1', 'trace=abc,kind=täst'], ['b', '2', 'trace=abc,kind=täst'], ['c', '3', '']],
    );
    const rows = rowsOf(source);
    assert.deepEqual(rows.map((row) => row.headers), [[{ key: 'trace', value: 'abc' }, { key: 'kind', value: 'täst' }], [{ key: 'trace', value: 'abc' }, { key: 'kind', value: 'täst' }], null]);
  });

  it('gives Spark\'s columns: key and value bytes, topic, partition, offset, timestamp; timestampType null while the client does not report it', async () => {
    const topic = randomTopic('spark-columns');
    await createTopic([bootstrapServers()], topic, { partitions: 2 });
    await kcatWrite(topic, 1, ['key\tvalue']);
    // sparklyr's sc may be left out.
    const source = stream_read_kafka({ options: { 'kafka.bootstrap.servers': bootstrapServers(), subscribe: topic, startingOffsets: 'earliest' } });
    const [row] = await until('one row', () => (source.size === 1 ? rowsOf(source) : undefined));
    await source.close();
    const [written] = await kcatRead(topic);
    assert.deepEqual(source.schema.columns.map((column) => `${column.name}:${column.type}`), [
      'key:bytes', 'value:bytes', 'topic:string', 'partition:int32', 'offset:int64', 'timestamp:timestamp', 'timestampType:int32',
    ]);
    assert.deepEqual(Buffer.from(row?.key as Uint8Array), Buffer.from('key'));
    assert.deepEqual(Buffer.from(row?.value as Uint8Array), Buffer.from('value'));
    assert.equal(row?.topic, topic);
    assert.equal(row?.partition, 1);
    assert.equal(row?.offset, 0n);
    assert.equal(row?.timestamp, BigInt(written?.timestamp ?? 0) * 1_000_000n);
    assert.equal(row?.timestampType, null);
  });

  it('subscribe reads several topics, comma-separated', async () => {
    const [first, second] = [randomTopic('spark-sub-a'), randomTopic('spark-sub-b')];
    await createTopic([bootstrapServers()], first, { partitions: 1 });
    await createTopic([bootstrapServers()], second, { partitions: 1 });
    await kcatWrite(first, 0, ['a\t1']);
    await kcatWrite(second, 0, ['b\t2', 'c\t3']);
    const source = readStream().format('kafka').option('kafka.bootstrap.servers', bootstrapServers()).option('subscribe', `${first}, ${second}`).option('startingOffsets', 'earliest').load();
    assert.deepEqual(source.topics, [first, second]);
    await until('three rows', () => (source.size >= 3 ? true : undefined));
    await source.close();
    assert.deepEqual(rowsOf(source).map((row) => `${row.topic as string}:${Buffer.from(row.value as Uint8Array).toString()}`).sort(), [`${first}:1`, `${second}:2`, `${second}:3`].sort());
  });

  it('assign and startingOffsets as JSON pick partitions and their first offsets (-2 earliest)', async () => {
    const topic = randomTopic('spark-assign');
    await createTopic([bootstrapServers()], topic, { partitions: 3 });
    await kcatWrite(topic, 0, ['a\t0', 'a\t1', 'a\t2', 'a\t3']);
    await kcatWrite(topic, 1, ['b\t0', 'b\t1']);
    await kcatWrite(topic, 2, ['c\t0']);
    const source = readStream()
      .format('kafka')
      .options({
        'kafka.bootstrap.servers': bootstrapServers(),
        assign: JSON.stringify({ [topic]: [0, 1] }),
        startingOffsets: JSON.stringify({ [topic]: { 0: 2, 1: -2 } }),
      })
      .load();
    await until('four rows', () => (source.size >= 4 ? true : undefined));
    // A record after the first ones arrives too, and partition 2 stays out throughout.
    await kcatWrite(topic, 2, ['c\t1']);
    await kcatWrite(topic, 0, ['a\t4']);
    await until('five rows', () => (source.size >= 5 ? true : undefined));
    await source.close();
    assert.deepEqual(rowsOf(source).map((row) => `${row.partition as number}:${row.offset as bigint}`).sort(), ['0:2', '0:3', '0:4', '1:0', '1:1']);
  });

  it('startingOffsets -1 for every partition of a topic reads only what comes after the start', async () => {
    const topic = randomTopic('spark-latest-json');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    await kcatWrite(topic, 0, ['old\t0']);
    const source = stream_read_kafka(undefined, { options: { 'kafka.bootstrap.servers': bootstrapServers(), subscribe: topic, startingOffsets: `{"${topic}":{"0":-1}}` } });
    await source.ready;
    await kcatWrite(topic, 0, ['new\t1']);
    await until('one row', () => (source.size >= 1 ? true : undefined));
    await source.close();
    assert.deepEqual(rowsOf(source).map((row) => Buffer.from(row.key as Uint8Array).toString()), ['new']);
  });

  it('fails the table, naming the partition, when a record comes from a partition the offsets leave out', async () => {
    const topic = randomTopic('spark-missing-partition');
    await createTopic([bootstrapServers()], topic, { partitions: 2 });
    await kcatWrite(topic, 1, ['x\ty']);
    const source = stream_read_kafka(undefined, { name: 'orders-in', options: { 'kafka.bootstrap.servers': bootstrapServers(), subscribe: topic, startingOffsets: `{"${topic}":{"0":0}}` } });
    await assert.rejects(source.done, (error: unknown) => {
      assert.ok(error instanceof SpillwayError && error.code === ErrorCode.InvalidConfig, String(error));
      assert.equal(error.message, `orders-in: startingOffsets gives no offset for partition 1 of topic "${topic}"; as in Spark, specific offsets name every partition: use -2 for earliest, -1 for latest`);
      return true;
    });
    assert.equal(source.failure?.code, ErrorCode.InvalidConfig);
    assert.equal(source.ended, true);
  });

  it('fails the table, naming the record, when a header is not UTF-8 text', async () => {
    const topic = randomTopic('spark-binary-header');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    // A header value of the bytes ff fe, which are not UTF-8: bash's printf puts them in kcat's argument as they are.
    await run('bash', ['-c', `printf 'k\\tv\\n' | kcat -b "$0" -P -t "$1" -p 0 -K '\t' -H "bin=$(printf '\\xff\\xfe')"`, bootstrapServers(), topic]);
    const [written] = await kcatRead(topic);
    assert.equal(written?.value?.toString(), 'v');
    const source = readStream().format('kafka').options({ 'kafka.bootstrap.servers': bootstrapServers(), subscribe: topic, startingOffsets: 'earliest', includeHeaders: true }).load();
    const outcome = await source.done.then(
      () => 'ended',
      (error: unknown) => error,
    );
    assert.ok(outcome instanceof SpillwayError, String(outcome));
    assert.equal(outcome.message, `kafka-source-${topic}: topic "${topic}" partition 0 offset 0: header "bin" is not UTF-8 text, which the headers column carries; leave includeHeaders off for this topic`);
  });
});

describe('Spark\'s Kafka source options', () => {
  const servers = '127.0.0.1:1';
  const refuses = (options: Record<string, string | number | boolean>, message: string) =>
    assert.throws(
      () => readStream().format('kafka').options(options).load(),
      (error: unknown) => error instanceof SpillwayError && error.code === ErrorCode.InvalidConfig && error.message === message,
    );

  it('needs kafka.bootstrap.servers and exactly one of subscribe or assign', () => {
    refuses({ subscribe: 't' }, 'readStream: option "kafka.bootstrap.servers" must be given, as in Spark, e.g. .option("kafka.bootstrap.servers", "127.0.0.1:9092")');
    const oneOf = 'as in Spark, give exactly one of subscribe ("topic1,topic2"), subscribePattern ("topic.*") or assign ({"topic1":[0,1]})';
    refuses({ 'kafka.bootstrap.servers': servers }, `readStream: no topic to read; ${oneOf}`);
    refuses({ 'kafka.bootstrap.servers': servers, subscribe: 't', assign: '{"t":[0]}' }, `readStream: options subscribe and assign both given; ${oneOf}`);
    refuses({ 'kafka.bootstrap.servers': servers, subscribe: 't', subscribePattern: 't.*' }, `readStream: options subscribe and subscribePattern both given; ${oneOf}`);
    refuses({ 'kafka.bootstrap.servers': servers, subscribe: ' , ' }, 'readStream: option subscribe names no topic; give one or more, separated by commas');
  });

  it('refuses the Spark options it does not implement, naming each', () => {
    refuses(
      { 'kafka.bootstrap.servers': servers, subscribe: 't', endingOffsets: 'latest', maxOffsetsPerTrigger: 10 },
      'readStream: option "endingOffsets" of Spark\'s Kafka source is not supported: it bounds batch queries; a stream reads on until stopped; ' +
        'option "maxOffsetsPerTrigger" of Spark\'s Kafka source is not supported: rate limits per trigger are not implemented; the sink\'s queue.buffering.max.messages bounds memory',
    );
    refuses({ 'kafka.bootstrap.servers': servers, subscribe: 't', failOnDataLoss: 'false' }, 'readStream: option "failOnDataLoss" of Spark\'s Kafka source is not supported: Spillway has no setting for lost offsets yet');
    refuses({ 'kafka.bootstrap.servers': servers, subscribe: 't', subscrbe: 'x' }, 'readStream: unknown option "subscrbe" (did you mean "subscribe"?); Kafka properties take the "kafka." prefix');
  });

  it('refuses the Kafka properties Spark refuses, and those the source does not use', () => {
    refuses({ 'kafka.bootstrap.servers': servers, subscribe: 't', 'kafka.auto.offset.reset': 'earliest' }, 'readStream: Kafka option "kafka.auto.offset.reset" is not supported: set the source option startingOffsets instead');
    refuses({ 'kafka.bootstrap.servers': servers, subscribe: 't', 'kafka.group.id': 'g' }, 'readStream: Kafka option "kafka.group.id" is not supported: each query reads with a consumer group of its own and commits nothing');
    refuses({ 'kafka.bootstrap.servers': servers, subscribe: 't', 'kafka.value.deserializer': 'x' }, 'readStream: Kafka option "kafka.value.deserializer" is not supported: values are read as bytes; convert them with table operations (update)');
    assert.throws(
      () => readStream().format('kafka').options({ 'kafka.bootstrap.servers': servers, subscribe: 't', 'kafka.acks': 'all' }).load(),
      (error: unknown) => error instanceof SpillwayError && error.message.startsWith('readStream: Kafka option "kafka.acks" is not one the Kafka source uses') && error.message.includes('kafka.isolation.level'),
    );
    refuses({ 'kafka.bootstrap.servers': servers, subscribe: 't', 'kafka.isolation.level': 'committed' }, 'readStream: option kafka.isolation.level is "committed"; use read_committed or read_uncommitted');
  });

  it('refuses startingOffsets, assign and includeHeaders it cannot read', () => {
    const base = { 'kafka.bootstrap.servers': servers, subscribe: 't' };
    refuses({ ...base, startingOffsets: 'newest' }, 'readStream: option startingOffsets is "newest"; use "latest" (the default for a stream), "earliest", or a JSON such as {"topicA":{"0":23,"1":-2}} (-2 earliest, -1 latest)');
    assert.throws(() => readStream().format('kafka').options({ ...base, startingOffsets: '{"t":' }).load(), /option startingOffsets is not JSON .*; give it as \{"topicA":\{"0":23,"1":-2\}\}/);
    refuses({ ...base, startingOffsets: '{"t":[1]}' }, 'readStream: option startingOffsets must map each topic to {"partition": offset}, as {"topicA":{"0":23,"1":-2}}; got {"t":[1]}');
    refuses({ ...base, startingOffsets: '{"u":{"0":1}}' }, 'kafka-source-t: startingOffsets names topic "u", which is not read; the topics read are: t');
    refuses({ ...base, startingOffsets: '{"t":{"0":-3}}' }, 'kafka-source-t: startingOffsets for topic "t" gives partition "0" the offset -3; give partitions as numbers and offsets as integers ≥ 0, or -2 for earliest, -1 for latest');
    refuses({ ...base, startingOffsets: '{"t":{"0":-1,"1":5}}' }, 'kafka-source-t: startingOffsets for topic "t" mixes -1 (latest) with other offsets, which Spillway cannot start from yet; give -1 to every partition of the topic, or explicit offsets');
    refuses({ 'kafka.bootstrap.servers': servers, assign: '{"t":[0,1]}', startingOffsets: '{"t":{"0":1}}' }, 'kafka-source-t: startingOffsets gives no offset for partition(s) 1 of topic "t"; as in Spark, specific offsets name every partition: use -2 for earliest, -1 for latest');
    refuses({ 'kafka.bootstrap.servers': servers, assign: '{"t":[0]}', startingOffsets: '{"t":{"0":1,"2":0}}' }, 'kafka-source-t: startingOffsets names partition 2 of topic "t", which assign does not');
    refuses({ 'kafka.bootstrap.servers': servers, assign: '{"t":[-1]}' }, 'readStream: option assign must map each topic to its partition numbers, as {"topicA":[0,1],"topicB":[2,4]}; got {"t":[-1]}');
    assert.throws(() => readStream().format('kafka').options({ 'kafka.bootstrap.servers': servers, assign: '[' }).load(), /option assign is not JSON/);
    refuses({ ...base, includeHeaders: 'yes' }, 'readStream: option includeHeaders is "yes"; give true or false');
  });

  it('refuses a subscribePattern it cannot use', () => {
    const base = { 'kafka.bootstrap.servers': servers };
    refuses({ ...base, subscribePattern: ' ' }, 'readStream: option subscribePattern is empty; give a regular expression such as "events-.*"');
    assert.throws(
      () => readStream().format('kafka').options({ ...base, subscribePattern: 'topic(' }).load(),
      (error: unknown) =>
        error instanceof SpillwayError && error.code === ErrorCode.InvalidConfig &&
        /^kafka-source-topic\(: topic pattern "topic\(" is not a regular expression \(.+\); give one such as "events-\.\*"$/.test(error.message),
    );
    refuses(
      { ...base, subscribePattern: 't.*', startingOffsets: '{"t1":{"0":1}}' },
      'kafka-source-t.*: startingOffsets by partition with a topic pattern is not implemented; use "earliest" or "latest", or name the topics with subscribe',
    );
    assert.throws(
      () => new SparkKafkaSource({ kafkaConfig: { 'bootstrap.servers': servers }, topics: ['t'], topicPattern: 't.*', startingOffsets: 'latest', includeHeaders: false, readCommitted: false, name: 'in' }),
      (error: unknown) => error instanceof SpillwayError && error.message === 'in: give topics by name (topics or assign) or by topicPattern, not both',
    );
  });

  it('refuses a source with no topic, built directly', () => {
    assert.throws(
      () => new SparkKafkaSource({ kafkaConfig: { 'bootstrap.servers': servers }, topics: [], startingOffsets: 'latest', includeHeaders: false, readCommitted: false, name: 'in' }),
      (error: unknown) => error instanceof SpillwayError && error.message === 'in: no topic to read; name topics (subscribe) or partitions (assign), or give a topicPattern (subscribePattern)',
    );
  });

  it('refuses another format, a schema, and stream_read_kafka without options', () => {
    assert.throws(() => readStream().load(), /readStream: format is not set; Spillway reads Kafka: call \.format\("kafka"\)/);
    assert.throws(() => readStream().format('parquet').load(), /format "parquet" is not supported/);
    assert.throws(() => readStream().format('kafka').schema({}), /the Kafka source has a fixed schema/);
    assert.throws(() => stream_read_kafka(undefined), (error: unknown) => error instanceof SpillwayError && error.message.startsWith('stream_read_kafka: give the options'));
  });
});
