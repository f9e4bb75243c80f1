/**
 * Flux's sample data sets: their rows and group key, and the Flux seed's example
 * `sampledata.int() |> kafka.to(…)` written to the real broker, read back with kcat and compared
 * with the records Flux's own Go code writes for it (test/fixtures/flux-sampledata-records.jsonl,
 * printed by test/fixtures/go/flux-sampledata with Flux's line-protocol encoder and settings).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { kafkaTo } from '../../src/dialects/flux.ts';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { findColumn } from '../../src/model/schema.ts';
import { SAMPLEDATA_GROUP_KEY, type SampleDataSet, sampledata } from '../../src/sources/sampledata.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

interface FluxRecord {
  readonly dataset: SampleDataSet;
  readonly includeNull: boolean;
  readonly key: string;
  readonly value: string;
}

const fluxRecords = readFileSync(new URL('../fixtures/flux-sampledata-records.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as FluxRecord);

function valuesOf(dataset: SampleDataSet, includeNull = false): unknown[] {
  return [...sampledata[dataset]({ includeNull }).rows()].map(([, row]) => row._value);
}

describe('sampledata', () => {
  it('has Flux\'s columns, times, tags and group key', () => {
    const table = sampledata.int();
    assert.deepEqual(table.schema.columns.map((column) => [column.name, column.type]), [['_time', 'timestamp'], ['tag', 'string'], ['_value', 'int64']]);
    const rows = [...table.rows()].map(([, row]) => row);
    assert.equal(rows.length, 12);
    assert.deepEqual(rows.map((row) => row._time), [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5].map((step) => 1_609_459_200_000_000_000n + BigInt(step) * 10_000_000_000n));
    assert.deepEqual(rows.map((row) => row.tag), [...Array<string>(6).fill('t1'), ...Array<string>(6).fill('t2')]);
    assert.deepEqual(table.groupKey, ['tag']);
    assert.deepEqual(SAMPLEDATA_GROUP_KEY, ['tag']);
    assert.equal(table.ended, true);
    assert.equal(sampledata.start, '2021-01-01T00:00:00Z');
    assert.equal(sampledata.stop, '2021-01-01T00:01:00Z');
  });

  it('holds the values of Flux\'s stdlib, converted as toInt() and toUInt() convert them', () => {
    assert.deepEqual(valuesOf('float'), [-2.18, 10.92, 7.35, 17.53, 15.23, 4.43, 19.85, 4.97, -3.75, 19.77, 13.86, 1.86]);
    assert.deepEqual(valuesOf('int'), [-2n, 10n, 7n, 17n, 15n, 4n, 19n, 4n, -3n, 19n, 13n, 1n]);
    assert.deepEqual(valuesOf('uint'), ['18446744073709551614', '10', '7', '17', '15', '4', '19', '4', '18446744073709551613', '19', '13', '1']);
    assert.deepEqual(valuesOf('string').slice(0, 3), ['smpl_g9qczs', 'smpl_0mgv9n', 'smpl_phw664']);
    assert.equal(valuesOf('string')[11], 'smpl_dtn2bv');
    assert.deepEqual(valuesOf('bool'), [true, true, false, true, false, false, false, true, false, true, true, false]);
    assert.deepEqual(valuesOf('numericBool'), [1n, 1n, 0n, 1n, 0n, 0n, 0n, 1n, 0n, 1n, 1n, 0n]);
    assert.equal(findColumn(sampledata.uint().schema, '_value')?.type, 'decimal');
  });

  it('empties the cells Flux empties with includeNull, and only then is _value nullable', () => {
    assert.deepEqual(valuesOf('float', true), [-2.18, null, 7.35, null, null, 4.43, null, 4.97, -3.75, 19.77, null, 1.86]);
    assert.deepEqual(valuesOf('string', true).map((value) => value === null), [false, true, false, true, true, false, true, false, false, false, true, false]);
    assert.equal(findColumn(sampledata.bool({ includeNull: true }).schema, '_value')?.nullable, true);
    assert.equal(findColumn(sampledata.bool().schema, '_value')?.nullable, false);
  });

  it('refuses an unknown option, naming it', () => {
    assert.throws(
      () => sampledata.int({ includeNulls: true } as never),
      (error: unknown) => error instanceof SpillwayError && error.code === ErrorCode.InvalidConfig && error.message === 'sampledata.int(): unknown option(s) "includeNulls"; the only option is includeNull (true or false)',
    );
  });
});

describe('the Flux seed\'s example: sampledata into kafka.to', () => {
  // uint's decimal(20, 0) column is written as integers clamped to 2^63-1, as Flux writes uint.
  const datasets: SampleDataSet[] = ['int', 'float', 'uint', 'string', 'bool', 'numericBool'];
  for (const dataset of datasets) {
    for (const includeNull of [false, true]) {
      it(`kafkaTo(sampledata.${dataset}({ includeNull: ${includeNull} })) writes exactly Flux's records`, async () => {
        const topic = randomTopic(`flux-sampledata-${dataset}`);
        // One partition, so the order of the records is checked too.
        await createTopic([bootstrapServers()], topic, { partitions: 1 });
        await kafkaTo(sampledata[dataset]({ includeNull }), {
          brokers: [`http://${bootstrapServers()}`],
          topic,
          name: 'example-metric-name',
          tagColumns: ['tag'],
        }).done;
        const expected = fluxRecords.filter((record) => record.dataset === dataset && record.includeNull === includeNull);
        assert.equal(expected.length, 12);
        const records = await kcatRead(topic);
        assert.deepEqual(
          records.map((record) => [record.value?.toString('utf8'), record.key?.toString('hex')]),
          expected.map((record) => [record.value, record.key]),
        );
      });
    }
  }
});
