/**
 * The transactional writer's state machine (after Kafka's own TransactionManager and kafkajs's):
 *
 *   uninitialized ─init─► initializing ─► ready ─begin─► in-transaction ─commit─► committing ─► ready
 *                                           ▲                 │                       │
 *                                           │               abort                  (error)
 *                                           │                 ▼                       ▼
 *                                           └────────────── aborting ◄──abort── abort-required
 *   any state ─► fenced (a newer writer has the id) | failed (a fatal error) | closed
 *
 * A call that the current state does not allow fails with INVALID_STATE, naming the state and
 * what to do; fenced, failed and closed are final.
 */
import { ErrorCode, SpillwayError } from '../errors.ts';

export const TransactionState = {
  Uninitialized: 'uninitialized',
  Initializing: 'initializing',
  Ready: 'ready',
  InTransaction: 'in-transaction',
  Committing: 'committing',
  Aborting: 'aborting',
  AbortRequired: 'abort-required',
  Fenced: 'fenced',
  Failed: 'failed',
  Closed: 'closed',
} as const;
export type TransactionState = (typeof TransactionState)[keyof typeof TransactionState];

const transitions: Readonly<Record<TransactionState, readonly TransactionState[]>> = {
  uninitialized: ['initializing'],
  initializing: ['ready'],
  ready: ['in-transaction'],
  'in-transaction': ['committing', 'aborting'],
  committing: ['ready'],
  aborting: ['ready'],
  'abort-required': ['aborting'],
  fenced: [],
  failed: [],
  closed: [],
};

const advice: Readonly<Record<TransactionState, string>> = {
  uninitialized: 'begin a transaction first',
  initializing: 'wait for the initialization to finish',
  ready: 'begin a transaction first',
  'in-transaction': 'commit or abort the open transaction first',
  committing: 'wait for the commit to finish',
  aborting: 'wait for the abort to finish',
  'abort-required': 'a write of this transaction failed: abort it, then begin a new one',
  fenced: 'another writer with the same transactional.id took over; stop this one',
  failed: 'the writer hit a fatal error; close it and create a new one',
  closed: 'the writer is closed; create a new one',
};

export class TransactionStateMachine {
  readonly #transactionalId: string;
  #state: TransactionState = TransactionState.Uninitialized;

  constructor(transactionalId: string) {
    this.#transactionalId = transactionalId;
  }

  get state(): TransactionState {
    return this.#state;
  }

  /** Throws INVALID_STATE unless `next` may follow the current state. */
  assert(next: TransactionState, operation: string): void {
    if (!transitions[this.#state].includes(next)) {
      throw new SpillwayError(
        ErrorCode.InvalidState,
        `cannot ${operation} with transactional.id "${this.#transactionalId}" in state ${this.#state}: ${advice[this.#state]}`,
      );
    }
  }

  transition(next: TransactionState, operation: string): void {
    this.assert(next, operation);
    this.#state = next;
  }

  /** Moves there whatever the state (failures, fencing, close); final states stay final. */
  force(next: TransactionState): void {
    if (this.#state === TransactionState.Fenced || this.#state === TransactionState.Failed || this.#state === TransactionState.Closed) return;
    this.#state = next;
  }
}
