import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { type Service, createApiKey, createService } from '../../src/service/server.ts';

export const SALES_PROGRAM = `CREATE TABLE sales (id INT, book STRING, amount INT, PRIMARY KEY (id) NOT ENFORCED);
CREATE VIEW total_sales AS SELECT book, SUM(amount) AS total FROM sales GROUP BY book;`;

export function connectorBody(topic: string, bootstrap = 'example.com:9092', extra: Record<string, unknown> = {}) {
  return {
    description: 'Kafka output connector for total sales from the book fair',
    config: {
      transport: { name: 'kafka_output', config: { 'bootstrap.servers': bootstrap, 'auto.offset.reset': 'earliest', topic, ...extra } },
      format: { name: 'json', config: { update_format: 'insert_delete', array: false } },
    },
  };
}

export interface TestService {
  readonly service: Service;
  readonly writer: MemoryWriter;
  readonly dataDir: string;
  readonly write: { readonly authorization: string };
  readonly read: { readonly authorization: string };
  readonly logs: string[];
}

/**
 * A service on a fresh data directory with the in-memory writer, a write key and a read key.
 * `createWriter` gives each sink its own writer instead (a sink closes its writer when it stops).
 */
export function testService(dataDir = mkdtempSync(join(tmpdir(), 'spillway-service-')), createWriter?: () => MemoryWriter): TestService {
  const writer = new MemoryWriter();
  const logs: string[] = [];
  const service = createService({ dataDir, dependencies: { createWriter: createWriter ?? (() => writer) }, log: (line) => logs.push(line), bodyLimit: 64 * 1024 });
  const write = { authorization: `Bearer ${createApiKey(service.store, `writer-${logs.length}-${Date.now()}`, 'write').key}` };
  const read = { authorization: `Bearer ${createApiKey(service.store, `reader-${Date.now()}`, 'read').key}` };
  return { service, writer, dataDir, write, read, logs };
}

/** Calls a service's API with a key, failing the test on an answer that is not 2xx; resolves with the body's text. */
export function checkedCall(url: string, key: string) {
  return async (method: string, path: string, body?: string, type = 'application/json'): Promise<string> => {
    const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': type }) }, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return text;
  };
}
