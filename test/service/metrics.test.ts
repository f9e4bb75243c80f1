/**
 * /metrics exports exactly what docs/service.md lists, with the listed types, and every
 * `spillway_…` metric named anywhere in the user documentation exists.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { serviceMetrics } from '../../src/service/metrics.ts';

const root = join(import.meta.dirname, '..', '..');

async function exported(): Promise<Map<string, string>> {
  const metrics = await serviceMetrics(() => []).getMetricsAsJSON();
  return new Map(metrics.map((metric) => [metric.name, String(metric.type)]));
}

describe('the documented metrics', () => {
  it('are the ones /metrics exports, with their types', async () => {
    const table = readFileSync(join(root, 'docs', 'service.md'), 'utf8');
    const documented = new Map([...table.matchAll(/^\s*\| `(spillway_[a-z_]+)` \| (counter|gauge|histogram|summary) \|/gm)].map((match) => [match[1] as string, match[2] as string]));
    assert.ok(documented.size > 0, 'docs/service.md has the metrics table');
    assert.deepEqual([...documented].sort(), [...(await exported())].sort());
  });

  it('count committed transactions where the sink reports them, and none where it does not', async () => {
    const metrics = { rows: 5, records: 5, bytes: 50, errors: 0, queued: 0, dropped: 0, triggers: 2 };
    const connector = (name: string, extra: Record<string, number>) => ({ name, connector_name: name, relation_name: 'v', topic: 't', state: 'running', metrics: { ...metrics, ...extra } as never, errors: [] });
    const runtime = {
      name: 'p',
      state: 'Running' as const,
      connectors: () => [connector('exactly-once', { transactions: 4 }), connector('at-least-once', {})],
      inputConnectors: () => [{ name: 'in', connector_name: 'in', relation_name: 'sales', transport: 'kafka_input' as const, state: 'running', metrics: { messages: 7, changes: 6, errors: 1 }, errors: [] }],
    };
    const text = await serviceMetrics(() => [runtime]).metrics();
    assert.match(text, /^spillway_connector_transactions_total\{pipeline="p",connector="exactly-once",topic="t"\} 4$/m);
    assert.match(text, /^spillway_connector_transactions_total\{pipeline="p",connector="at-least-once",topic="t"\} 0$/m);
    assert.match(text, /^spillway_input_connector_messages_total\{pipeline="p",connector="in",table="sales"\} 7$/m);
    assert.match(text, /^spillway_input_connector_changes_total\{pipeline="p",connector="in",table="sales"\} 6$/m);
    assert.match(text, /^spillway_input_connector_errors_total\{pipeline="p",connector="in",table="sales"\} 1$/m);
  });

  it('named anywhere in the documentation exist', async () => {
    const names = await exported();
    const files = [join(root, 'README.md'), ...readdirSync(join(root, 'docs')).filter((file) => file.endsWith('.md')).map((file) => join(root, 'docs', file))];
    for (const file of files) {
      for (const match of readFileSync(file, 'utf8').matchAll(/\bspillway_[a-z_]+/g)) {
        assert.ok(names.has(match[0]), `${file} names ${match[0]}, which /metrics does not export`);
      }
    }
  });
});
