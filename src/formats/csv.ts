/**
 * csv(columns, options): one CSV record per message, as Flink's `csv` format writes to Kafka.
 *
 * Quoting follows RFC 4180: fields are separated by the field delimiter; a field holding the
 * delimiter, the quote character, CR or LF is enclosed in quote characters, and a quote character
 * inside it is doubled. Any other field is written bare. A null is the null literal (empty by
 * default), so a string equal to the null literal is quoted to keep the two apart. With
 * `disableQuoteCharacter` nothing is quoted, and a value that would need quotes is refused rather
 * than written ambiguously.
 *
 * A message is the record alone, with no line terminator: Flink's serializer writes no line
 * separator since FLINK-19868 (Flink 1.12), and Kafka frames each record anyway. `lineDelimiter`
 * appends one, as Flink 1.11 and earlier did (`\n`). `header: true` puts a line of column names
 * before the record in every message.
 *
 * `weight: true` ends each record with a weight field, as Feldera's CSV output writes a change
 * (its encoder serializes the tuple of the row and its Z-set weight): `1` for an insert, and for a
 * row on its own, `-1` for a delete. The record then says which change it is, so retract mode
 * needs no change header, and an update is the delete of the old row and the insert of the new.
 *
 * Values: booleans `true`/`false`; integers and decimals with their exact digits; doubles in the
 * shortest form that reads back the same (`NaN`, `Infinity`, `-Infinity` as text); dates
 * `YYYY-MM-DD`; timestamps ISO-8601 UTC (or SQL text, or epoch integers); bytes base64; JSON as its text.
 *
 * Everything that depends on the schema (which fields can need quotes, renderers, the header) is
 * worked out once when the encoder is built.
 */
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type Column, type Row, type Schema, columnNames, requireColumns } from '../model/schema.ts';
import { type Encoder, type RowChange, rowCapabilities } from './encoder.ts';
import { type TimestampFormat, timestampFormatSchema, timestampText } from './json.ts';

const singleCharacter = z.string().refine((text) => [...text].length === 1, { message: 'must be exactly one character' });

export const csvSpecSchema = z
  .object({
    kind: z.literal('csv'),
    /** Columns to write, in order; all columns when absent. */
    columns: z.array(z.string().min(1)).min(1).optional(),
    /** The field delimiter, one character (Flink's `csv.field-delimiter`, DLI's `format.field-delimiter`); default `,`. */
    fieldDelimiter: singleCharacter.optional(),
    /** The quote character, one character; default `"`. */
    quoteCharacter: singleCharacter.optional(),
    /** Never quote (Flink's `csv.disable-quote-character`); a value that would need quotes is refused. */
    disableQuoteCharacter: z.boolean().optional(),
    /** The text written for a null (Flink's `csv.null-literal`); default empty. */
    nullLiteral: z.string().optional(),
    /** Start each message with a line of column names; default false (Flink writes none). */
    header: z.boolean().optional(),
    /** A line terminator after the record: none by default (Flink 1.12+), or `\n`, `\r\n`, `\r`. */
    lineDelimiter: z.enum(['', '\n', '\r\n', '\r']).optional(),
    /** Timestamp columns as ISO-8601 text (default) or epoch millis / micros / nanos integers. */
    timestamps: timestampFormatSchema.optional(),
    /** End each record with Feldera's weight field: `1` for an insert, `-1` for a delete; values only. */
    weight: z.boolean().optional(),
  })
  .strict();
export type CsvSpec = z.output<typeof csvSpecSchema>;

/** The defaults, applied when the spec is compiled (so a spec reads the same before and after validation). */
export const CSV_DEFAULTS = {
  fieldDelimiter: ',',
  quoteCharacter: '"',
  disableQuoteCharacter: false,
  nullLiteral: '',
  header: false,
  lineDelimiter: '',
  timestamps: 'iso',
  weight: false,
} as const;

type Present = NonNullable<Row[string]>;

/** The characters a type's text can hold, for the types whose text is not free-form. */
function alphabetOf(column: Column, timestamps: TimestampFormat): string | undefined {
  switch (column.type) {
    case 'boolean':
      return 'truefals';
    case 'int32':
    case 'int64':
    case 'date':
      return '-0123456789';
    case 'decimal':
      return '-.0123456789';
    case 'float64':
      return '-+.0123456789eInfinityNa';
    case 'timestamp':
      return timestamps === 'iso' ? '-:.TZ0123456789' : '-0123456789';
    case 'string':
    case 'bytes':
    case 'json':
      return undefined;
  }
}

function textOf(column: Column, timestamps: TimestampFormat): (value: Present) => string {
  switch (column.type) {
    case 'boolean':
      return (value) => (value === true ? 'true' : 'false');
    case 'int32':
    case 'float64':
      return (value) => (value as number).toString();
    case 'int64':
    case 'decimal':
      return (value) => (value as bigint | string).toString();
    case 'string':
    case 'date':
      return (value) => value as string;
    case 'bytes':
      return (value) => Buffer.from(value as Uint8Array).toString('base64');
    case 'timestamp': {
      const text = timestampText(timestamps);
      return (value) => text(value as bigint);
    }
    case 'json':
      return (value) => JSON.stringify(value);
  }
}

function escapeForClass(character: string): string {
  return character.replace(/[\\\]^-]/g, '\\$&');
}

