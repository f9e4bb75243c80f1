/**
 * kcat with any librdkafka properties, as an independent producer and consumer for secured
 * listeners. librdkafka before 2.6.1 cannot log in with SCRAM to Kafka 4 brokers (it repeats the
 * client nonce in its final message, which Kafka 4 rejects, librdkafka#4895), and Debian's kcat
 * links 2.0.2; so kcat is pointed at a newer librdkafka when one is at hand: the one
 * @confluentinc/kafka-javascript builds, or SPILLWAY_KCAT_LIBRDKAFKA_DIR.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function librdkafkaDir(): string | undefined {
  const candidates = [
    process.env.SPILLWAY_KCAT_LIBRDKAFKA_DIR,
    join(import.meta.dirname, '..', '..', 'node_modules', '@confluentinc', 'kafka-javascript', 'build', 'deps'),
  ];
  return candidates.find((dir) => dir !== undefined && dir !== '' && existsSync(join(dir, 'librdkafka.so.1')));
}

const libDir = librdkafkaDir();
const env = libDir === undefined ? process.env : { ...process.env, LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };

/** The librdkafka version kcat runs with, such as 2.0.2. */
export const kcatLibrdkafkaVersion: string =
  /librdkafka (\d+\.\d+\.\d+)/.exec(spawnSync('kcat', ['-V'], { env, encoding: 'utf8' }).stdout ?? '')?.[1] ?? '0.0.0';

function atLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** A skip reason when kcat's librdkafka cannot do SCRAM with Kafka 4; false when it can. */
export const kcatScramSkip: string | false = atLeast(kcatLibrdkafkaVersion, '2.6.1')
  ? false
  : `kcat runs librdkafka ${kcatLibrdkafkaVersion}, which cannot log in with SCRAM to Kafka 4 (fixed in 2.6.1); ` +
    'install @confluentinc/kafka-javascript or set SPILLWAY_KCAT_LIBRDKAFKA_DIR to a newer librdkafka';

function configArgs(properties: Readonly<Record<string, string>>): string[] {
  return Object.entries(properties).flatMap(([name, value]) => ['-X', `${name}=${value}`]);
}

/** Writes `key:value` lines with kcat through a listener; rejects with kcat's stderr. */
export async function kcatProduce(
  servers: string,
  properties: Readonly<Record<string, string>>,
  topic: string,
  lines: readonly string[],
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      'kcat',
      ['-b', servers, '-P', '-t', topic, '-K', ':', '-X', 'message.timeout.ms=15000', ...configArgs(properties)],
      { env, timeout: 30_000 },
      (error, _stdout, stderr) => (error === null ? resolve() : reject(new Error(`kcat -P failed: ${error.message}\n${stderr}`))),
    );
    child.stdin?.end(lines.map((line) => `${line}\n`).join(''));
  });
}

/** Reads `count` records from the beginning of a topic as `key:value` lines through a listener. */
export async function kcatConsume(
  servers: string,
  properties: Readonly<Record<string, string>>,
  topic: string,
  count: number,
): Promise<string[]> {
  const { stdout } = await run(
    'kcat',
    ['-b', servers, '-C', '-t', topic, '-o', 'beginning', '-c', String(count), '-e', '-q', '-f', '%k:%s\n', ...configArgs(properties)],
    { env, timeout: 30_000, encoding: 'utf8' },
  );
  return stdout.split('\n').filter((line) => line.length > 0);
}

/** Asks for metadata through a listener; resolves with kcat's exit status and its stderr. */
export async function kcatMetadata(
  servers: string,
  properties: Readonly<Record<string, string>>,
): Promise<{ ok: boolean; stderr: string }> {
  try {
    await run('kcat', ['-b', servers, '-L', '-m', '5', ...configArgs(properties)], { env, timeout: 30_000, encoding: 'utf8' });
    return { ok: true, stderr: '' };
  } catch (error) {
    return { ok: false, stderr: String((error as { stderr?: unknown }).stderr ?? error) };
  }
}
