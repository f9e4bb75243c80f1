import assert from 'node:assert/strict';
import { it } from 'node:test';
import { TransactionState, TransactionStateMachine } from '../../src/kafka/transaction-state.ts';

it('walks init → ready → in-transaction → committing/aborting → ready, and refuses anything else', () => {
  const machine = new TransactionStateMachine('tx-1');
  assert.throws(() => machine.transition(TransactionState.InTransaction, 'begin a transaction'), {
    code: 'INVALID_STATE',
    message: 'cannot begin a transaction with transactional.id "tx-1" in state uninitialized: begin a transaction first',
  });
  machine.transition(TransactionState.Initializing, 'initialize');
  machine.transition(TransactionState.Ready, 'initialize');
  machine.transition(TransactionState.InTransaction, 'begin');
  assert.throws(() => machine.transition(TransactionState.Ready, 'commit'), { message: /in state in-transaction: commit or abort the open transaction first/ });
  machine.transition(TransactionState.Committing, 'commit');
  machine.transition(TransactionState.Ready, 'commit');
  machine.transition(TransactionState.InTransaction, 'begin');
  machine.force(TransactionState.AbortRequired);
  assert.throws(() => machine.transition(TransactionState.Committing, 'commit'), {
    message: 'cannot commit with transactional.id "tx-1" in state abort-required: a write of this transaction failed: abort it, then begin a new one',
  });
  machine.transition(TransactionState.Aborting, 'abort');
  machine.transition(TransactionState.Ready, 'abort');
});

it('keeps fenced, failed and closed final', () => {
  for (const final of [TransactionState.Fenced, TransactionState.Failed, TransactionState.Closed]) {
    const machine = new TransactionStateMachine('tx-2');
    machine.force(final);
    machine.force(TransactionState.Ready);
    assert.equal(machine.state, final);
    assert.throws(() => machine.transition(TransactionState.Initializing, 'initialize'), { code: 'INVALID_STATE' });
  }
});
