/**
 * Feldera's `fault_tolerance` on an output connector, against a running `spillway serve` and the
 * real broker: the connector writes exactly once (a Kafka transaction per epoch, committed with
 * the pipeline's position), counts its commits in `spillway_connector_transactions_total`, and
 * after a restart — the kept ingress replayed, the committed progress read back — the whole
 * topic, read committed by kcat, folds to the view with nothing written twice.
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
import { SALES_PROGRAM, connectorBody, testService } from './service-helpers.ts';

describe("Feldera's fault_tolerance on an output connector", () => {
  it('writes exactly once across a restart, counting its transactions', { timeout: 180_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-eos-'));
    const key = await createKeyWithCli(dataDir, 'eos');
    const topic = randomTopic('eos');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    let service = await startService(dataDir);
    const api = serviceApi(() => service.url, key);
    const committed = async () => foldRetract(fromKcat(await kcatRead(topic, { readCommitted: true })), insertDeleteDecoder);
    const foldsTo = (expected: readonly string[]) =>
      eventually(() => committed().catch((error: unknown) => [String(error)]), (rows) => JSON.stringify(rows) === JSON.stringify(expected), 60_000);
    try {
      const body = connectorBody(topic, bootstrapServers(), { fault_tolerance: {} });
      const created = await api('PUT', '/v0/connectors/eos-out', body);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const put = await api('PUT', '/v0/pipelines/eos', { program: SALES_PROGRAM, attached_connectors: [{ name: 'out', connector_name: 'eos-out', relation_name: 'total_sales', is_input: false }] });
      assert.equal(put.status, 201, JSON.stringify(put.body));
      assert.equal((await api('POST', '/v0/pipelines/eos/start')).status, 200);
      const pushed = await api('POST', '/v0/pipelines/eos/ingress/sales?format=json', ['{"insert":{"id":1,"book":"Dune","amount":10}}', '{"insert":{"id":2,"book":"Emma","amount":5}}'].join('\n'));
      assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
      await foldsTo(['{"book":"Dune","total":10}', '{"book":"Emma","total":5}']);
      const status = await api('GET', '/v0/pipelines/eos');
      const transactions = (status.body.connectors as { metrics: { transactions?: number } }[])[0]?.metrics.transactions ?? 0;
      assert.ok(transactions > 0, `transactions committed: ${transactions}`);
      const metrics = await (await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
      const counted = /^spillway_connector_transactions_total\{pipeline="eos",connector="out",topic="[^"]+"\} (\d+)$/m.exec(metrics);
      assert.ok(Number(counted?.[1]) > 0, metrics);
      assert.equal((await api('POST', '/v0/pipelines/eos/shutdown')).status, 200);

      assert.equal(await service.stop(), 0);
      service = await startService(dataDir);
      assert.equal((await api('POST', '/v0/pipelines/eos/start')).status, 200);
      assert.equal((await api('POST', '/v0/pipelines/eos/ingress/sales?format=json', '{"delete":{"id":2}}\n{"insert":{"id":3,"book":"Dune","amount":1}}')).status, 200);
      // The whole topic: what the first run committed is not written again after the restart.
      await foldsTo(['{"book":"Dune","total":11}']);
    } finally {
      await service.stop();
    }
  });

  it('refuses consumer_options, naming the field', async () => {
    const t = testService();
    try {
      const response = await t.service.app.inject({ method: 'PUT', url: '/v0/connectors/c', headers: t.write, payload: connectorBody('t', 'b:9092', { fault_tolerance: { consumer_options: { 'fetch.min.bytes': '1' } } }) });
      assert.equal(response.statusCode, 400);
      const error = response.json<{ message: string; details: { field: string } }>();
      assert.equal(error.details.field, 'config.transport.config.fault_tolerance.consumer_options');
      assert.match(error.message, /^connector "c": config\.transport\.config\.fault_tolerance\.consumer_options is refused: the sink reads its committed progress/);
      const overridden = await t.service.app.inject({ method: 'PUT', url: '/v0/connectors/c', headers: t.write, payload: connectorBody('t', 'b:9092', { fault_tolerance: { producer_options: { acks: '1' } } }) });
      assert.equal(overridden.statusCode, 400, 'producer_options reach the producer: exactly-once refuses acks=1');
      assert.match(overridden.json<{ message: string }>().message, /exactly-once delivery needs acks=all/);
    } finally {
      await t.service.close();
    }
  });
});
