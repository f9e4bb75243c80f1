/**
 * Table rows kept across a restart, against a running `spillway serve` and the real broker: rows
 * pushed through ingress (inserts and a delete) are kept in the data directory's SQLite file;
 * after the service restarts, starting the pipeline replays them into its tables before the
 * output connector opens, so what it writes after the restart folds (kcat reads it) to the same
 * view as before. A new program starts with empty tables.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { foldRetract, fromKcat, insertDeleteDecoder } from '../helpers/changelog-fold.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { createKeyWithCli, serviceApi, startService } from './running-service.ts';
import { SALES_PROGRAM, connectorBody } from './service-helpers.ts';

describe('ingress kept across a restart', () => {
  it('replays the pushed rows when the pipeline starts again, so the view folds to the same result', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-replay-'));
    const key = await createKeyWithCli(dataDir, 'replay');
    const topic = randomTopic('replay');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    let service = await startService(dataDir);
    const api = serviceApi(() => service.url, key);
    const expected = ['{"book":"Dune","total":17}', '{"book":"Walden","total":3}'];
    const fold = (records: Awaited<ReturnType<typeof kcatRead>>) => foldRetract(fromKcat(records), insertDeleteDecoder);
    const pipeline = { program: SALES_PROGRAM, attached_connectors: [{ name: 'out', connector_name: 'totals-out', relation_name: 'total_sales', is_input: false }] };
    try {
      assert.equal((await api('PUT', '/v0/connectors/totals-out', connectorBody(topic, bootstrapServers()))).status, 201);
      assert.equal((await api('PUT', '/v0/pipelines/sales', pipeline)).status, 201);
      assert.equal((await api('POST', '/v0/pipelines/sales/start')).status, 200);
      const events = ['{"insert":{"id":1,"book":"Dune","amount":10}}', '{"insert":{"id":2,"book":"Emma","amount":5}}', '{"insert":{"id":3,"book":"Dune","amount":7}}'];
      assert.equal((await api('POST', '/v0/pipelines/sales/ingress/sales?format=json', events.join('\n'))).status, 200);
      assert.equal((await api('POST', '/v0/pipelines/sales/ingress/sales?format=json&array=true', [{ delete: { id: 2 } }])).status, 200);
      assert.equal((await api('POST', '/v0/pipelines/sales/ingress/sales?format=csv', '4,Walden,3\n')).status, 200);
      // A refused body is not kept.
      assert.equal((await api('POST', '/v0/pipelines/sales/ingress/sales?format=csv', '5,Bad,lots\n')).status, 400);
      const before = await eventually(() => kcatRead(topic), (records) => { try { return JSON.stringify(fold(records)) === JSON.stringify(expected); } catch { return false; } });
      assert.deepEqual((await api('GET', '/v0/pipelines/sales')).body.ingress_kept, { bodies: 3, bytes: Buffer.byteLength(events.join('\n')) + Buffer.byteLength('[{"delete":{"id":2}}]') + Buffer.byteLength('4,Walden,3\n') });
      assert.equal((await api('POST', '/v0/pipelines/sales/shutdown')).status, 200);

      assert.equal(await service.stop(), 0);
      service = await startService(dataDir);
      const listed = await api('GET', '/v0/pipelines/sales');
      assert.equal((listed.body.state as { current_status: string }).current_status, 'Shutdown');
      assert.equal((await api('POST', '/v0/pipelines/sales/start')).status, 200);
      // What the connector writes after the restart: the view as the kept rows make it.
      const after = await eventually(() => kcatRead(topic), (records) => { try { return JSON.stringify(fold(records.slice(before.length))) === JSON.stringify(expected); } catch { return false; } });
      assert.deepEqual(fold(after.slice(before.length)), expected);
      // And it goes on from there: a new row changes the view as usual.
      assert.equal((await api('POST', '/v0/pipelines/sales/ingress/sales?format=json&update_format=raw', '{"id":6,"book":"Walden","amount":1}')).status, 200);
      await eventually(() => kcatRead(topic), (records) => { try { return JSON.stringify(fold(records.slice(before.length))) === JSON.stringify(['{"book":"Dune","total":17}', '{"book":"Walden","total":4}']); } catch { return false; } });

      // A new program starts with empty tables: its kept ingress is dropped.
      assert.equal((await api('POST', '/v0/pipelines/sales/shutdown')).status, 200);
      assert.equal((await api('PUT', '/v0/pipelines/sales', { ...pipeline, program: `${SALES_PROGRAM}\n-- changed` })).status, 200);
      assert.deepEqual((await api('GET', '/v0/pipelines/sales')).body.ingress_kept, { bodies: 0, bytes: 0 });
    } finally {
      await service.stop();
    }
  });
});
