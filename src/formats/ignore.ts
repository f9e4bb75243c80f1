import type { Encoder } from './encoder.ts';

export interface IgnoreSpec {
  readonly kind: 'ignore';
}

/** KeyValueSpec.IGNORE: the record part is left null. */
export function ignoreEncoder(): Encoder {
  return { format: 'ignore', capabilities: { ignored: true, columns: [] }, encode: () => null };
}
