/**
 * CSV and NDJSON files as tables: read once, or followed as they grow (like `tail -F`).
 *
 * Reading works on bytes from a remembered offset, so only appended bytes are read again, one
 * chunk at a time and only while every sink downstream has room (backpressure). A last
 * line without its newline is held until the newline arrives (a writer may be half-way through
 * it); when the file is read without following, a final line without a newline is read as is.
 * While following, the file is watched with fs.watch and also polled, since watch events are not
 * delivered on every file system (network mounts, some containers) and stop after a rename.
 *
 * Truncation and replacement: when the file becomes shorter than what was read, or the path names
 * a different file (rotated by rename and re-created), reading starts again from its first byte
 * (a CSV header is read again). The rows already read stay in the table: an append-only table gets
 * the new file's rows after them, a keyed table upserts them. A file that disappears while followed
 * is waited for. Appends that both truncate and regrow past the read offset between two checks
 * cannot be told from plain appends; writers that rotate should rename.
 */
import { type FSWatcher, type Stats, closeSync, openSync, readSync, statSync, watch } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { type FilePosition, PositionKind, type SourcePosition } from '../model/position.ts';
import { type Column, type Schema, columnNames, findColumn } from '../model/schema.ts';
import type { RowId } from '../model/table.ts';
import { type FeedEntry, FeedTable, type FeedChange, type FeedRow, parseSourceOptions } from './iterable-table.ts';
import { type ResumableSource, checkResumePosition } from './source.ts';

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && Array.isArray((value as { columns?: unknown }).columns);

const csvOptionsSchema = z
  .object({
    /** The field separator, one character (`,`; `\t` for TSV, `;`, `|`…). */
    delimiter: z.string().length(1).refine((text) => text !== '\n' && text !== '\r', 'a delimiter cannot be a line break').default(','),
    /** The first record names the columns (in any order; missing nullable columns are null). Without it, fields follow the schema's column order. */
    header: z.boolean().default(true),
    /** The quote character; a quote inside a quoted field is written twice (RFC 4180). */
    quote: z.string().length(1).refine((text) => text !== '\n' && text !== '\r', 'a quote cannot be a line break').default('"'),
  })
  .strict()
  .refine((csv) => csv.delimiter !== csv.quote, 'the delimiter and the quote must differ');

export const fileTableOptionsSchema = z
  .object({
    format: z.enum(['csv', 'ndjson']),
    schema: z.custom<Schema>(isSchema, 'give a schema made with defineSchema()'),
    /** Keep reading lines appended after the current end, until `close()`. */
    follow: z.boolean().default(false),
    csv: csvOptionsSchema.optional(),
    /** Key columns: rows upsert (and NDJSON `{"op":"delete","row":…}` lines delete) by them. Default: the schema's primary key. */
    key: z.array(z.string().min(1)).min(1).optional(),
    /** How often a followed file is checked besides watch events, in milliseconds (default 250). */
    pollIntervalMs: z.number().int().min(10).max(60_000).optional(),
  })
  .strict()
  .superRefine((options, context) => {
    if (options.csv !== undefined && options.format !== 'csv') {
      context.addIssue({ code: 'custom', path: ['csv'], message: `csv options apply to format 'csv' only; remove them or set format: 'csv'` });
    }
    if (options.pollIntervalMs !== undefined && !options.follow) {
      context.addIssue({ code: 'custom', path: ['pollIntervalMs'], message: 'pollIntervalMs applies to a followed file only; remove it or set follow: true' });
    }
  });

/** How often a followed file is checked besides watch events, when pollIntervalMs is not given. */
const DEFAULT_POLL_INTERVAL_MS = 250;

export type FileTableOptions = z.input<typeof fileTableOptionsSchema>;
type ParsedOptions = z.output<typeof fileTableOptionsSchema>;

