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

/**
 * What an error is about, for programs: the CLI maps codes to exit codes, the REST service turns
 * details into JSON bodies, an editor underlines a SQL error's line and column.
 */
export interface ErrorDetails {
  /** The sink (or connector, or SQL table) the error is about. */
  readonly sink?: string;
  /** The field path within the spec or options, such as `value.columns.0`. */
  readonly field?: string;
  /** How to fix it, in a sentence. */
  readonly hint?: string;
  /** Position in a SQL text or file, 1-based. */
  readonly line?: number;
  readonly column?: number;
  /** One entry per problem when an error reports several at once. */
  readonly problems?: readonly { readonly field: string; readonly message: string }[];
}

export interface SpillwayErrorOptions {
  readonly cause?: unknown;
  readonly details?: ErrorDetails;
}

export class SpillwayError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options?: SpillwayErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SpillwayError';
    this.code = code;
    this.details = Object.freeze({ ...options?.details });
  }

  /** The error as plain JSON (code, message, details), for the REST service and `--json` output. */
  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
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

/** The parts of a zod issue the helper reads (structural, so this file does not import zod). */
export interface ZodIssueLike {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
}

export interface ZodIssuesContext {
  /** Opens the message: `sink "orders"`, `kafkaTo()`, `connector "out"`. */
  readonly subject: string;
  /** What the path is relative to, for an issue at the root: `spec`, `options`, `connector`. */
  readonly root?: string;
  /** Put before each field path: `option ` gives "option topic: …". */
  readonly fieldPrefix?: string;
  /** Lay problems out one per line (`\n  - `) or on one line (`; `). */
  readonly layout?: 'lines' | 'inline';
  /** Between the subject and the problems: `is misconfigured:` or `:`. */
  readonly verb?: string;
  readonly hint?: string;
  readonly sink?: string;
  readonly code?: ErrorCode;
}

/**
 * The one translation of zod issues into a SpillwayError: every problem on its own (unknown keys
 * named), the field paths kept in `details.problems`, the first one in `details.field`.
 */
export function zodIssuesError(issues: readonly ZodIssueLike[], context: ZodIssuesContext): SpillwayError {
  const root = context.root ?? 'spec';
  const prefix = context.fieldPrefix ?? '';
  const problems = issues.map((issue) => {
    const field = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue.keys ?? []).map((key) => `"${key}"`).join(', ');
      const where = field === '' ? (context.layout === 'inline' ? '' : `${root}: `) : `${prefix}${field}: `;
      return { field, message: `${where}unknown option(s) ${keys}` };
    }
    return { field, message: `${field === '' ? root : `${prefix}${field}`}: ${issue.message}` };
  });
  const listed =
    context.layout === 'inline' ? problems.map((problem) => problem.message).join('; ') : `\n  - ${problems.map((problem) => problem.message).join('\n  - ')}`;
  const verb = context.verb ?? (context.layout === 'inline' ? ':' : ' is misconfigured:');
  const message = `${context.subject}${verb}${context.layout === 'inline' ? ' ' : ''}${listed}${context.hint === undefined ? '' : `${context.layout === 'inline' ? '; ' : '\n'}${context.hint}`}`;
  const first = problems[0];
  return new SpillwayError(context.code ?? ErrorCode.InvalidConfig, message, {
    details: {
      ...(context.sink === undefined ? {} : { sink: context.sink }),
      ...(first === undefined || first.field === '' ? {} : { field: first.field }),
      ...(context.hint === undefined ? {} : { hint: context.hint }),
      problems: problems.map((problem) => ({ field: problem.field, message: problem.message })),
    },
  });
}
