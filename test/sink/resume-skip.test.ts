/**
 * How a restarted sink skips what it had committed while the source replays (with the in-memory
 * writer and an at-least-once checkpoint, which skip the same way exactly-once does): exactly
 * the committed rows when the source can tell them by id, even while a topic's partitions are
 * replayed out of step; whole batches, with a warning for the one that crosses, when it cannot.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { jsonSpec } from '../../src/formats/key-value-spec.ts';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { LiveTable } from '../../src/model/live-table.ts';
import { type KafkaPosition, PositionKind, type SourcePosition } from '../../src/model/position.ts';
import { type Schema, defineSchema } from '../../src/model/schema.ts';
import type { RowId } from '../../src/model/table.ts';
import type { Source } from '../../src/sources/source.ts';
import { CheckpointLocation } from '../../src/sink/checkpoint-location.ts';
import { startSink } from '../../src/sink/sink.ts';

const schema = defineSchema({ at: 'string' });

/** A replayable topic-like source the test feeds batch by batch; `exact` says whether it can tell its rows by id. */
class ReplayedTopic extends LiveTable implements Source {
  readonly appendOnly = true;
  readonly capabilities = { replayable: true, positionKind: PositionKind.Kafka } as const;
  readonly description = 'replayed topic';
  #position: KafkaPosition = { kind: PositionKind.Kafka, topic: 'in', offsets: [] };
  readonly rowEmittedBy: ((id: RowId, position: SourcePosition) => boolean | undefined) | undefined;

  constructor(tableSchema: Schema, exact: boolean) {
    super(tableSchema);
    this.rowEmittedBy = exact
      ? (id, position) => {
          const [partition, offset] = String(id).split('@').map(Number);
          const next = position.kind === PositionKind.Kafka ? position.offsets.find((entry) => entry.partition === partition)?.offset : undefined;
          return next !== undefined && (offset as number) < Number(next);
        }
      : undefined;
  }

  override get position(): KafkaPosition {
    return this.#position;
  }

  push(ids: readonly string[], offsets: Record<number, number>): void {
    this.#position = { kind: PositionKind.Kafka, topic: 'in', offsets: Object.entries(offsets).map(([partition, offset]) => ({ partition: Number(partition), offset: String(offset) })) };
    this.emit(ids.map((id) => ({ kind: 'insert', id, row: { at: id } })), this.#position);
  }

  finish(): void {
    this.end();
  }

  close(): void {
    this.end();
  }
}

async function resumed(exact: boolean, committed: Record<number, number>, replay: (source: ReplayedTopic) => void) {
  const checkpointLocation = mkdtempSync(join(tmpdir(), 'spillway-resume-'));
  const location = await CheckpointLocation.open(checkpointLocation, { sink: 'resume', topic: 'out' });
  await location.writeProgress({ sink: 'resume', shard: 0, epoch: 3, position: { kind: PositionKind.Kafka, topic: 'in', offsets: Object.entries(committed).map(([partition, offset]) => ({ partition: Number(partition), offset: String(offset) })) } });
  const source = new ReplayedTopic(schema, exact);
  const writer = new MemoryWriter();
  const sink = startSink(source, { name: 'resume', topic: 'out', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, value: jsonSpec(), checkpointLocation, trigger: { interval: 10 } }, { createWriter: () => writer });
  // Let the sink recover (read the checkpoint) while the replay is already queued, as a restarted program's is.
  replay(source);
  source.finish();
  await sink.done;
  return { written: writer.records('out').map((record) => (JSON.parse(record.value?.toString() ?? '{}') as { at: string }).at), warnings: sink.warnings };
}

it('skips exactly the committed rows while the partitions of a topic are replayed out of step', async () => {
  const { written, warnings } = await resumed(true, { 0: 3, 1: 3 }, (source) => {
    source.push(['0@0', '0@1', '0@2'], { 0: 3 });
    source.push(['0@3', '0@4'], { 0: 5 });
    // Past the committed position in partition 0, still replaying partition 1.
    source.push(['1@0', '1@1', '1@2'], { 0: 5, 1: 3 });
    source.push(['1@3'], { 0: 5, 1: 4 });
  });
  assert.deepEqual(written, ['0@3', '0@4', '1@3']);
  assert.deepEqual(warnings, []);
});

it('without telling rows by id, drops whole batches and warns about the one that crosses the committed position', async () => {
  const { written, warnings } = await resumed(false, { 0: 3 }, (source) => {
    source.push(['0@0', '0@1'], { 0: 2 });
    source.push(['0@2', '0@3'], { 0: 4 });
    source.push(['0@4'], { 0: 5 });
  });
  assert.deepEqual(written, ['0@2', '0@3', '0@4']);
  assert.deepEqual(warnings, [
    'sink "resume": resuming after topic "in" partition 0 offset 3, the source\'s batch that crosses it (up to topic "in" partition 0 offset 4) cannot be split, so up to 2 changes of it may be written again',
  ]);
});
