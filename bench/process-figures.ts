/**
 * A benchmark process's own figures, as /usr/bin/time reports them: its peak RSS and CPU
 * seconds, and its wall time. The suite and the REST scenario run their subjects under it.
 */

/** /usr/bin/time's arguments before the command: one line of figures, on the process's stderr. */
export const TIME_ARGS: readonly string[] = ['-f', 'BENCH-TIME %M %U %S %e'];

export interface ProcessFigures {
  readonly rssMiB: number;
  readonly cpu: number;
  readonly wall: number;
}

/** The figures from a timed process's stderr, or undefined when /usr/bin/time printed none. */
export function processFigures(stderr: string): ProcessFigures | undefined {
  const line = stderr.trim().split('\n').reverse().find((text) => text.startsWith('BENCH-TIME '));
  if (line === undefined) return undefined;
  const [, rssKiB, user, system, wall] = line.split(' ').map(Number) as [number, number, number, number, number];
  return { rssMiB: rssKiB / 1024, cpu: user + system, wall };
}
