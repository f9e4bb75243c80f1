/**
 * The progress record: its stable encoding (golden bytes), the key per sink and shard, refusals
 * of what is not a progress record, and the last committed progress of a shard read back from a
 * real compacted progress topic with kcat.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import {
  type ProgressRecord,
  type ProgressTopicRecord,
  decodeProgress,
  encodeProgress,
  lastCommittedProgress,
  progressKey,
} from '../../src/sink/progress.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

const fileRecord: ProgressRecord = { sink: 'orders', shard: 0, epoch: 12, position: { kind: 'file', path: '/data/orders.csv', byteOffset: 4096, line: 81, rows: 80 } };
const kafkaRecord: ProgressRecord = {
  sink: 'mirror/eu',
  shard: 3,
  epoch: 7,
  position: { kind: 'kafka', topic: 'in', offsets: [{ partition: 0, offset: '9007199254740993' }, { partition: 1, offset: '0' }] },
};

const topicRecord = (record: ProgressRecord | null, key: Buffer, offset: number): ProgressTopicRecord => ({
  key,
  value: record === null ? null : encodeProgress(record),
  where: `topic "progress" partition 0 offset ${offset}`,
});

describe('progress record', () => {
  it('encodes as stable JSON, field order fixed, 64-bit offsets as decimal text', () => {
    assert.equal(
      encodeProgress(fileRecord).toString(),
      '{"version":1,"sink":"orders","shard":0,"epoch":12,"position":{"kind":"file","path":"/data/orders.csv","byteOffset":4096,"line":81,"rows":80}}',
    );
    assert.equal(
      encodeProgress(kafkaRecord).toString(),
      '{"version":1,"sink":"mirror/eu","shard":3,"epoch":7,"position":{"kind":"kafka","topic":"in","offsets":[{"partition":0,"offset":"9007199254740993"},{"partition":1,"offset":"0"}]}}',
    );
    // Field order of the input does not matter.
    const shuffled = { position: fileRecord.position, epoch: 12, shard: 0, sink: 'orders' };
    assert.deepEqual(encodeProgress(shuffled), encodeProgress(fileRecord));
  });

  it('decodes what it encodes', () => {
    for (const record of [fileRecord, kafkaRecord]) assert.deepEqual(decodeProgress(encodeProgress(record), 'test'), record);
  });

  it('keys each shard of each sink apart, with the sink name URI-encoded', () => {
    assert.equal(progressKey('orders', 0).toString(), 'spillway-sink:orders:0');
    assert.equal(progressKey('mirror/eu:1', 3).toString(), 'spillway-sink:mirror%2Feu%3A1:3');
    assert.notDeepEqual(progressKey('a:1', 2), progressKey('a', 12));
    assert.throws(() => progressKey('', 0), { code: ErrorCode.InvalidConfig, message: 'sink name "": a sink name cannot be empty' });
    assert.throws(() => progressKey('a\nb', 0), { code: ErrorCode.InvalidConfig, message: 'sink name "a\\nb": a sink name cannot hold control characters' });
    assert.throws(() => progressKey('orders', -1), { code: ErrorCode.InvalidConfig, message: 'sink "orders": shard -1 is not a shard number; give an integer from 0 to 65535' });
  });

  it('refuses what is not a progress record, naming where it was', () => {
    assert.throws(() => decodeProgress(Buffer.from('{"version":1'), 'topic "p" partition 0 offset 4'), {
      code: ErrorCode.InvalidState,
      message: /^topic "p" partition 0 offset 4: not a progress record \(not JSON: /,
    });
    assert.throws(() => decodeProgress(Buffer.from('{"version":2,"sink":"a"}'), 'x'), {
      message: 'x: a progress record of version 2, which this Spillway cannot read (it reads version 1); run the Spillway that wrote it, or start the sink over under a new name',
    });
    assert.throws(() => decodeProgress(Buffer.from('{"version":1,"sink":"a","shard":0,"epoch":-1,"position":{"kind":"row","index":1}}'), 'x'), {
      message: 'x: not a progress record (epoch: Too small: expected number to be >=0)',
    });
    assert.throws(() => decodeProgress(Buffer.from('{"version":1,"sink":"a","shard":0,"epoch":1,"position":{"kind":"row"}}'), 'x'), {
      message: /^x: not a progress record \(position\.index: /,
    });
    assert.throws(() => encodeProgress({ ...fileRecord, epoch: 1.5 }), { code: ErrorCode.InvalidValue, message: /^sink "orders": cannot encode its progress record \(epoch: / });
  });

  it('the last committed progress of a shard: its key only, the latest, a tombstone forgets, an epoch going back is refused', () => {
    const key = progressKey('orders', 0);
    const other = progressKey('orders', 1);
    const at = (epoch: number, index: number): ProgressRecord => ({ sink: 'orders', shard: 0, epoch, position: { kind: 'row', index } });
    assert.equal(lastCommittedProgress([], 'orders', 0), undefined);
    const records = [topicRecord(at(1, 10), key, 0), topicRecord({ ...at(9, 99), shard: 1 }, other, 1), topicRecord(at(2, 20), key, 2)];
    assert.deepEqual(lastCommittedProgress(records, 'orders', 0), at(2, 20));
    assert.equal(lastCommittedProgress([...records, topicRecord(null, key, 3)], 'orders', 0), undefined);
    assert.throws(() => lastCommittedProgress([...records, topicRecord(at(1, 30), key, 3)], 'orders', 0), {
      code: ErrorCode.InvalidState,
      message:
        'topic "progress" partition 0 offset 3: sink "orders" shard 0 went back from epoch 2 (static table row 20) to epoch 1; two writers used this sink name at once without fencing — give each running sink its own name',
    });
    assert.throws(() => lastCommittedProgress([topicRecord({ ...at(1, 1), sink: 'other' }, key, 5)], 'orders', 0), {
      message: 'topic "progress" partition 0 offset 5: keyed for sink "orders" shard 0 but holds the progress of sink "other" shard 0',
    });
  });

  it('round-trips through a compacted progress topic on the broker, read back with kcat', async () => {
    const topic = randomTopic('progress');
    await createTopic([bootstrapServers()], topic, { partitions: 1, config: { 'cleanup.policy': 'compact' } });
    const records = [
      [progressKey('orders', 0), encodeProgress({ ...fileRecord, epoch: 1 })],
      [progressKey('orders', 1), encodeProgress({ ...fileRecord, shard: 1, epoch: 4 })],
      [progressKey('orders', 0), encodeProgress(fileRecord)],
    ] as const;
    await new Promise<void>((resolve, reject) => {
      const child = spawn('kcat', ['-P', '-b', bootstrapServers(), '-t', topic, '-K', '\t'], { stdio: ['pipe', 'ignore', 'pipe'] });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited with ${code}`))));
      child.stdin.end(records.map(([key, value]) => `${key.toString()}\t${value.toString()}\n`).join(''));
    });
    const read = (await kcatRead(topic)).map((record) => ({ key: record.key, value: record.value, where: `topic "${topic}" partition ${record.partition} offset ${record.offset}` }));
    assert.equal(read.length, 3);
    assert.deepEqual(lastCommittedProgress(read, 'orders', 0), fileRecord);
    assert.deepEqual(lastCommittedProgress(read, 'orders', 1)?.epoch, 4);
  });
});
