/**
 * The SQL front door as a pure translation: statements, Flink types, WITH keys (DLI's and
 * Flink's) into sink specs and source options, and errors that point at a line and column.
 * No broker: validation plans every sink without connecting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../../src/errors.ts';
import { buildSqlRelations, translateSql, validateSql } from '../../../src/dialects/sql/job.ts';
import { InputTable } from '../../../src/sources/input-table.ts';

const BOOT = "'properties.bootstrap.servers' = '127.0.0.1:9'";

/** Asserts that the SQL fails with this message (which starts with its line and column). */
async function refuses(sql: string, message: string | RegExp): Promise<SpillwayError> {
  let caught: unknown;
  try {
    await validateSql(sql, { source: 'job.sql' });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SpillwayError, `expected a SpillwayError, got ${String(caught)}`);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

const dliSink = `create table kafkaSink(
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

describe('SQL: the DLI Kafka result table', () => {
  it('translates the seed example into a CSV, round-robin, append sink, with a warning for connector.version', async () => {
    const program = await translateSql(`${dliSink}\nCREATE TABLE cars (car_id STRING, car_owner STRING, car_brand STRING, car_speed INT);\nINSERT INTO kafkaSink SELECT * FROM cars;`);
    const insert = program.inserts[0];
    assert.deepEqual(insert?.sink.spec, {
      name: 'kafkaSink',
      topic: 'test-topic',
      kafka: { 'bootstrap.servers': 'xx.xx.xx.xx:9092' },
      value: { kind: 'csv', columns: ['car_id', 'car_owner', 'car_brand', 'car_speed'] },
      mode: 'append',
      partitioner: 'round-robin',
    });
    assert.deepEqual(program.warnings, [`table "kafkaSink": 'connector.version' = '0.10' has no effect; Spillway speaks every Kafka version from 0.11 on`]);
    assert.deepEqual(program.sources.get('cars'), { connector: 'input' });
  });

  it('maps the field delimiter, update modes and connector.properties.*', async () => {
    const program = await translateSql(`CREATE TABLE s (id BIGINT, v STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector.type' = 'kafka', 'connector.topic' = 't',
      'connector.properties.bootstrap.servers' = 'h:1', 'connector.properties.compression.type' = 'gzip', 'format.type' = 'csv', 'format.field-delimiter' = '|', 'update-mode' = 'upsert');
      CREATE TABLE i (id BIGINT, v STRING); INSERT INTO s SELECT id, v FROM i;`);
    const spec = program.inserts[0]?.sink.spec;
    assert.deepEqual(spec?.value, { kind: 'csv', columns: ['id', 'v'], fieldDelimiter: '|' });
    assert.deepEqual(spec?.key, { kind: 'json', columns: ['id'], nestedDelimiter: false });
    assert.equal(spec?.mode, 'upsert');
    assert.deepEqual(spec?.kafka, { 'bootstrap.servers': 'h:1', 'compression.type': 'gzip' });
  });

  it('refuses a connector.version it does not know, and a partitioner it does not know', async () => {
    await refuses(dliSink.replace("'0.10'", "'0.8'") + 'CREATE TABLE c (a STRING, b STRING, c STRING, d INT); INSERT INTO kafkaSink SELECT * FROM c;', "job.sql:8:3: table \"kafkaSink\": 'connector.version' is '0.10', '0.11' or 'universal', not '0.8'");
    await refuses(dliSink.replace("'round-robin'", "'random'") + 'CREATE TABLE c (a STRING, b STRING, c STRING, d INT); INSERT INTO kafkaSink SELECT * FROM c;', "job.sql:11:3: table \"kafkaSink\": 'connector.sink-partitioner' is fixed, round-robin or custom, not 'random'");
  });

  it('refuses a Java partitioner class, saying to name a JavaScript module', async () => {
    const sql = dliSink.replace("'round-robin'", "'custom', 'connector.sink-partitioner-class' = 'org.mycompany.MyPartitioner'") + 'CREATE TABLE c (a STRING, b STRING, c STRING, d INT); INSERT INTO kafkaSink SELECT * FROM c;';
    const error = await refuses(sql, /^job\.sql:11:44: table "kafkaSink": the partitioner 'org\.mycompany\.MyPartitioner' looks like a Java class, which Spillway cannot run/);
    assert.equal(error.details.hint, "name a JavaScript module exporting partition(key, value, partitions), such as './my-partitioner.js'");
    assert.deepEqual([error.details.line, error.details.column], [11, 44]);
  });

  it('refuses custom without a class', async () => {
    await refuses(dliSink.replace("'round-robin'", "'custom'") + 'CREATE TABLE c (a STRING, b STRING, c STRING, d INT); INSERT INTO kafkaSink SELECT * FROM c;', /^job\.sql:11:3: table "kafkaSink": 'connector\.sink-partitioner' = 'custom' needs 'connector\.sink-partitioner-class'$/);
  });
});

describe("SQL: today's Flink keys", () => {
  it('upsert-kafka: the primary key in key.format, the value without it, a flush interval', async () => {
    const program = await translateSql(`CREATE TABLE counts (k_word STRING, n BIGINT, PRIMARY KEY (k_word) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'counts', ${BOOT},
      'key.format' = 'json', 'key.fields-prefix' = 'k_', 'value.format' = 'avro', 'value.fields-include' = 'EXCEPT_KEY', 'sink.buffer-flush.interval' = '2s', 'sink.delivery-guarantee' = 'none');
      CREATE TABLE w (k_word STRING, n BIGINT); INSERT INTO counts SELECT * FROM w;`);
    assert.deepEqual(program.inserts[0]?.sink.spec, {
      name: 'counts',
      topic: 'counts',
      kafka: { 'bootstrap.servers': '127.0.0.1:9' },
      key: { kind: 'json', columns: ['k_word'], nestedDelimiter: false, mapping: { k_word: 'word' } },
      value: { kind: 'avro', columns: ['n'], wireFormat: 'plain' },
      mode: 'upsert',
      delivery: 'none',
      trigger: { interval: '2s' },
    });
  });

  it("json.timestamp-format.standard: 'SQL' writes Flink's SQL text, 'ISO-8601' the default", async () => {
    const program = await translateSql(`CREATE TABLE s (a STRING, t TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json', 'json.timestamp-format.standard' = 'SQL');
      CREATE TABLE s2 (a STRING, t TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json', 'json.timestamp-format.standard' = 'ISO-8601');
      CREATE TABLE i (a STRING, t TIMESTAMP(3)); INSERT INTO s SELECT * FROM i; INSERT INTO s2 SELECT * FROM i;`);
    assert.deepEqual(program.inserts[0]?.sink.spec.value, { kind: 'json', columns: ['a', 't'], nestedDelimiter: false, timestamps: 'sql' });
    assert.deepEqual(program.inserts[1]?.sink.spec.value, { kind: 'json', columns: ['a', 't'], nestedDelimiter: false });
    const { plans } = await validateSql(`CREATE TABLE s (a STRING, t TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json', 'json.timestamp-format.standard' = 'SQL');
      CREATE TABLE i (a STRING, t TIMESTAMP(3)); INSERT INTO s SELECT * FROM i;`);
    const bytes = plans[0]?.valueEncoder.encode({ a: 'x', t: 1_714_564_800_123_000_000n });
    assert.equal(Buffer.from(bytes as Uint8Array).toString('utf8'), '{"a":"x","t":"2024-05-01 12:00:00.123"}');
  });

  it('sink.buffer-flush: max-rows with the interval, the interval alone, or both 0 (no buffer)', async () => {
    const sink = (options: string) => `CREATE TABLE s (a STRING, PRIMARY KEY (a) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 't', ${BOOT}, 'key.format' = 'json', 'value.format' = 'json'${options});
      CREATE TABLE i (a STRING); INSERT INTO s SELECT a FROM i;`;
    assert.deepEqual((await translateSql(sink(", 'sink.buffer-flush.interval' = '500 ms'"))).inserts[0]?.sink.spec.trigger, { interval: '500 ms' });
    assert.equal((await translateSql(sink(", 'sink.buffer-flush.max-rows' = '0', 'sink.buffer-flush.interval' = '0'"))).inserts[0]?.sink.spec.trigger, undefined);
    assert.equal((await translateSql(sink(", 'sink.buffer-flush.interval' = '0s'"))).inserts[0]?.sink.spec.trigger, undefined);
    await refuses(sink(", 'sink.buffer-flush.max-rows' = '0', 'sink.buffer-flush.interval' = '1s'"), /^job\.sql:1:\d+: table "s": 'sink\.buffer-flush\.max-rows' = '0' turns the buffer off, but 'sink\.buffer-flush\.interval' = '1s' turns it on/);
    await refuses(sink(", 'sink.buffer-flush.max-rows' = 'many'"), /'sink\.buffer-flush\.max-rows' is a whole number of rows, not 'many'/);
    assert.deepEqual((await translateSql(sink(", 'sink.buffer-flush.max-rows' = '1000', 'sink.buffer-flush.interval' = '1s'"))).inserts[0]?.sink.spec.trigger, { interval: '1s', maxRows: 1000 });
    await refuses(sink(", 'sink.buffer-flush.max-rows' = '10'"), /'sink\.buffer-flush\.max-rows' = '10' needs 'sink\.buffer-flush\.interval' too, as in Flink$/);
    await refuses(sink(", 'sink.buffer-flush.max-rows' = '10', 'sink.buffer-flush.interval' = '0'"), /needs 'sink\.buffer-flush\.interval' too/);
  });

  it('kafka with key.fields, csv options, avro-confluent and sink.partitioner', async () => {
    const program = await translateSql(`CREATE TABLE s (a STRING, b INT, c STRING) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'key.format' = 'csv', 'key.fields' = 'a;b',
      'key.csv.field-delimiter' = ';', 'value.format' = 'avro-confluent', 'value.avro-confluent.url' = 'http://r:8081', 'value.avro-confluent.subject' = 'subj', 'sink.partitioner' = 'fixed');
      CREATE TABLE i (a STRING, b INT, c STRING); INSERT INTO s SELECT * FROM i;`);
    const spec = program.inserts[0]?.sink.spec;
    assert.deepEqual(spec?.key, { kind: 'csv', columns: ['a', 'b'], fieldDelimiter: ';' });
    assert.deepEqual(spec?.value, { kind: 'avro', columns: ['a', 'b', 'c'], wireFormat: 'confluent', registry: { subject: 'subj' } });
    assert.equal(spec?.kafka['schema.registry.url'], 'http://r:8081');
    assert.equal(spec?.partitioner, 'fixed');
  });

  it('refuses an unknown key naming the nearest one, at its position', async () => {
    const error = await refuses(
      `CREATE TABLE s (a STRING) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT},\n  'format' = 'json', 'sink.partioner' = 'fixed');\nCREATE TABLE i (a STRING); INSERT INTO s SELECT a FROM i;`,
      "job.sql:2:22: table \"s\": the option 'sink.partioner' is not supported by the kafka connector; did you mean 'sink.partitioner'?",
    );
    assert.equal(error.code, ErrorCode.InvalidConfig);
  });

  it('maps exactly-once and sink.transactional-id-prefix onto the sink', async () => {
    const { plans } = await validateSql(
      `CREATE TABLE s (a STRING) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json', 'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'orders'); CREATE TABLE i (a STRING); INSERT INTO s SELECT a FROM i;`,
    );
    assert.equal(plans[0]?.spec.delivery, 'exactly-once');
    assert.equal(plans[0]?.settings.transactionalId, 'orders-0');
  });

  it('refuses what it cannot do: other timestamp standards, a transactional id prefix without exactly-once, a missing primary key', async () => {
    const tail = 'CREATE TABLE i (a STRING); INSERT INTO s SELECT a FROM i;';
    const standard = await refuses(`CREATE TABLE s (a STRING) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json', 'json.timestamp-format.standard' = 'RFC-3339'); ${tail}`, /'json\.timestamp-format\.standard' = 'RFC-3339' is not supported$/);
    assert.equal(standard.details.hint, "use 'ISO-8601' or 'SQL'");
    const prefix = await refuses(`CREATE TABLE s (a STRING) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json', 'sink.transactional-id-prefix' = 'x'); ${tail}`, /'sink\.transactional-id-prefix' applies to exactly-once delivery only$/);
    assert.equal(prefix.details.hint, "set 'sink.delivery-guarantee' = 'exactly-once', or remove it");
    await refuses(`CREATE TABLE s (a STRING) WITH ('connector' = 'upsert-kafka', 'topic' = 't', ${BOOT}, 'key.format' = 'json', 'value.format' = 'json'); ${tail}`, /an upsert-kafka table needs a primary key/);
    await refuses(`CREATE TABLE s (a STRING) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json', 'scan.startup.mode' = 'latest-offset'); ${tail}`, /the option 'scan\.startup\.mode' has no effect when the table is written/);
    const delimiter = await refuses(`CREATE TABLE s (a STRING) WITH ('connector.type' = 'kafka', 'connector.topic' = 't', 'connector.properties.bootstrap.servers' = '127.0.0.1:9092', 'format.type' = 'json', 'format.field-delimiter' = ';'); ${tail}`, /the option 'format\.field-delimiter' has no effect unless the format is 'csv'$/);
    assert.equal(delimiter.details.hint, "set 'format.type' = 'csv' or remove it");
    const quote = await refuses(`CREATE TABLE s (a STRING) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'value.format' = 'json', 'value.csv.quote-character' = '|'); ${tail}`, /the option 'value\.csv\.quote-character' has no effect unless the format is 'csv'$/);
    assert.equal(quote.details.hint, "set 'value.format' = 'csv' or remove it");
    await refuses(`CREATE TABLE s (a STRING) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json', 'properties.colour' = 'red'); ${tail}`, /`colour` is not a Kafka producer property of librdkafka or the Java client/);
  });

  it('maps Flink types to Spillway types, nullable unless NOT NULL or in the primary key', async () => {
    const { plans } = await validateSql(`CREATE TABLE s (a STRING, b VARCHAR(20), c BOOLEAN, d INT, e BIGINT, f DOUBLE, g FLOAT, h DECIMAL(10, 2), i DATE, j TIMESTAMP(3), k TIMESTAMP, l BYTES, m TINYINT NOT NULL, PRIMARY KEY (a) NOT ENFORCED)
      WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json');
      CREATE TABLE i (a STRING, b VARCHAR(20), c BOOLEAN, d INT, e BIGINT, f DOUBLE, g FLOAT, h DECIMAL(10, 2), i DATE, j TIMESTAMP(3), k TIMESTAMP, l BYTES, m TINYINT NOT NULL);
      INSERT INTO s SELECT * FROM i;`);
    const columns = plans[0]?.table.schema.columns.map((column) => [column.name, column.type, column.nullable, column.unit ?? column.precision ?? null, column.scale ?? null]);
    assert.deepEqual(columns, [
      ['a', 'string', false, null, null],
      ['b', 'string', true, null, null],
      ['c', 'boolean', true, null, null],
      ['d', 'int32', true, null, null],
      ['e', 'int64', true, null, null],
      ['f', 'float64', true, null, null],
      ['g', 'float64', true, null, null],
      ['h', 'decimal', true, 10, 2],
      ['i', 'date', true, null, null],
      ['j', 'timestamp', true, 'ms', null],
      ['k', 'timestamp', true, 'us', null],
      ['l', 'bytes', true, null, null],
      ['m', 'int32', false, null, null],
    ]);
  });

  it('refuses types it has no column type for', async () => {
    await refuses("CREATE TABLE s (a ARRAY<INT>) WITH ('connector' = 'datagen');", /^job\.sql:1:19: the type ARRAY<INT> is not supported$/);
  });
});

