/**
 * The CLI's exit codes, one per error code, so scripts can tell a configuration mistake from an
 * unreachable broker without reading messages. docs/cli.md lists them.
 */
import { ErrorCode } from '../errors.ts';

export const ExitCode = {
  Ok: 0,
  /** An error Spillway did not anticipate (INTERNAL, or anything not a SpillwayError). */
  Internal: 1,
  /** The command line itself is wrong: an unknown command or option, a missing argument. */
  Usage: 2,
  /** `broker status`: the broker is not running. */
  NotRunning: 3,
  /** A second Ctrl-C: stopped without waiting for what was queued. */
  Interrupted: 130,
} as const;

/** Every error code's exit code (a Record over the closed set, so a new code cannot be forgotten). */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.InvalidConfig]: 10,
  [ErrorCode.UnknownColumn]: 11,
  [ErrorCode.IncompatibleMode]: 12,
  [ErrorCode.InvalidValue]: 13,
  [ErrorCode.EncodeFailed]: 14,
  [ErrorCode.BrokerUnreachable]: 20,
  [ErrorCode.DeliveryFailed]: 21,
  [ErrorCode.SchemaRegistry]: 22,
  [ErrorCode.EmbeddedBroker]: 23,
  [ErrorCode.InvalidState]: 30,
  [ErrorCode.Internal]: ExitCode.Internal,
};

export function exitCodeFor(code: ErrorCode): number {
  return EXIT_CODES[code];
}