const INTEGER_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?Infinity$|^NaN$/;
const DECIMAL_TEXT = /^-?\d+(?:\.\d+)?$/;
const BASE64_TEXT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Reads a column's value from text (a CSV field, or a JSON string in a non-string column):
 * booleans as true/false (any case), integers in decimal, int64 and timestamps as digits (a
 * timestamp's digits count its unit since the epoch; other timestamps are ISO-8601), bytes as
 * base64, json as JSON text. Text that does not fit is returned as is, so the schema's check
 * rejects it naming the column, its type and the value.
 */
export function parseTextValue(column: Column, text: string): unknown {
  switch (column.type) {
    case 'boolean': {
      const lower = text.toLowerCase();
      return lower === 'true' ? true : lower === 'false' ? false : text;
    }
    case 'int32':
      return INTEGER_TEXT.test(text) ? Number(text) : text;
    case 'int64':
      return INTEGER_TEXT.test(text) ? BigInt(text) : text;
    case 'timestamp':
      return INTEGER_TEXT.test(text) ? BigInt(text) : text;
    case 'float64':
      return FLOAT_TEXT.test(text) ? Number(text) : text;
    case 'decimal':
      return text.startsWith('+') ? text.slice(1) : text;
    case 'bytes':
      return BASE64_TEXT.test(text) ? new Uint8Array(Buffer.from(text, 'base64')) : text;
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new SpillwayError(
          ErrorCode.InvalidValue,
          `column "${column.name}" is json but got ${JSON.stringify(text.slice(0, 60))}, which is not JSON text; quote strings ("\\"text\\"")`,
        );
      }
    case 'string':
    case 'date':
      return text;
  }
}