describe('SQL: sources', () => {
  it('datagen with Flink\'s options', async () => {
    const program = await translateSql(`CREATE TABLE g (id BIGINT, name STRING, score INT, ts TIMESTAMP(3)) WITH ('connector' = 'datagen', 'rows-per-second' = '5', 'number-of-rows' = '20',
      'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100', 'fields.name.length' = '4', 'fields.score.min' = '1', 'fields.score.max' = '9', 'fields.score.null-rate' = '0.5', 'fields.ts.max-past' = '5 min');
      CREATE TABLE s (id BIGINT, name STRING, score INT, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json'); INSERT INTO s SELECT * FROM g;`);
    assert.deepEqual(program.sources.get('g'), {
      connector: 'datagen',
      rowsPerSecond: 5,
      numberOfRows: 20,
      fields: {
        id: { kind: 'sequence', start: 1n, end: 100n, nullRate: 0, maxPastMs: 0 },
        name: { kind: 'random', length: 4, nullRate: 0, maxPastMs: 0 },
        score: { kind: 'random', min: 1, max: 9, nullRate: 0.5, maxPastMs: 0 },
        ts: { kind: 'random', nullRate: 0, maxPastMs: 300_000 },
      },
    });
  });

  it('filesystem CSV followed, and a Kafka topic (upsert)', async () => {
    const program = await translateSql(`CREATE TABLE f (a STRING, b INT) WITH ('connector' = 'filesystem', 'path' = 'in.csv', 'format' = 'csv', 'csv.field-delimiter' = ';', 'source.monitor-interval' = '1s');
      CREATE TABLE k (id BIGINT, v STRING, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'in', ${BOOT}, 'value.format' = 'json');
      CREATE TABLE s (a STRING, b INT) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json');
      CREATE TABLE s2 (id BIGINT, v STRING) WITH ('connector' = 'kafka', 'topic' = 't2', ${BOOT}, 'format' = 'json', 'update-mode' = 'retract');
      INSERT INTO s SELECT * FROM f; INSERT INTO s2 SELECT * FROM k;`);
    assert.deepEqual(program.sources.get('f'), { connector: 'filesystem', path: 'in.csv', format: 'csv', delimiter: ';', followMs: 1000 });
    assert.deepEqual(program.sources.get('k'), { connector: 'kafka', topic: 'in', kafkaConfig: { 'bootstrap.servers': '127.0.0.1:9' }, mode: 'upsert', startFrom: 'earliest' });
  });

  it('refuses datagen options on a column it lacks, and sequences without an end', async () => {
    const tail = `CREATE TABLE s (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json'); INSERT INTO s SELECT * FROM g;`;
    await refuses(`CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.nope.min' = '1'); ${tail}`, "job.sql:1:59: table \"g\": 'fields.nope.min' names \"nope\", which is not a column");
    await refuses(`CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1'); ${tail}`, "job.sql:1:59: table \"g\": a sequence needs 'fields.id.start' and 'fields.id.end'");
  });
});

