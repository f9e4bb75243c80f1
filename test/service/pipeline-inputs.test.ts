/**
 * What feeds a pipeline besides HTTP ingress, against the real broker: a SQL source table
 * (`CREATE TABLE … WITH ('connector' = 'kafka', …)`) reading a topic that kcat writes, and
 * Feldera's input connectors — `kafka_input` (its current `topic` + `start_from` and its older
 * `topics` + `auto.offset.reset`) and `file_input` (a followed file) — feeding a table. The view
 * goes out through an output connector and kcat reads it back; it folds to the view. Every
 * Feldera input option that is not honoured is refused with a 400 naming the field.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { type Service, createApiKey, createService } from '../../src/service/server.ts';
import { foldRetract, fromKcat, insertDeleteDecoder } from '../helpers/changelog-fold.ts';
import { kcatProduce } from '../helpers/kcat-client.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { connectorBody } from './service-helpers.ts';

const TOTALS = 'CREATE VIEW totals AS SELECT book, SUM(amount) AS total FROM sales GROUP BY book;';

function inputBody(transport: Record<string, unknown>, format: Record<string, unknown> = { name: 'json', config: { update_format: 'insert_delete', array: false } }) {
  return { description: 'sales in', config: { transport, format } };
}

describe('pipeline inputs on the broker', () => {
  let service: Service;
  let write: { authorization: string };
  const logs: string[] = [];
  before(async () => {
    service = createService({ dataDir: mkdtempSync(join(tmpdir(), 'spillway-inputs-')), log: (line) => logs.push(line) });
    write = { authorization: `Bearer ${createApiKey(service.store, 'writer', 'write').key}` };
    await service.app.ready();
  });
  after(() => service.close());
  const call = async (method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown) => {
    const response = await service.app.inject({ method, url, headers: write, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
  };
  const folded = async (topic: string) => foldRetract(fromKcat(await kcatRead(topic)), insertDeleteDecoder);
  const foldsTo = (topic: string, expected: readonly string[]) =>
    eventually(
      () => folded(topic).catch(() => []),
      (rows) => JSON.stringify(rows) === JSON.stringify(expected),
      30_000,
    );

  it('runs a program whose table reads a Kafka topic (a SQL source table) and writes its view', { timeout: 90_000 }, async () => {
    const source = randomTopic('sql-source');
    const out = randomTopic('sql-source-out');
    await createTopic([bootstrapServers()], source, { partitions: 1 });
    await createTopic([bootstrapServers()], out, { partitions: 1 });
    assert.equal((await call('PUT', '/v0/connectors/sql-out', connectorBody(out, bootstrapServers()))).status, 201);
    const program = `CREATE TABLE sales (id INT, book STRING, amount INT) WITH (
  'connector' = 'kafka', 'topic' = '${source}', 'properties.bootstrap.servers' = '${bootstrapServers()}',
  'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
${TOTALS}`;
    const put = await call('PUT', '/v0/pipelines/sql-source', { program, attached_connectors: [{ name: 'out', connector_name: 'sql-out', relation_name: 'totals', is_input: false }] });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    await kcatProduce(bootstrapServers(), {}, source, ['1:{"id":1,"book":"Dune","amount":10}', '2:{"id":2,"book":"Emma","amount":5}']);
    const started = await call('POST', '/v0/pipelines/sql-source/start');
    assert.equal(started.status, 200, JSON.stringify(started.body));
    await foldsTo(out, ['{"book":"Dune","total":10}', '{"book":"Emma","total":5}']);
    // Records written while it runs arrive too: the table follows the topic.
    await kcatProduce(bootstrapServers(), {}, source, ['3:{"id":3,"book":"Dune","amount":7}']);
    await foldsTo(out, ['{"book":"Dune","total":17}', '{"book":"Emma","total":5}']);
    // Ingress is for tables without a connector.
    const pushed = await call('POST', '/v0/pipelines/sql-source/ingress/sales?format=json&update_format=raw', { id: 9, book: 'x', amount: 1 });
    assert.equal(pushed.status, 400);
    assert.match(String(pushed.body.message), /^pipeline "sql-source" has no input table "sales"; its tables are: none$/);
    assert.equal((await call('POST', '/v0/pipelines/sql-source/shutdown')).status, 200);
  });

  it('feeds a table from a kafka_input connector (insert_delete events), and leaves out a message it cannot read', { timeout: 90_000 }, async () => {
    const source = randomTopic('kafka-input');
    const out = randomTopic('kafka-input-out');
    await createTopic([bootstrapServers()], source, { partitions: 2 });
    await createTopic([bootstrapServers()], out, { partitions: 1 });
    const created = await call('PUT', '/v0/connectors/sales-in', inputBody({ name: 'kafka_input', config: { 'bootstrap.servers': bootstrapServers(), topic: source, start_from: 'earliest' } }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await call('PUT', '/v0/connectors/ki-out', connectorBody(out, bootstrapServers()))).status, 201);
    const put = await call('PUT', '/v0/pipelines/kafka-input', {
      program: `CREATE TABLE sales (id INT, book STRING, amount INT, PRIMARY KEY (id) NOT ENFORCED);\n${TOTALS}`,
      attached_connectors: [
        { name: 'in', connector_name: 'sales-in', relation_name: 'sales', is_input: true },
        { name: 'out', connector_name: 'ki-out', relation_name: 'totals', is_input: false },
      ],
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    // Written before the start: start_from earliest reads them.
    await kcatProduce(bootstrapServers(), {}, source, ['1:{"insert":{"id":1,"book":"Dune","amount":10}}', '2:{"insert":{"id":2,"book":"Emma","amount":5}}']);
    assert.equal((await call('POST', '/v0/pipelines/kafka-input/start')).status, 200);
    await foldsTo(out, ['{"book":"Dune","total":10}', '{"book":"Emma","total":5}']);
    // Key 1 keeps its partition, so the delete comes after its insert; the bad message is left out.
    await kcatProduce(bootstrapServers(), {}, source, ['1:{"delete":{"id":1,"book":"Dune","amount":10}}', '3:{"upsert":{"id":3}}', '3:{"insert":{"id":3,"book":"Emma","amount":1}}']);
    await foldsTo(out, ['{"book":"Emma","total":6}']);
    const status = await call('GET', '/v0/pipelines/kafka-input');
    const inputs = status.body.input_connectors as { name: string; transport: string; state: string; metrics: { messages: number; changes: number; errors: number }; errors: { message: string }[] }[];
    assert.deepEqual(inputs.map(({ name, transport, state, metrics }) => ({ name, transport, state, metrics })), [{ name: 'in', transport: 'kafka_input', state: 'running', metrics: { messages: 5, changes: 4, errors: 1 } }]);
    assert.match(inputs[0]?.errors[0]?.message ?? '', new RegExp(`^topic "${source}": message \\d: ingress into "sales": value 1 has "upsert"; an insert_delete event has exactly one key, "insert" or "delete"$`));
    // A delete of a row never inserted changes nothing, and the table's own ingress still works beside the connector.
    assert.equal((await call('POST', '/v0/pipelines/kafka-input/ingress/sales?format=json&update_format=raw', { id: 4, book: 'Walden', amount: 2 })).status, 200);
    await foldsTo(out, ['{"book":"Emma","total":6}', '{"book":"Walden","total":2}']);
    assert.equal((await call('POST', '/v0/pipelines/kafka-input/shutdown')).status, 200);
  });

  it("reads Feldera's older kafka_input shape: topics and auto.offset.reset, raw rows, arrays", { timeout: 90_000 }, async () => {
    const first = randomTopic('topics-a');
    const second = randomTopic('topics-b');
    const out = randomTopic('topics-out');
    for (const topic of [first, second, out]) await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const body = inputBody({ name: 'kafka_input', config: { 'bootstrap.servers': bootstrapServers(), topics: [first, second], 'auto.offset.reset': 'earliest' } }, { name: 'json', config: { update_format: 'raw', array: true } });
    assert.equal((await call('PUT', '/v0/connectors/old-in', body)).status, 201);
    assert.equal((await call('PUT', '/v0/connectors/old-out', connectorBody(out, bootstrapServers()))).status, 201);
    await kcatProduce(bootstrapServers(), {}, first, ['a:[{"id":1,"book":"Dune","amount":1},{"id":2,"book":"Dune","amount":2}]']);
    await kcatProduce(bootstrapServers(), {}, second, ['b:[{"id":3,"book":"Emma","amount":4}]']);
    const put = await call('PUT', '/v0/pipelines/old-input', {
      program: `CREATE TABLE sales (id INT, book STRING, amount INT);\n${TOTALS}`,
      attached_connectors: [
        { name: 'in', connector_name: 'old-in', relation_name: 'sales', is_input: true },
        { name: 'out', connector_name: 'old-out', relation_name: 'totals', is_input: false },
      ],
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal((await call('POST', '/v0/pipelines/old-input/start')).status, 200);
    await foldsTo(out, ['{"book":"Dune","total":3}', '{"book":"Emma","total":4}']);
    assert.equal((await call('POST', '/v0/pipelines/old-input/shutdown')).status, 200);
  });

  it('feeds a table from a followed file_input connector (CSV lines)', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-file-input-'));
    const path = join(dir, 'sales.csv');
    writeFileSync(path, '1,Dune,10\n2,"Emma, a novel",5\n');
    const out = randomTopic('file-input-out');
    await createTopic([bootstrapServers()], out, { partitions: 1 });
    const created = await call('PUT', '/v0/connectors/file-in', inputBody({ name: 'file_input', config: { path: `file://${path}`, follow: true } }, { name: 'csv' }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await call('PUT', '/v0/connectors/file-out', connectorBody(out, bootstrapServers()))).status, 201);
    const put = await call('PUT', '/v0/pipelines/file-input', {
      program: `CREATE TABLE sales (id INT, book STRING, amount INT);\n${TOTALS}`,
      attached_connectors: [
        { name: 'in', connector_name: 'file-in', relation_name: 'sales', is_input: true },
        { name: 'out', connector_name: 'file-out', relation_name: 'totals', is_input: false },
      ],
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal((await call('POST', '/v0/pipelines/file-input/start')).status, 200);
    await foldsTo(out, ['{"book":"Dune","total":10}', '{"book":"Emma, a novel","total":5}']);
    appendFileSync(path, '3,Dune,1\nnot,a,row\n');
    await foldsTo(out, ['{"book":"Dune","total":11}', '{"book":"Emma, a novel","total":5}']);
    const status = await call('GET', '/v0/pipelines/file-input');
    const input = (status.body.input_connectors as { metrics: { messages: number; errors: number }; errors: { message: string }[] }[])[0];
    await eventually(async () => (await call('GET', '/v0/pipelines/file-input')).body, (body) => (body.input_connectors as { metrics: { errors: number } }[])[0]?.metrics.errors === 1);
    assert.ok(input !== undefined);
    const after = (await call('GET', '/v0/pipelines/file-input')).body.input_connectors as { errors: { message: string }[] }[];
    assert.match(after[0]?.errors[0]?.message ?? '', new RegExp(`^file ${path.replaceAll('.', '\\.')}: message 4: ingress into "sales": CSV line 1: "not" is not a int32 for the column "id"$`));
    assert.equal((await call('POST', '/v0/pipelines/file-input/shutdown')).status, 200);
  });

  it('fails the pipeline when an input connector cannot reach its broker, naming the topic', { timeout: 60_000 }, async () => {
    const body = inputBody({ name: 'kafka_input', config: { 'bootstrap.servers': '127.0.0.1:1', topic: 'nowhere', 'request.timeout.ms': 2000 } });
    assert.equal((await call('PUT', '/v0/connectors/dead-in', body)).status, 201);
    const put = await call('PUT', '/v0/pipelines/dead-input', {
      program: 'CREATE TABLE sales (id INT, book STRING, amount INT);',
      attached_connectors: [{ name: 'in', connector_name: 'dead-in', relation_name: 'sales', is_input: true }],
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal((await call('POST', '/v0/pipelines/dead-input/start')).status, 200);
    const failed = await eventually(async () => (await call('GET', '/v0/pipelines/dead-input')).body, (body) => (body.state as { current_status: string }).current_status === 'Failed', 30_000);
    const errors = failed.errors as { connector?: string; message: string }[];
    assert.equal(errors[0]?.connector, 'in');
    assert.match(errors[0]?.message ?? '', /^topic "nowhere": no Kafka broker answered within 2000 ms; tried 127\.0\.0\.1:1/);
    assert.equal((failed.input_connectors as { state: string }[])[0]?.state, 'failed');
    assert.equal((await call('POST', '/v0/pipelines/dead-input/shutdown')).status, 200);
  });
});
