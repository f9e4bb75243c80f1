/**
 * The option objects of the time table and the input table, checked at run time: an unknown
 * option or a contradictory pair is refused by name, never ignored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { timeTable } from '../../src/sources/time-table.ts';

const schema = defineSchema({ id: 'int32' });

describe('source options', () => {
  it('timeTable refuses an unknown option and a startTime that is not a valid Date', () => {
    assert.throws(() => timeTable('PT1S', { start: new Date() } as never), { code: 'INVALID_CONFIG', message: 'timeTable("PT1S"): unknown option(s) "start"' });
    assert.throws(() => timeTable('PT1S', { startTime: new Date('not a date') }), { code: 'INVALID_CONFIG', message: 'timeTable("PT1S"): option startTime: give startTime as a valid Date' });
    const ticks = timeTable('PT1S', { startTime: new Date(0) });
    assert.equal(ticks.periodMs, 1000);
  });

  it('inputTable refuses an unknown option, and replayedBy with notReplayed', () => {
    assert.throws(() => inputTable(schema, { stream: true } as never), { code: 'INVALID_CONFIG', message: 'inputTable(): unknown option(s) "stream"' });
    assert.throws(() => inputTable(schema, { replayedBy: 'a log', notReplayed: 'no log' }), {
      code: 'INVALID_CONFIG',
      message: 'inputTable(): options: give replayedBy (the edits are made again after a restart) or notReplayed (why they are not), not both',
    });
    assert.equal(inputTable(schema, { replayedBy: 'a log' }).capabilities.replayable, true);
  });
});
