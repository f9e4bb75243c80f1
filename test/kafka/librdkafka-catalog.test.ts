import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkDescriptions, installedConfiguration, parseConfiguration, renderCatalog } from '../../scripts/librdkafka-catalog.ts';
import { LIBRDKAFKA_PROPERTIES } from '../../src/kafka/librdkafka-catalog.ts';
import { LIBRDKAFKA_DESCRIPTIONS } from '../../src/kafka/librdkafka-descriptions.ts';

// A made-up table in CONFIGURATION.md's layout (not librdkafka's text).
const TABLE = [
  '## Global configuration properties',
  '',
  'Property | C/P | Range | Default | Importance | Description',
  '---------|-----|-------|--------:|------------|------------',
  'alpha.ms | * | 0 .. 10 | 5 | low | Sets how many milliseconds alpha lasts before beta begins. <br>*Type: integer*',
  'beta.cmd | P | | run a \\|\\| run b | medium | A command line. <br>*Type: string*',
  '',
  '## Topic configuration properties',
  '',
  'Property | C/P | Range | Default | Importance | Description',
  '---------|-----|-------|--------:|------------|------------',
  'alpha.ms | * | 0 .. 10 | 5 | low | Sets how many milliseconds alpha lasts before beta begins. <br>*Type: integer*',
].join('\n');

const OWN = { 'alpha.ms': 'The pause before beta.', 'beta.cmd': 'What runs.' };

describe('the librdkafka catalog', () => {
  it('is generated from the installed CONFIGURATION.md and up to date', () => {
    const { version, markdown } = installedConfiguration();
    const { source, unused } = renderCatalog(markdown, version, LIBRDKAFKA_DESCRIPTIONS);
    const committed = readFileSync(new URL('../../src/kafka/librdkafka-catalog.ts', import.meta.url), 'utf8');
    assert.equal(committed, source, 'run `node scripts/librdkafka-catalog.ts` to regenerate src/kafka/librdkafka-catalog.ts');
    assert.deepEqual(unused, [], 'descriptions of properties this librdkafka does not have');
  });

  it('has a description of its own for every property, and none for a name it lacks', () => {
    const names = new Set(LIBRDKAFKA_PROPERTIES.map(([name]) => name));
    assert.deepEqual([...names].filter((name) => LIBRDKAFKA_DESCRIPTIONS[name] === undefined), []);
    assert.deepEqual(Object.keys(LIBRDKAFKA_DESCRIPTIONS).filter((name) => !names.has(name)), []);
    const { markdown } = installedConfiguration();
    assert.deepEqual(checkDescriptions(parseConfiguration(markdown), LIBRDKAFKA_DESCRIPTIONS).copied, []);
  });

  it('takes facts only: name, side, level, type, range, default and importance, reading \\| as a bar', () => {
    const rows = parseConfiguration(TABLE);
    assert.deepEqual(
      rows.map(({ name, side, level, type, range, defaultText, importance }) => [name, side, level, type, range, defaultText, importance]),
      [
        ['alpha.ms', '*', 'global', 'integer', '0 .. 10', '5', 'low'],
        ['beta.cmd', 'P', 'global', 'string', '', 'run a || run b', 'medium'],
        ['alpha.ms', '*', 'topic', 'integer', '0 .. 10', '5', 'low'],
      ],
    );
    const { source } = renderCatalog(TABLE, '9.9.9', OWN);
    assert.match(source, /\["beta\.cmd","P","global","string","","run a \|\| run b","medium"\]/);
    assert.doesNotMatch(source, /milliseconds alpha lasts|A command line|The pause before beta/);
  });

  it('refuses to render while a property has no description, naming each', () => {
    assert.throws(
      () => renderCatalog(TABLE, '9.9.9', { 'beta.cmd': 'What runs.' }),
      (error: Error) =>
        error.message.startsWith('librdkafka 9.9.9 has 1 property without a description in src/kafka/librdkafka-descriptions.ts: alpha.ms. ') &&
        error.message.includes('in your own words') &&
        error.message.endsWith('The catalog was not written.'),
    );
    assert.throws(() => renderCatalog(TABLE, '9.9.9', { 'alpha.ms': ' ' }), /has 2 properties without a description in src\/kafka\/librdkafka-descriptions\.ts: alpha\.ms, beta\.cmd\./);
  });

  it('refuses a description that repeats six or more consecutive words of CONFIGURATION.md', () => {
    assert.throws(
      () => renderCatalog(TABLE, '9.9.9', { ...OWN, 'alpha.ms': 'It sets how many milliseconds alpha lasts, roughly.' }),
      /1 description in src\/kafka\/librdkafka-descriptions\.ts repeats 6 or more consecutive words of CONFIGURATION\.md: alpha\.ms: "sets how many milliseconds alpha lasts"\. Rewrite it in your own words\./,
    );
    // Five shared words are not yet a copy.
    assert.doesNotThrow(() => renderCatalog(TABLE, '9.9.9', { ...OWN, 'alpha.ms': 'It sets how many milliseconds alpha, roughly.' }));
  });

  it('reports described names that librdkafka no longer has, without failing', () => {
    const { unused } = renderCatalog(TABLE, '9.9.9', { ...OWN, 'gamma.gone': 'Was here once.' });
    assert.deepEqual(unused, ['gamma.gone']);
  });

  it('refuses a CONFIGURATION.md without property rows', () => {
    assert.throws(() => renderCatalog('# Nothing here', '9.9.9', OWN), /CONFIGURATION\.md has no property table rows; has its format changed\?/);
  });
});
