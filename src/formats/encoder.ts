/**
 * The formats layer's one interface. An encoder turns a row into the bytes of a record's key or
 * value. It never sees Kafka: the sink hands the bytes to a writer. Each encoder is compiled once
 * for a schema (column lookups and type dispatch happen at build time, not per row) and declares
 * what it can express, so the sink can refuse a combination before anything runs.
 */
import type { Row, Schema } from '../model/schema.ts';

export interface EncoderCapabilities {
  /** The encoder writes nothing: the record part is null (`KeyValueSpec.IGNORE`). */
  readonly ignored: boolean;
  /** The columns the encoder reads, in order. */
  readonly columns: readonly string[];
}

export interface Encoder {
  readonly format: string;
  readonly capabilities: EncoderCapabilities;
  /** The bytes for a row, or null when the part is ignored. */
  encode(row: Row): Buffer | null;
}

/** Builds an encoder for a schema; throws SpillwayError for a spec the schema cannot satisfy. */
export type EncoderFactory<Spec> = (spec: Spec, schema: Schema, part: 'key' | 'value') => Encoder;