/** Device, inode and birth time: a deleted file's inode number is often reused at once. */
function fileIdentity(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.birthtimeMs}`;
}

const READ_CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * A table read from a CSV or NDJSON file, optionally followed as it grows. Its position is the
 * first byte (and line) not yet turned into rows, with the number of rows appended so far;
 * `resumeFrom` reads the same file from that byte on (a CSV header is read first, from the top),
 * continuing the row ids. A file now shorter than the position was replaced, and is read from its
 * start.
 */
export class FileTable extends FeedTable implements ResumableSource {
  readonly capabilities = { replayable: true, positionKind: PositionKind.File } as const;
  readonly path: string;
  readonly #given: FileTableOptions;
  readonly #options: ParsedOptions;
  readonly #csv: z.output<typeof csvOptionsSchema> | undefined;
  readonly #buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  /** The file being read, to notice when the path names another file. */
  #identity: string;
  /** The path named no file at the last look: whatever appears there is read from its start. */
  #wasMissing = false;
  /** Bytes read so far from the current file. */
  #offset = 0;
  /** Bytes after the last newline: a line still being written. */
  #partialLine: Buffer = Buffer.alloc(0);
  /** CSV: complete lines that do not yet end a record (a quoted field spans them). */
  #openRecord = '';
  /** The line number of the first line not yet turned into rows. */
  #line = 1;
  /** CSV: for each field position, the column it fills (from the header, or the schema's order). */
  #fieldColumns: readonly Column[] | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading = false;
  #readAgain = false;
  #closed = false;
  /** Read passes started so far; a waiter is answered by the first pass that starts after it asked. */
  #passesStarted = 0;
  readonly #catchUpWaiters: { readonly after: number; readonly resolve: () => void }[] = [];

  constructor(path: string, options: FileTableOptions, resume?: FilePosition) {
    const parsed = parseSourceOptions(fileTableOptionsSchema, options, `fromFile("${path}")`);
    let identity: string;
    try {
      const stats = statSync(path);
      if (!stats.isFile()) throw new Error('it is not a regular file');
      identity = fileIdentity(stats);
    } catch (error) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `fromFile: cannot read "${path}" (${error instanceof Error ? error.message : String(error)}); give the path of an existing file`,
        { cause: error },
      );
    }
    super(parsed.schema, parsed.key, `file "${path}"`, resume?.rows ?? 0);
    this.path = path;
    this.#given = options;
    this.#options = parsed;
    this.#csv = parsed.format === 'csv' ? csvOptionsSchema.parse(parsed.csv ?? {}) : undefined;
    this.#identity = identity;
    if (this.#csv?.header === false) this.#fieldColumns = parsed.schema.columns;
    if (resume !== undefined && resume.byteOffset > 0) {
      this.#offset = resume.byteOffset;
      this.#line = resume.line;
      if (this.#csv !== undefined && this.#fieldColumns === undefined) this.#fieldColumns = this.#readHeaderFromTop();
    }
    if (parsed.follow) {
      this.#watch();
      this.#timer = setInterval(() => this.#wake(), parsed.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
      this.#timer.unref();
    }
    this.#wake();
  }

  /** Rows go to the listeners and are not kept (see Table.retainRows). */
  protected override get streams(): boolean {
    return true;
  }

  get description(): string {
    return `file "${this.path}"`;
  }

  /** The first byte not yet turned into rows: bytes of a line or CSV record still incomplete are not counted. */
  override get position(): FilePosition {
    return {
      kind: PositionKind.File,
      path: this.path,
      byteOffset: this.#offset - this.#partialLine.length - Buffer.byteLength(this.#openRecord),
      line: this.#line,
      rows: this.appendedRows,
    };
  }

  /** Row ids count the rows appended, so row `id` was emitted by a position that counts more rows. */
  rowEmittedBy(id: RowId, position: SourcePosition): boolean | undefined {
    if (position.kind !== PositionKind.File || position.path !== this.path || typeof id !== 'number') return undefined;
    return id < position.rows;
  }

  /** The same file, with the same options, read from `position` on. */
  resumeFrom(position: SourcePosition): FileTable {
    const resume = checkResumePosition(`fromFile("${this.path}")`, PositionKind.File, position);
    if (resume.path !== this.path) {
      throw new SpillwayError(
        ErrorCode.InvalidConfig,
        `fromFile("${this.path}").resumeFrom(): the position is in file "${resume.path}", not this one; resume the source that reported it`,
      );
    }
    return new FileTable(this.path, this.#given, resume);
  }

  /** A resumed CSV table starts past the header, so it reads the header from the file's first line. */
  #readHeaderFromTop(): Column[] {
    const fd = openSync(this.path, 'r');
    let head = Buffer.alloc(0);
    try {
      const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      while (!head.includes(NEWLINE)) {
        const bytesRead = readSync(fd, chunk, 0, chunk.length, head.length);
        if (bytesRead === 0) break;
        head = Buffer.concat([head, chunk.subarray(0, bytesRead)]);
      }
    } finally {
      closeSync(fd);
    }
    if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) head = head.subarray(3);
    const end = head.indexOf(NEWLINE);
    let text = head.toString('utf8', 0, end === -1 ? head.length : end);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const [fields] = this.#parseCsvRecords([{ text, line: 1 }]);
    return this.#readHeader(fields ?? [], 1);
  }

  /**
   * Resolves once the table holds every complete line the file has now (a followed file is read
   * again at once), or when the table has ended. Without `follow`, that is when it ends.
   */
  caughtUp(): Promise<void> {
    if (this.ended) return Promise.resolve();
    const promise = new Promise<void>((resolve) => this.#catchUpWaiters.push({ after: this.#passesStarted, resolve }));
    this.#wake();
    return promise;
  }

  /** Stops following (or reading) and ends the table cleanly; a line still without its newline is dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching();
    this.finish();
    this.#answerCatchUps(Infinity);
  }

  protected override onListenersChanged(): void {
    // Like a timer table, a followed file keeps the process alive only while someone listens.
    if (this.listenerCount > 0) {
      this.#timer?.ref();
      this.#watcher?.ref();
    } else {
      this.#timer?.unref();
      this.#watcher?.unref();
    }
  }

  #watch(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    try {
      const watcher = watch(this.path, { persistent: true }, () => this.#wake());
      // A watcher that fails (inotify limits, the file removed) leaves the polling to notice changes.
      watcher.on('error', () => {
        watcher.close();
        if (this.#watcher === watcher) this.#watcher = undefined;
      });
      if (this.listenerCount === 0) watcher.unref();
      this.#watcher = watcher;
    } catch {
      this.#watcher = undefined;
    }
  }

  #stopWatching(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  /** Answers the waiters that asked before the pass numbered `pass` started. */
  #answerCatchUps(pass: number): void {
    for (let index = this.#catchUpWaiters.length - 1; index >= 0; index--) {
      const waiter = this.#catchUpWaiters[index] as { after: number; resolve: () => void };
      if (waiter.after < pass) {
        this.#catchUpWaiters.splice(index, 1);
        waiter.resolve();
      }
    }
  }

  /** Reads what is new; calls that arrive during a read make it look once more afterwards. */
  #wake(): void {
    if (this.#closed || this.ended) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = true;
    void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    try {
      do {
        this.#readAgain = false;
        const pass = ++this.#passesStarted;
        await this.#readNewBytes();
        if (this.#options.follow) this.#answerCatchUps(pass);
      } while (this.#readAgain && !this.#closed);
      if (this.#closed) return;
      if (!this.#options.follow) {
        this.#consume(Buffer.alloc(0), true);
        this.finish();
        this.#answerCatchUps(Infinity);
      }
    } catch (error) {
      this.#stopWatching();
      this.fail(error);
      this.#answerCatchUps(Infinity);
    } finally {
      this.#reading = false;
    }
  }

  async #readNewBytes(): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      // A followed file may be between rotation's rename and re-creation: wait for it to come back.
      if (this.#options.follow && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#wasMissing = true;
        return;
      }
      throw new SpillwayError(ErrorCode.InvalidConfig, `file "${this.path}" cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    try {
      const stats = await handle.stat();
      const identity = fileIdentity(stats);
      if (identity !== this.#identity || stats.size < this.#offset || this.#wasMissing) this.#restart(identity);
      this.#wasMissing = false;
      while (!this.#closed) {
        await this.waitForRoom();
        if (this.#closed || this.ended) break;
        const { bytesRead } = await handle.read(this.#buffer, 0, this.#buffer.length, this.#offset);
        if (bytesRead === 0 || this.#closed) break;
        this.#offset += bytesRead;
        this.#consume(this.#buffer.subarray(0, bytesRead), false);
      }
    } finally {
      await handle.close();
    }
  }

  /** Starts again at the first byte of a truncated or replaced file, keeping the rows read so far. */
  #restart(identity: string): void {
    const replaced = identity !== this.#identity;
    this.#identity = identity;
    this.#offset = 0;
    this.#partialLine = Buffer.alloc(0);
    this.#openRecord = '';
    this.#line = 1;
    if (this.#csv?.header !== false) this.#fieldColumns = undefined;
    if (replaced && this.#options.follow && !this.#closed) this.#watch();
  }

  /** Takes newly read bytes; complete lines become rows, the rest waits (or, `atEnd`, is read too). */
  #consume(chunk: Buffer, atEnd: boolean): void {
    let data = this.#partialLine.length === 0 ? chunk : Buffer.concat([this.#partialLine, chunk]);
    if (this.#offset === chunk.length && data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
      data = data.subarray(3); // a UTF-8 byte order mark at the start of the file is not content
    }
    const end = atEnd ? data.length : data.lastIndexOf(NEWLINE) + 1;
    // Copied, because `chunk` is the reused read buffer.
    this.#partialLine = Buffer.from(data.subarray(end));
    if (end === 0 && !(atEnd && this.#openRecord !== '')) return;
    const text = data.toString('utf8', 0, end);
    if (this.#csv === undefined) this.#consumeNdjson(text);
    else this.#consumeCsv(text, atEnd);
  }

  /** Applies entries in order, then reports the first failure: a bad entry, or the line that could not be read. */
  #applyThen(entries: readonly FeedEntry[], unreadable: unknown): void {
    try {
      this.apply(entries, { partial: true });
    } catch (error) {
      throw this.#withFix(error);
    }
    if (unreadable !== undefined) throw this.#withFix(unreadable);
  }

  #withFix(error: unknown): unknown {
    if (!(error instanceof SpillwayError)) return error;
    const prefix = `file "${this.path}": `;
    const message = error.message.startsWith(prefix) ? error.message : `${prefix}${error.message}`;
    return new SpillwayError(error.code, `${message} (fix that line of the file, or the schema)`, { cause: error });
  }

  #consumeNdjson(text: string): void {
    const entries: FeedEntry[] = [];
    let unreadable: unknown;
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    for (const raw of lines) {
      const lineNumber = this.#line++;
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      try {
        entries.push({ input: this.#readJsonLine(line, lineNumber), where: `line ${lineNumber}` });
      } catch (error) {
        unreadable = error;
        break;
      }
    }
    this.#applyThen(entries, unreadable);
  }

  /**
   * One NDJSON line: a JSON object of column values, or a change envelope. int64, decimal and
   * timestamp numbers are taken from their source text, so digits beyond a double's precision
   * survive; an integer in a timestamp column counts the column's unit since the epoch, as CSV
   * digits do. A JSON string in a column of another type is read as text (int64 as "123", bytes as
   * base64, timestamps as ISO-8601).
   */
  #readJsonLine(line: string, lineNumber: number): FeedRow | FeedChange {
    const exactColumns = new Set(this.schema.columns.filter((c) => c.type === 'int64' || c.type === 'decimal' || c.type === 'timestamp').map((c) => c.name));
    const sources = new Map<object, Map<string, string>>();
    let value: unknown;
    try {
      value = JSON.parse(line, function (this: object, key: string, parsed: unknown, context?: { source?: string }) {
        if (typeof parsed === 'number' && exactColumns.has(key) && context?.source !== undefined) {
          let holder = sources.get(this);
          if (holder === undefined) sources.set(this, (holder = new Map<string, string>()));
          holder.set(key, context.source);
        }
        return parsed;
      });
    } catch (error) {
      throw new SpillwayError(
        ErrorCode.InvalidValue,
        `line ${lineNumber} is not JSON (${error instanceof Error ? error.message : String(error)}); each line holds one JSON object`,
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SpillwayError(ErrorCode.InvalidValue, `line ${lineNumber} holds ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}, not a JSON object of column values`);
    }
    const record = value as Record<string, unknown>;
    const isEnvelope = Object.keys(record).length === 2 && 'op' in record && typeof record.row === 'object' && record.row !== null && findColumn(this.schema, 'row') === undefined;
    if (isEnvelope && record.op !== 'insert' && record.op !== 'upsert' && record.op !== 'delete') {
      throw new SpillwayError(ErrorCode.InvalidValue, `line ${lineNumber} is a change with "op": ${JSON.stringify(record.op)}; use "insert", "upsert" or "delete"`);
    }
    const fields = (isEnvelope ? record.row : record) as Record<string, unknown>;
    const exact = sources.get(fields);
    const row: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(fields)) {
      const column = findColumn(this.schema, name);
      const source = exact?.get(name);
      if (column === undefined) row[name] = field;
      else if (source !== undefined && (column.type === 'int64' || column.type === 'timestamp') && INTEGER_TEXT.test(source)) row[name] = BigInt(source);
      else if (source !== undefined && column.type === 'decimal' && DECIMAL_TEXT.test(source)) row[name] = source;
      else if (typeof field === 'string' && column.type !== 'string' && column.type !== 'json') row[name] = parseTextValue(column, field);
      else row[name] = field;
    }
    return isEnvelope ? { op: record.op as FeedChange['op'], row } : row;
  }

  /**
   * RFC 4180 records: fields separated by the delimiter, records by line breaks, a field in quotes
   * may hold delimiters, line breaks and doubled quotes. A record ends at a line break outside
   * quotes, so one that spans lines waits until its closing quote has arrived. An unquoted empty
   * field is null (an empty string in a non-nullable string column); a quoted one ("") is "".
   */
  #consumeCsv(text: string, atEnd: boolean): void {
    const csv = this.#csv as z.output<typeof csvOptionsSchema>;
    const all = this.#openRecord + text;
    const quote = csv.quote.charCodeAt(0);
    const records: { text: string; line: number }[] = [];
    let start = 0;
    let inQuotes = false;
    let line = this.#line;
    let recordLine = line;
    for (let index = 0; index < all.length; index++) {
      const code = all.charCodeAt(index);
      if (code === quote) inQuotes = !inQuotes;
      else if (code === NEWLINE) {
        line++;
        if (!inQuotes) {
          records.push({ text: all.slice(start, index), line: recordLine });
          start = index + 1;
          recordLine = line;
        }
      }
    }
    this.#openRecord = all.slice(start);
    this.#line = recordLine;
    if (atEnd && this.#openRecord !== '') {
      records.push({ text: this.#openRecord, line: recordLine });
      this.#openRecord = '';
    }
    const nonEmpty = records
      .map((record) => ({ ...record, text: record.text.endsWith('\r') ? record.text.slice(0, -1) : record.text }))
      .filter((record) => record.text !== '');
    if (nonEmpty.length === 0) return;
    const entries: FeedEntry[] = [];
    let unreadable: unknown;
    try {
      let fieldLists = this.#parseCsvRecords(nonEmpty);
      if (this.#fieldColumns === undefined) {
        this.#fieldColumns = this.#readHeader(fieldLists[0] as (string | null)[], nonEmpty[0]?.line ?? 1);
        fieldLists = fieldLists.slice(1);
        nonEmpty.shift();
      }
      fieldLists.forEach((fields, index) => {
        const lineNumber = (nonEmpty[index] as { line: number }).line;
        entries.push({ input: this.#csvRow(fields, lineNumber), where: `line ${lineNumber}` });
      });
    } catch (error) {
      unreadable = error;
    }
    this.#applyThen(entries, unreadable);
  }

  /** Splits records into fields with csv-parse, all at once; on a syntax error, one by one to name the line. */
  #parseCsvRecords(records: readonly { text: string; line: number }[]): (string | null)[][] {
    const csv = this.#csv as z.output<typeof csvOptionsSchema>;
    const parseText = (text: string): (string | null)[][] =>
      parseCsv(text, {
        delimiter: csv.delimiter,
        quote: csv.quote,
        record_delimiter: '\n',
        relax_column_count: true,
        cast: (value: string, context: { quoting: boolean }) => (value === '' && !context.quoting ? null : value),
      });
    try {
      const parsed = parseText(records.map((record) => record.text).join('\n'));
      if (parsed.length === records.length) return parsed;
    } catch {
      // Found below, record by record, so the error can name its line.
    }
    return records.map((record) => {
      try {
        const [fields] = parseText(record.text);
        return fields ?? [];
      } catch (error) {
        const reason = (error instanceof Error ? error.message : String(error)).replace(/ at line \d+.*$/, '');
        throw new SpillwayError(
          ErrorCode.InvalidValue,
          `line ${record.line} is not valid CSV (${reason}); quote a field that holds the delimiter, a quote or a line break, and double the quotes inside it`,
        );
      }
    });
  }

  #readHeader(fields: readonly (string | null)[], lineNumber: number): Column[] {
    const names = fields.map((field) => field ?? '');
    const unknown = names.filter((name) => findColumn(this.schema, name) === undefined);
    if (unknown.length > 0) {
      throw new SpillwayError(
        ErrorCode.UnknownColumn,
        `the header (line ${lineNumber}) names ${unknown.map((name) => `"${name}"`).join(', ')}, which the schema lacks; ` +
          `its columns are: ${columnNames(this.schema).join(', ')} (or read the file with csv: { header: false })`,
      );
    }
    const repeated = names.filter((name, index) => names.indexOf(name) !== index);
    if (repeated.length > 0) {
      throw new SpillwayError(ErrorCode.InvalidValue, `the header (line ${lineNumber}) names ${repeated.map((name) => `"${name}"`).join(', ')} twice; name each column once`);
    }
    const missing = this.schema.columns.filter((column) => !column.nullable && !names.includes(column.name));
    if (missing.length > 0) {
      throw new SpillwayError(
        ErrorCode.UnknownColumn,
        `the header (line ${lineNumber}) lacks ${missing.map((column) => `"${column.name}"`).join(', ')}, which cannot be null; add the column to the file, or declare it nullable`,
      );
    }
    return names.map((name) => findColumn(this.schema, name) as Column);
  }

  #csvRow(fields: readonly (string | null)[], lineNumber: number): FeedRow {
    const columns = this.#fieldColumns as readonly Column[];
    if (fields.length !== columns.length) {
      throw new SpillwayError(
        ErrorCode.InvalidValue,
        `line ${lineNumber} has ${fields.length} field(s) but ${columns.length} are expected (${columns.map((column) => column.name).join(', ')})`,
      );
    }
    const row: Record<string, unknown> = {};
    columns.forEach((column, index) => {
      const field = fields[index] ?? null;
      if (field === null) {
        row[column.name] = column.type === 'string' && !column.nullable ? '' : null;
        return;
      }
      try {
        row[column.name] = parseTextValue(column, field);
      } catch (error) {
        if (error instanceof SpillwayError) throw new SpillwayError(error.code, `line ${lineNumber}: ${error.message}`);
        throw error;
      }
    });
    return row;
  }
}

/**
 * A table read from a CSV or NDJSON file; with `follow: true`, lines appended later are added
 * until `close()`. Rows are appended, or with key columns (`key`, or the schema's primary key)
 * upserted by key; NDJSON lines `{"op":"delete","row":{…key…}}` delete by key.
 * @example fromFile('orders.csv', { format: 'csv', schema, follow: true, key: ['id'] })
 */
export function fromFile(path: string, options: FileTableOptions): FileTable {
  return new FileTable(path, options);
}
