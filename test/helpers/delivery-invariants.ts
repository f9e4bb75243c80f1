/**
 * Delivery invariants over records read back from a topic (by kcat, the independent reader):
 *
 * - no gap: every row the source produced is in the topic at least once;
 * - no duplicate: no row is in the topic twice (what exactly-once adds to at-least-once);
 * - order per key: each key's rows appear in the order the source produced them. Kafka orders
 *   records only within a partition, so a key found on two partitions is itself a violation.
 *   Under at-least-once a replay writes rows again after later ones (0 1 2 1 2 3); order is then
 *   checked over each row's first appearance, which is what a reader that drops repeats sees.
 *
 * A row is identified by its key and its sequence number within that key, both decoded from the
 * record by the test (see `deliveredFrom`).
 */
import type { KcatRecord } from './kafka.ts';

export interface DeliveredRow {
  readonly key: string;
  /** The row's place in its key's sequence as the source produced it: 0, 1, 2, … */
  readonly sequence: number;
  readonly partition: number;
  readonly offset: number;
}

export interface Violation {
  readonly invariant: 'no-gap' | 'no-duplicate' | 'order-per-key';
  readonly message: string;
}

/** Turns records read back into rows, in the topic's order (partition, then offset). */
export function deliveredFrom(
  records: readonly KcatRecord[],
  decode: (record: KcatRecord) => { readonly key: string; readonly sequence: number },
): DeliveredRow[] {
  return [...records]
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset)
    .map((record) => ({ ...decode(record), partition: record.partition, offset: record.offset }));
}

const at = (row: DeliveredRow): string => `partition ${row.partition} offset ${row.offset}`;

/**
 * Every expected row is present. `expected` maps each key to how many rows the source produced
 * for it (sequences 0 … n − 1). A row the source never produced is reported too.
 */
export function findGaps(rows: readonly DeliveredRow[], expected: ReadonlyMap<string, number>): Violation[] {
  const seen = new Map<string, Set<number>>();
  const violations: Violation[] = [];
  for (const row of rows) {
    const count = expected.get(row.key);
    if (count === undefined || !Number.isInteger(row.sequence) || row.sequence < 0 || row.sequence >= count) {
      violations.push({ invariant: 'no-gap', message: `key "${row.key}" sequence ${row.sequence} at ${at(row)} was never produced` });
      continue;
    }
    let sequences = seen.get(row.key);
    if (sequences === undefined) seen.set(row.key, (sequences = new Set()));
    sequences.add(row.sequence);
  }
  for (const [key, count] of expected) {
    const sequences = seen.get(key) ?? new Set<number>();
    let missing: number[] = [];
    for (let sequence = 0; sequence < count; sequence++) if (!sequences.has(sequence)) missing.push(sequence);
    if (missing.length === 0) continue;
    const total = missing.length;
    missing = missing.slice(0, 10);
    violations.push({
      invariant: 'no-gap',
      message: `key "${key}": ${total} of ${count} row(s) missing, sequence ${missing.join(', ')}${total > missing.length ? ', …' : ''}`,
    });
  }
  return violations;
}

/** No row appears twice. */
export function findDuplicates(rows: readonly DeliveredRow[]): Violation[] {
  const first = new Map<string, DeliveredRow>();
  const violations: Violation[] = [];
  for (const row of rows) {
    const id = `${row.key}\u0000${row.sequence}`;
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, row);
    else violations.push({ invariant: 'no-duplicate', message: `key "${row.key}" sequence ${row.sequence} at ${at(earlier)} and again at ${at(row)}` });
  }
  return violations;
}

/**
 * Each key stays on one partition and its rows appear in sequence order. With `firstAppearances`
 * a row seen again (a replay) is skipped, and the first appearances must be in order.
 */
export function findOrderViolations(rows: readonly DeliveredRow[], options: { readonly firstAppearances?: boolean } = {}): Violation[] {
  const last = new Map<string, DeliveredRow>();
  const seen = new Set<string>();
  const violations: Violation[] = [];
  for (const row of rows) {
    const id = `${row.key}\u0000${row.sequence}`;
    if (options.firstAppearances === true && seen.has(id)) continue;
    seen.add(id);
    const previous = last.get(row.key);
    last.set(row.key, row);
    if (previous === undefined) continue;
    if (previous.partition !== row.partition) {
      violations.push({ invariant: 'order-per-key', message: `key "${row.key}" is on partition ${previous.partition} and on partition ${row.partition}, so its order is lost` });
    } else if (row.sequence <= previous.sequence) {
      violations.push({
        invariant: 'order-per-key',
        message: `key "${row.key}": sequence ${row.sequence} at ${at(row)} comes after sequence ${previous.sequence} at ${at(previous)}`,
      });
    }
  }
  return violations;
}

export const Guarantee = { AtLeastOnce: 'at-least-once', ExactlyOnce: 'exactly-once' } as const;
export type Guarantee = (typeof Guarantee)[keyof typeof Guarantee];

/** The violations of a guarantee: at-least-once allows repeats; exactly-once does not. */
export function deliveryViolations(rows: readonly DeliveredRow[], expected: ReadonlyMap<string, number>, guarantee: Guarantee): Violation[] {
  const exactly = guarantee === Guarantee.ExactlyOnce;
  return [
    ...findGaps(rows, expected),
    ...(exactly ? findDuplicates(rows) : []),
    ...findOrderViolations(rows, { firstAppearances: !exactly }),
  ];
}

/** Throws, listing the first violations, unless the rows keep the guarantee. */
export function assertDelivery(rows: readonly DeliveredRow[], expected: ReadonlyMap<string, number>, guarantee: Guarantee): void {
  const violations = deliveryViolations(rows, expected, guarantee);
  if (violations.length === 0) return;
  const shown = violations.slice(0, 20).map((violation) => `  - ${violation.invariant}: ${violation.message}`);
  throw new Error(
    `${guarantee} is broken: ${violations.length} violation(s) over ${rows.length} record(s)\n${shown.join('\n')}` +
      (violations.length > shown.length ? `\n  - … ${violations.length - shown.length} more` : ''),
  );
}
