/**
 * The service's store on a real SQLite database: the totals of each pipeline's kept ingress,
 * kept by triggers as bodies are added and cleared, across a reopen, and counted once for a
 * store made before they were kept.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { it } from 'node:test';
import type { IngressEntry } from '../../src/service/pipeline-runtime.ts';
import { ServiceStore } from '../../src/service/store.ts';

const entry = (body: string): IngressEntry => ({ table: 'sales', options: { format: 'json', update_format: 'raw' }, body });

it('keeps each pipeline\'s ingress totals as bodies are added and cleared, across a reopen', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spillway-store-'));
  const store = new ServiceStore(dataDir);
  assert.deepEqual(store.ingressSize('sales'), { bodies: 0, bytes: 0 });
  store.appendIngress('sales', entry('{"id":1}'));
  store.appendIngress('sales', entry('{"book":"Naïve"}'));
  store.appendIngress('other', entry('{}'));
  assert.deepEqual(store.ingressSize('sales'), { bodies: 2, bytes: 8 + Buffer.byteLength('{"book":"Naïve"}') });
  store.close();
  const reopened = new ServiceStore(dataDir);
  assert.deepEqual(reopened.ingressSize('sales'), { bodies: 2, bytes: 25 });
  reopened.clearIngress('sales');
  assert.deepEqual(reopened.ingressSize('sales'), { bodies: 0, bytes: 0 });
  assert.deepEqual(reopened.ingressSize('other'), { bodies: 1, bytes: 2 });
  reopened.appendIngress('sales', entry('{"id":3}'));
  assert.deepEqual(reopened.ingressSize('sales'), { bodies: 1, bytes: 8 });
  reopened.close();
});

it('counts the kept ingress of a store made before the totals were kept, once, when it opens', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'spillway-store-'));
  const old = new DatabaseSync(join(dataDir, 'spillway.sqlite'));
  old.exec(`CREATE TABLE ingress (id INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, table_name TEXT NOT NULL, options TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
    INSERT INTO ingress (pipeline, table_name, options, body, created_at) VALUES ('sales', 'sales', '{}', 'abc', 'then'), ('sales', 'sales', '{}', 'ü', 'then');`);
  old.close();
  const store = new ServiceStore(dataDir);
  assert.deepEqual(store.ingressSize('sales'), { bodies: 2, bytes: 5 });
  store.appendIngress('sales', entry('d'));
  store.close();
  assert.deepEqual(new ServiceStore(dataDir).ingressSize('sales'), { bodies: 3, bytes: 6 });
});
