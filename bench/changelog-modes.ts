/**
 * Changelog throughput: 1,000,000 changes on 100,000 keys, 10% of them deletes, written in upsert
 * mode (rows by key, tombstones for deletes) — beside append mode on the same rows (every change
 * written as a plain row). Each mode runs in its own child process so peak RSS is its own. The
 * program pushes changes into an input table in batches, waiting on `whenWritable()`, so memory
 * stays bounded by the sink's queue. Uses the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is set.
 *   node bench/changelog-modes.ts [changes] [keys]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../src/broker/embedded-broker.ts';
import { produce } from '../src/dialects/deephaven.ts';
import { jsonSpec, simpleSpec } from '../src/formats/key-value-spec.ts';
import { createTopic } from '../src/kafka/kafka-client.ts';
import { defineSchema } from '../src/model/schema.ts';
import { inputTable } from '../src/sources/input-table.ts';

const changes = Number(process.argv[2] ?? 1_000_000);
const keys = Number(process.argv[3] ?? 100_000);
const BATCH = 1000;

interface ModeResult {
  readonly mode: string;
  readonly changesPerSecond: number;
  readonly records: number;
  readonly peakRssMiB: number;
}

/** A deterministic changelog: puts and (1 in 10) deletes of keys drawn by a linear congruential generator. */
function* changelog(): Generator<{ readonly remove: boolean; readonly id: number; readonly i: number }> {
  let seed = 42;
  for (let i = 0; i < changes; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    yield { remove: seed % 10 === 0, id: seed % keys, i };
  }
}

async function runMode(mode: 'upsert' | 'append', bootstrap: string): Promise<ModeResult> {
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const topic = `bench-${mode}-${Date.now()}`;
  await createTopic([bootstrap], topic, { partitions: 6 });
  const schema = defineSchema({ id: 'int32', key: 'string', amount: 'float64', seq: 'int64' }, mode === 'upsert' ? { primaryKey: ['id'] } : {});
  const table = inputTable(schema);
  const started = performance.now();
  const sink = produce({ table, kafkaConfig: { 'bootstrap.servers': bootstrap }, topic, keySpec: simpleSpec('key'), valueSpec: jsonSpec(), mode, name: `bench-${mode}` });
  let puts: Record<string, unknown>[] = [];
  let deletes: Record<string, unknown>[] = [];
  const flush = async () => {
    await table.whenWritable();
    if (puts.length > 0) table.add(puts);
    if (deletes.length > 0 && mode === 'upsert') table.delete(deletes);
    puts = [];
    deletes = [];
  };
  for (const change of changelog()) {
    const row = { id: change.id, key: `key-${change.id}`, amount: change.i * 0.25, seq: BigInt(change.i) };
    // Upsert deletes the key; append has no deletes, so the same change is written as a row.
    if (change.remove && mode === 'upsert') deletes.push({ id: change.id });
    else puts.push(row);
    if (puts.length + deletes.length >= BATCH) await flush();
  }
  await flush();
  table.close();
  await sink.done;
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return { mode, changesPerSecond: changes / seconds, records: sink.metrics.records, peakRssMiB: peakRss / 1024 / 1024 };
}

const child = process.argv[4];
if (child === 'upsert' || child === 'append') {
  process.stdout.write(JSON.stringify(await runMode(child, process.env.KAFKA_BOOTSTRAP_SERVERS ?? '')));
} else {
  const bootstrap = process.env.KAFKA_BOOTSTRAP_SERVERS ?? (await startBroker()).bootstrapServers ?? '';
  const results = (['upsert', 'append'] as const).map((mode): ModeResult => {
    const output = execFileSync(process.execPath, [fileURLToPath(import.meta.url), String(changes), String(keys), mode], {
      env: { ...process.env, KAFKA_BOOTSTRAP_SERVERS: bootstrap },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(output) as ModeResult;
  });
  console.log(`changes: ${changes} on ${keys} keys, 10% deletes`);
  for (const result of results) {
    console.log(`${result.mode}: ${Math.round(result.changesPerSecond)} changes/s, ${result.records} records, peak RSS ${Math.round(result.peakRssMiB)} MiB`);
  }
  const [upsert, append] = results as [ModeResult, ModeResult];
  console.log(`ratio upsert/append: ${(upsert.changesPerSecond / append.changesPerSecond).toFixed(2)}`);
}