describe('SQL: statements and errors at their position', () => {
  it('a syntax error, with its line and column', async () => {
    const error = await refuses('CREATE TABLE a (x INT) WITH (\'connector\' = \'datagen\');\nINSERT INTO s SELEC x FROM a', /^job\.sql:2:15: syntax error: /);
    assert.deepEqual([error.details.line, error.details.column], [2, 15]);
  });

  it('unsupported constructs say what is supported', async () => {
    const head = `CREATE TABLE a (x INT, y INT) WITH ('connector' = 'datagen'); CREATE TABLE b (x INT, y INT) WITH ('connector' = 'datagen');
CREATE TABLE s (x INT) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json');\n`;
    await refuses(`${head}INSERT INTO s SELECT x FROM a JOIN b ON a.x = b.x`, 'job.sql:3:24: this FROM clause (joins, subqueries, table functions, windows) is not supported; Spillway supports FROM one table or view');
    await refuses(`${head}INSERT INTO s SELECT x FROM a ORDER BY x`, /^job\.sql:3:15: the query "SELECT x FROM a ORDER BY x" is not supported; Spillway supports SELECT … FROM table \[WHERE …\] \[GROUP BY …\]/);
    await refuses(`${head}DROP TABLE a`, 'job.sql:3:1: the statement "DROP TABLE a" is not supported; Spillway supports CREATE TABLE, CREATE VIEW … AS SELECT and INSERT INTO … SELECT');
    await refuses(`${head}INSERT INTO s SELECT DISTINCT x FROM a`, /^job\.sql:3:22: "DISTINCT" in SELECT is not supported/);
    await refuses(`${head}INSERT INTO s SELECT TO_BASE64(x) FROM a`, /^job\.sql:3:22: the function TO_BASE64 is not supported/);
    await refuses(`${head}INSERT INTO s SELECT z FROM a`, 'job.sql:3:22: unknown column "z"; the columns are: x, y');
    await refuses(`${head}INSERT INTO s SELECT x FROM nope`, /^job\.sql:3:29: unknown table or view "nope"/);
    await refuses(`${head}INSERT INTO s SELECT x, y FROM a`, 'job.sql:3:15: the query gives 2 columns but "s" takes 1 (x)');
    await refuses(`${head}INSERT INTO s SELECT CAST(x AS STRING) FROM a`, /^job\.sql:3:22: column 1 of the query is string but "s"\.x is int32/);
    await refuses(`${head}INSERT INTO s SELECT x FROM a GROUP BY y`, /^job\.sql:3:22: the column "x" is neither in GROUP BY nor inside an aggregate/);
    await refuses(`${head}INSERT INTO s SELECT x FROM a WHERE x || 'a' = 'b'`, /^job\.sql:3:37: \|\| joins strings, not int32/);
    await refuses(`${head}INSERT INTO s SELECT x FROM a WHERE x`, /"x" is int32, not a condition/);
  });

  it('a job that never writes is refused', async () => {
    await refuses("CREATE TABLE a (x INT) WITH ('connector' = 'datagen');", 'job.sql: no INSERT INTO; a job writes with INSERT INTO sink SELECT … FROM source');
  });

  it('plans an aggregation as upsert into upsert-kafka, and refuses it in append mode', async () => {
    const source = "CREATE TABLE w (word STRING, n INT) WITH ('connector' = 'datagen');";
    const { plans } = await validateSql(`${source} CREATE TABLE c (word STRING, total BIGINT, PRIMARY KEY (word) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 't', ${BOOT}, 'key.format' = 'json', 'value.format' = 'json');
      INSERT INTO c SELECT word, SUM(n) FROM w GROUP BY word;`);
    assert.equal(plans[0]?.mode, 'upsert');
    await refuses(`${source} CREATE TABLE c (word STRING, total BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json'); INSERT INTO c SELECT word, SUM(n) FROM w GROUP BY word;`, /table "c": .*update mode "append"/s);
  });
});

