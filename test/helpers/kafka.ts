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
  /** The record's timestamp in epoch milliseconds. */
  readonly timestamp: number;
}

/**
 * Reads a whole topic with kcat (librdkafka), an independent client, so end-to-end tests do not
 * only trust the client that wrote. Each record is a text line of partition, offset, timestamp,
 * key length, value length and headers, followed by exactly that many raw key and value bytes, so any bytes
 * survive.
 */
export async function kcatRead(topic: string, options: { readCommitted?: boolean; brokers?: string } = {}): Promise<KcatRecord[]> {
  const args = [
    '-b', options.brokers ?? bootstrapServers(), '-C', '-t', topic, '-o', 'beginning', '-e', '-q',
    '-X', `isolation.level=${options.readCommitted === false ? 'read_uncommitted' : 'read_committed'}`,
    '-f', '%p %o %T %K %S %h\n%k%s',
  ];
  const { stdout } = await run('kcat', args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  const records: KcatRecord[] = [];
  let position = 0;
  while (position < stdout.length) {
    const lineEnd = stdout.indexOf(0x0a, position);
    const [partition, offset, timestamp, keyLength, valueLength, ...headers] = stdout.subarray(position, lineEnd).toString('utf8').split(' ');
    position = lineEnd + 1;
    const take = (length: number): Buffer | null => {
      if (length < 0) return null;
      const bytes = stdout.subarray(position, position + length);
      position += length;
      return bytes;
    };
    const key = take(Number(keyLength));
    const value = take(Number(valueLength));
    records.push({ partition: Number(partition), offset: Number(offset), timestamp: Number(timestamp), key, value, headers: headers.join(' ') });
  }
  return records;
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
