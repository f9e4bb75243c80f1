/**
 * Epochs of a continuous trigger (Spark's `stream_trigger_continuous(checkpoint = 5000)`, whose
 * checkpoint interval is the epoch length). Records still go out as changes arrive; the epoch
 * bounds how long any change may wait (a `linger.ms` longer than the epoch is cut short at its
 * end), and at each epoch's end everything that arrived during it is written and acknowledged,
 * and then a progress report is made. Epoch ends are fixed points in time from the sink's start;
 * a sink busy past several of them ends one epoch, not one per missed boundary.
 */

import type { SourcePosition } from '../model/position.ts';

/** What a sink reports at the end of an epoch: totals since it started. */
export interface SinkProgress {
  /** The sink's name. */
  readonly sink: string;
  /** The epoch that ended, counting from 0. */
  readonly epoch: number;
  /** Table changes taken so far, every one of them written and acknowledged. */
  readonly rows: number;
  /** Records the broker acknowledged so far. */
  readonly records: number;
  /** Key and value bytes acknowledged so far. */
  readonly bytes: number;
  /** Kafka transactions committed so far (exactly-once). */
  readonly transactions: number;
  /** The source position everything written so far reaches, when the source has positions. */
  readonly position?: SourcePosition;
  /** When the epoch ended (epoch milliseconds). */
  readonly at: number;
}

/** The epoch of a continuous sink that needs epochs (exactly-once, a checkpoint location) and names none. */
export const DEFAULT_EPOCH_MS = 1_000;

export class EpochClock {
  readonly epochMs: number;
  #epoch = 0;
  #endsAt: number;

  constructor(epochMs: number, now = Date.now()) {
    this.epochMs = epochMs;
    this.#endsAt = now + epochMs;
  }

  /** The number of the epoch in progress. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Milliseconds until the current epoch ends (0 once it is due). */
  remaining(now = Date.now()): number {
    return Math.max(0, this.#endsAt - now);
  }

  due(now = Date.now()): boolean {
    return now >= this.#endsAt;
  }

  /** Ends the current epoch: the next one ends at the first boundary still ahead. */
  advance(now = Date.now()): number {
    const ended = this.#epoch++;
    this.#endsAt += this.epochMs * Math.max(1, Math.ceil((now - this.#endsAt) / this.epochMs));
    if (this.#endsAt <= now) this.#endsAt += this.epochMs;
    return ended;
  }
}
