import type { FlowGate } from '../model/table.ts';

/**
 * The sink's backpressure gate: it closes when the sink's queue reaches its limit and opens again
 * when the queue has drained to half of it (the gap keeps sources from stalling on every change).
 */
export class QueueGate implements FlowGate {
  readonly #limit: number;
  #open = true;
  #waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  get open(): boolean {
    return this.#open;
  }

  whenOpen(): Promise<void> {
    return this.#open ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Tells the gate how many changes are queued now. */
  update(queued: number): void {
    if (this.#open && queued >= this.#limit) this.#open = false;
    else if (!this.#open && queued <= this.#limit / 2) this.openNow();
  }

  /** Opens the gate whatever the queue (the sink stopped and holds nothing back any more). */
  openNow(): void {
    this.#open = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
