import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ErrorCode, SpillwayError, zodIssuesError } from '../src/errors.ts';

const schema = z.object({ topic: z.string().min(1), nested: z.object({ n: z.number() }).strict() }).strict();

function issuesOf(input: unknown) {
  const result = schema.safeParse(input);
  assert.equal(result.success, false);
  return result.error?.issues ?? [];
}

describe('zodIssuesError', () => {
  it('lists every problem one per line, with field paths in details', () => {
    const error = zodIssuesError(issuesOf({ topic: '', nested: { n: 'x', extra: 1 }, colour: 'red' }), { subject: 'sink "s"', sink: 's' });
    assert.equal(error.code, ErrorCode.InvalidConfig);
    assert.equal(
      error.message,
      'sink "s" is misconfigured:\n  - topic: Too small: expected string to have >=1 characters\n  - nested.n: Invalid input: expected number, received string\n' +
        '  - nested: unknown option(s) "extra"\n  - spec: unknown option(s) "colour"',
    );
    assert.equal(error.details.sink, 's');
    assert.equal(error.details.field, 'topic');
    assert.deepEqual(error.details.problems?.map((problem) => problem.field), ['topic', 'nested.n', 'nested', '']);
  });

  it('lays problems out on one line with a prefix and a hint', () => {
    const error = zodIssuesError(issuesOf({ topic: '', nested: { n: 1 }, x: 1 }), { subject: 'kafkaTo()', root: 'options', fieldPrefix: 'option ', layout: 'inline', hint: 'see the docs' });
    assert.equal(error.message, 'kafkaTo(): option topic: Too small: expected string to have >=1 characters; unknown option(s) "x"; see the docs');
    assert.equal(error.details.hint, 'see the docs');
  });
});

describe('SpillwayError details', () => {
  it('are frozen, default to empty, and travel in toJSON', () => {
    const plain = new SpillwayError(ErrorCode.Internal, 'boom');
    assert.deepEqual(plain.details, {});
    const error = new SpillwayError(ErrorCode.InvalidConfig, 'bad', { details: { sink: 'a', field: 'topic', hint: 'name one', line: 2, column: 5 } });
    assert.ok(Object.isFrozen(error.details));
    assert.deepEqual(JSON.parse(JSON.stringify(error)), { code: 'INVALID_CONFIG', message: 'bad', details: { sink: 'a', field: 'topic', hint: 'name one', line: 2, column: 5 } });
  });
});
