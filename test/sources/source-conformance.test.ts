/**
 * One conformance suite for every source (src/sources/): each source, through a small harness
 * that knows how to feed it, must
 *
 * - snapshot then changes: rows read before a consumer came are its snapshot; rows after it
 *   arrive as batches, each with a position of the source's kind that never goes back;
 * - end: once its input ends (or it is closed) it ends, and consumers hear it;
 * - failure: bad input fails it with a SpillwayError naming the problem, or is refused at the call;
 * - gate: while a consumer's gate is closed it makes nothing new, and goes on when it opens;
 * - resume: a replayable source resumed from a position reported with a batch yields exactly the
 *   rest (same ids, same rows), from its start everything, from its end nothing; a position of
 *   another kind is refused. A source that cannot be replayed says so, with the reason.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import type { LiveTable } from '../../src/model/live-table.ts';
import { type SourcePosition, positionAtOrBefore } from '../../src/model/position.ts';
import { type Row, defineSchema } from '../../src/model/schema.ts';
import type { Change, FlowGate, RowId } from '../../src/model/table.ts';
import { fromFile } from '../../src/sources/file-table.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { fromAsyncIterable } from '../../src/sources/iterable-table.ts';
import { kafkaTopicTable } from '../../src/sources/kafka-topic-table.ts';
import { type ResumableSource, type Source, isResumable, replayabilityOf } from '../../src/sources/source.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { timeTable } from '../../src/sources/time-table.ts';
import { bootstrapServers, eventually, randomTopic } from '../helpers/kafka.ts';

interface Batch {
  readonly changes: readonly Change[];
  readonly position: SourcePosition | undefined;
}

/** Subscribes, keeping every batch with its position, and whether the table ended. */
function record(source: Source) {
  const batches: Batch[] = [];
  const state = { ended: false };
  const snapshot = [...source.rows()];
  const snapshotPosition = source.position;
  const subscription = source.subscribe({
    onChanges: (changes, position) => batches.push({ changes, position }),
    onEnd: () => (state.ended = true),
  });
  const ids = (): RowId[] => batches.flatMap((batch) => batch.changes.map((change) => change.id));
  return { batches, state, snapshot, snapshotPosition, subscription, ids };
}

/** A gate a test opens and closes by hand. */
function manualGate() {
  let open = true;
  let waiters: (() => void)[] = [];
  const gate: FlowGate = {
    get open() {
      return open;
    },
    whenOpen: () => (open ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
  return {
    gate,
    close: () => (open = false),
    open: () => {
      open = true;
      for (const resolve of waiters) resolve();
      waiters = [];
    },
  };
}

const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));
const until = (probe: () => boolean, what: string) => eventually(() => Promise.resolve(probe()), (ok) => ok, 15_000).catch(() => assert.fail(`timed out waiting for ${what}`));

