import { z } from 'zod';
import type { Encoder } from './encoder.ts';

export const ignoreSpecSchema = z.object({ kind: z.literal('ignore') }).strict();
export type IgnoreSpec = z.output<typeof ignoreSpecSchema>;

/** KeyValueSpec.IGNORE: the record part is left null. */
export function ignoreEncoder(): Encoder {
  return {
    format: 'ignore',
    capabilities: { ignored: true, columns: [], envelope: 'none', arrays: false },
    encode: () => null,
  };
}
