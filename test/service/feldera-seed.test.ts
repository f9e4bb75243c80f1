/**
 * The Feldera seed end to end against a running `spillway serve` and the real broker: the seed's
 * curl example as the seed prints it (only the API key, the broker address, the service's port
 * and — so that each run has its own topic — the topic filled in), then its Python example, then
 * a pipeline that attaches the connector to a view summing sales by book. Rows pushed through
 * ingress (inserts and a delete) reach the topic as Feldera insert_delete records, which kcat
 * reads back and which fold to the view. After a restart the connector and pipeline are listed,
 * the key still works and the pipeline runs again.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { foldRetract, fromKcat, insertDeleteDecoder } from '../helpers/changelog-fold.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { createKeyWithCli, startService } from './running-service.ts';

const run = promisify(execFile);

/** The seed's curl example, character for character. */
const SEED_CURL = `curl -i -X PUT http://localhost:8080/v0/connectors/total-sales \\
-H "Authorization: Bearer <API-KEY>" \\
-H 'Content-Type: application/json' \\
-d '{
  "description": "Kafka output connector for total sales from the book fair",
  "config": {
      "transport": {
          "name": "kafka_output",
          "config": {
              "bootstrap.servers": "example.com:9092",
              "auto.offset.reset": "earliest",
              "topic": "total-sales"
          }
      },
      "format": {
          "name": "json",
          "config": {
              "update_format": "insert_delete",
              "array": false
          }
      }
  }
}'`;

/** The seed's Python example, character for character. */
const SEED_PYTHON = `import requests

api_url = "http://localhost:8080"
headers = { "authorization": f"Bearer <API-KEY>" }

requests.put(
    f"{api_url}/v0/connectors/total-sales", 
    headers=headers,
    json={
      "description": "Kafka output connector for total sales from the book fair",
      "config": {
          "transport": {
              "name": "kafka_output",
              "config": {
                  "bootstrap.servers": "example.com:9092",
                  "auto.offset.reset": "earliest",
                  "topic": "total-sales"
              }
          },
          "format": {
              "name": "json",
              "config": {
                  "update_format": "insert_delete",
                  "array": False
              }
          }
      }
    }
).raise_for_status()`;

/** The Python of .tools/python (bootstrap installs requests there), else python3 on the PATH. */
const BUNDLED_PYTHON = fileURLToPath(new URL('../../.tools/python/bin/python', import.meta.url));
const PYTHON = process.env.SPILLWAY_PYTHON ?? (existsSync(BUNDLED_PYTHON) ? BUNDLED_PYTHON : 'python3');

function fillIn(text: string, values: { key: string; port: number; topic: string }): string {
  const filled = text
    .replace('<API-KEY>', values.key)
    .replace('localhost:8080', `127.0.0.1:${values.port}`)
    .replace('example.com:9092', bootstrapServers())
    .replace('"topic": "total-sales"', `"topic": "${values.topic}"`);
  assert.notEqual(filled, text);
  return filled;
}

