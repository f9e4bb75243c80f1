/**
 * Memory of an append-only stream: a time table and an async iterable stream 1,000,000 and
 * 5,000,000 rows through a sink (JSON values) to the in-memory writer, each run in its own child
 * process so its peak RSS is its own. The writer's records are dropped as they arrive, so what is
 * measured is Spillway's own memory: the table does not keep rows every sink has (see
 * `Table.retainRows`), the sink's queue is bounded by backpressure. For contrast, a run at 1M
 * with the rows kept (`retainRows()`, as complete mode asks) shows what keeping them costs.
 *   node bench/append-memory.ts [rows...]      (default: 1000000 5000000)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jsonSpec } from '../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../src/kafka/memory-writer.ts';
import { defineSchema } from '../src/model/schema.ts';
import type { Table } from '../src/model/table.ts';
import { startSink } from '../src/sink/sink.ts';
import { fromAsyncIterable } from '../src/sources/iterable-table.ts';
import { timeTable } from '../src/sources/time-table.ts';

type Source = 'time-table' | 'iterable';

interface RunResult {
  readonly source: Source;
  readonly rows: number;
  readonly kept: boolean;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** RSS when 10%, 50% and 100% of the rows were written, and the peak, in MiB. */
  readonly rssMiB: { readonly at10: number; readonly at50: number; readonly at100: number; readonly peak: number };
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

/**
 * The in-memory writer standing in for Kafka: records are counted and dropped as they are
 * written, as a broker takes them away, so they do not count as Spillway's memory. RSS is sampled
 * here too, since a stream that never waits on a timer may leave no turn to a sampling interval.
 */
class DroppingWriter extends MemoryWriter {
  written = 0;
  peakRss = 0;
  readonly #marks: number[] = [];
  readonly #rows: number;

  constructor(rows: number) {
    super({ partitions: 6 });
    this.#rows = rows;
  }

  /** RSS when 10% and 50% of the rows were written. */
  get marks(): readonly number[] {
    return this.#marks;
  }

  override async write(records: Parameters<MemoryWriter['write']>[0]): Promise<void> {
    await super.write(records);
    for (const partitions of this.topics.values()) for (const stored of partitions) stored.length = 0;
    const before = this.written;
    this.written += records.length;
    if (Math.floor(before / 20_000) !== Math.floor(this.written / 20_000)) {
      const rss = process.memoryUsage().rss;
      this.peakRss = Math.max(this.peakRss, rss);
      while (this.#marks.length < 2 && this.written >= [0.1, 0.5][this.#marks.length]! * this.#rows) this.#marks.push(rss);
    }
  }
}

async function run(source: Source, rows: number, kept: boolean): Promise<RunResult> {
  const writer = new DroppingWriter(rows);
  let table: Table & { close(): void | Promise<void> };
  if (source === 'time-table') {
    // A row every microsecond, the first one `rows` microseconds ago: the table catches up as fast as the sink takes rows.
    const ticks = timeTable(0.001, { startTime: new Date(Date.now() - rows / 1000) });
    table = ticks;
    ticks.subscribe({ onChanges: () => void (ticks.position.sequence >= rows && ticks.close()) });
  } else {
    const schema = defineSchema({ n: 'int64', name: 'string', value: 'float64' });
    // A plain generator: the table pulls it item by item, as it pulls an async one.
    function* items() {
      for (let n = 0; n < rows; n++) yield { n: BigInt(n), name: `sensor-${n % 100}`, value: n * 0.5 };
    }
    table = fromAsyncIterable(schema, items());
  }
  if (kept) table.retainRows();
  const started = performance.now();
  const sink = startSink(table, { name: `bench-${source}`, topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, value: jsonSpec() }, { createWriter: () => writer });
  await sink.done;
  const seconds = (performance.now() - started) / 1000;
  const end = process.memoryUsage().rss;
  const peak = Math.max(writer.peakRss, end);
  const marks = writer.marks;
  const records = sink.metrics.records;
  if (records < rows || writer.written !== records) throw new Error(`${source}: ${records} records written (${writer.written} reached the writer), expected at least ${rows}`);
  return {
    source,
    rows: records,
    kept,
    seconds: Math.round(seconds * 10) / 10,
    rowsPerSecond: Math.round(records / seconds),
    rssMiB: { at10: mib(marks[0] ?? end), at50: mib(marks[1] ?? end), at100: mib(end), peak: mib(peak) },
  };
}

if (process.argv[2] === '--child') {
  const result = await run(process.argv[3] as Source, Number(process.argv[4]), process.argv[5] === 'kept');
  process.stdout.write(JSON.stringify(result));
} else {
  const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1_000_000, 5_000_000];
  const runs: [Source, number, boolean][] = [];
  for (const source of ['time-table', 'iterable'] as const) {
    for (const rows of sizes) runs.push([source, rows, false]);
    runs.push([source, sizes[0] ?? 1_000_000, true]);
  }
  const results: RunResult[] = [];
  for (const [source, rows, kept] of runs) {
    const output = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', source, String(rows), kept ? 'kept' : 'released'], {
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    results.push(JSON.parse(output) as RunResult);
  }
  console.log('append-only stream through a sink to the in-memory writer (JSON values), one child process per run');
  console.log('source      rows        rows kept  seconds  rows/s    RSS MiB at 10% / 50% / 100%   peak');
  for (const r of results) {
    console.log(
      `${r.source.padEnd(11)} ${String(r.rows).padEnd(11)} ${(r.kept ? 'yes' : 'no').padEnd(10)} ${String(r.seconds).padEnd(8)} ${String(r.rowsPerSecond).padEnd(9)} ` +
        `${`${r.rssMiB.at10} / ${r.rssMiB.at50} / ${r.rssMiB.at100}`.padEnd(29)} ${r.rssMiB.peak}`,
    );
  }
  for (const source of ['time-table', 'iterable'] as const) {
    const released = results.filter((r) => r.source === source && !r.kept);
    const small = released[0];
    const large = released.at(-1);
    if (small !== undefined && large !== undefined && large !== small) {
      console.log(`${source}: peak RSS at ${large.rows} rows is ${(large.rssMiB.peak / small.rssMiB.peak).toFixed(2)}× the peak at ${small.rows} rows (${(large.rows / small.rows).toFixed(0)}× the rows)`);
    }
  }
}
