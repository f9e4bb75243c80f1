/**
 * Feldera's avro output format through the service, the real broker and a real schema registry:
 * PUT an avro connector (registry_urls, namespace, the default record_name subjects), attach it to
 * a view summing sales by book, push inserts and a delete through ingress; kcat reads back
 * Confluent-framed records whose schema, fetched by id from the registry, decodes them, with the
 * change in the `op` header.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type avro from 'avsc';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { createApiKey, createService } from '../../src/service/server.ts';
import { independentAvroType } from '../helpers/avro-decoder.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { useSchemaRegistry } from '../helpers/schema-registry.ts';
import { SALES_PROGRAM, checkedCall } from './service-helpers.ts';

const registry = useSchemaRegistry();

async function decode(bytes: Buffer | null): Promise<{ schema: { name: string; namespace?: string }; value: Record<string, unknown> }> {
  assert.ok(bytes !== null && bytes.length >= 5 && bytes[0] === 0, 'a Confluent-framed value');
  const response = await fetch(`${registry.url}/schemas/ids/${bytes.readUInt32BE(1)}`);
  assert.ok(response.ok, `schema by id: ${response.status}`);
  const schema = JSON.parse(((await response.json()) as { schema: string }).schema) as avro.Schema & { name: string; namespace?: string };
  return { schema, value: { ...(independentAvroType(schema).fromBuffer(bytes.subarray(5)) as Record<string, unknown>) } };
}

describe('the avro output format through the service', () => {
  it('writes a view\'s changes as registered Avro records with the op header', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spillway-avro-'));
    const service = createService({ dataDir, log: () => {} });
    const key = createApiKey(service.store, 'avro-writer', 'write').key;
    const url = await service.listen(0, '127.0.0.1');
    try {
      const topic = randomTopic('total-sales-avro');
      await createTopic([bootstrapServers()], topic, { partitions: 1 });
      const call = checkedCall(url, key);
      await call('PUT', '/v0/connectors/total-sales', JSON.stringify({
        config: {
          transport: { name: 'kafka_output', config: { 'bootstrap.servers': bootstrapServers(), topic } },
          format: { name: 'avro', config: { update_format: 'raw', namespace: 'com.bookfair', registry_urls: [registry.url] } },
        },
      }));
      await call('PUT', '/v0/pipelines/books', JSON.stringify({ program: SALES_PROGRAM, attached_connectors: [{ name: 'out', connector_name: 'total-sales', relation_name: 'total_sales', is_input: false }] }));
      await call('POST', '/v0/pipelines/books/start');
      await call('POST', '/v0/pipelines/books/ingress/sales?format=json&update_format=raw', '{"id":1,"book":"Dune","amount":10}\n{"id":2,"book":"Emma","amount":5}\n', 'text/plain');
      await eventually(() => kcatRead(topic), (records) => records.length >= 2);
      await call('POST', '/v0/pipelines/books/ingress/sales?format=json&update_format=insert_delete', '{"delete":{"id":2,"book":"Emma","amount":5}}\n', 'text/plain');
      const records = await eventually(() => kcatRead(topic), (found) => found.length >= 3);
      const changes: string[] = [];
      for (const record of records) {
        const { schema, value } = await decode(record.value);
        assert.equal(schema.namespace, 'com.bookfair');
        changes.push(`${record.headers} ${JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? Number(field) : field))}`);
      }
      assert.deepEqual(changes.sort(), ['op=delete {"book":"Emma","total":5}', 'op=insert {"book":"Dune","total":10}', 'op=insert {"book":"Emma","total":5}'].sort());
      // record_name, Feldera's default for raw: the subject is the record's full name.
      const subjects = (await (await fetch(`${registry.url}/subjects`)).json()) as string[];
      assert.ok(subjects.some((subject) => subject.startsWith('com.bookfair.')), JSON.stringify(subjects));
    } finally {
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