interface Harness {
  readonly name: string;
  /** A source with `early` rows read already and `late` rows to come when `grow` is called. */
  readonly open: () => Promise<{ readonly source: Source; readonly grow: () => Promise<void>; readonly end: () => Promise<void> }>;
  /** How many rows `open` starts with and how many `grow` adds. */
  readonly early: number;
  readonly late: number;
  /** Feeds bad input; the source fails (ends with `failure`), or the call throws. */
  readonly failure: () => Promise<{ readonly source?: Source; readonly thrown?: unknown }>;
  readonly failureMessage: RegExp;
  /**
   * Rows that may still arrive after the gate closes: what was already being produced (an item
   * the iterable was computing, a fetch under way). Nothing after that.
   */
  readonly inFlight?: number;
  /** Why the gate cannot apply (every row exists when the source is made), or undefined. */
  readonly gateNotApplicable?: string;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spillway-sources-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const numbers = defineSchema({ n: 'int32', s: 'string' });
const line = (n: number) => `${JSON.stringify({ n, s: `row ${n}` })}\n`;
const csvLine = (n: number) => `${n},"row, ""${n}"""\n`;
let files = 0;

function fileHarness(format: 'ndjson' | 'csv'): Harness {
  const render = format === 'ndjson' ? line : csvLine;
  const header = format === 'csv' ? 'n,s\n' : '';
  return {
    name: `fromFile (${format}, followed)`,
    early: 25,
    late: 15,
    open: async () => {
      const path = join(dir, `conformance-${files++}.${format}`);
      await writeFile(path, header + Array.from({ length: 25 }, (_, n) => render(n)).join(''));
      const source = fromFile(path, { format, schema: numbers, follow: true, pollIntervalMs: 20 });
      await source.caughtUp();
      return {
        source,
        grow: async () => {
          // In two writes, the first ending mid-line: the half line waits for its newline.
          const text = Array.from({ length: 15 }, (_, n) => render(25 + n)).join('');
          await appendFile(path, text.slice(0, text.length - 4));
          await source.caughtUp();
          await appendFile(path, text.slice(text.length - 4));
          await source.caughtUp();
        },
        end: () => Promise.resolve(source.close()),
      };
    },
    failure: async () => {
      const path = join(dir, `bad-${files++}.${format}`);
      await writeFile(path, header + render(0) + (format === 'ndjson' ? '{"n":"x"}\n' : 'x,y\n'));
      const source = fromFile(path, { format, schema: numbers });
      await source.whenEnded().catch(() => {});
      return { source };
    },
    // The bad line is the second row: line 2 of the NDJSON file, line 3 of the CSV file after its header.
    failureMessage: format === 'ndjson' ? /: line 2: column "n" is int32 but got "x"/ : /: line 3: column "n" is int32 but got "x"/,
  };
}

const harnesses: Harness[] = [
  {
    name: 'newTable',
    early: 20,
    late: 0,
    open: () => {
      const source = newTable(numbers, Array.from({ length: 20 }, (_, n) => ({ n, s: `row ${n}` })));
      return Promise.resolve({ source, grow: () => Promise.resolve(), end: () => Promise.resolve() });
    },
    failure: () => {
      try {
        newTable(numbers, [{ n: 'x', s: 'a' }]);
      } catch (thrown) {
        return Promise.resolve({ thrown });
      }
      return Promise.resolve({});
    },
    failureMessage: /row 0/,
    gateNotApplicable: 'a static table has every row when it is made, so there is nothing to hold back',
  },
  {
    name: 'inputTable',
    early: 10,
    late: 10,
    open: () => {
      const source = inputTable(numbers);
      for (let n = 0; n < 10; n++) source.add({ n, s: `row ${n}` });
      return Promise.resolve({
        source,
        grow: async () => {
          for (let n = 10; n < 20; n++) {
            await source.whenWritable();
            source.add({ n, s: `row ${n}` });
          }
        },
        end: () => Promise.resolve(source.close()),
      });
    },
    failure: () => {
      const source = inputTable(numbers);
      try {
        source.add([{ n: 1, s: 'a' }, { n: 'x', s: 'b' }]);
      } catch (thrown) {
        assert.equal(source.size, 0, 'a bad row refuses the whole edit');
        return Promise.resolve({ thrown });
      }
      return Promise.resolve({});
    },
    failureMessage: /add\(\): row 1/,
  },
  {
    name: 'timeTable',
    early: 20,
    late: 10,
    open: () => {
      // Twenty 10 ms periods in the past: twenty rows at once, then one every 10 ms.
      const source = timeTable(10, { startTime: new Date(Date.now() - 195) });
      return Promise.resolve({
        source,
        grow: async () => {
          const target = source.position.sequence + 10;
          await until(() => source.position.sequence >= target, 'ten more ticks');
        },
        end: () => Promise.resolve(source.close()),
      });
    },
    failure: () => {
      try {
        timeTable('P1Q');
      } catch (thrown) {
        return Promise.resolve({ thrown });
      }
      return Promise.resolve({});
    },
    failureMessage: /P1Q/,
  },
  {
    name: 'fromAsyncIterable',
    early: 10,
    late: 10,
    open: async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      async function* items() {
        for (let n = 0; n < 10; n++) yield { n, s: `row ${n}` };
        await gate;
        for (let n = 10; n < 20; n++) yield { n, s: `row ${n}` };
        await done;
      }
      const source = fromAsyncIterable(numbers, items());
      await until(() => source.size === 10, 'the first ten items');
      return {
        source,
        grow: async () => {
          release();
          await until(() => source.position.index === 20, 'ten more items');
        },
        end: async () => {
          release();
          finish();
          await source.whenEnded();
        },
      };
    },
    failure: async () => {
      // eslint-disable-next-line require-yield
      async function* broken(): AsyncGenerator<Record<string, unknown>> {
        await Promise.resolve();
        throw new Error('disk gone');
      }
      const source = fromAsyncIterable(numbers, broken());
      await source.whenEnded().catch(() => {});
      return { source };
    },
    failureMessage: /the iterable threw after 0 item\(s\): disk gone/,
    inFlight: 1,
  },
  fileHarness('ndjson'),
  fileHarness('csv'),
  (() => {
    const kafkaConfig = () => ({ 'bootstrap.servers': bootstrapServers() });
    return {
      name: 'kafkaTopicTable (3 partitions)',
      early: 30,
      late: 15,
      open: async () => {
        const topic = randomTopic('conformance');
        await createTopic([bootstrapServers()], topic, { partitions: 3 });
        await kcatWrite(topic, Array.from({ length: 30 }, (_, n) => n));
        const source = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: numbers, mode: 'append' });
        await until(() => source.size === 30, 'the first thirty records');
        return {
          source,
          grow: async () => {
            // Two writes: a fetch may be under way for the first when a gate closes; not for the second.
            await kcatWrite(topic, Array.from({ length: 5 }, (_, n) => 30 + n));
            await settle(300);
            await kcatWrite(topic, Array.from({ length: 10 }, (_, n) => 35 + n));
            await until(() => source.metrics.records === 45, 'fifteen more records');
          },
          end: () => source.close(),
        };
      },
      failure: async () => {
        const topic = randomTopic('conformance-bad');
        await createTopic([bootstrapServers()], topic, { partitions: 1 });
        await kcatWrite(topic, [0], 'not json');
        const source = kafkaTopicTable({ kafkaConfig: kafkaConfig(), topic, schema: numbers, mode: 'append' });
        await source.done.catch(() => {});
        return { source };
      },
      failureMessage: /partition \d offset 1: the value is not JSON/,
      inFlight: 5,
    };
  })(),
];