describe('the Feldera seed against spillway serve', () => {
  it('runs the curl example, attaches the connector to a view, and writes insert_delete records that fold to it', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-seed-'));
    const key = await createKeyWithCli(dataDir, 'seed');
    const topic = randomTopic('total-sales');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    let service = await startService(dataDir);
    try {
      const port = Number(new URL(service.url).port);
      const { stdout } = await run('bash', ['-c', fillIn(SEED_CURL, { key, port, topic })]);
      assert.match(stdout, /^HTTP\/1\.1 201 Created/);
      assert.match(stdout, /"name":"total-sales"/);

      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const api = async (method: string, path: string, body?: unknown, contentType?: string) => {
        const response = await fetch(`${service.url}${path}`, {
          method,
          headers: body === undefined ? { authorization: headers.authorization } : { ...headers, ...(contentType === undefined ? {} : { 'content-type': contentType }) },
          ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const put = await api('PUT', '/v0/pipelines/book-fair', {
        program: `CREATE TABLE sales (sale_id INT, book STRING, amount DECIMAL(10, 2), PRIMARY KEY (sale_id) NOT ENFORCED);
CREATE VIEW total_sales AS SELECT book, SUM(amount) AS total, COUNT(*) AS sold FROM sales GROUP BY book;`,
        attached_connectors: [{ name: 'total-sales-out', connector_name: 'total-sales', relation_name: 'total_sales', is_input: false }],
      });
      assert.equal(put.status, 201, JSON.stringify(put.body));
      { const started = await api('POST', '/v0/pipelines/book-fair/start'); assert.equal(started.status, 200, JSON.stringify(started.body)); }
      const inserts = await api('POST', '/v0/pipelines/book-fair/ingress/sales?format=json', [
        { insert: { sale_id: 1, book: 'Dune', amount: '12.50' } },
        { insert: { sale_id: 2, book: 'Emma', amount: '8.00' } },
        { insert: { sale_id: 3, book: 'Dune', amount: '10.25' } },
      ].map((event) => JSON.stringify(event)).join('\n'), 'application/x-ndjson');
      assert.deepEqual(inserts, { status: 200, body: { table: 'sales', changes: 3 } });
      const remove = await api('POST', '/v0/pipelines/book-fair/ingress/sales?format=json&update_format=insert_delete&array=true', [{ delete: { sale_id: 2, book: 'Emma', amount: '8.00' } }]);
      assert.equal(remove.status, 200, JSON.stringify(remove.body));
      const csv = await api('POST', '/v0/pipelines/book-fair/ingress/sales?format=csv', '4,Walden,5.00\n', 'text/csv');
      assert.equal(csv.status, 200, JSON.stringify(csv.body));

      const expected = ['{"book":"Dune","total":22.75,"sold":2}', '{"book":"Walden","total":5.00,"sold":1}'].map((row) => JSON.stringify(JSON.parse(row)));
      const fold = (records: Awaited<ReturnType<typeof kcatRead>>) => foldRetract(fromKcat(records), insertDeleteDecoder).map((row) => JSON.stringify(JSON.parse(row)));
      const records = await eventually(() => kcatRead(topic), (read) => { try { return JSON.stringify(fold(read)) === JSON.stringify(expected); } catch { return false; } });
      assert.deepEqual(fold(records), expected);
      for (const record of records) assert.match(record.value?.toString() ?? '', /^\{"(insert|delete)":\{"book":"[A-Za-z]+","total":[\d.]+,"sold":\d+\}\}$/);
      assert.ok(records.some((record) => record.value?.toString().startsWith('{"delete":{"book":"Emma"')), 'the delete of Emma\'s only sale retracts its total');

      const status = await api('GET', '/v0/pipelines/book-fair');
      const connectors = status.body.connectors as { metrics: { records: number } }[];
      assert.equal(connectors[0]?.metrics.records, records.length);

      // The seed's Python example replaces the connector (200); the pipeline is running, so it is refused with 409 first.
      const python = await run(PYTHON, ['-c', fillIn(SEED_PYTHON, { key, port, topic })]).catch((error: { stderr: string }) => error);
      assert.match((python).stderr, /409 Client Error: Conflict/);
      assert.equal((await api('POST', '/v0/pipelines/book-fair/shutdown')).status, 200);
      await run(PYTHON, ['-c', fillIn(SEED_PYTHON, { key, port, topic })]);
      { const started = await api('POST', '/v0/pipelines/book-fair/start'); assert.equal(started.status, 200, JSON.stringify(started.body)); }

      assert.equal(await service.stop(), 0);
      service = await startService(dataDir);
      assert.match(service.stderr(), /pipeline "book-fair" resumed/);
      const listed = await fetch(`${service.url}/v0/connectors`, { headers });
      assert.equal(listed.status, 200, 'the key still works after the restart');
      assert.deepEqual(((await listed.json()) as { name: string }[]).map((connector) => connector.name), ['total-sales']);
      const pipelines = (await (await fetch(`${service.url}/v0/pipelines`, { headers })).json()) as { name: string; state: { current_status: string } }[];
      assert.deepEqual(pipelines.map((pipeline) => [pipeline.name, pipeline.state.current_status]), [['book-fair', 'Running']]);
      const after = await fetch(`${service.url}/v0/pipelines/book-fair/ingress/sales?format=json&update_format=raw`, { method: 'POST', headers, body: '{"sale_id":9,"book":"Middlemarch","amount":"3.00"}' });
      assert.equal(after.status, 200);
      await eventually(() => kcatRead(topic), (read) => read.some((record) => record.value?.toString() === '{"insert":{"book":"Middlemarch","total":3.00,"sold":1}}'));
    } finally {
      await service.stop();
    }
  });
});
