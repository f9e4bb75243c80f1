/**
 * `spillway run job.sql` and `spillway validate job.sql | spec.json`.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { parseColumns, runSqlFile, validateSqlFile } from '../dialects/sql/job.ts';
import { ErrorCode, SpillwayError } from '../errors.ts';
import { inputTable } from '../sources/input-table.ts';
import { type SinkPlan, planSink } from '../sink/plan.ts';
import { parseSinkSpec } from '../sink/sink-spec.ts';
import { parseKafkaProperties } from '../kafka/kafka-properties.ts';
import { Progress } from './progress.ts';

function describePlan(plan: SinkPlan): string {
  const partitioner = typeof plan.spec.partitioner === 'function' ? 'a custom partitioner' : `${plan.spec.partitioner} partitioner`;
  return `sink "${plan.name}" → topic ${plan.spec.topic ?? `(from column ${plan.spec.topicColumn ?? '?'})`}: ${plan.mode} mode, key ${plan.spec.key.kind}, value ${plan.spec.value.kind}, ${partitioner}, ${plan.spec.delivery}`;
}

/** Waits for the job, stopping it cleanly on the first Ctrl-C (or SIGTERM) and at once on the second. */
async function untilDoneOrInterrupted(done: Promise<void>, stop: () => Promise<void>): Promise<void> {
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write('\nstopping: writing what is queued (Ctrl-C again to quit at once)\n');
      stop().catch(() => {});
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerSqlCommands(program: Command): void {
  program
    .command('run')
    .description('run a Flink SQL job: its INSERT INTO statements write to Kafka until the sources end or Ctrl-C')
    .argument('<job.sql>', 'the SQL file (CREATE TABLE, CREATE VIEW, INSERT INTO … SELECT)')
    .option('--no-progress', 'no progress line on stderr')
    .addHelpText(
      'after',
      `
Example:
  $ cat job.sql
  CREATE TABLE cars (car_id STRING, car_speed INT) WITH ('connector' = 'datagen', 'number-of-rows' = '100');
  CREATE TABLE kafkaSink (car_id STRING, car_speed INT) WITH ('connector.type' = 'kafka',
    'connector.topic' = 'cars', 'connector.properties.bootstrap.servers' = '127.0.0.1:9092', 'format.type' = 'csv');
  INSERT INTO kafkaSink SELECT * FROM cars;
  $ spillway run job.sql`,
    )
    .action(async (path: string, options: { progress: boolean }) => {
      // Connection trouble is told as it happens, while the writer retries.
      const job = await runSqlFile(path, { dependencies: { onWarning: (warning) => process.stderr.write(`warning: ${warning}\n`) } });
      for (const warning of job.warnings) process.stderr.write(`warning: ${warning}\n`);
      for (const name of job.inputs.keys()) {
        process.stderr.write(`note: table "${name}" has no connector; it is an input table nothing feeds from the command line, so the job runs until Ctrl-C\n`);
      }
      const progress = options.progress
        ? new Progress(() =>
            job.sinks.reduce(
              (sum, sink) => ({ rows: sum.rows + sink.metrics.rows, records: sum.records + sink.metrics.records, bytes: sum.bytes + sink.metrics.bytes, errors: sum.errors + sink.metrics.errors }),
              { rows: 0, records: 0, bytes: 0, errors: 0 },
            ),
          )
        : undefined;
      progress?.start();
      try {
        await untilDoneOrInterrupted(job.done, () => job.stop());
      } finally {
        progress?.stop();
      }
      for (const sink of job.sinks) process.stderr.write(`sink "${sink.name}": ${sink.metrics.records} records (${sink.metrics.bytes} bytes) to ${sink.topic ?? 'their topics'}\n`);
    });

  program
    .command('validate')
    .description('check a SQL job or a sink spec completely, without connecting to anything')
    .argument('<file>', 'a .sql job, or a .json sink spec ({ "table": "id BIGINT, …", "sink": { … } }, or the spec alone)')
    .option('--schema <columns>', 'for a .json spec: the table\'s columns, as in SQL: "id BIGINT, name STRING"')
    .addHelpText(
      'after',
      `
Examples:
  $ spillway validate job.sql
  $ spillway validate sink.json --schema "id BIGINT, name STRING, PRIMARY KEY (id) NOT ENFORCED"`,
    )
    .action(async (path: string, options: { schema?: string }) => {
      if (extname(path).toLowerCase() === '.sql') {
        if (options.schema !== undefined) throw new SpillwayError(ErrorCode.InvalidConfig, '--schema applies to .json specs; a SQL job declares its tables');
        const { plans, warnings } = await validateSqlFile(path);
        for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
        for (const plan of plans) process.stdout.write(`${describePlan(plan)}\n`);
        process.stdout.write(`${path}: valid (${plans.length} sink${plans.length === 1 ? '' : 's'}; nothing was connected)\n`);
        return;
      }
      let document: unknown;
      try {
        document = JSON.parse(readFileSync(path, 'utf8'));
      } catch (error) {
        throw new SpillwayError(ErrorCode.InvalidConfig, `${path}: not JSON (${error instanceof Error ? error.message : String(error)}); validate takes a .sql job or a .json sink spec`);
      }
      const wrapped = typeof document === 'object' && document !== null && 'sink' in document;
      const spec = wrapped ? (document as { sink: unknown }).sink : document;
      const tableText = wrapped ? (document as { table?: unknown }).table : undefined;
      if (tableText !== undefined && typeof tableText !== 'string') throw new SpillwayError(ErrorCode.InvalidConfig, `${path}: "table" is the columns as SQL text, such as "id BIGINT, name STRING"`);
      if (tableText !== undefined && options.schema !== undefined) throw new SpillwayError(ErrorCode.InvalidConfig, `${path} gives "table" and --schema gives columns too; keep one`);
      const columns = tableText ?? options.schema;
      if (columns === undefined) {
        const parsed = parseSinkSpec(spec);
        const { warnings } = parseKafkaProperties(parsed.kafka, { sink: parsed.name, guarantee: parsed.delivery });
        for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
        process.stdout.write(`${path}: the spec and its Kafka properties are valid; its columns were not checked (give the table's columns with --schema, or as "table" in the file)\n`);
        return;
      }
      const plan = planSink(inputTable(await parseColumns(columns)), spec);
      for (const warning of plan.warnings) process.stderr.write(`warning: ${warning}\n`);
      process.stdout.write(`${describePlan(plan)}\n${path}: valid (nothing was connected)\n`);
    });
}
