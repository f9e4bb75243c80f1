/**
 * The pipeline program adapter and runtime without HTTP (in-memory writer): every table and view
 * of a program becomes a relation with its declared or derived columns, a view over a view and a
 * table attached directly both write their changes, concurrent starts start once, and deletes from
 * a table without a primary key are refused.
 */
import assert from 'node:assert/strict';
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
