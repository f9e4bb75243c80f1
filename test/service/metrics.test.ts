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