describe('SQL: a program of tables and views (buildSqlRelations)', () => {
  it('builds the input tables and every view over them, connecting to nothing', async () => {
    const { inputs, relations } = await buildSqlRelations(`CREATE TABLE sales (id INT, book STRING, qty INT, PRIMARY KEY (id) NOT ENFORCED);
      CREATE VIEW big AS SELECT book, qty FROM sales WHERE qty > 1;
      CREATE VIEW totals AS SELECT book, SUM(qty) AS total FROM big GROUP BY book;`);
    assert.deepEqual([...inputs.keys()], ['sales']);
    assert.ok(inputs.get('sales') instanceof InputTable);
    assert.deepEqual([...relations.keys()], ['sales', 'big', 'totals']);
    assert.equal(relations.get('sales'), inputs.get('sales'));
    assert.deepEqual(relations.get('totals')?.schema.columns.map((column) => column.name), ['book', 'total']);
    assert.deepEqual(relations.get('sales')?.schema.columns.find((column) => column.name === 'id')?.nullable, false);
  });

  it('refuses INSERT INTO, a program without tables, a table with a connector, and bad views, at their positions', async () => {
    const rejects = async (text: string, message: RegExp) => {
      await assert.rejects(buildSqlRelations(text, { source: 'prog.sql' }), (error: unknown) => {
        assert.ok(error instanceof SpillwayError);
        assert.match(error.message, message);
        return true;
      });
    };
    await rejects(`CREATE TABLE a (x INT);\nINSERT INTO a SELECT x FROM a;`, /^prog\.sql:2:1: INSERT INTO is not allowed: the program declares tables and views only$/);
    await rejects('CREATE VIEW v AS SELECT 1 AS x FROM t;', /^prog\.sql: the program declares no table; declare the input tables with CREATE TABLE$/);
    await rejects("CREATE TABLE a (x INT) WITH ('connector' = 'datagen');", /^prog\.sql: the table "a" has a 'datagen' connector; a program's tables are input tables in this version$/);
    await rejects('CREATE TABLE a (x INT); CREATE VIEW v AS SELECT y FROM a;', /^prog\.sql:1:\d+: .*"y"/);
    await rejects('CREATE TABLE a (x INT); CREATE VIEW v AS SELECT x FROM b;', /^prog\.sql:1:\d+: unknown table or view "b"/);
  });
});

describe('SQL: options refused where they would have no effect', () => {
  const sink = `CREATE TABLE s (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, 'format' = 'json');`;
  const readG = `${sink} INSERT INTO s SELECT * FROM g;`;
  const intoS = (options: string) => `CREATE TABLE i (id BIGINT); CREATE TABLE s (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', ${BOOT}, ${options}); INSERT INTO s SELECT * FROM i;`;

  it('refuses PRIMARY KEY on a datagen, filesystem or kafka table that is read, and keeps it on upsert-kafka', async () => {
    const appended = (connector: string) => `job.sql:1:1: table "g": PRIMARY KEY (id) has no effect when a ${connector} table is read: its rows are appended, never updated by key`;
    let error = await refuses(`CREATE TABLE g (id BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'datagen'); ${readG}`, appended('datagen'));
    assert.equal(error.details.hint, 'remove PRIMARY KEY; declare the columns NOT NULL if they must not be null');
    await refuses(`CREATE TABLE g (id BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'filesystem', 'path' = 'x.csv', 'format' = 'csv'); ${readG}`, appended('filesystem'));
    error = await refuses(`CREATE TABLE g (id BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'kafka', 'topic' = 'in', ${BOOT}, 'format' = 'json'); ${readG}`, appended('kafka'));
    assert.equal(error.details.hint, "read it with 'connector' = 'upsert-kafka' to keep one row per key, or remove PRIMARY KEY");
    const program = await translateSql(`CREATE TABLE g (id BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'in', ${BOOT}, 'value.format' = 'json'); ${readG}`);
    const read = program.sources.get('g');
    assert.equal(read?.connector === 'kafka' ? read.mode : undefined, 'upsert');
  });

  it("warns that 'key.format' changes nothing on an upsert-kafka table that is read (the key columns come from the value)", async () => {
    const { warnings } = await translateSql(
      `CREATE TABLE g (id BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'in', ${BOOT}, 'key.format' = 'json', 'value.format' = 'json'); ${readG}`,
      { source: 'job.sql' },
    );
    assert.deepEqual(warnings, [
      "table \"g\": 'key.format' has no effect when an upsert-kafka table is read: the primary key's columns are read from the JSON value, and a tombstone's record key is matched by its bytes",
    ]);
  });

  it("checks 'connector.version' on a Kafka source as on a sink, with a warning", async () => {
    const dli = (version: string) => `CREATE TABLE g (id BIGINT) WITH ('connector.type' = 'kafka', 'connector.version' = '${version}', 'connector.topic' = 'in', ${BOOT}, 'format.type' = 'json'); ${readG}`;
    const { warnings } = await validateSql(dli('0.11'), { source: 'job.sql' });
    assert.deepEqual(warnings, [`table "g": 'connector.version' = '0.11' has no effect; Spillway speaks every Kafka version from 0.11 on`]);
    await refuses(dli('0.9'), "job.sql:1:62: table \"g\": 'connector.version' is '0.10', '0.11' or 'universal', not '0.9'");
  });

  it("reads 'avro-confluent.url' for avro-confluent only, and not with 'properties.schema.registry.url'", async () => {
    const program = await translateSql(intoS("'format' = 'avro-confluent', 'avro-confluent.url' = 'http://r:8081'"));
    assert.deepEqual(program.inserts[0]?.sink.spec.kafka, { 'bootstrap.servers': '127.0.0.1:9', 'schema.registry.url': 'http://r:8081' });
    let error = await refuses(intoS("'format' = 'json', 'avro-confluent.url' = 'http://r:8081'"), "job.sql:1:167: table \"s\": the option 'avro-confluent.url' has no effect unless the format is 'avro-confluent'");
    assert.equal(error.details.hint, "set 'format' = 'avro-confluent' or remove it");
    await refuses(intoS("'format' = 'avro', 'avro-confluent.url' = 'http://r:8081'"), "job.sql:1:167: table \"s\": the option 'avro-confluent.url' has no effect unless the format is 'avro-confluent'");
    error = await refuses(
      intoS("'properties.schema.registry.url' = 'http://p:8081', 'format' = 'avro-confluent', 'avro-confluent.url' = 'http://r:8081'"),
      "job.sql:1:148: table \"s\": 'properties.schema.registry.url' and 'avro-confluent.url' both set the schema registry URL; keep one",
    );
    assert.equal(error.details.hint, "keep 'avro-confluent.url', Flink's option for avro-confluent");
    await refuses(
      intoS("'key.fields' = 'id', 'key.format' = 'avro-confluent', 'key.avro-confluent.url' = 'http://k:8081', 'value.format' = 'avro-confluent', 'value.avro-confluent.url' = 'http://r:8081'"),
      "job.sql:1:202: table \"s\": 'key.avro-confluent.url' names another schema registry than 'value.avro-confluent.url'; the key and the value use one registry",
    );
  });

  it('refuses datagen field options on column types and kinds that never read them', async () => {
    const datagen = (options: string) => `CREATE TABLE g (id INT, t STRING, ts TIMESTAMP(3)) WITH ('connector' = 'datagen', ${options}); ${sink} INSERT INTO s SELECT id FROM g;`;
    const error = await refuses(datagen("'fields.id.length' = '3'"), "job.sql:1:83: table \"g\": 'fields.id.length' applies to random strings and bytes, not to the int32 column \"id\"");
    assert.equal(error.details.hint, 'remove it');
    await refuses(datagen("'fields.t.min' = '3'"), "job.sql:1:83: table \"g\": 'fields.t.min' applies to random numbers, not to the string column \"t\"");
    await refuses(datagen("'fields.ts.max' = '3'"), "job.sql:1:83: table \"g\": 'fields.ts.max' applies to random numbers, not to the timestamp column \"ts\"");
    await refuses(datagen("'fields.id.max-past' = '5 min'"), "job.sql:1:83: table \"g\": 'fields.id.max-past' applies to random dates and timestamps, not to the int32 column \"id\"");
    await refuses(
      datagen("'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '5', 'fields.id.max' = '3'"),
      "job.sql:1:162: table \"g\": 'fields.id.max' applies to random values, but \"id\" is a sequence (from 'fields.id.start' to 'fields.id.end')",
    );
  });

  it("refuses a 'source.monitor-interval' outside 10 ms to 60 s instead of clamping it", async () => {
    const followed = (interval: string) => `CREATE TABLE g (id BIGINT) WITH ('connector' = 'filesystem', 'path' = 'x.csv', 'format' = 'csv', 'source.monitor-interval' = '${interval}'); ${readG}`;
    await refuses(followed('5 ms'), "job.sql:1:98: table \"g\": 'source.monitor-interval' is from 10 ms to 60 s, not '5 ms'");
    await refuses(followed('2 min'), "job.sql:1:98: table \"g\": 'source.monitor-interval' is from 10 ms to 60 s, not '2 min'");
    const program = await translateSql(followed('60 s'));
    const read = program.sources.get('g');
    assert.equal(read?.connector === 'filesystem' ? read.followMs : undefined, 60_000);
  });

  it("checks a Kafka source's properties as its reader takes them, and passes their warnings on", async () => {
    const kafka = (properties: string) => `CREATE TABLE g (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'in', ${properties}'format' = 'json');`;
    await refuses(
      `${kafka(`${BOOT}, 'properties.bogus.prop' = 'x', `)} ${readG}`,
      'job.sql:1:1: table "g" has invalid Kafka properties:\n  - `bogus.prop` is not a Kafka consumer property of librdkafka or the Java client (the names are listed in docs/properties.md)',
    );
    await refuses(`${kafka('')} ${readG}`, 'job.sql:1:1: table "g" has invalid Kafka properties:\n  - `bootstrap.servers` is required: the brokers to connect to, as host:port[,host:port]');
    const warning = 'table "g": `linger.ms` is a producer property; a Kafka-topic table only reads, so it has no effect';
    const lingering = kafka(`${BOOT}, 'properties.linger.ms' = '5', `);
    assert.deepEqual((await validateSql(`${lingering} ${readG}`)).warnings, [warning]);
    const relations = await buildSqlRelations(lingering, { connectorTables: 'stand-in' });
    assert.deepEqual(relations.warnings, [warning]);
    await relations.close();
  });
});
