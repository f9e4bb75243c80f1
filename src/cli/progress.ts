/**
 * Progress of long work on stderr, with cli-progress: on a terminal a line redrawn in place
 * (rows, records, records/s, bytes, elapsed); elsewhere (a pipe, a log file, CI) a plain line at
 * most every five seconds, and a last one at the end.
 */
import { SingleBar } from 'cli-progress';

export interface ProgressSnapshot {
  readonly rows: number;
  readonly records: number;
  readonly bytes: number;
  readonly errors: number;
}

function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit] ?? 'TiB'}`;
}

export class Progress {
  readonly #bar: SingleBar;
  readonly #started = Date.now();
  readonly #read: () => ProgressSnapshot;
  #timer: NodeJS.Timeout | undefined;

  constructor(read: () => ProgressSnapshot, stream: NodeJS.WriteStream = process.stderr, notTtyIntervalMs = 5000) {
    this.#read = read;
    this.#bar = new SingleBar({
      stream,
      format: 'rows {rows} | records {value} | {rate} records/s | {size} | errors {errors} | {elapsed}',
      noTTYOutput: true,
      notTTYSchedule: notTtyIntervalMs,
      hideCursor: false,
      clearOnComplete: false,
      barsize: 0,
    });
  }

  #payload(): Record<string, string | number> {
    const snapshot = this.#read();
    const seconds = Math.max(0.001, (Date.now() - this.#started) / 1000);
    return {
      rows: snapshot.rows,
      rate: Math.round(snapshot.records / seconds),
      size: humanBytes(snapshot.bytes),
      errors: snapshot.errors,
      elapsed: `${seconds.toFixed(1)}s`,
    };
  }

  start(): void {
    this.#bar.start(0, 0, this.#payload());
    this.#timer = setInterval(() => this.#bar.update(this.#read().records, this.#payload()), 250);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#bar.update(this.#read().records, this.#payload());
    this.#bar.stop();
  }
}
