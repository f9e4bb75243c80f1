/**
 * The conformance suite's golden files checked against producers that share nothing with
 * Spillway: Python's json module writes every JSON golden message again from what it reads and
 * must give the same bytes (test/fixtures/python/json_golden_check.py); the influx goldens must
 * hold the lines and keys that Flux's own line-protocol encoder writes in Go for the same rows
 * (test/fixtures/influx-golden-records.jsonl, printed by test/fixtures/go/flux-sampledata); the
 * Avro goldens must be what Apache Avro's Java library reads in full and writes again, with the
 * rows' values (test/fixtures/avro-java-records.jsonl, from `npm run vectors:avro-java`); the
 * protobuf goldens must decode with Google's protoc to the rows they were written from; the simple
 * goldens must hold what the Kafka Java client's standard serializers write
 * (test/fixtures/kafka-serializer-records.jsonl, from test/fixtures/java/KafkaSerializerVectors.java).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DLI_CAR_PROTO, cases, goldenFile } from './encoder-cases.ts';
import { protocDecode } from '../helpers/protoc.ts';

const run = promisify(execFile);

/** The messages of a golden file, by label (null for a null record part). */
function goldenMessages(name: string): Map<string, Buffer | null> {
  const testCase = cases.find((candidate) => candidate.name === name);
  assert.ok(testCase !== undefined, `no case ${name}`);
  const data = readFileSync(goldenFile(testCase));
  const messages = new Map<string, Buffer | null>();
  let position = data.indexOf(0x0a) + 1;
  while (position < data.length) {
    const end = data.indexOf(0x0a, position);
    const match = /^== (.*): (null|(\d+) bytes)$/.exec(data.subarray(position, end).toString('utf8'));
    assert.ok(match !== null, `${name}: unexpected line at byte ${position}`);
    position = end + 1;
    if (match[2] === 'null') {
      messages.set(match[1] as string, null);
      continue;
    }
    const length = Number(match[3]);
    messages.set(match[1] as string, data.subarray(position, position + length));
    position += length + 1;
  }
  return messages;
}

