import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { it } from 'node:test';
import { runDemo } from '../../src/cli/demo-command.ts';
import { kcatRead, randomTopic } from '../helpers/kafka.ts';

it('the demo streams a live table, reads records back, and stops cleanly', async () => {
  const topic = randomTopic('demo');
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await runDemo({ topic, period: 'PT0.05S', seconds: '3.5' }, out);
  assert.match(text, new RegExp(`streaming a live trades table to topic "${topic}"`));
  assert.match(text, /read back the first 5 records/);
  assert.match(text, /key=[A-Z]+ {2}value=\{"Seq":\d+,"Timestamp":"[^"]+Z","Sym":"[A-Z]+","Price":[\d.]+,"Qty":\d+\}/);
  const stopped = /stopped cleanly: (\d+) records acknowledged by the broker/.exec(text);
  assert.ok(stopped !== null, text);
  assert.equal((await kcatRead(topic)).length, Number(stopped[1]));
});

it('the demo says so when too few records are acknowledged to read back in time', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  // One row an hour: the first row is all there is.
  await runDemo({ topic: randomTopic('demo-slow'), period: 'PT1H', seconds: '1.5', readBackWaitMs: 500 }, out);
  assert.match(text, /\n[01] of the first 5 records acknowledged after 0\.5 s, so none are read back; a broker just started may still be getting ready \(spillway broker status shows its log\)\n/);
  assert.doesNotMatch(text, /read back the first/);
});

