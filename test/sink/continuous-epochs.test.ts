/**
 * A continuous trigger with an epoch (`{ continuous: 100 }`): records still go out as changes
 * arrive, no change waits past its epoch's end for linger.ms, and each epoch's end is reported
 * once everything that arrived in it is acknowledged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { jsonSpec } from '../../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import type { SinkProgress } from '../../src/sink/epoch-clock.ts';
import { EpochClock } from '../../src/sink/epoch-clock.ts';
import { startSink } from '../../src/sink/sink.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function continuousSink(trigger: unknown, lingerMs: number) {
  const table = inputTable(defineSchema({ n: 'int32' }));
  const writer = new MemoryWriter();
  const progress: (SinkProgress & { written: number })[] = [];
  const sink = startSink(
    table,
    { name: 'epochs', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9', 'linger.ms': lingerMs }, value: jsonSpec(), trigger },
    { createWriter: () => writer, onProgress: (report) => progress.push({ ...report, written: writer.records('out').length }) },
  );
  return { table, writer, sink, progress };
}

describe('continuous trigger epochs', () => {
  it('each epoch ends with what arrived written, and is reported at the epoch cadence', async () => {
    const { table, writer, sink, progress } = continuousSink({ continuous: 100 }, 60_000);
    const started = Date.now();
    table.add({ n: 1 });
    await sleep(250);
    // linger.ms is a minute; the epoch's end wrote the row anyway.
    assert.equal(writer.records('out').length, 1);
    table.add([{ n: 2 }, { n: 3 }]);
    await sleep(300);
    table.close();
    await sink.done;
    const elapsed = Date.now() - started;
    assert.deepEqual(progress.map((report) => report.epoch), progress.map((_report, index) => index), 'epochs count up from 0');
    assert.ok(progress.length >= 4 && progress.length <= Math.ceil(elapsed / 100) + 1, `${progress.length} reports in ${elapsed} ms`);
    for (const report of progress) {
      assert.equal(report.sink, 'epochs');
      assert.equal(report.records, report.written, 'a report comes after its records are acknowledged');
      assert.equal(report.rows, report.records);
    }
    const gaps = progress.slice(1, -1).map((report, index) => report.at - (progress[index] as SinkProgress).at);
    const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)] ?? 0;
    assert.ok(median >= 70 && median <= 200, `epochs ${gaps.join(', ')} ms apart`);
    assert.equal(progress.at(-1)?.records, 3, 'the last report, at the end, holds every record');
  });

  it('without an epoch, linger.ms holds the same row back and nothing is reported', async () => {
    const { table, writer, sink, progress } = continuousSink('continuous', 1_000);
    table.add({ n: 1 });
    await sleep(250);
    assert.equal(writer.records('out').length, 0, 'still lingering');
    table.close();
    await sink.done;
    assert.equal(writer.records('out').length, 1);
    assert.deepEqual(progress, []);
  });

  it('ends the linger as soon as a batch is full, however long linger.ms is', async () => {
    const table = inputTable(defineSchema({ n: 'int32' }));
    const writer = new MemoryWriter();
    const sink = startSink(
      table,
      { name: 'full', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9', 'linger.ms': 60_000, 'batch.num.messages': 4 }, value: jsonSpec() },
      { createWriter: () => writer },
    );
    table.add([{ n: 1 }, { n: 2 }]);
    await sleep(150);
    assert.equal(writer.records('out').length, 0, 'half a batch lingers');
    table.add([{ n: 3 }, { n: 4 }, { n: 5 }]);
    await sleep(150);
    assert.equal(writer.records('out').length, 4, 'a full batch goes at once; the rest lingers');
    table.close();
    await sink.done;
    assert.equal(writer.records('out').length, 5);
  });

  it('an epoch that is not a positive duration is refused, saying how to write one', () => {
    for (const epoch of ['soon', 0, -5]) {
      assert.throws(
        () => continuousSink({ continuous: epoch }, 5),
        (error: unknown) =>
          error instanceof SpillwayError &&
          error.code === ErrorCode.InvalidConfig &&
          error.message.includes(`trigger: "${String(epoch)}" is not a positive duration; write milliseconds (5000), an interval ("5 seconds", "1 minute", "100ms") or an ISO-8601 period ("PT5S")`),
        String(epoch),
      );
    }
  });

  it('the clock ends epochs on fixed boundaries and skips the ones a busy sink missed', () => {
    const clock = new EpochClock(100, 1_000);
    assert.equal(clock.remaining(1_040), 60);
    assert.equal(clock.due(1_099), false);
    assert.equal(clock.advance(1_100), 0);
    assert.equal(clock.remaining(1_100), 100);
    assert.equal(clock.advance(1_450), 1, 'one epoch ends, not one per missed boundary');
    assert.equal(clock.remaining(1_450), 50);
    assert.equal(clock.epoch, 2);
  });
});
