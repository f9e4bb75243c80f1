import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { checkTransactionTimeout, transactionalIdFor } from '../../src/sink/transactional-id.ts';

describe('transactional id', () => {
  it('is stable: derived from the sink name and shard, the same on every call', () => {
    assert.equal(transactionalIdFor({ sink: 'orders', shard: 0 }), 'spillway-orders-0');
    assert.equal(transactionalIdFor({ sink: 'orders', shard: 3 }), 'spillway-orders-3');
    assert.equal(transactionalIdFor({ sink: 'orders', shard: 3 }), transactionalIdFor({ sink: 'orders', shard: 3 }));
    assert.notEqual(transactionalIdFor({ sink: 'orders', shard: 0 }), transactionalIdFor({ sink: 'payments', shard: 0 }));
  });

  it("honours Flink's sink.transactional-id-prefix in place of the name", () => {
    assert.equal(transactionalIdFor({ sink: 'orders', shard: 2, prefix: 'team-a.orders' }), 'team-a.orders-2');
    assert.throws(() => transactionalIdFor({ sink: 'orders', shard: 0, prefix: ' ' }), {
      code: ErrorCode.InvalidConfig,
      message: 'sink "orders": sink.transactional-id-prefix " " is empty or holds spaces; give a prefix such as "orders-sink", unique to this sink in the cluster',
    });
    assert.throws(() => transactionalIdFor({ sink: 'orders', shard: 0, prefix: 'x'.repeat(40_000) }), { message: /the transactional id would be 40002 bytes; Kafka allows 32767/ });
  });

  it('refuses an empty sink name or a bad shard', () => {
    assert.throws(() => transactionalIdFor({ sink: '', shard: 0 }), { code: ErrorCode.InvalidConfig, message: 'sink name "": a sink name cannot be empty' });
    assert.throws(() => transactionalIdFor({ sink: 'a', shard: 1.5 }), { message: 'sink "a": shard 1.5 is not a shard number; give an integer from 0 to 65535' });
  });
});

describe('transaction timeout', () => {
  it('accepts a timeout of at least two epochs within the broker cap', () => {
    checkTransactionTimeout({ sink: 's', epochMs: 100, transactionTimeoutMs: 60_000 });
    checkTransactionTimeout({ sink: 's', epochMs: 30_000, transactionTimeoutMs: 60_000 });
  });

  it('refuses one shorter than two epochs, and one above the broker cap', () => {
    assert.throws(() => checkTransactionTimeout({ sink: 's', epochMs: 40_000, transactionTimeoutMs: 60_000 }), {
      code: ErrorCode.InvalidConfig,
      message: 'sink "s": transaction.timeout.ms is 60000 but an epoch lasts 40000 ms, so the broker could abort an epoch before it commits; set transaction.timeout.ms to at least 80000 (twice the epoch), or use a shorter trigger interval',
    });
    assert.throws(() => checkTransactionTimeout({ sink: 's', epochMs: 100, transactionTimeoutMs: 3_600_000 }), {
      message: 'sink "s": transaction.timeout.ms is 3600000 but the broker allows at most 900000 (transaction.max.timeout.ms); lower it, or raise the broker\'s transaction.max.timeout.ms',
    });
    checkTransactionTimeout({ sink: 's', epochMs: 100, transactionTimeoutMs: 3_600_000, brokerMaxTimeoutMs: 3_600_000 });
  });
});
