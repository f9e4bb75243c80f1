/**
 * The pipeline program adapter and runtime without HTTP (in-memory writer): every table and view
 * of a program becomes a relation with its declared or derived columns, a view over a view and a
 * table attached directly both write their changes, concurrent starts start once, and deletes from
 * a table without a primary key are refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { buildPipelineProgram } from '../../src/service/pipeline-program.ts';
import { PipelineRuntime } from '../../src/service/pipeline-runtime.ts';
import type { StoredConnector } from '../../src/service/store.ts';
import { foldRetract, fromKafkaRecords, insertDeleteDecoder } from '../helpers/changelog-fold.ts';
import { connectorBody } from './service-helpers.ts';

const PROGRAM = `CREATE TABLE orders (id BIGINT, customer STRING, qty INT, price DOUBLE, PRIMARY KEY (id) NOT ENFORCED);
CREATE TABLE clicks (url STRING, clicked TIMESTAMP(3));
CREATE VIEW big AS SELECT id, customer, qty * price AS total FROM orders WHERE qty > 1;
CREATE VIEW by_customer AS SELECT customer, COUNT(*) AS n, MAX(total) AS top FROM big GROUP BY customer;`;

function lookup(topic: string) {
  const connector: StoredConnector = { name: 'c', description: '', config: connectorBody(topic).config, createdAt: '', updatedAt: '' };
  return (name: string) => (name === 'c' ? connector : undefined);
}

async function settle(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('pipeline programs', () => {
  it('gives every table and view as a relation, with declared and derived columns', async () => {
    const program = await buildPipelineProgram('p', PROGRAM);
    assert.deepEqual([...program.inputs.keys()], ['orders', 'clicks']);
    assert.deepEqual([...program.relations.keys()], ['orders', 'clicks', 'big', 'by_customer']);
    const columns = (name: string) => program.relations.get(name)?.schema.columns.map((column) => `${column.name}:${column.type}`);
    assert.deepEqual(columns('orders'), ['id:int64', 'customer:string', 'qty:int32', 'price:float64']);
    assert.deepEqual(columns('big'), ['id:int64', 'customer:string', 'total:float64']);
    assert.deepEqual(columns('by_customer'), ['customer:string', 'n:int64', 'top:float64']);
    assert.deepEqual(program.relations.get('orders')?.schema.primaryKey, ['id']);
  });

  it('writes a view over a view, and a table attached directly', async () => {
    const writer = new MemoryWriter();
    const runtime = new PipelineRuntime('p', { dependencies: { createWriter: () => writer } });
    const attached = [
      { name: 'customers', connector_name: 'c', relation_name: 'by_customer', is_input: false },
      { name: 'raw-orders', connector_name: 'c', relation_name: 'orders', is_input: false },
    ];
    // Both attachments use the one connector, so both write to its topic; each record names its row's columns.
    await Promise.all([runtime.start({ name: 'p', program: PROGRAM, attached }, lookup('out')), runtime.start({ name: 'p', program: PROGRAM, attached }, lookup('out'))]);
    assert.equal(runtime.state, 'Running');
    assert.equal(runtime.connectors().length, 2, 'two concurrent starts start once');
    await runtime.ingest('orders', [
      { kind: 'insert', row: { id: 1, customer: 'ann', qty: 2, price: 1.5 } },
      { kind: 'insert', row: { id: 2, customer: 'ann', qty: 3, price: 2 } },
      { kind: 'insert', row: { id: 3, customer: 'bo', qty: 1, price: 9 } },
      { kind: 'delete', row: { id: 2 } },
    ]);
    const records = () => fromKafkaRecords(writer.topics.get('out')?.flat() ?? []);
    const customers = () => foldRetract(records(), insertDeleteDecoder).filter((row) => row.startsWith('{"customer"'));
    await settle(() => customers().length === 1 && runtime.connectors().every((connector) => connector.metrics.queued === 0));
    assert.deepEqual(customers(), ['{"customer":"ann","n":1,"top":3}']);
    assert.deepEqual(foldRetract(records(), insertDeleteDecoder).filter((row) => row.startsWith('{"id"')), ['{"id":1,"customer":"ann","qty":2,"price":1.5}', '{"id":3,"customer":"bo","qty":1,"price":9}']);
    await assert.rejects(runtime.ingest('clicks', [{ kind: 'delete', row: { url: 'x' } }]), /the table "clicks" has no primary key, so rows cannot be deleted from it; declare PRIMARY KEY/);
    await assert.rejects(runtime.ingest('nope', []), /has no input table "nope"; its tables are: orders, clicks/);
    await runtime.shutdown();
    assert.equal(runtime.state, 'Shutdown');
    await assert.rejects(runtime.ingest('orders', []), /pipeline "p" is Shutdown; start it/);
  });

  it("adds a large body in slices, each waiting for room: the sink's queue stays within its bound and a slice", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // Writes that wait to be released: nothing leaves the sink meanwhile.
    class HeldWriter extends MemoryWriter {
      override write(records: Parameters<MemoryWriter['write']>[0]): Promise<void> {
        return released.then(() => super.write(records));
      }
    }
    const memory = new HeldWriter();
    const runtime = new PipelineRuntime('p', { dependencies: { createWriter: () => memory } });
    const connector: StoredConnector = {
      name: 'c',
      description: '',
      config: connectorBody('sliced', 'example.com:9092', { 'queue.buffering.max.messages': 1_000, 'batch.num.messages': 500 }).config,
      createdAt: '',
      updatedAt: '',
    };
    await runtime.start({ name: 'p', program: 'CREATE TABLE t (n INT);', attached: [{ name: 'out', connector_name: 'c', relation_name: 't', is_input: false }] }, (name) =>
      name === 'c' ? connector : undefined,
    );
    const rows = Array.from({ length: 6_000 }, (_, n) => ({ kind: 'insert' as const, row: { n } }));
    let done = false;
    const ingested = runtime.ingest('t', rows).then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const queued = runtime.connectors()[0]?.metrics.queued ?? -1;
    // Four writes of 500 are out of the queue; 1,000 queued and one slice of 1,000 at most beside them.
    assert.ok(queued > 0 && queued <= 2_000, `queued ${queued}`);
    assert.equal(done, false, 'the rest of the body waits for room');
    release();
    await ingested;
    await settle(() => (memory.topics.get('sliced')?.flat().length ?? 0) === 6_000);
    assert.equal(memory.topics.get('sliced')?.flat().length, 6_000);
    await runtime.shutdown();
  });

  it('refuses a program without tables, naming the field, and a table defined twice at its position', async () => {
    for (const text of ['', 'CREATE VIEW v AS SELECT 1 AS x FROM t;']) {
      await assert.rejects(buildPipelineProgram('p', text), (error: Error & { details?: { field?: string } }) => {
        assert.equal(error.message, 'pipeline "p": the program declares no table; declare the input tables with CREATE TABLE');
        assert.equal(error.details?.field, 'program');
        return true;
      });
    }
    // No name is reserved: the program is built without probe statements.
    assert.deepEqual([...(await buildPipelineProgram('p', 'CREATE TABLE spillway_probe_0 (x INT);')).inputs.keys()], ['spillway_probe_0']);
    await assert.rejects(buildPipelineProgram('p', 'CREATE TABLE t (x INT); CREATE TABLE t (y INT);'), /^SpillwayError: pipeline "p":1:\d+: table "t" is already defined$/);
  });
});

describe('pipeline programs with source tables', () => {
  it('reads a file and generated rows through SQL source tables, and builds nothing until started', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'spillway-program-')), 'sales.ndjson');
    writeFileSync(path, '{"id":1,"book":"Dune","amount":3}\n{"id":2,"book":"Emma","amount":4}\n{"id":3,"book":"Dune","amount":5}\n');
    const program = `CREATE TABLE sales (id INT, book STRING, amount INT) WITH ('connector' = 'filesystem', 'path' = '${path}', 'format' = 'json');
CREATE TABLE seq (n INT) WITH ('connector' = 'datagen', 'number-of-rows' = '3', 'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '3');
CREATE VIEW totals AS SELECT book, SUM(amount) AS total FROM sales GROUP BY book;
CREATE VIEW big AS SELECT n FROM seq WHERE n > 1;`;
    // Planned, the sources are empty stand-ins of the declared columns: nothing is read.
    const planned = await buildPipelineProgram('p', program);
    assert.deepEqual([...planned.inputs.keys()], []);
    assert.deepEqual([...planned.sources.keys()], ['sales', 'seq']);
    assert.equal(planned.sources.get('sales')?.size, 0);
    await planned.close();

    // Both sources end, so each sink stops (closing its writer) when its view is written: one writer each.
    const writers: MemoryWriter[] = [];
    const runtime = new PipelineRuntime('p', { dependencies: { createWriter: () => writers[writers.push(new MemoryWriter()) - 1] as MemoryWriter } });
    const attached = [
      { name: 'totals', connector_name: 'c', relation_name: 'totals', is_input: false },
      { name: 'big', connector_name: 'c', relation_name: 'big', is_input: false },
    ];
    await runtime.start({ name: 'p', program, attached }, lookup('out'));
    const rows = () => foldRetract(fromKafkaRecords(writers.flatMap((writer) => writer.topics.get('out')?.flat() ?? [])), insertDeleteDecoder);
    const expected = ['{"book":"Dune","total":8}', '{"book":"Emma","total":4}', '{"n":2}', '{"n":3}'];
    await settle(() => JSON.stringify(rows()) === JSON.stringify(expected));
    assert.deepEqual(rows(), expected);
    assert.deepEqual(runtime.errors, []);
    assert.deepEqual(runtime.tables, [], 'tables with a connector take no ingress');
    await runtime.shutdown();
  });

  it('fails the pipeline when a Kafka source table cannot reach its broker, naming the topic', async () => {
    const program = `CREATE TABLE sales (id INT, book STRING, amount INT) WITH ('connector' = 'kafka', 'topic' = 'nowhere',
  'properties.bootstrap.servers' = '127.0.0.1:1', 'properties.request.timeout.ms' = '1000', 'format' = 'json');
CREATE VIEW totals AS SELECT book, SUM(amount) AS total FROM sales GROUP BY book;`;
    const runtime = new PipelineRuntime('p', { dependencies: { createWriter: () => new MemoryWriter() } });
    await runtime.start({ name: 'p', program, attached: [{ name: 'out', connector_name: 'c', relation_name: 'totals', is_input: false }] }, lookup('out'));
    for (let i = 0; i < 100 && runtime.state !== 'Failed'; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(runtime.state, 'Failed');
    assert.match(runtime.errors[0]?.message ?? '', /no Kafka broker answered within 1000 ms; tried 127\.0\.0\.1:1/);
    assert.equal(runtime.errors[0]?.connector, 'out');
    await runtime.shutdown();
    assert.equal(runtime.state, 'Shutdown');
  });
});
