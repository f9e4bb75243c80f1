/**
 * The formats layer's one interface. An encoder turns rows (or changes) into the bytes of a
 * record's key or value. It never sees Kafka: the sink hands the bytes to a writer. Each encoder
 * is compiled once for a schema (column lookups and type dispatch happen at build time, not per
 * row) and declares what it can express, so the sink can refuse a combination before anything
 * runs.
 */
import type { Row, Schema } from '../model/schema.ts';

/** What happened to a row, as a value format with a change envelope renders it. */
export type ChangeOp = 'insert' | 'update' | 'delete';

export interface RowChange {
  readonly op: ChangeOp;
  /** The row as it now is (insert, update) or as it was (delete). */
  readonly row: Row;
  /** The row before an update. */
  readonly before?: Row;
}

/**
 * How a value format says which change a record is:
 * - `none`: it writes rows only; retract mode marks each record with a change header instead.
 * - `insert-delete`: one record is an insert or a delete (Feldera's `insert_delete`); an update
 *   is written as a delete of the old row, then an insert of the new.
 * - `insert-update-delete`: an update is one record too (the Debezium envelope's `op: "u"`).
 */
export type ChangeEnvelope = 'none' | 'insert-delete' | 'insert-update-delete';

export interface EncoderCapabilities {
  /** The encoder writes nothing: the record part is null (`KeyValueSpec.IGNORE`). */
  readonly ignored: boolean;
  /** The columns the encoder reads, in order. */
  readonly columns: readonly string[];
  /** Whether (and how) the bytes say which change a record is; see ChangeEnvelope. */
  readonly envelope: ChangeEnvelope;
  /** Many changes can be written as one message (Feldera's `array`); see `encodeChanges`. */
  readonly arrays: boolean;
}

/** What an encoder learns before its first row: where its bytes will go. */
export interface EncoderContext {
  readonly sink: string;
  readonly topic: string;
  readonly part: 'key' | 'value';
  /** The `schema.registry.url` Kafka property, when given (Deephaven and Confluent pass it there). */
  readonly schemaRegistryUrl?: string;
}

export interface Encoder {
  /** The spec kind this encoder was built from (`json`, `avro`, …). */
  readonly format: string;
  readonly capabilities: EncoderCapabilities;
  /** The bytes for a row, or null when the part is ignored. */
  encode(row: Row): Buffer | null;
  /** The bytes for one change, envelope included. Present when `capabilities.envelope` is not `none`. */
  encodeChange?(change: RowChange): Buffer;
  /**
   * The row's bytes as UTF-8 text (`encode` is its bytes), for encoders that write text: the
   * record builder writes a whole batch's texts into one buffer, where a Buffer per value costs
   * more than the encoding itself (docs/benchmarks.md). Null when `encode` gives null.
   */
  encodeText?(row: Row): string | null;
  /** `encodeChange` as UTF-8 text; present only with `encodeText` and `encodeChange`. */
  encodeChangeText?(change: RowChange): string;
  /**
   * `encodeText` of many rows in one string, for a batch of records: one call and one string
   * where a text per row costs a call, a string and their garbage each. Undefined when these rows
   * cannot be written at once (the caller then asks row by row); throws as `encodeText` would.
   */
  encodeTexts?(rows: readonly Row[]): TextBatch | undefined;
  /** The bytes of one message holding many changes. Present when `capabilities.arrays` is true. */
  encodeChanges?(changes: readonly RowChange[]): Buffer;
  /**
   * Work that must happen once before the first row and may wait (registering a schema with a
   * registry). The sink awaits it while starting; `encode` stays synchronous.
   */
  prepare?(context: EncoderContext): Promise<void>;
}

/** Texts of many rows in one string: row i's text is `text.slice(starts[i], ends[i])`. */
export interface TextBatch {
  readonly text: string;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

/** Capabilities of an encoder that writes plain rows, one per record. */
export function rowCapabilities(columns: readonly string[]): EncoderCapabilities {
  return { ignored: false, columns, envelope: 'none', arrays: false };
}

/** Builds an encoder for a schema; throws SpillwayError for a spec the schema cannot satisfy. */
export type EncoderFactory<Spec> = (spec: Spec, schema: Schema, part: 'key' | 'value') => Encoder;
