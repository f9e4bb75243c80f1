import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The broker the test run started (or the cluster KAFKA_BOOTSTRAP_SERVERS names). */
export function bootstrapServers(): string {
  const servers = process.env.KAFKA_BOOTSTRAP_SERVERS;
  if (servers === undefined || servers === '') {
    throw new Error('KAFKA_BOOTSTRAP_SERVERS is not set: run the tests with `npm test` (its global setup starts a broker)');
  }
  return servers;
}

/** A topic name no other test uses. */
export function randomTopic(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export interface KcatRecord {
  readonly partition: number;
  readonly offset: number;
  /** null when the record has no key / is a tombstone. */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: string;
}

const FIELD = '\u001f';
const RECORD = '\u001e';

/**
 * Reads a whole topic with kcat (librdkafka), an independent client, so end-to-end tests do not
 * only trust the client that wrote. Keys and values come back hex-encoded to survive any bytes.
 */
export async function kcatRead(topic: string, options: { readCommitted?: boolean } = {}): Promise<KcatRecord[]> {
  const args = [
    '-b', bootstrapServers(), '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-Z',
    '-X', `isolation.level=${options.readCommitted === false ? 'read_uncommitted' : 'read_committed'}`,
    '-f', `%p${FIELD}%o${FIELD}%K${FIELD}%k${FIELD}%S${FIELD}%s${FIELD}%h${RECORD}`,
  ];
  const { stdout } = await run('kcat', args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  const records: KcatRecord[] = [];
  // Fields are split on separators that our test payloads never contain.
  for (const chunk of splitBuffer(stdout, Buffer.from(RECORD))) {
    if (chunk.length === 0) continue;
    const [partition, offset, keyLength, key, valueLength, value, headers] = splitBuffer(chunk, Buffer.from(FIELD));
    records.push({
      partition: Number(partition?.toString()),
      offset: Number(offset?.toString()),
      key: keyLength?.toString() === '-1' ? null : (key ?? Buffer.alloc(0)),
      value: valueLength?.toString() === '-1' ? null : (value ?? Buffer.alloc(0)),
      headers: headers?.toString() ?? '',
    });
  }
  return records;
}

function splitBuffer(buffer: Buffer, separator: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (;;) {
    const index = buffer.indexOf(separator, start);
    if (index === -1) {
      parts.push(buffer.subarray(start));
      return parts;
    }
    parts.push(buffer.subarray(start, index));
    start = index + separator.length;
  }
}

/** Polls until the predicate holds, failing after `timeoutMs` with the last observed value. */
export async function eventually<T>(probe: () => Promise<T>, predicate: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!predicate(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await probe();
  }
  return last;
}
