import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { renderCliDoc, renderSpecSchema, renderSqlDoc } from '../../../scripts/sql-doc.ts';

it('docs/sql.md, docs/cli.md and docs/sink-spec.schema.json are generated and up to date', () => {
  const read = (name: string) => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');
  const hint = 'run `node scripts/sql-doc.ts` to regenerate the docs';
  assert.equal(read('sql.md'), renderSqlDoc(), hint);
  assert.equal(read('cli.md'), renderCliDoc(), hint);
  assert.equal(read('sink-spec.schema.json'), renderSpecSchema(), hint);
});
