/**
 * Crash-and-restart cycles of a sink program in forked children: start it, SIGKILL it at a random
 * point while it writes, start it again, … then let a last run finish. Used by the crash tests
 * (a few cycles) and by `bench/crash-soak.ts` (many cycles over a million rows).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const crashSinkProgram = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'programs', 'crash-sink.ts');

export interface CrashSinkArguments {
  readonly servers: string;
  readonly source: 'csv' | 'kafka';
  readonly input: string;
  readonly topic: string;
  readonly name: string;
  readonly delivery: 'at-least-once' | 'exactly-once';
  readonly total: number;
  readonly checkpointLocation?: string;
  /** Exactly-once: the compacted topic of the sink's committed progress. */
  readonly progressTopic?: string;
}

export interface RunOutcome {
  /** `killed` when the parent killed it; else how it exited. */
  readonly end: 'killed' | 'done' | 'failed';
  readonly ms: number;
  /** The program's last status line (`done` carries the sink's metrics). */
  readonly last: Record<string, unknown> | undefined;
  readonly stderr: string;
}

/**
 * One run: killed with SIGKILL `killAfterMs` after it says it is running (or, with `killFrom:
 * 'writing'`, after its first records of the run are acknowledged) unless it ends first,
 * or, without `killAfterMs`, left to finish within `limitMs` (killed and reported as failed after that).
 */
export function runCrashSink(
  args: CrashSinkArguments,
  options: { readonly killAfterMs?: number; readonly killFrom?: 'running' | 'writing'; readonly limitMs?: number } = {},
): Promise<RunOutcome> {
  const started = Date.now();
  const child = spawn(process.execPath, [crashSinkProgram, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let last: Record<string, unknown> | undefined;
  let killedBy: 'parent' | 'limit' | undefined;
  const timers: NodeJS.Timeout[] = [];
  const kill = (by: 'parent' | 'limit') => {
    if (child.exitCode === null && child.signalCode === null && killedBy === undefined) {
      killedBy = by;
      child.kill('SIGKILL');
    }
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    let newline: number;
    while ((newline = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, newline);
      stdout = stdout.slice(newline + 1);
      try {
        last = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (last.event === (options.killFrom ?? 'running') && options.killAfterMs !== undefined) timers.push(setTimeout(kill, options.killAfterMs, 'parent'));
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  timers.push(setTimeout(kill, options.limitMs ?? 120_000, 'limit'));
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      for (const timer of timers) clearTimeout(timer);
      const end = killedBy === 'parent' ? 'killed' : code === 0 && last?.event === 'done' ? 'done' : 'failed';
      resolve({ end, ms: Date.now() - started, last, stderr });
    });
  });
}

export interface CycleReport {
  readonly runs: readonly RunOutcome[];
  /** Runs killed before they had written everything. */
  readonly killed: number;
}

/**
 * `cycles` runs each killed at a random point in [minMs, maxMs) after it starts (or starts writing), then one
 * run left to finish. `random` makes the kill points reproducible.
 */
export async function crashCycles(
  args: CrashSinkArguments,
  options: {
    readonly cycles: number;
    readonly minMs: number;
    readonly maxMs: number;
    readonly killFrom?: 'running' | 'writing';
    readonly random?: () => number;
    readonly limitMs?: number;
    readonly onRun?: (run: RunOutcome, index: number) => void;
  },
): Promise<CycleReport> {
  const random = options.random ?? Math.random;
  const runs: RunOutcome[] = [];
  for (let cycle = 0; cycle < options.cycles; cycle++) {
    const killAfterMs = Math.floor(options.minMs + random() * (options.maxMs - options.minMs));
    const run = await runCrashSink(args, { killAfterMs, killFrom: options.killFrom ?? 'running', limitMs: options.limitMs ?? 120_000 });
    runs.push(run);
    options.onRun?.(run, cycle);
    if (run.end === 'failed') throw new Error(`crash-sink run ${cycle + 1} failed: ${JSON.stringify(run.last)}\n${run.stderr}`);
  }
  const final = await runCrashSink(args, { limitMs: options.limitMs ?? 120_000 });
  runs.push(final);
  options.onRun?.(final, options.cycles);
  if (final.end !== 'done') throw new Error(`the last crash-sink run did not finish: ${JSON.stringify(final.last)}\n${final.stderr}`);
  return { runs, killed: runs.filter((run) => run.end === 'killed').length };
}

/** A CSV file of `total` rows `key,seq` over `keys` keys (row i: key k<i mod keys>, seq ⌊i / keys⌋). */
export function writeRowsCsv(path: string, total: number, keys = 8): void {
  const lines = ['key,seq'];
  for (let i = 0; i < total; i++) lines.push(`k${i % keys},${Math.floor(i / keys)}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** A seeded generator (mulberry32), so a soak's kill points can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
