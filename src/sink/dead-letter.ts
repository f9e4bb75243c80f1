/**
 * The dead-letter error policy: a record that cannot be written goes, instead of failing the
 * sink, to a dead-letter topic with what went wrong in its headers. The header names are Kafka
 * Connect's (`__connect.errors.*`), the convention tools that read dead-letter topics know:
 *
 * - `__connect.errors.topic` / `.partition`: where the record was going (the partition when it
 *   was chosen);
 * - `__connect.errors.connector.name`: the sink's name; `__connect.errors.task.id`: its shard;
 * - `__connect.errors.stage`: `KEY_CONVERTER` / `VALUE_CONVERTER` / `HEADER_CONVERTER` (the
 *   key, the value, or the record's other parts — headers, timestamp, topic — failed) or
 *   `KAFKA_PRODUCE` (encoded, but not writable: larger than message.max.bytes);
 * - `__connect.errors.exception.class.name`: the Spillway error code; `.exception.message`: the
 *   error's message.
 *
 * The record keeps the original key and value when they were encoded; when encoding failed, the
 * value is the row as JSON (64-bit integers and decimals as strings, bytes as base64, timestamps
 * as their epoch number in the column's unit) and the key is null.
 */
import type { SpillwayError } from '../errors.ts';
import type { KafkaHeader } from '../kafka/record-writer.ts';
import type { Row } from '../model/schema.ts';
import { RecordBuilder } from './record-builder.ts';
import type { RecordIntent } from './update-modes.ts';

export const DeadLetterStage = {
  KeyConverter: 'KEY_CONVERTER',
  ValueConverter: 'VALUE_CONVERTER',
  /** The record's other parts: headers, timestamp, topic column. */
  HeaderConverter: 'HEADER_CONVERTER',
  KafkaProduce: 'KAFKA_PRODUCE',
} as const;
export type DeadLetterStage = (typeof DeadLetterStage)[keyof typeof DeadLetterStage];

export interface DeadLetter {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly KafkaHeader[];
}

export interface DeadLetterInput {
  readonly sink: string;
  readonly shard: number;
  /** The topic the record was for. */
  readonly topic: string;
  readonly partition?: number | undefined;
  readonly stage: DeadLetterStage;
  readonly error: SpillwayError;
  /** What the encoders made, when they got that far. */
  readonly encoded?: { readonly key: Buffer | null; readonly value: Buffer | null } | undefined;
  readonly intent: RecordIntent;
}

/** JSON of a row, for the values JSON has no type for. */
export function rowAsJson(row: Row): Buffer {
  return Buffer.from(
    JSON.stringify(row, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      // Buffer.toJSON runs before the replacer sees it: turn its { type, data } form into base64 as well.
      if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
        return Buffer.from((value as { data: number[] }).data).toString('base64');
      }
      return value;
    }),
    'utf8',
  );
}

export function deadLetter(input: DeadLetterInput): DeadLetter {
  const header = (key: string, value: string): KafkaHeader => ({ key: `__connect.errors.${key}`, value: Buffer.from(value, 'utf8') });
  const headers = [
    header('topic', input.topic),
    ...(input.partition === undefined ? [] : [header('partition', String(input.partition))]),
    header('connector.name', input.sink),
    header('task.id', String(input.shard)),
    header('stage', input.stage),
    header('exception.class.name', input.error.code),
    header('exception.message', input.error.message),
  ];
  if (input.encoded !== undefined) return { key: input.encoded.key, value: input.encoded.value, headers };
  return { key: null, value: rowAsJson(RecordBuilder.rowOf(input.intent)), headers };
}
