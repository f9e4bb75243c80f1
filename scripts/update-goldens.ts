/**
 * Rewrites the encoder conformance suite's golden files from the encoders as they are now. This
 * is the only writer of test/fixtures/golden/: the suite itself only compares, so a test run can
 * never make a comparison pass by rewriting what it compares with. Read every changed file
 * through (git diff) before committing it.
 *
 *   npm run goldens:update
 */
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { GOLDEN_DIRECTORY, cases, goldenFile, renderGolden } from '../test/formats/encoder-cases.ts';

mkdirSync(GOLDEN_DIRECTORY, { recursive: true });
let changed = 0;
for (const testCase of cases) {
  const file = goldenFile(testCase);
  const bytes = await renderGolden(testCase);
  if (existsSync(file) && readFileSync(file).equals(bytes)) continue;
  writeFileSync(file, bytes);
  changed++;
  process.stdout.write(`wrote ${file.pathname}\n`);
}
process.stdout.write(`${changed} of ${cases.length} golden files changed\n`);
