import type { Command } from 'commander';
import { startBroker } from '../broker/embedded-broker.ts';
import { produce } from '../dialects/deephaven.ts';
import { jsonSpec, simpleSpec } from '../formats/key-value-spec.ts';
import { createTopic, readTopic } from '../kafka/kafka-client.ts';
import { timeTable } from '../sources/time-table.ts';

interface DemoOptions {
  readonly topic: string;
  readonly period: string;
  readonly seconds?: string;
  /** How long to wait for READ_BACK acknowledged records before saying they did not come. */
  readonly readBackWaitMs?: number;
}

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOG', 'META'] as const;
/** Records read back once the broker has acknowledged that many. */
const READ_BACK = 5;
/** How long the demo waits for them before saying they did not come. */
const READ_BACK_WAIT_MS = 30_000;

/** The embedded broker unless KAFKA_BOOTSTRAP_SERVERS names a cluster. */
async function resolveBootstrap(log: (line: string) => void): Promise<string> {
  const configured = process.env.KAFKA_BOOTSTRAP_SERVERS;
  if (configured !== undefined && configured !== '') return configured;
  log('using the embedded Kafka broker, starting it if needed (KAFKA_BOOTSTRAP_SERVERS is not set)');
  const status = await startBroker({ log });
  return status.bootstrapServers ?? '';
}

function formatRecord(key: Buffer | null, value: Buffer | null, partition: number, offset: bigint): string {
  return `  p${partition}@${offset}  key=${key?.toString('utf8') ?? 'null'}  value=${value?.toString('utf8') ?? 'null'}`;
}

export async function runDemo(
  options: DemoOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const log = (line: string) => out.write(`${line}\n`);
  // Connection trouble is shown as it happens, while the client keeps retrying.
  const warn = (line: string) => err.write(`warning: ${line}\n`);
  const bootstrap = await resolveBootstrap(log);
  await createTopic([bootstrap], options.topic, { partitions: 3, timeoutMs: 10_000, onWarning: warn });
  log(`streaming a live trades table to topic "${options.topic}" on ${bootstrap} (Ctrl-C to stop)`);

  let price = 100;
  const ticks = timeTable(options.period);
  const trades = ticks.update({
    Sym: (_row, i) => SYMBOLS[(i * 7 + Math.floor(Math.random() * 3)) % SYMBOLS.length] ?? 'AAPL',
    Price: () => (price = Math.round((price + (Math.random() - 0.5)) * 100) / 100),
    Qty: () => 1 + Math.floor(Math.random() * 100),
    Seq: (_row, i) => i,
  });
  const sink = produce(trades, { 'bootstrap.servers': bootstrap }, options.topic, simpleSpec('Sym'), jsonSpec(['Seq', 'Timestamp', 'Sym', 'Price', 'Qty']));

  const interactive = 'isTTY' in out && out.isTTY === true;
  let warned = 0;
  const progress = () => {
    for (; warned < sink.warnings.length; warned++) warn(sink.warnings[warned] ?? '');
    const m = sink.metrics;
    const line = `rows ${m.rows}  records ${m.records}  bytes ${m.bytes}  queued ${m.queued}  errors ${m.errors}`;
    out.write(interactive ? `\r${line}   ` : `${line}\n`);
  };
  const ticker = setInterval(progress, interactive ? 250 : 1000);

  let stop = () => {};
  const finished = new Promise<void>((resolve) => (stop = resolve));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const deadline = options.seconds === undefined ? undefined : setTimeout(stop, Number(options.seconds) * 1000);
  sink.done.then(stop, stop);

  // Once the broker has acknowledged a few records (on a broker just started that can take a
  // while), read them back with a separate consumer and show them.
  const started = Date.now();
  const waitMs = options.readBackWaitMs ?? READ_BACK_WAIT_MS;
  const readBack = setInterval(() => {
    const acknowledged = sink.metrics.records;
    if (acknowledged < READ_BACK) {
      if (Date.now() - started < waitMs) return;
      clearInterval(readBack);
      if (interactive) out.write('\n');
      log(`${acknowledged} of the first ${READ_BACK} records acknowledged after ${waitMs / 1000} s, so none are read back; a broker just started may still be getting ready (spillway broker status shows its log)`);
      return;
    }
    clearInterval(readBack);
    void readTopic([bootstrap], options.topic, { maxRecords: READ_BACK, timeoutMs: 3000 }).then((records) => {
      if (interactive) out.write('\n');
      log(`read back the first ${records.length} records of "${options.topic}":`);
      for (const record of records) log(formatRecord(record.key, record.value, record.partition, record.offset));
    });
  }, 100);

  await finished;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  clearTimeout(deadline);
  clearInterval(ticker);
  clearInterval(readBack);
  ticks.close();
  await sink.stop();
  progress();
  if (interactive) out.write('\n');
  log(`stopped cleanly: ${sink.metrics.records} records acknowledged by the broker`);
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('stream a live demo table to Kafka (the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is set)')
    .option('--topic <topic>', 'topic to write', 'spillway-demo-trades')
    .option('--period <period>', 'ISO-8601 period between rows', 'PT0.1S')
    .option('--seconds <n>', 'stop after this many seconds (default: run until Ctrl-C)')
    .addHelpText('after', '\nExample:\n  $ spillway demo --topic trades --period PT0.5S --seconds 10')
    .action(async (options: DemoOptions) => runDemo(options));
}
