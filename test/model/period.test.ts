import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parsePeriod } from '../../src/model/period.ts';

it('parses ISO-8601 periods, including Deephaven\'s clock form', () => {
  assert.equal(parsePeriod('PT0.1S'), 100);
  assert.equal(parsePeriod('PT00:00:00.1'), 100);
  assert.equal(parsePeriod('PT5S'), 5000);
  assert.equal(parsePeriod('pt1m30s'), 90_000);
  assert.equal(parsePeriod('P1DT1H'), 90_000_000);
  assert.equal(parsePeriod('PT01:00:00'), 3_600_000);
});

it('rejects what is not a positive period, saying how to write one', () => {
  for (const bad of ['', 'P', 'PT', '0.1S', 'PT0S', '-PT1S', 'PT1X', 'PTS']) {
    assert.throws(() => parsePeriod(bad), { code: 'INVALID_CONFIG', message: /is not a positive ISO-8601 period; write it like PT0\.1S/ }, bad);
  }
});
