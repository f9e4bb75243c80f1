/**
 * Pipelines over the REST API with the in-memory writer: a SQL program of tables and views,
 * output connectors attached to a view, rows through ingress in every format, the changes as
 * Feldera insert_delete records that fold to the view, per-connector metrics, errors at their
 * field, Prometheus metrics, and a restart on the same data directory.
 */
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createService } from '../../src/service/server.ts';
import { foldRetract, fromKafkaRecords, insertDeleteDecoder } from '../helpers/changelog-fold.ts';
import { SALES_PROGRAM, type TestService, connectorBody, testService } from './service-helpers.ts';

const attached = [{ name: 'out', connector_name: 'total-sales', relation_name: 'total_sales', is_input: false }];

async function settle(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('REST pipelines', () => {
  const t: TestService = testService();
  after(() => t.service.close());
  const inject = t.service.app.inject.bind(t.service.app);
  const topicRecords = () => fromKafkaRecords(t.writer.topics.get('total-sales')?.flat() ?? []);
  const ingress = (query: string, payload: string) =>
    inject({ method: 'POST', url: `/v0/pipelines/books/ingress/sales?${query}`, headers: { ...t.write, 'content-type': 'text/plain' }, payload });

  it('accepts a program and attachment, runs it, and writes the view\'s changes as insert_delete records', async () => {
    assert.equal((await inject({ method: 'PUT', url: '/v0/connectors/total-sales', headers: t.write, payload: connectorBody('total-sales') })).statusCode, 201);
    const put = await inject({ method: 'PUT', url: '/v0/pipelines/books', headers: t.write, payload: { program: SALES_PROGRAM, attached_connectors: attached } });
    assert.equal(put.statusCode, 201, put.body);
    assert.equal(put.json<{ state: { current_status: string } }>().state.current_status, 'Shutdown');
    const notRunning = await ingress('format=json', '{"id":1,"book":"a","amount":1}');
    assert.equal(notRunning.statusCode, 409);
    assert.match(notRunning.json<{ message: string }>().message, /is Shutdown; start it with POST \/v0\/pipelines\/books\/start/);
    const started = await inject({ method: 'POST', url: '/v0/pipelines/books/start', headers: t.write });
    assert.equal(started.statusCode, 200, started.body);
    assert.equal(started.json<{ state: { current_status: string } }>().state.current_status, 'Running');

    assert.equal((await ingress('format=json&update_format=raw', '{"id":1,"book":"Dune","amount":10}\n{"id":2,"book":"Emma","amount":5}\n')).statusCode, 200);
    assert.equal((await ingress('format=json&update_format=insert_delete&array=true', '[{"insert":{"id":3,"book":"Dune","amount":7}},{"delete":{"id":2,"book":"Emma","amount":5}}]')).statusCode, 200);
    const csv = await ingress('format=csv', '4,"Ulysses, annotated",3\n5,Emma,1\n');
    assert.deepEqual(csv.json(), { table: 'sales', changes: 2 });
    await settle(() => foldRetract(topicRecords(), insertDeleteDecoder).length === 3);
    assert.deepEqual(foldRetract(topicRecords(), insertDeleteDecoder), ['{"book":"Dune","total":17}', '{"book":"Emma","total":1}', '{"book":"Ulysses, annotated","total":3}']);
    for (const record of topicRecords()) assert.match(record.value ?? '', /^\{"(insert|delete)":\{"book":/);

    const status = await inject({ method: 'GET', url: '/v0/pipelines/books', headers: t.read });
    const body = status.json<{ tables: string[]; connectors: { name: string; topic: string; state: string; metrics: { records: number; rows: number } }[] }>();
    assert.deepEqual(body.tables, ['sales']);
    assert.equal(body.connectors[0]?.topic, 'total-sales');
    assert.equal(body.connectors[0]?.state, 'running');
    assert.equal(body.connectors[0]?.metrics.records, topicRecords().length);

    const metrics = await inject({ method: 'GET', url: '/metrics', headers: t.read });
    assert.match(metrics.headers['content-type'] as string, /^text\/plain/);
    assert.match(metrics.body, new RegExp(`spillway_connector_records_total\\{pipeline="books",connector="out",topic="total-sales"\\} ${topicRecords().length}\\n`));
    assert.match(metrics.body, /spillway_connector_bytes_total\{pipeline="books",connector="out",topic="total-sales"\} [1-9]\d*/);
    assert.match(metrics.body, /spillway_connector_queue_depth\{pipeline="books",connector="out",topic="total-sales"\} 0/);
    assert.match(metrics.body, /spillway_pipeline_running\{pipeline="books"\} 1/);
  });

  const badIngress: { name: string; query: string; body: string; status: number; message: RegExp }[] = [
    { name: 'an unknown table', query: '', body: '{}', status: 400, message: /has no input table "nope"; its tables are: sales/ },
    { name: 'an unknown column', query: 'format=json&update_format=raw', body: '{"id":9,"title":"x","amount":1}', status: 400, message: /names "title", not a column; the columns are: id, book, amount/ },
    { name: 'a value of the wrong type', query: 'format=json&update_format=raw', body: '{"id":"nine","book":"x","amount":1}', status: 400, message: /id/ },
    { name: 'malformed JSON', query: 'format=json', body: '{"id":', status: 400, message: /the body is not valid JSON/ },
    { name: 'an event with two keys', query: 'format=json&update_format=insert_delete', body: '{"insert":{},"delete":{}}', status: 400, message: /exactly one key, "insert" or "delete"/ },
    { name: 'array=true without an array', query: 'format=json&array=true', body: '{"id":1}', status: 400, message: /with array=true the body is one JSON array/ },
    { name: 'an unsupported format', query: 'format=avro', body: 'x', status: 400, message: /format "avro" is not supported for ingress; use format=json or format=csv/ },
    { name: 'an unsupported update_format', query: 'format=json&update_format=debezium', body: '{}', status: 400, message: /update_format "debezium" is not supported for ingress; use raw or insert_delete/ },
    { name: 'a CSV line with too few fields', query: 'format=csv', body: '1,Dune\n', status: 400, message: /CSV line 1 has 2 fields but the table has 3 columns \(id, book, amount\)/ },
    { name: 'a CSV field that is not a number', query: 'format=csv', body: '1,Dune,ten\n', status: 400, message: /"ten" is not a int32 for the column "amount"/ },
    { name: 'an unknown query parameter', query: 'format=json&colour=red', body: '{}', status: 400, message: /unknown query parameter "colour"/ },
  ];
  for (const { name, query, body, status, message } of badIngress) {
    it(`refuses ingress with ${name}, changing nothing`, async () => {
      const before = topicRecords().length;
      const table = name === 'an unknown table' ? 'nope' : 'sales';
      const response = await inject({ method: 'POST', url: `/v0/pipelines/books/ingress/${table}?${query}`, headers: { ...t.write, 'content-type': 'text/plain' }, payload: body });
      assert.equal(response.statusCode, status, response.body);
      assert.match(response.json<{ message: string }>().message, message);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(topicRecords().length, before);
    });
  }

  it('applies nothing of a body when one of its rows is bad', async () => {
    const before = topicRecords().length;
    const response = await ingress('format=json&update_format=raw', '{"id":60,"book":"Valid","amount":1}\n{"id":61,"book":"Bad","amount":"lots"}');
    assert.equal(response.statusCode, 400);
    assert.match(response.json<{ message: string }>().message, /value 2/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(topicRecords().length, before);
  });

  it('refuses to change or delete a running pipeline, then shuts it down and resumes it after a restart', async () => {
    const change = await inject({ method: 'PUT', url: '/v0/pipelines/books', headers: t.write, payload: { program: SALES_PROGRAM, attached_connectors: attached } });
    assert.equal(change.statusCode, 409);
    assert.match(change.json<{ message: string }>().message, /is running; shut it down before changing it/);
    assert.equal((await inject({ method: 'DELETE', url: '/v0/pipelines/books', headers: t.write })).statusCode, 409);
    assert.equal((await inject({ method: 'DELETE', url: '/v0/connectors/total-sales', headers: t.write })).statusCode, 409);

    await t.service.close();
    const again = createService({ dataDir: t.dataDir, dependencies: { createWriter: () => new MemoryWriter() }, log: () => {} });
    try {
      await again.app.ready();
      const listed = await again.app.inject({ method: 'GET', url: '/v0/pipelines', headers: t.read });
      assert.equal(listed.statusCode, 200, 'the key still works after a restart');
      assert.deepEqual(listed.json<{ name: string; state: { desired_status: string } }[]>().map((p) => [p.name, p.state.desired_status]), [['books', 'Running']]);
      await again.listen(0, '127.0.0.1');
      const resumed = await again.app.inject({ method: 'GET', url: '/v0/pipelines/books', headers: t.read });
      assert.equal(resumed.json<{ state: { current_status: string } }>().state.current_status, 'Running');
      const pushed = await again.app.inject({ method: 'POST', url: '/v0/pipelines/books/ingress/sales?format=json&update_format=raw', headers: { ...t.write, 'content-type': 'application/json' }, payload: '{"id":1,"book":"Dune","amount":2}' });
      assert.equal(pushed.statusCode, 200, pushed.body);
      const down = await again.app.inject({ method: 'POST', url: '/v0/pipelines/books/shutdown', headers: t.write });
      assert.equal(down.json<{ state: { current_status: string; desired_status: string } }>().state.current_status, 'Shutdown');
      assert.equal((await again.app.inject({ method: 'DELETE', url: '/v0/pipelines/books', headers: t.write })).statusCode, 200);
      const gone = await again.app.inject({ method: 'GET', url: '/v0/pipelines/books', headers: t.read });
      assert.equal(gone.statusCode, 404);
      assert.equal(gone.json<{ error_code: string }>().error_code, 'UnknownPipelineName');
    } finally {
      await again.close();
    }
  });
});

describe('REST pipeline definitions refused at their field', () => {
  const t: TestService = testService();
  after(() => t.service.close());
  const inject = t.service.app.inject.bind(t.service.app);
  const cases: { name: string; body: unknown; field?: string; message: RegExp }[] = [
    { name: 'an unknown relation', body: { program: SALES_PROGRAM, attached_connectors: [{ ...attached[0], relation_name: 'totals' }] }, field: 'attached_connectors.0.relation_name', message: /no table or view "totals"; .*sales, total_sales/ },
    { name: 'an unknown connector', body: { program: SALES_PROGRAM, attached_connectors: [{ ...attached[0], connector_name: 'missing' }] }, field: 'attached_connectors.0.connector_name', message: /no connector "missing"/ },
    { name: 'an input connector', body: { program: SALES_PROGRAM, attached_connectors: [{ ...attached[0], is_input: true }] }, field: 'attached_connectors.0.is_input', message: /^pipeline "p": attached_connectors\.0\.is_input: the connector "total-sales" is an output connector; set is_input to false, or attach an input connector$/ },
    { name: 'a missing is_input', body: { program: SALES_PROGRAM, attached_connectors: [{ name: 'out', connector_name: 'total-sales', relation_name: 'total_sales' }] }, field: 'attached_connectors.0.is_input', message: /attached_connectors\.0\.is_input/ },
    { name: 'an INSERT INTO', body: { program: `${SALES_PROGRAM} INSERT INTO sales SELECT * FROM sales;`, attached_connectors: [] }, field: 'program', message: /declares tables and views only/ },
    { name: 'a SQL syntax error', body: { program: 'CREATE TABLE sales (id INT,, book STRING);' }, message: /pipeline "p":1:/ },
    { name: 'a view over an unknown table', body: { program: 'CREATE TABLE a (x INT); CREATE VIEW v AS SELECT x FROM b;' }, message: /unknown table or view "b"/ },
    { name: 'a Kafka source table with a misspelt property', body: { program: "CREATE TABLE a (x INT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'properties.fetch.max.bytez' = '1', 'format' = 'json');" }, field: 'program', message: /^pipeline "p":1:1: table "a" has invalid Kafka properties:\n {2}- `fetch\.max\.bytez` is not a Kafka consumer property/ },
    { name: 'a source table with a bad option', body: { program: "CREATE TABLE a (x INT) WITH ('connector' = 'datagen', 'rows-per-second' = '0');" }, field: 'program', message: /^pipeline "p":1:\d+: table "a": 'rows-per-second' must be positive/ },
    { name: 'an unknown field', body: { program: SALES_PROGRAM, config: {} }, message: /unknown option\(s\) "config"/ },
  ];
  for (const { name, body, field, message } of cases) {
    it(`answers 400 for ${name}`, async () => {
      await inject({ method: 'PUT', url: '/v0/connectors/total-sales', headers: t.write, payload: connectorBody('total-sales') });
      const response = await inject({ method: 'PUT', url: '/v0/pipelines/p', headers: t.write, payload: body as Record<string, unknown> });
      assert.equal(response.statusCode, 400, response.body);
      const error = response.json<{ message: string; details: { field?: string } }>();
      assert.match(error.message, message);
      if (field !== undefined) assert.equal(error.details.field, field);
      assert.equal((await inject({ method: 'GET', url: '/v0/pipelines/p', headers: t.read })).statusCode, 404);
    });
  }
});

describe('REST pipeline failures', () => {
  it('records a failing connector\'s error with its secrets redacted, in responses, the status and the log', async () => {
    const writers: MemoryWriter[] = [];
    const t: TestService = testService(undefined, () => writers[writers.push(new MemoryWriter()) - 1] as MemoryWriter);
    try {
      const inject = t.service.app.inject.bind(t.service.app);
      const secret = 's3cr3t-that-must-not-leak';
      await inject({ method: 'PUT', url: '/v0/connectors/total-sales', headers: t.write, payload: connectorBody('total-sales', 'b:9092', { 'sasl.password': secret, 'sasl.username': 'u', 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN' }) });
      assert.equal((await inject({ method: 'PUT', url: '/v0/pipelines/books', headers: t.write, payload: { program: SALES_PROGRAM, attached_connectors: attached } })).statusCode, 201);
      assert.equal((await inject({ method: 'POST', url: '/v0/pipelines/books/start', headers: t.write })).statusCode, 200);
      // The client's error quotes the password, as a careless library might.
      (writers[0] as MemoryWriter).failNextWrite = new Error(`SASL authentication failed for user u with password ${secret}`);
      await inject({ method: 'POST', url: '/v0/pipelines/books/ingress/sales', headers: { ...t.write, 'content-type': 'text/plain' }, payload: '{"insert":{"id":1,"book":"Dune","amount":1}}' });
      let status = await inject({ method: 'GET', url: '/v0/pipelines/books', headers: t.read });
      for (let i = 0; i < 100 && status.json<{ state: { current_status: string } }>().state.current_status !== 'Failed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        status = await inject({ method: 'GET', url: '/v0/pipelines/books', headers: t.read });
      }
      const body = status.json<{ state: { current_status: string }; errors: { connector: string; message: string }[]; connectors: { errors: { message: string }[] }[] }>();
      assert.equal(body.state.current_status, 'Failed');
      assert.equal(body.errors[0]?.connector, 'out');
      assert.match(body.errors[0]?.message ?? '', /password \[redacted\]/);
      assert.match(body.connectors[0]?.errors[0]?.message ?? '', /password \[redacted\]/);
      const overview = await inject({ method: 'GET', url: '/v0/status', headers: t.read });
      assert.match(overview.body, /password \[redacted\]/);
      for (const text of [status.body, overview.body, t.logs.join('\n')]) assert.ok(!text.includes(secret), text);
      assert.match(t.logs.join('\n'), /pipeline "books" connector "out": .*password \[redacted\]/);
      // A failed pipeline can be started again: a new sink (and writer) writes the kept ingress.
      const again = await inject({ method: 'POST', url: '/v0/pipelines/books/start', headers: t.write });
      assert.equal(again.json<{ state: { current_status: string } }>().state.current_status, 'Running');
      await settle(() => (writers[1]?.topics.get('total-sales')?.flat().length ?? 0) > 0);
      assert.deepEqual(foldRetract(fromKafkaRecords(writers[1]?.topics.get('total-sales')?.flat() ?? []), insertDeleteDecoder), ['{"book":"Dune","total":1}']);
    } finally {
      await t.service.close();
    }
  });
});
