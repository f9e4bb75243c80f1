/**
 * The DLI seed's Kafka result table, end to end on the real broker: its CREATE TABLE as the seed
 * writes it (only the bootstrap address and topic filled in), fed by a source table, its CSV
 * read back with kcat, and the round-robin partitioner spreading the rows. Also a Kafka topic
 * read by SQL and aggregated into an upsert-kafka table.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSql } from '../../../src/dialects/sql/job.ts';
import { createTopic } from '../../../src/kafka/kafka-client.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../../helpers/kafka.ts';

/** The example of DLI's "Kafka Result Table" page, exactly as the page prints it. */
const DLI_EXAMPLE = `create table kafkaSink(
  car_id STRING,
  car_owner STRING,
  car_brand STRING,
  car_speed INT)
with (
  'connector.type' = 'kafka',
  'connector.version' = '0.10',
  'connector.topic' = 'test-topic',
  'connector.properties.bootstrap.servers' = 'xx.xx.xx.xx:9092',
  'connector.sink-partitioner' = 'round-robin',
  'format.type' = 'csv'
);`;

function seedExample(): string {
  return DLI_EXAMPLE;
}

const dir = mkdtempSync(join(tmpdir(), 'spillway-dli-'));

describe('the DLI seed on the real broker', () => {
  it('runs the kafkaSink example fed by a CSV file: CSV records, spread round-robin', async () => {
    const topic = randomTopic('dli-cars');
    await createTopic([bootstrapServers()], topic, { partitions: 3 });
    const lines = ['C-001,Ann Lee,BMW,120', 'C-002,"Smith, ""Jr.""",Tesla,95', 'C-003,,BYD,-5', 'C-004,Bo,VW,0', 'C-005,Cy,Kia,33', 'C-006,Di,Fiat,61'];
    writeFileSync(join(dir, 'cars.csv'), `${lines.join('\n')}\n`);
    const example = seedExample().replace("'test-topic'", `'${topic}'`).replace("'xx.xx.xx.xx:9092'", `'${bootstrapServers()}'`);
    assert.match(example, /'connector\.sink-partitioner' = 'round-robin'/);
    const job = await runSql(
      `create table cars(car_id STRING, car_owner STRING, car_brand STRING, car_speed INT) with ('connector' = 'filesystem', 'path' = 'cars.csv', 'format' = 'csv');
${example}
insert into kafkaSink select * from cars;`,
      { source: 'dli.sql', baseDir: dir },
    );
    assert.deepEqual(job.warnings, [`table "kafkaSink": 'connector.version' = '0.10' has no effect; Spillway speaks every Kafka version from 0.11 on`]);
    await job.done;
    const records = await eventually(() => kcatRead(topic), (found) => found.length === lines.length);
    const byPartition = [0, 1, 2].map((partition) => records.filter((record) => record.partition === partition).map((record) => record.value?.toString()));
    assert.deepEqual(byPartition, [
      ['C-001,Ann Lee,BMW,120', 'C-004,Bo,VW,0'],
      ['C-002,"Smith, ""Jr.""",Tesla,95', 'C-005,Cy,Kia,33'],
      ['C-003,,BYD,-5', 'C-006,Di,Fiat,61'],
    ]);
    assert.ok(records.every((record) => record.key === null), 'the DLI table has no key');
  });

  it('reads a Kafka topic with SQL and writes its aggregate to an upsert-kafka topic', async () => {
    const input = randomTopic('sql-orders');
    const output = randomTopic('sql-totals');
    await createTopic([bootstrapServers()], input, { partitions: 1 });
    await createTopic([bootstrapServers()], output, { partitions: 2 });
    const feed = await runSql(
      `CREATE TABLE rows_in (id INT, region STRING, qty INT);
       CREATE TABLE orders_out (id INT, region STRING, qty INT) WITH ('connector' = 'kafka', 'topic' = '${input}', 'properties.bootstrap.servers' = '${bootstrapServers()}', 'format' = 'json');
       INSERT INTO orders_out SELECT * FROM rows_in;`,
    );
    feed.inputs.get('rows_in')?.add([{ id: 1, region: 'eu', qty: 2 }, { id: 2, region: 'us', qty: 5 }, { id: 3, region: 'eu', qty: 4 }]);
    feed.inputs.get('rows_in')?.close();
    await feed.done;
    const job = await runSql(
      `CREATE TABLE orders (id INT, region STRING, qty INT) WITH ('connector' = 'kafka', 'topic' = '${input}', 'properties.bootstrap.servers' = '${bootstrapServers()}', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
       CREATE TABLE totals (region STRING, qty BIGINT, PRIMARY KEY (region) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = '${output}',
         'properties.bootstrap.servers' = '${bootstrapServers()}', 'key.format' = 'raw', 'value.format' = 'json');
       INSERT INTO totals SELECT region, SUM(qty) FROM orders GROUP BY region;`,
    );
    try {
      const latest = (records: Awaited<ReturnType<typeof kcatRead>>) => new Map(records.map((record) => [record.key?.toString(), record.value?.toString()]));
      const records = await eventually(() => kcatRead(output), (found) => latest(found).get('eu') === '{"region":"eu","qty":6}' && latest(found).has('us'));
      assert.equal(latest(records).get('us'), '{"region":"us","qty":5}');
    } finally {
      await job.stop();
    }
  });
});