describe('golden files against independent producers', () => {
  it('every JSON golden message is what Python\'s json module writes for it', async () => {
    const files = cases.filter((testCase) => testCase.spec.kind === 'json').map((testCase) => fileURLToPath(goldenFile(testCase)));
    assert.ok(files.length >= 9);
    const script = fileURLToPath(new URL('../fixtures/python/json_golden_check.py', import.meta.url));
    const { stdout } = await run('python3', [script, ...files]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const results = stdout.trim().split('\n').map((line) => JSON.parse(line) as { file: string; label: string; same: boolean; python?: string });
    const expected = files.reduce((sum, file) => sum + [...goldenMessages(cases.find((c) => fileURLToPath(goldenFile(c)) === file)?.name ?? '').values()].filter((m) => m !== null).length, 0);
    assert.equal(results.length, expected, 'Python read every message');
    assert.deepEqual(results.filter((result) => !result.same), []);
  });

  it('the influx goldens hold the lines and keys Flux\'s line-protocol encoder writes in Go', () => {
    const records = readFileSync(new URL('../fixtures/influx-golden-records.jsonl', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { case: string; row: number; value?: string; key?: string });
    const lines = goldenMessages('influx-flux-line');
    const keys = goldenMessages('influx-flux-key');
    for (const record of records) {
      const message = (record.case === 'influx-flux-line' ? lines : keys).get(`encode(row ${record.row})`);
      if (record.case === 'influx-flux-line') assert.equal(message?.toString('utf8'), record.value, `line of row ${record.row}`);
      else assert.equal(message?.toString('hex'), record.key, `key of row ${record.row}`);
    }
    assert.equal(records.length, lines.size + keys.size);
  });

  it('the protobuf goldens decode with protoc to their rows', async () => {
    const cars = goldenMessages('protobuf-dli-kafka-sink-given-proto');
    const decoded = await Promise.all(
      [0, 1, 2, 3].map(async (row) => protocDecode(DLI_CAR_PROTO, 'com.example.Fleet.Car', cars.get(`encode(row ${row})`) as Buffer)),
    );
    assert.deepEqual(decoded, [
      'id: "C-001"\nowner: "Ann Lee"\ncar_brand: "BMW"\nspeed: 120\n',
      'id: "C-002"\nowner: "Smith, \\"Jr.\\""\ncar_brand: "Tesla|Model 3"\n',
      'id: "C-003"\ncar_brand: "BYD"\nspeed: -5\n',
      'id: "C-004"\nowner: ""\ncar_brand: "two\\r\\nlines"\nspeed: 0\n',
    ]);
  });

  it('the Avro goldens are what Apache Avro\'s Java library reads in full, with the rows\' values, and writes again', () => {
    const records = readFileSync(new URL('../fixtures/avro-java-records.jsonl', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { case: string; label: string; java: string; consumed: boolean; datum: string });
    const avroCases = cases.filter((testCase) => testCase.spec.kind === 'avro');
    let messages = 0;
    for (const testCase of avroCases) {
      for (const [label, bytes] of goldenMessages(testCase.name)) {
        if (bytes === null) continue;
        messages++;
        const record = records.find((candidate) => candidate.case === testCase.name && candidate.label === label);
        assert.ok(record !== undefined, `Java did not read ${testCase.name} ${label}: run npm run vectors:avro-java`);
        assert.equal(record.consumed, true, `${testCase.name} ${label}: Java left bytes unread`);
        assert.equal(bytes.toString('hex'), record.java, `${testCase.name} ${label}: Java writes other bytes (regenerate with npm run vectors:avro-java if the golden changed on purpose)`);
      }
    }
    assert.equal(records.length, messages);
    const datum = (name: string, label: string) => records.find((record) => record.case === name && record.label === label)?.datum;
    assert.equal(
      datum('avro-every-type', 'encode(row 0)'),
      '{"flag": true, "small": -2147483648, "big": 9007199254740993, "ratio": 0.1, "price": 12345678901234567.8901, "label": "plain", ' +
        '"blob": "\\u0000\\u0001þÿ", "day": "2024-02-29", "at": "2024-05-01T12:00:00.123456789Z", "meta": "{\\"tags\\":[\\"a\\",\\"b\\"],\\"n\\":1.5}"}',
    );
    assert.equal(
      datum('avro-every-type', 'encode(row 1)'),
      '{"flag": false, "small": 0, "big": -9223372036854775808, "ratio": -1.0E21, "price": -0.0001, "label": "comma, \\"quotes\\"\\nand a new line; ünïcödé ✓", ' +
        '"blob": null, "day": "1969-12-31", "at": "1969-12-31T23:59:59.999500Z", "meta": null}',
    );
    assert.equal(datum('avro-dli-kafka-sink-given-schema', 'encode(row 1)'), '{"id": "C-002", "owner": "Smith, \\"Jr.\\"", "car_brand": "Tesla|Model 3", "speed": null, "source": "dli"}');
  });

  it('the simple goldens hold what the Kafka Java client\'s String, Integer and Long serializers write', () => {
    const records = readFileSync(new URL('../fixtures/kafka-serializer-records.jsonl', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { case: string; label: string; hex: string | null });
    const names = [...new Set(records.map((record) => record.case))];
    assert.deepEqual(names, ['simple-string', 'simple-int64-key', 'simple-int32']);
    for (const name of names) {
      const messages = goldenMessages(name);
      const expected = records.filter((record) => record.case === name);
      assert.equal(messages.size, expected.length, `${name}: one serializer record per golden message`);
      for (const record of expected) assert.equal(messages.get(record.label)?.toString('hex') ?? null, record.hex, `${name} ${record.label}`);
    }
  });
});
