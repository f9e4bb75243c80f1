/**
 * SQL jobs run over the incremental operators, written to the in-memory writer: expressions,
 * WHERE, GROUP BY aggregates that update as rows change, views, INSERT's conversions, input
 * tables, files, datagen, and a custom partitioner module.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSql } from '../../../src/dialects/sql/job.ts';
import { MemoryWriter } from '../../../src/kafka/memory-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'spillway-sql-'));
const BOOT = "'properties.bootstrap.servers' = '127.0.0.1:9'";

async function run(sql: string, feed?: (inputs: Map<string, { add(rows: unknown): void; delete(keys: unknown): void; close(): void }>) => void, partitions = 1) {
  const writer = new MemoryWriter({ partitions });
  const job = await runSql(sql, { source: 'job.sql', baseDir: dir, dependencies: { createWriter: () => writer } });
  feed?.(job.inputs as never);
  for (const input of job.inputs.values()) input.close();
  await job.done;
  return { writer, job, values: (topic: string) => writer.records(topic).map((record) => record.value?.toString() ?? null) };
}

describe('SQL jobs', () => {
  it('projects, computes and filters with SQL semantics', async () => {
    const { values } = await run(
      `CREATE TABLE people (name STRING, age INT, score DOUBLE, city STRING);
       CREATE TABLE people_out (who STRING, next_age BIGINT, half DOUBLE, grp STRING, len INT, city STRING) WITH ('connector' = 'kafka', 'topic' = 'o', ${BOOT}, 'format' = 'json');
       INSERT INTO people_out SELECT UPPER(TRIM(name)) || '!', CAST(age AS BIGINT) + 1, score / 2,
         CASE WHEN age >= 18 THEN 'adult' ELSE 'minor' END, LENGTH(name), COALESCE(city, 'unknown')
       FROM people WHERE (age > 10 AND NOT name LIKE 'x%') OR city IS NULL`,
      (inputs) => {
        inputs.get('people')?.add([
          { name: ' ann ', age: 30, score: 9, city: 'Oslo' },
          { name: 'bob', age: 12, score: 3, city: null },
          { name: 'xavier', age: 40, score: 1, city: 'Rome' },
          { name: 'cy', age: 5, score: 1, city: null },
          { name: 'dee', age: 8, score: 1, city: 'Bern' },
        ]);
      },
    );
    assert.deepEqual(values('o'), [
      '{"who":"ANN!","next_age":31,"half":4.5,"grp":"adult","len":5,"city":"Oslo"}',
      '{"who":"BOB!","next_age":13,"half":1.5,"grp":"minor","len":3,"city":"unknown"}',
      '{"who":"CY!","next_age":6,"half":0.5,"grp":"minor","len":2,"city":"unknown"}',
    ]);
  });

  it("CHAR_LENGTH and CHARACTER_LENGTH are LENGTH, and errors after them keep the columns as written", async () => {
    const { values } = await run(
      `CREATE TABLE w (word STRING);
       CREATE TABLE w_out (word STRING, a INT, b INT) WITH ('connector' = 'kafka', 'topic' = 'o', ${BOOT}, 'format' = 'json');
       INSERT INTO w_out SELECT word, CHAR_LENGTH(word), character_length (word) FROM w WHERE CHAR_LENGTH(word) > 1`,
      (inputs) => inputs.get('w')?.add([{ word: 'héllo' }, { word: 'x' }, { word: null }]),
    );
    assert.deepEqual(values('o'), ['{"word":"héllo","a":5,"b":5}']);
    await assert.rejects(
      run(`CREATE TABLE w (word STRING);\nCREATE TABLE w_out (a INT) WITH ('connector' = 'kafka', 'topic' = 'o', ${BOOT}, 'format' = 'json');\nINSERT INTO w_out SELECT CHAR_LENGTH(word) + nope FROM w`),
      /^SpillwayError: job\.sql:3:46: .*"nope"/,
    );
  });

  it('GROUP BY aggregates retract and update as rows change, through a view', async () => {
    const { values } = await run(
      `CREATE TABLE sales (id INT, region STRING, amount INT, PRIMARY KEY (id) NOT ENFORCED);
       CREATE VIEW big AS SELECT region, amount * 10 AS amount FROM sales WHERE amount > 0;
       CREATE TABLE totals (region STRING, n BIGINT, total BIGINT, lo INT, hi INT, mean DOUBLE, PRIMARY KEY (region) NOT ENFORCED)
         WITH ('connector' = 'upsert-kafka', 'topic' = 'totals', ${BOOT}, 'key.format' = 'raw', 'value.format' = 'csv');
       INSERT INTO totals SELECT region, COUNT(*), SUM(amount), MIN(amount), MAX(amount), AVG(amount) FROM big GROUP BY region`,
      (inputs) => {
        const sales = inputs.get('sales');
        sales?.add([{ id: 1, region: 'eu', amount: 1 }, { id: 2, region: 'eu', amount: 3 }]);
        sales?.add({ id: 3, region: 'us', amount: 2 });
        sales?.add({ id: 2, region: 'eu', amount: 5 });
        sales?.delete({ id: 3 });
      },
    );
    assert.deepEqual(values('totals'), ['eu,2,40,10,30,20', 'us,1,20,20,20,20', 'eu,2,60,10,50,30', null]);
  });

  it('INSERT of SELECT * into a table of the same columns writes the rows as they are; a NOT NULL column still refuses a NULL', async () => {
    const { values } = await run(
      `CREATE TABLE t (id BIGINT, name STRING, born DATE);
       CREATE TABLE s (id BIGINT, name STRING, born DATE) WITH ('connector' = 'kafka', 'topic' = 's', ${BOOT}, 'format' = 'json');
       INSERT INTO s SELECT * FROM t`,
      (inputs) => inputs.get('t')?.add([{ id: 1n, name: 'a', born: '2026-12-01' }, { id: 2n, name: null, born: null }]),
    );
    assert.deepEqual(values('s'), ['{"id":1,"name":"a","born":"2026-12-01"}', '{"id":2,"name":null,"born":null}']);
    const writer = new MemoryWriter({ partitions: 1 });
    const job = await runSql(
      `CREATE TABLE t (id BIGINT, name STRING);
       CREATE TABLE s (id BIGINT, name STRING NOT NULL) WITH ('connector' = 'kafka', 'topic' = 's', ${BOOT}, 'format' = 'json');
       INSERT INTO s SELECT * FROM t`,
      { source: 'job.sql', baseDir: dir, dependencies: { createWriter: () => writer } },
    );
    const input = job.inputs.get('t');
    assert.throws(() => input?.add([{ id: 1n, name: 'a' }, { id: 2n, name: null }]), /job\.sql:3:22: a NULL for the NOT NULL column "s"\.name/);
    input?.close();
    await job.done;
    assert.deepEqual(writer.records('s'), [], 'the bad batch adds nothing');
  });

  it('a global aggregate without GROUP BY, and INSERT with a column list', async () => {
    const { values } = await run(
      `CREATE TABLE t (v INT);
       CREATE TABLE s (a STRING, total BIGINT, n BIGINT, PRIMARY KEY (n) NOT ENFORCED) WITH ('connector' = 'kafka', 'topic' = 's', ${BOOT}, 'format' = 'json', 'update-mode' = 'retract');
       INSERT INTO s (n, total) SELECT COUNT(v), SUM(v) + 1 FROM t`,
      (inputs) => inputs.get('t')?.add([{ v: 1 }, { v: 2 }]),
    );
    assert.deepEqual(values('s'), ['{"a":null,"total":4,"n":2}']);
  });

  it('reads a CSV file as Flink does (no header), and converts INT into BIGINT and DECIMAL', async () => {
    const path = join(dir, 'in.csv');
    writeFileSync(path, '1;"a;b";2.5\n2;c;3\n');
    const { values } = await run(`CREATE TABLE f (id INT, name STRING, price DOUBLE) WITH ('connector' = 'filesystem', 'path' = 'in.csv', 'format' = 'csv', 'csv.field-delimiter' = ';');
      CREATE TABLE s (id BIGINT, name STRING, price DECIMAL(6, 2)) WITH ('connector' = 'kafka', 'topic' = 's', ${BOOT}, 'format' = 'csv');
      INSERT INTO s SELECT id, name, CAST(price AS DECIMAL(6, 2)) FROM f`);
    assert.deepEqual(values('s'), ['1,a;b,2.50', '2,c,3.00']);
  });

  it('follows a filesystem table with source.monitor-interval until stopped', async () => {
    const path = join(dir, 'grow.ndjson');
    writeFileSync(path, '{"id": 1}\n');
    const writer = new MemoryWriter();
    const job = await runSql(`CREATE TABLE f (id BIGINT) WITH ('connector' = 'filesystem', 'path' = 'grow.ndjson', 'format' = 'json', 'source.monitor-interval' = '50 ms');
      CREATE TABLE s (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 's', ${BOOT}, 'format' = 'json');
      INSERT INTO s SELECT id * 10 FROM f`, { source: 'job.sql', baseDir: dir, dependencies: { createWriter: () => writer } });
    appendFileSync(path, '{"id": 2}\n{"id": 3}\n');
    const deadline = Date.now() + 10_000;
    while (writer.records('s').length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await job.stop();
    assert.deepEqual(writer.records('s').map((record) => record.value?.toString()), ['{"id":10}', '{"id":20}', '{"id":30}']);
  });

  it("a running job reports its Kafka sources' property warnings", async () => {
    const servers = process.env.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
    const job = await runSql(
      `CREATE TABLE k (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'spillway-sql-warnings', 'properties.bootstrap.servers' = '${servers}', 'properties.request.timeout.ms' = '2000', 'properties.linger.ms' = '5', 'format' = 'json');
       CREATE TABLE s (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 's', ${BOOT}, 'format' = 'json');
       INSERT INTO s SELECT * FROM k`,
      { source: 'job.sql', baseDir: dir, dependencies: { createWriter: () => new MemoryWriter({ partitions: 1 }) } },
    );
    try {
      assert.deepEqual(job.warnings, ['table "k": `linger.ms` is a producer property; a Kafka-topic table only reads, so it has no effect']);
    } finally {
      await job.stop();
    }
  });

  it('datagen: a sequence ends the table, random values stay in range', async () => {
    const { values } = await run(`CREATE TABLE g (id BIGINT, score INT, tag STRING) WITH ('connector' = 'datagen', 'rows-per-second' = '1000',
        'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '25', 'fields.score.min' = '3', 'fields.score.max' = '5', 'fields.tag.length' = '4');
      CREATE TABLE s (id BIGINT, score INT, tag STRING) WITH ('connector' = 'kafka', 'topic' = 's', ${BOOT}, 'format' = 'json');
      INSERT INTO s SELECT * FROM g`);
    const rows = values('s').map((value) => JSON.parse(value ?? 'null') as { id: number; score: number; tag: string });
    assert.deepEqual(rows.map((row) => row.id), Array.from({ length: 25 }, (_v, i) => i + 1));
    assert.ok(rows.every((row) => row.score >= 3 && row.score <= 5 && /^[a-z0-9]{4}$/.test(row.tag)), JSON.stringify(rows.slice(0, 3)));
  });

  it('a custom partitioner module from connector.sink-partitioner-class', async () => {
    writeFileSync(join(dir, 'by-length.js'), 'export function partition(key, value, partitions) { return value.length % partitions; }\n');
    const { writer } = await run(
      `CREATE TABLE t (v STRING);
       CREATE TABLE s (v STRING) WITH ('connector.type' = 'kafka', 'connector.topic' = 's', 'connector.properties.bootstrap.servers' = '127.0.0.1:9',
         'connector.sink-partitioner' = 'custom', 'connector.sink-partitioner-class' = './by-length.js', 'format.type' = 'csv');
       INSERT INTO s SELECT v FROM t`,
      (inputs) => inputs.get('t')?.add([{ v: 'a' }, { v: 'bb' }, { v: 'ccc' }, { v: 'dddd' }]),
      3,
    );
    assert.deepEqual(writer.topics.get('s')?.map((partition) => partition.map((record) => record.value?.toString())), [['ccc'], ['a', 'dddd'], ['bb']]);
  });

  it('a partitioner module that exports no function is refused at its position', async () => {
    writeFileSync(join(dir, 'nothing.js'), 'export const x = 1;\n');
    await assert.rejects(
      runSql(`CREATE TABLE t (v STRING);\nCREATE TABLE s (v STRING) WITH ('connector' = 'kafka', 'topic' = 's', ${BOOT}, 'format' = 'csv', 'sink.partitioner' = './nothing.js');\nINSERT INTO s SELECT v FROM t`, { source: 'job.sql', baseDir: dir }),
      { message: /^job\.sql:2:137: the partitioner module \.\/nothing\.js exports no partitioner function$/ },
    );
  });

  it('a row that breaks the query (division by zero) fails the job naming its position', async () => {
    const writer = new MemoryWriter();
    const job = await runSql(`CREATE TABLE t (a INT, b INT);\nCREATE TABLE s (q INT) WITH ('connector' = 'kafka', 'topic' = 's', ${BOOT}, 'format' = 'json');\nINSERT INTO s SELECT a / b FROM t`, {
      source: 'job.sql',
      dependencies: { createWriter: () => writer },
    });
    assert.throws(() => job.inputs.get('t')?.add({ a: 1, b: 0 }), /job\.sql:3:22: division by zero in "a \/ b"/);
    await job.stop();
  });
});