/** Writes rows n (as JSON) with kcat, keyed by n so they spread over the partitions; then `extra` as is. */
async function kcatWrite(topic: string, ns: readonly number[], extra?: string): Promise<void> {
  const input = ns.map((n) => `${n}\t${JSON.stringify({ n, s: `row ${n}` })}\n`).join('') + (extra === undefined ? '' : `x\t${extra}\n`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('kcat', ['-P', '-b', bootstrapServers(), '-t', topic, '-K', '\t'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited with ${code}: ${stderr}`))));
    child.stdin.end(input);
  });
}

/** The rows by id, in the order they arrived. */
function byId(entries: readonly (readonly [RowId, Row])[]): Map<RowId, Row> {
  return new Map(entries);
}

describe('source conformance', () => {
  for (const harness of harnesses) {
    describe(harness.name, () => {
      it('snapshot then changes, each batch with a position of its kind that never goes back', async () => {
        const { source, grow, end } = await harness.open();
        const seen = record(source);
        assert.equal(seen.snapshot.length, harness.early);
        assert.notEqual(seen.snapshotPosition, undefined);
        assert.equal(seen.snapshotPosition?.kind, source.capabilities.positionKind);
        await grow();
        await end();
        await until(() => seen.state.ended, 'the end');
        const ids = seen.ids();
        assert.ok(ids.length >= harness.late, `${ids.length} change(s) after the snapshot, expected at least ${harness.late}`);
        const snapshotIds = new Set(seen.snapshot.map(([id]) => id));
        assert.ok(ids.every((id) => !snapshotIds.has(id)), 'no row of the snapshot comes again as a change');
        let previous = seen.snapshotPosition;
        for (const batch of seen.batches) {
          assert.ok(batch.position !== undefined, 'every batch carries a position');
          assert.equal(batch.position.kind, source.capabilities.positionKind);
          assert.equal(positionAtOrBefore(previous, batch.position), true, `position went back: ${JSON.stringify(previous)} then ${JSON.stringify(batch.position)}`);
          previous = batch.position;
        }
        assert.deepEqual(source.position, previous, 'the source is where its last batch left it');
      });

      it('ends when its input ends or it is closed, and a later consumer hears it', async () => {
        const { source, end } = await harness.open();
        await end();
        await until(() => source.ended, 'the end');
        let heard = false;
        source.subscribe({ onChanges: () => {}, onEnd: () => (heard = true) });
        await until(() => heard, 'onEnd for a late consumer');
        assert.equal(source.failure, undefined);
      });

      it('fails on bad input with a SpillwayError that names it', async () => {
        const { source, thrown } = await harness.failure();
        const error = source?.failure ?? thrown;
        assert.ok(error instanceof SpillwayError, `expected a SpillwayError, got ${String(error)}`);
        assert.match(error.message, harness.failureMessage);
        if (source !== undefined) assert.equal(source.ended, true);
      });

      it('makes nothing new while a gate is closed, and goes on when it opens', async (context) => {
        if (harness.gateNotApplicable !== undefined) {
          context.diagnostic(harness.gateNotApplicable);
          const { source } = await harness.open();
          const gate = manualGate();
          gate.close();
          source.addGate(gate.gate);
          assert.equal(source.ended, true);
          return;
        }
        const { source, grow, end } = await harness.open();
        const gate = manualGate();
        const release = source.addGate(gate.gate);
        gate.close();
        const before = source.size;
        const growing = grow();
        await settle(harness.inFlight === undefined ? 300 : 900);
        const held = source.size;
        assert.ok(held - before <= (harness.inFlight ?? 0), `${held - before} row(s) arrived while the gate was closed; at most ${harness.inFlight ?? 0} may be in flight`);
        await settle(300);
        assert.equal(source.size, held, 'nothing more while the gate stays closed');
        const position = source.position;
        gate.open();
        await growing;
        assert.ok(source.size >= before + harness.late, `${source.size} row(s) once the gate opened, expected ${before + harness.late}`);
        const closedAt = position;
        assert.equal(positionAtOrBefore(closedAt, source.position), true);
        assert.notDeepEqual(source.position, closedAt);
        release();
        await end();
      });

      it('resumes from a position with exactly the rest, or says it cannot be replayed', async () => {
        const { source, grow, end } = await harness.open();
        const seen = record(source);
        await grow();
        await end();
        await until(() => seen.state.ended, 'the end');
        if (!source.capabilities.replayable) {
          assert.equal(isResumable(source), false);
          assert.ok(source.capabilities.reason.length > 0);
          const derived = (source as Source & LiveTable).where(() => true);
          const { replayable, warnings } = replayabilityOf(derived);
          assert.equal(replayable, false);
          assert.deepEqual(warnings, [
            `${source.description} cannot be replayed (${source.capabilities.reason}): after a restart its rows are not read again, so delivery is at-least-once for what was written and rows accepted but not yet written are lost`,
          ]);
          return;
        }
        assert.ok(isResumable(source));
        assert.deepEqual(replayabilityOf((source as unknown as LiveTable).select([source.schema.columns[0]?.name ?? ''])), { replayable: true, warnings: [] });
        const resumable: ResumableSource = source;
        const all: [RowId, Row][] = [...seen.snapshot, ...seen.batches.flatMap((b) => b.changes.map((c): [RowId, Row] => [c.id, c.row]))];
        // Every point a sink could have committed: the snapshot, and after each batch.
        const points: { position: SourcePosition; rowsBefore: number }[] = [{ position: seen.snapshotPosition, rowsBefore: seen.snapshot.length }];
        let count = seen.snapshot.length;
        for (const batch of seen.batches) {
          count += batch.changes.length;
          points.push({ position: batch.position as SourcePosition, rowsBefore: count });
        }
        const middle = points[Math.floor(points.length / 2)] as (typeof points)[number];
        for (const point of [middle, points.at(-1) as (typeof points)[number]]) {
          const resumed = resumable.resumeFrom(point.position);
          const rest = all.slice(point.rowsBefore);
          const got: [RowId, Row][] = [];
          const collect = () => {
            for (const entry of resumed.rows()) got.push(entry);
          };
          collect();
          resumed.subscribe({ onChanges: (changes) => changes.forEach((c) => got.push([c.id, c.row])) });
          // A live source goes on after the rest (new ticks, new records): compare what overlaps.
          await until(() => got.length >= rest.length, 'the rest');
          await settle(50);
          await resumed.close();
          const gotById = byId(got);
          for (const [id, row] of rest) assert.deepEqual(gotById.get(id), row, `row ${String(id)} after resuming from ${JSON.stringify(point.position)}`);
          const restIds = new Set(rest.map(([id]) => id));
          const beforeIds = all.slice(0, point.rowsBefore).map(([id]) => id);
          assert.ok(beforeIds.every((id) => !gotById.has(id) || restIds.has(id)), 'nothing before the position comes again');
          if (harness.name !== 'timeTable' && !harness.name.startsWith('kafka')) assert.equal(got.length, rest.length);
        }
        // From the source's start: everything.
        const first = points[0] as (typeof points)[number];
        if (first.rowsBefore === 0) {
          const again = resumable.resumeFrom(first.position);
          await until(() => again.size >= all.length, 'everything again');
          await again.close();
        }
        assert.throws(() => resumable.resumeFrom({ kind: 'item', index: 3 }), (error: unknown) => {
          assert.ok(error instanceof SpillwayError);
          assert.equal(error.code, ErrorCode.InvalidConfig);
          assert.match(error.message, new RegExp(`resumeFrom\\(\\): a position of kind "item" cannot resume a source whose positions are of kind "${source.capabilities.positionKind}"`));
          return true;
        });
      });
    });
  }
});

describe('resuming from a chosen position', () => {
  it('a static table from row 7: rows 7 … 19 with their ids; from row 0: all of them', () => {
    const table = newTable(numbers, Array.from({ length: 20 }, (_, n) => ({ n, s: `row ${n}` })));
    const rest = table.resumeFrom({ kind: 'row', index: 7 });
    assert.deepEqual([...rest.rows()].map(([id]) => id), Array.from({ length: 13 }, (_, i) => 7 + i));
    assert.deepEqual(rest.position, { kind: 'row', index: 20 });
    assert.deepEqual([...table.resumeFrom({ kind: 'row', index: 0 }).rows()], [...table.rows()]);
  });

  it('a file from its first byte is the whole file; from another file is refused naming both', async () => {
    const path = join(dir, 'whole.ndjson');
    await writeFile(path, Array.from({ length: 5 }, (_, n) => line(n)).join(''));
    const table = fromFile(path, { format: 'ndjson', schema: numbers });
    await table.whenEnded();
    const again = table.resumeFrom({ kind: 'file', path, byteOffset: 0, line: 1, rows: 0 });
    await again.whenEnded();
    assert.deepEqual([...again.rows()], [...table.rows()]);
    assert.deepEqual(again.position, table.position);
    assert.throws(() => table.resumeFrom({ kind: 'file', path: '/elsewhere.ndjson', byteOffset: 10, line: 2, rows: 1 }), {
      code: ErrorCode.InvalidConfig,
      message: `fromFile("${path}").resumeFrom(): the position is in file "/elsewhere.ndjson", not this one; resume the source that reported it`,
    });
  });

  it('a time table resumed from row 3 gives the first run’s rows 3, 4, … with the same timestamps', () => {
    const start = new Date(Date.now() - 1_000);
    const first = timeTable('PT0.1S', { startTime: start });
    const resumed = first.resumeFrom({ kind: 'time', sequence: 3, timestampNs: String(BigInt(start.getTime()) * 1_000_000n + 300_000_000n) });
    const original = new Map(first.rows());
    for (const [id, row] of resumed.rows()) if (original.has(id)) assert.deepEqual(row, original.get(id));
    assert.equal([...resumed.rows()][0]?.[0], 3);
    first.close();
    resumed.close();
  });

  it('a position that is not one is refused, naming what is wrong', () => {
    const table = newTable(numbers, []);
    assert.throws(() => table.resumeFrom({ kind: 'row', index: -1 }), {
      code: ErrorCode.InvalidConfig,
      message: /^newTable\.resumeFrom\(\): not a source position \(index: Too small: expected number to be >=0\); positions come from a table's batches or its `position`$/,
    });
  });
});
