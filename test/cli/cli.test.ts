/**
 * The CLI run for real, in child processes: help with examples, exit codes from error codes,
 * one-line errors (a stack only with --verbose), validate without a broker, run and produce
 * against the real broker read back with kcat, Ctrl-C, and the Node version check on the
 * machine's older Node when it has one.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES } from '../../src/cli/exit-codes.ts';
import { ErrorCode } from '../../src/errors.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { bootstrapServers, eventually, kcatRead, randomTopic } from '../helpers/kafka.ts';

const BIN = fileURLToPath(new URL('../../bin/spillway.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spillway-cli-'));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function start(args: readonly string[], options: { input?: string; node?: string; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; result: Promise<Result> } {
  // Without the test runner's own variables, so the child is a plain CLI run.
  const env = Object.fromEntries(Object.entries({ ...process.env, ...options.env }).filter(([name]) => !name.startsWith('NODE_TEST')));
  const child = spawn(options.node ?? process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin?.end(options.input ?? '');
  const result = new Promise<Result>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, result };
}

async function cli(args: readonly string[], options: { input?: string; node?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return start(args, options).result;
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('spillway CLI', () => {
  it('gives every command an example in its --help', async () => {
    for (const command of [[], ['run'], ['validate'], ['produce'], ['broker'], ['broker', 'start'], ['broker', 'stop'], ['broker', 'status'], ['demo']]) {
      const { code, stdout } = await cli([...command, '--help']);
      assert.equal(code, 0, command.join(' '));
      assert.match(stdout, /Examples?:\n[\s\S]*\$ .*spillway /, `spillway ${command.join(' ')} --help`);
    }
  });

  it('derives exit codes from error codes: distinct, and never 0 or 2', () => {
    const codes = Object.values(ErrorCode).map((code) => EXIT_CODES[code]);
    assert.equal(new Set(codes).size, codes.length);
    assert.ok(codes.every((code) => code !== 0 && code !== 2));
  });

  it('a wrong command line exits 2', async () => {
    const { code, stderr } = await cli(['frobnicate']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown command 'frobnicate'/);
  });

  it('validate checks a SQL job without a broker; errors are one line, with a stack only with --verbose', async () => {
    const good = write('good.sql', `CREATE TABLE cars (id STRING, speed INT) WITH ('connector' = 'datagen', 'number-of-rows' = '3');
CREATE TABLE sink_out (id STRING, speed INT) WITH ('connector' = 'kafka', 'topic' = 'cars', 'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'csv', 'sink.partitioner' = 'round-robin');
INSERT INTO sink_out SELECT * FROM cars;`);
    const ok = await cli(['validate', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `sink "sink_out" → topic cars: append mode, key ignore, value csv, round-robin partitioner, at-least-once\n${good}: valid (1 sink; nothing was connected)\n`);

    const bad = write('bad.sql', "CREATE TABLE cars (id STRING) WITH ('connector' = 'datagen');\nINSERT INTO sink_out SELEC id FROM cars;");
    const failed = await cli(['validate', bad]);
    assert.equal(failed.code, EXIT_CODES.INVALID_CONFIG);
    assert.equal(failed.stderr, `spillway [INVALID_CONFIG]: ${bad}:2:22: syntax error: 'SELEC' is not valid at this position\n`);
    const verbose = await cli(['validate', bad, '--verbose']);
    assert.match(verbose.stderr, /^spillway \[INVALID_CONFIG\]:\nSpillwayError: .*syntax error.*\n {4}at /);
  });

  it('validate checks a JSON sink spec against columns, with the exit code of the error', async () => {
    const spec = { name: 'orders', topic: 'orders', kafka: { 'bootstrap.servers': '127.0.0.1:9' }, key: { kind: 'simple', column: 'id' }, value: { kind: 'json', columns: ['id', 'qty'] } };
    const ok = await cli(['validate', write('spec.json', JSON.stringify({ table: 'id BIGINT, qty INT', sink: spec }))]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /sink "orders" → topic orders: append mode, key simple, value json/);
    const unknown = await cli(['validate', write('spec2.json', JSON.stringify(spec)), '--schema', 'id BIGINT, amount INT']);
    assert.equal(unknown.code, EXIT_CODES.UNKNOWN_COLUMN);
    assert.match(unknown.stderr, /^spillway \[UNKNOWN_COLUMN\]: .*"qty", which the table lacks; its columns are: id, amount\n$/);
    const alone = await cli(['validate', write('spec3.json', JSON.stringify({ ...spec, kafka: { 'bootstrap.servers': 'h:1', 'lingr.ms': 5 } }))]);
    assert.equal(alone.code, EXIT_CODES.INVALID_CONFIG);
    assert.match(alone.stderr, /`lingr\.ms` is not a Kafka producer property of librdkafka or the Java client; did you mean `linger\.ms`\?/);
  });

  it('run writes a job to the broker and exits 0 when its sources end', async () => {
    const topic = randomTopic('cli-run');
    await createTopic([bootstrapServers()], topic, { partitions: 3 });
    write('cars.csv', 'C-1,Ann,BMW,120\nC-2,Bo,VW,80\nC-3,Cy,Kia,95\n');
    const job = write('run.sql', `create table cars(car_id STRING, car_owner STRING, car_brand STRING, car_speed INT) with ('connector' = 'filesystem', 'path' = 'cars.csv', 'format' = 'csv');
create table kafkaSink(car_id STRING, car_owner STRING, car_brand STRING, car_speed INT) with ('connector.type' = 'kafka', 'connector.version' = '0.11',
  'connector.topic' = '${topic}', 'connector.properties.bootstrap.servers' = '${bootstrapServers()}', 'connector.sink-partitioner' = 'round-robin', 'format.type' = 'csv');
insert into kafkaSink select car_id, car_owner, car_brand, car_speed + 1 from cars where car_speed > 90;`);
    const { code, stderr } = await cli(['run', job]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /sink "kafkaSink": 2 records \(\d+ bytes\) to /);
    const records = await kcatRead(topic);
    assert.deepEqual(records.map((record) => [record.partition, record.value?.toString()]).sort(), [[0, 'C-1,Ann,BMW,121'], [1, 'C-3,Cy,Kia,96']]);
  });

  it('run stops cleanly on Ctrl-C, writes what it had, and exits 0; progress lines are sparse off a terminal', async () => {
    const topic = randomTopic('cli-sigint');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const job = write('forever.sql', `CREATE TABLE ticks (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '50', 'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '1000000000');
CREATE TABLE sink_out (n BIGINT) WITH ('connector' = 'kafka', 'topic' = '${topic}', 'properties.bootstrap.servers' = '${bootstrapServers()}', 'format' = 'json');
INSERT INTO sink_out SELECT n FROM ticks;`);
    const { child, result } = start(['run', job]);
    // kcat would wait for the end of a partition that keeps growing; wait for the job to run instead.
    let running = false;
    child.stderr?.on('data', () => (running = true));
    try {
      await eventually(() => Promise.resolve(running), (started) => started);
      await new Promise((resolve) => setTimeout(resolve, 2500));
    } finally {
      child.kill('SIGINT');
    }
    const { code, stderr } = await result;
    assert.equal(code, 0, stderr);
    const written = Number(/sink "sink_out": (\d+) records/.exec(stderr)?.[1]);
    assert.ok(written > 20, stderr);
    const records = await kcatRead(topic);
    assert.equal(records.length, written);
    assert.deepEqual(records.map((record) => JSON.parse(record.value?.toString() ?? '') as { n: number }).map((row) => row.n), Array.from({ length: written }, (_v, i) => i + 1));
    const progressLines = stderr.split('\n').filter((line) => line.startsWith('rows '));
    assert.ok(progressLines.length <= 3, stderr);
  });

  it('produce writes a CSV file with a header, round-robin, with -X properties', async () => {
    const topic = randomTopic('cli-produce');
    await createTopic([bootstrapServers()], topic, { partitions: 2 });
    const file = write('people.csv', 'id,name\n1,ann\n2,bob\n3,cy\n');
    const { code, stderr } = await cli(['produce', '-b', bootstrapServers(), '-t', topic, '-f', file, '-k', 'simple:id', '--format', 'csv', '-p', 'round-robin', '-X', 'linger.ms=5', '-X', 'compression.type=gzip']);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /3 records \(\d+ bytes\) to /);
    const records = await kcatRead(topic);
    assert.deepEqual(records.map((record) => [record.partition, record.key?.toString(), record.value?.toString()]).sort(), [[0, '1', '1,ann'], [0, '3', '3,cy'], [1, '2', '2,bob']]);
  });

  it('on a terminal, progress is one line redrawn in place', (t) => {
    if (!existsSync('/usr/bin/script')) return t.skip('no script(1) to give the CLI a terminal');
    const topic = randomTopic('cli-tty');
    const file = write('tty.csv', 'id\n1\n2\n');
    // script(1) runs the command on a pseudo-terminal, as a user's shell would.
    const command = [process.execPath, BIN, 'produce', '-b', bootstrapServers(), '-t', topic, '-f', file].map((part) => `'${part}'`).join(' ');
    const output = execFileSync('/usr/bin/script', ['-qc', command, '/dev/null'], { cwd: dir, env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NODE_TEST'))) }).toString();
    // ESC[1G moves to the line's start and ESC[0K clears what is left: the line is redrawn, not appended.
    const escape = String.fromCharCode(27);
    assert.ok(new RegExp(`${escape}\\[1Grows 2 \\| records 2 \\| \\d+ records/s \\| \\d+ B \\| errors 0 \\| [\\d.]+s${escape}\\[0K`).test(output), JSON.stringify(output));
    assert.match(output, /2 records \(\d+ bytes\) to /);
  });

  it('produce reads NDJSON from stdin with a schema, upserting by a primary key', async () => {
    const topic = randomTopic('cli-stdin');
    const input = '{"id": 9007199254740993, "v": "a"}\n{"id": 2, "v": "b"}\n';
    const { code, stderr } = await cli(['produce', '-t', topic, '--input', 'ndjson', '--schema', 'id BIGINT, v STRING', '-k', 'json:id', '--mode', 'upsert', '--primary-key', 'id', '--delivery', 'at-least-once'], {
      input,
      env: { KAFKA_BOOTSTRAP_SERVERS: bootstrapServers() },
    });
    assert.equal(code, 0, stderr);
    const records = await kcatRead(topic);
    assert.deepEqual(records.map((record) => [record.key?.toString(), record.value?.toString()]).sort(), [
      ['{"id":2}', '{"id":2,"v":"b"}'],
      ['{"id":9007199254740993}', '{"id":9007199254740993,"v":"a"}'],
    ]);
  });

  it('produce --delivery exactly-once writes a file once: a rerun under the same --name writes only new lines', async () => {
    const topic = randomTopic('cli-eos');
    const name = `cli-eos-${topic.slice(-6)}`;
    const file = write(`${name}.csv`, 'id,name\n1,ann\n2,bob\n');
    const args = ['produce', '-b', bootstrapServers(), '-t', topic, '-f', file, '--delivery', 'exactly-once', '--name', name, '--no-progress', '-X', 'linger.ms=5'];
    const first = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    appendFileSync(file, '3,cy\n');
    const second = await cli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /1 records \(\d+ bytes\) to /);
    // A commit's markers may reach the partitions a moment after it returns.
    const records = await eventually(() => kcatRead(topic, { readCommitted: true }), (read) => read.length >= 3);
    assert.deepEqual(records.map((record) => (JSON.parse(record.value?.toString() ?? '{}') as { id: string }).id).sort(), ['1', '2', '3']);
    const unnamed = await cli(['produce', '-b', '127.0.0.1:9', '-t', 't', '-f', file, '--delivery', 'exactly-once']);
    assert.equal(unnamed.code, EXIT_CODES.INVALID_CONFIG);
    assert.match(unnamed.stderr, /spillway produce: exactly-once delivery needs a name of the sink's own — its transactional id and progress key, the same on every restart; give --name orders-to-kafka/);
  });

  it('produce --checkpoint-location keeps the acknowledged position, so a rerun at-least-once writes only new lines', async () => {
    const topic = randomTopic('cli-checkpoint');
    const checkpoint = join(dir, `checkpoint-${topic}`);
    const file = write(`${topic}.csv`, 'id,name\n1,ann\n2,bob\n');
    const args = ['produce', '-b', bootstrapServers(), '-t', topic, '-f', file, '--checkpoint-location', checkpoint, '--no-progress'];
    const first = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(existsSync(join(checkpoint, 'progress-0.json')), 'the checkpoint holds the progress');
    appendFileSync(file, '3,cy\n');
    const second = await cli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /1 records \(\d+ bytes\) to /);
    const ids = (await kcatRead(topic)).map((record) => (JSON.parse(record.value?.toString() ?? '{}') as { id: string }).id).sort();
    assert.deepEqual(ids, ['1', '2', '3']);
  });

  it('produce refuses what it cannot do, before connecting', async () => {
    const file = write('x.csv', 'a\n1\n');
    const unknown = await cli(['produce', '-b', '127.0.0.1:9', '-t', 't', '-f', file, '-X', 'compresion.type=gzip']);
    assert.equal(unknown.code, EXIT_CODES.INVALID_CONFIG);
    assert.match(unknown.stderr, /`compresion\.type` is not a Kafka producer property of librdkafka or the Java client; did you mean `compression\.type`\?/);
    const badSpec = await cli(['produce', '-b', '127.0.0.1:9', '-t', 't', '-f', file, '-k', 'xml:a']);
    assert.equal(badSpec.code, EXIT_CODES.INVALID_CONFIG);
    assert.equal(badSpec.stderr, 'spillway [INVALID_CONFIG]: --key xml:a: unknown spec "xml"; use ignore, json[:col,…], csv[:col,…], avro[:col,…], simple:col or raw:col\n');
    const noBroker = await cli(['produce', '-t', 't', '-f', file], { env: { KAFKA_BOOTSTRAP_SERVERS: '' } });
    assert.equal(noBroker.code, EXIT_CODES.INVALID_CONFIG);
    assert.match(noBroker.stderr, /no broker: give -b host:port/);
    const dry = await cli(['produce', '-b', '127.0.0.1:9', '-t', 't', '-f', file, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, 'would write to t: append mode, key ignore, value json; nothing was connected\n');
  });

  it('an unreachable broker exits with BROKER_UNREACHABLE\'s code', async () => {
    const file = write('y.csv', 'a\n1\n');
    const { code, stderr } = await cli(['produce', '-b', '127.0.0.1:9', '-t', 't', '-f', file, '--no-progress', '-X', 'socket.connection.setup.timeout.ms=1000', '-X', 'delivery.timeout.ms=2000', '-X', 'request.timeout.ms=1000']);
    assert.equal(code, EXIT_CODES.BROKER_UNREACHABLE, stderr);
    // Warnings while the writer retries, then the error once.
    const lines = stderr.split('\n').filter((line) => line !== '');
    assert.match(lines.at(-1) ?? '', /^spillway \[BROKER_UNREACHABLE\]: .*127\.0\.0\.1:9/);
    assert.equal(lines.filter((line) => line.startsWith('spillway [')).length, 1, stderr);
    assert.ok(lines.slice(0, -1).every((line) => line.startsWith('warning: ')), stderr);
    assert.match(stderr, /^warning: Kafka broker 127\.0\.0\.1:9: connection refused; retrying$/m);
  });

  it('on a Node older than 22.18, says so in one line', async (t) => {
    const old = '/usr/bin/node';
    if (!existsSync(old)) return t.skip('no other Node on this machine');
    const [major = 0, minor = 0] = execFileSync(old, ['-p', 'process.versions.node']).toString().trim().split('.').map(Number);
    if (major > 22 || (major === 22 && minor >= 18)) return t.skip(`${old} is new enough`);
    const { code, stdout, stderr } = await cli(['--help'], { node: old });
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /^spillway: Spillway needs Node >= 22\.18 \(this is Node \d+\.\d+\.\d+\); install Node 22\.18 or later[^\n]*\n$/);
  });
});