export function csvEncoder(spec: CsvSpec, schema: Schema, part: 'key' | 'value'): Encoder {
  const usedBy = `csvSpec for the ${part}`;
  const names = spec.columns ?? columnNames(schema);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy} lists column "${duplicate}" twice; list each column once`);
  const columns = requireColumns(schema, names, usedBy);
  const delimiter = spec.fieldDelimiter ?? CSV_DEFAULTS.fieldDelimiter;
  const quote = spec.quoteCharacter ?? CSV_DEFAULTS.quoteCharacter;
  const quoting = !(spec.disableQuoteCharacter ?? CSV_DEFAULTS.disableQuoteCharacter);
  const nullLiteral = spec.nullLiteral ?? CSV_DEFAULTS.nullLiteral;
  const lineDelimiter = spec.lineDelimiter ?? CSV_DEFAULTS.lineDelimiter;
  const timestamps = spec.timestamps ?? CSV_DEFAULTS.timestamps;
  const weighted = spec.weight ?? CSV_DEFAULTS.weight;
  const header = spec.header ?? CSV_DEFAULTS.header;
  const show = (text: string) => JSON.stringify(text);

  if (weighted && part === 'key') {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy} sets weight, which only a value can carry (a key names the row, not its change); leave it out of the key spec`, {
      details: { field: 'key.weight', hint: 'leave weight out of the key spec' },
    });
  }
  if (weighted && header) {
    // The header line names columns, and the weight field is none of them.
    throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy} sets weight with header: true; the weight field has no column to name (Feldera writes no header line); leave header out`, {
      details: { field: `${part}.header`, hint: 'drop header or weight' },
    });
  }

  if (delimiter === '\r' || delimiter === '\n') {
    throw new SpillwayError(ErrorCode.InvalidConfig, `${usedBy} has fieldDelimiter ${show(delimiter)}, a line break, which would end the record; choose another character such as "," or "|"`);
  }
  if (quoting && (quote === '\r' || quote === '\n' || quote === delimiter)) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${usedBy} has quoteCharacter ${show(quote)}, which ${quote === delimiter ? 'is also the field delimiter' : 'is a line break'}; choose another character such as '"' or "'"`,
    );
  }
  const special = quoting ? `${delimiter}${quote}\r\n` : `${delimiter}\r\n`;
  const specialPattern = new RegExp(`[${[...special].map(escapeForClass).join('')}]`);
  if (specialPattern.test(nullLiteral)) {
    throw new SpillwayError(
      ErrorCode.InvalidConfig,
      `${usedBy} has nullLiteral ${show(nullLiteral)}, which holds the field delimiter, the quote character or a line break and would not read back as one field; choose a plain word such as "NULL"`,
    );
  }

  const doubledQuote = quote + quote;
  const quoteAll = new RegExp(quote.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
  /** Quotes a text field when it needs it (RFC 4180), or refuses it when quoting is off. */
  const protect = (text: string, column: string): string => {
    if (specialPattern.test(text)) {
      if (!quoting) {
        throw new SpillwayError(
          ErrorCode.EncodeFailed,
          `column "${column}" holds ${show(text.length > 60 ? `${text.slice(0, 60)}…` : text)}, which contains the field delimiter or a line break and cannot be written with disableQuoteCharacter; turn quoting back on or choose a delimiter that does not occur`,
        );
      }
      return quote + (text.includes(quote) ? text.replace(quoteAll, doubledQuote) : text) + quote;
    }
    return quoting && text === nullLiteral ? quote + text + quote : text;
  };

  const fields = columns.map((column) => {
    const text = textOf(column, timestamps);
    const alphabet = alphabetOf(column, timestamps);
    // Only free-form text, or a type whose text can hold a special character or spell the null
    // literal, needs a check per value.
    const mayNeedQuotes =
      alphabet === undefined ||
      [...special].some((character) => alphabet.includes(character)) ||
      (nullLiteral !== '' && [...nullLiteral].every((character) => alphabet.includes(character)));
    const name = column.name;
    return { name, render: mayNeedQuotes ? (value: Present) => protect(text(value), name) : text };
  });
  const headerLine = header ? fields.map((field) => protect(field.name, field.name)).join(delimiter) + (lineDelimiter === '' ? '\n' : lineDelimiter) : '';
  const first = fields[0] as (typeof fields)[number];
  const rest = fields.slice(1);

  const fieldsText = (row: Row): string => {
    const head = row[first.name];
    let text = headerLine + (head === null || head === undefined ? nullLiteral : first.render(head));
    for (const field of rest) {
      const value = row[field.name];
      text += delimiter + (value === null || value === undefined ? nullLiteral : field.render(value));
    }
    return text;
  };
  if (!weighted) {
    const encodeText = (row: Row): string => fieldsText(row) + lineDelimiter;
    return {
      format: 'csv',
      capabilities: rowCapabilities(names),
      encode: (row) => Buffer.from(encodeText(row), 'utf8'),
      encodeText,
    };
  }
  // Quoted like any field, should the delimiter or the null literal be "1" or "-1"'s text.
  const inserted = delimiter + protect('1', 'weight') + lineDelimiter;
  const deleted = delimiter + protect('-1', 'weight') + lineDelimiter;
  // A row on its own is an insert, as Feldera's weight 1.
  const encodeText = (row: Row): string => fieldsText(row) + inserted;
  const encodeChangeText = (change: RowChange): string => {
    if (change.op === 'update') {
      throw new SpillwayError(
        ErrorCode.EncodeFailed,
        `${usedBy} writes a weight of 1 or -1 per record and has no update record; pass the delete of the old row and the insert of the new row as two changes`,
      );
    }
    return fieldsText(change.row) + (change.op === 'insert' ? inserted : deleted);
  };
  return {
    format: 'csv',
    capabilities: { ...rowCapabilities(names), envelope: 'insert-delete' },
    encode: (row) => Buffer.from(encodeText(row), 'utf8'),
    encodeText,
    encodeChange: (change) => Buffer.from(encodeChangeText(change), 'utf8'),
    encodeChangeText,
  };
}
