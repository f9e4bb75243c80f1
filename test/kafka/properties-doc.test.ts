import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { renderPropertiesDoc } from '../../scripts/properties-doc.ts';

it('docs/properties.md is generated from the catalog and up to date', () => {
  const committed = readFileSync(new URL('../../docs/properties.md', import.meta.url), 'utf8');
  assert.equal(committed, renderPropertiesDoc(), 'run `node scripts/properties-doc.ts` to regenerate docs/properties.md');
});
