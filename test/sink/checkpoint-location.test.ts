/**
 * The checkpoint location: created with the sink's identity, reopened by the same query,
 * refused to another naming both, progress mirrored atomically per shard and only forward.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.ts';
import { CheckpointLocation, writeFileAtomically } from '../../src/sink/checkpoint-location.ts';
import type { ProgressRecord } from '../../src/sink/progress.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'spillway-checkpoint-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirs = 0;
const fresh = () => join(root, `location-${dirs++}`, 'nested');
const identity = { sink: 'orders', topic: 'orders-out' };
const at = (epoch: number, index: number, shard = 0): ProgressRecord => ({ sink: 'orders', shard, epoch, position: { kind: 'row', index } });

describe('checkpoint location', () => {
  it('is created with the identity, and the same query reopens it with its progress', async () => {
    const dir = fresh();
    const first = await CheckpointLocation.open(dir, identity);
    assert.equal(first.metadata.sink, 'orders');
    assert.equal(first.metadata.topic, 'orders-out');
    assert.equal(await first.readProgress(), undefined);
    await first.writeProgress(at(1, 10));
    await first.writeProgress(at(2, 25));
    await first.writeProgress(at(5, 3, 1));
    const again = await CheckpointLocation.open(dir, identity);
    assert.equal(again.metadata.id, first.metadata.id, 'the query id is made once');
    assert.deepEqual(await again.readProgress(0), at(2, 25));
    assert.deepEqual(await again.readProgress(1), at(5, 3, 1));
    assert.deepEqual((await readdir(dir)).sort(), ['metadata.json', 'progress-0.json', 'progress-1.json']);
    assert.equal(
      await readFile(join(dir, 'progress-0.json'), 'utf8'),
      '{"version":1,"sink":"orders","shard":0,"epoch":2,"position":{"kind":"row","index":25}}',
    );
  });

  it('refuses a location that belongs to another query, naming both', async () => {
    const dir = fresh();
    const owner = await CheckpointLocation.open(dir, identity);
    for (const other of [{ sink: 'payments', topic: 'orders-out' }, { sink: 'orders', topic: 'elsewhere' }]) {
      await assert.rejects(CheckpointLocation.open(dir, other), {
        code: ErrorCode.InvalidConfig,
        message:
          `checkpoint location "${dir}" belongs to another query: sink "orders" writing topic "orders-out" (id ${owner.metadata.id}, created ${owner.metadata.createdAt}), ` +
          `not sink "${other.sink}" writing topic "${other.topic}"; give each query its own checkpoint location, or delete this one to start that query over`,
      });
    }
  });

  it('moves progress only forward, and only for its own sink', async () => {
    const location = await CheckpointLocation.open(fresh(), identity);
    await location.writeProgress(at(3, 30));
    await assert.rejects(location.writeProgress(at(2, 40)), {
      code: ErrorCode.InvalidState,
      message: 'sink "orders" shard 0: epoch 2 is before the committed epoch 3 (static table row 30) in the checkpoint; progress only moves forward',
    });
    await location.writeProgress(at(3, 30));
    await assert.rejects(location.writeProgress({ ...at(4, 1), sink: 'payments' }), {
      message: `checkpoint location "${location.directory}" is sink "orders"'s; it cannot hold the progress of sink "payments"`,
    });
    assert.deepEqual(await location.readProgress(), at(3, 30));
  });

  it('ignores what a crash left half-written, and refuses files that are not its own', async () => {
    const dir = fresh();
    const location = await CheckpointLocation.open(dir, identity);
    await location.writeProgress(at(1, 10));
    // A crash between writing the temporary file and the rename: the old progress stands.
    await writeFile(join(dir, `progress-0.json.tmp-999-x`), '{"version":1,"sink":"ord');
    assert.deepEqual(await (await CheckpointLocation.open(dir, identity)).readProgress(), at(1, 10));
    await writeFile(join(dir, 'progress-0.json'), 'garbage');
    await assert.rejects(location.readProgress(), { code: ErrorCode.InvalidState, message: new RegExp(`^checkpoint file "${join(dir, 'progress-0.json')}": not a progress record \\(not JSON`) });
    await writeFile(join(dir, 'metadata.json'), '{"version":1,"id":"x"}');
    await assert.rejects(CheckpointLocation.open(dir, identity), {
      code: ErrorCode.InvalidState,
      message: new RegExp(`^checkpoint location "${dir}": metadata.json is not checkpoint metadata \\(sink: .*\\); delete the location to start the query over$`),
    });
    await writeFile(join(dir, 'metadata.json'), '{"version":7}');
    await assert.rejects(CheckpointLocation.open(dir, identity), { message: `checkpoint location "${dir}": metadata.json has version 7; this Spillway reads version 1` });
  });

  it('refuses a path that is a file, or a directory it cannot create', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(CheckpointLocation.open(file, identity), {
      code: ErrorCode.InvalidConfig,
      message: `checkpoint location "${file}" is not a directory; give the path of a directory (it is created if missing)`,
    });
    await assert.rejects(CheckpointLocation.open(join(file, 'below'), identity), {
      code: ErrorCode.InvalidConfig,
      message: new RegExp(`^checkpoint location "${join(file, 'below')}" cannot be used \\(.*\\); give a directory this process can create and write$`),
    });
  });

  it('writes atomically: the new content whole, no temporary file left, the old content when the write fails', async () => {
    const dir = join(root, 'atomic');
    await CheckpointLocation.open(dir, identity);
    const path = join(dir, 'file');
    await writeFileAtomically(path, Buffer.from('one'), dir);
    await writeFileAtomically(path, Buffer.from('two'), dir);
    assert.equal(await readFile(path, 'utf8'), 'two');
    // Renaming onto a directory fails: the temporary file is removed and nothing else changes.
    await assert.rejects(writeFileAtomically(dir, Buffer.from('three'), root), { code: 'EISDIR' });
    assert.deepEqual((await readdir(root)).filter((name) => name.includes('.tmp-')), []);
    assert.deepEqual((await readdir(dir)).sort(), ['file', 'metadata.json']);
  });
});
