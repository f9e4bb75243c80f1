/**
 * Feldera's csv output format through the service and the real broker: PUT a csv connector
 * (delimiter `;`), attach it to a view summing sales by book, push inserts and a delete through
 * ingress; kcat reads back one CSV record per change, the row then Feldera's weight (1 for an
 * insert, -1 for a delete) and a newline, with no op header, and the weights fold to the view.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { createApiKey, createService } from '../../src/service/server.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { SALES_PROGRAM, checkedCall } from './service-helpers.ts';

describe('the csv output format through the service', () => {
  it('writes a view\'s inserts and deletes as CSV records with their weights', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-csv-'));
    const service = createService({ dataDir, log: () => {} });
    const key = createApiKey(service.store, 'csv-writer', 'write').key;
    const url = await service.listen(0, '127.0.0.1');
    try {
      const topic = randomTopic('total-sales-csv');
      await createTopic([bootstrapServers()], topic, { partitions: 1 });
      const call = checkedCall(url, key);
      await call('PUT', '/v0/connectors/total-sales', JSON.stringify({
        description: 'total sales as CSV',
        config: { transport: { name: 'kafka_output', config: { 'bootstrap.servers': bootstrapServers(), topic } }, format: { name: 'csv', config: { delimiter: ';' } } },
      }));
      await call('PUT', '/v0/pipelines/books', JSON.stringify({ program: SALES_PROGRAM, attached_connectors: [{ name: 'out', connector_name: 'total-sales', relation_name: 'total_sales', is_input: false }] }));
      await call('POST', '/v0/pipelines/books/start');
      await call('POST', '/v0/pipelines/books/ingress/sales?format=json&update_format=raw', '{"id":1,"book":"Dune","amount":10}\n{"id":2,"book":"Emma; a novel","amount":5}\n', 'text/plain');
      await eventually(() => kcatRead(topic), (records) => records.length >= 2);
      await call('POST', '/v0/pipelines/books/ingress/sales?format=json&update_format=insert_delete', '{"delete":{"id":2,"book":"Emma; a novel","amount":5}}\n', 'text/plain');
      const records = await eventually(() => kcatRead(topic), (found) => found.length >= 3);
      const values = records.map((record) => record.value?.toString('utf8'));
      assert.deepEqual(values.slice().sort(), ['"Emma; a novel";5;-1\n', '"Emma; a novel";5;1\n', 'Dune;10;1\n'].sort());
      assert.deepEqual(records.map((record) => record.headers), ['', '', ''], 'Feldera writes no op header for csv');
      // Folded by weight: the delete takes Emma's row away, leaving the view.
      const view = new Map<string, number>();
      for (const value of values) {
        const fields = (value ?? '').trimEnd();
        const cut = fields.lastIndexOf(';');
        const row = fields.slice(0, cut);
        view.set(row, (view.get(row) ?? 0) + Number(fields.slice(cut + 1)));
      }
      assert.deepEqual([...view].filter(([, weight]) => weight > 0).map(([row]) => row), ['Dune;10']);
    } finally {
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
