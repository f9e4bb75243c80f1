/**
 * Every error Spillway raises is a SpillwayError with one code from this closed set, so callers
 * can branch on `error.code` and the retry policy can tell transient faults from permanent ones.
 */
export const ErrorCode = {
  /** A sink, spec or property is invalid; nothing connected. */
  InvalidConfig: 'INVALID_CONFIG',
  /** A spec names a column the table lacks, or a type the spec cannot use. */
  UnknownColumn: 'UNKNOWN_COLUMN',
  /** A value does not fit its column's type. */
  InvalidValue: 'INVALID_VALUE',
  /** A row could not be encoded by the key or value format. */
  EncodeFailed: 'ENCODE_FAILED',
  /** The table and the sink's update mode or format cannot work together. */
  IncompatibleMode: 'INCOMPATIBLE_MODE',
  /** No broker answered within the configured time. */
  BrokerUnreachable: 'BROKER_UNREACHABLE',
  /** The broker refused or failed a write after the client's retries. */
  DeliveryFailed: 'DELIVERY_FAILED',
  /** An operation was called in a lifecycle state that does not allow it. */
  InvalidState: 'INVALID_STATE',
  /** The embedded broker could not be prepared or started (Java, Maven, ports, storage). */
  EmbeddedBroker: 'EMBEDDED_BROKER',
  /** A schema registry could not be started, reached, or refused a request (an incompatible schema, an unknown subject). */
  SchemaRegistry: 'SCHEMA_REGISTRY',
  /** A fault Spillway did not anticipate; never retried. */
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes whose cause may pass on its own; everything else is permanent. */
const transientCodes: ReadonlySet<ErrorCode> = new Set([ErrorCode.BrokerUnreachable]);

export class SpillwayError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpillwayError';
    this.code = code;
  }

  get retriable(): boolean {
    return transientCodes.has(this.code);
  }
}

/** Wraps anything thrown into a SpillwayError, keeping SpillwayErrors as they are. */
export function asSpillwayError(error: unknown, code: ErrorCode = ErrorCode.Internal): SpillwayError {
  if (error instanceof SpillwayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SpillwayError(code, message, { cause: error });
}
