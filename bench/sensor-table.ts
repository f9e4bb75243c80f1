/**
 * The benchmarks' table: 6 columns (int64 id, a ~16-byte string key, two float64, an int32, a
 * ~40-byte string), so every benchmark measures the same rows.
 */
import { defineSchema } from '../src/model/schema.ts';

export const sensorSchema = defineSchema({ id: 'int64', key: 'string', a: 'float64', b: 'float64', n: 'int32', note: 'string' });

const note = 'the quick brown fox jumps over the lazy d';

/** Row i of the benchmark table, before validation. */
export function sensorRow(i: number): Record<string, unknown> {
  return { id: BigInt(i), key: `sensor-${String(i % 10_000).padStart(9, '0')}`, a: i * 0.5, b: Math.sqrt(i), n: i % 1000, note };
}

export function sensorRows(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_v, i) => sensorRow(i));
}
