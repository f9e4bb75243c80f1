/**
 * Feldera's seed, end to end: the "total-sales" Kafka output connector config (update_format
 * insert_delete, array false) on a total-sales aggregate; the topic read back with kcat holds
 * Feldera's change records in order, and folds into the view.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { felderaConnectorSpec, felderaOutputConnector } from '../../src/dialects/feldera.ts';
import { ErrorCode } from '../../src/errors.ts';
import { sum } from '../../src/model/aggregations.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { inputTable } from '../../src/sources/input-table.ts';
import { foldRetract, fromKcat, insertDeleteDecoder } from '../helpers/changelog-fold.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';

/** The seed's connector body, pointed at the test broker and a fresh topic. */
function totalSalesConnector(topic: string, array = false) {
  return {
    description: 'Kafka output connector for total sales from the book fair',
    config: {
      transport: { name: 'kafka_output', config: { 'bootstrap.servers': bootstrapServers(), 'auto.offset.reset': 'earliest', topic } },
      format: { name: 'json', config: { update_format: 'insert_delete', array } },
    },
  } as const;
}

async function sellBooks(array: boolean) {
  const topic = randomTopic('total-sales');
  const sales = inputTable(defineSchema({ sale: 'int32', book: 'string', amount: 'int64' }, { primaryKey: ['sale'] }));
  const totalSales = sales.aggBy({ total: sum('amount') });
  const sink = felderaOutputConnector(totalSales, 'total-sales', totalSalesConnector(topic, array));
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
  sales.add({ sale: 1, book: 'Dune', amount: 10n });
  await settle();
  sales.add([{ sale: 2, book: 'Emma', amount: 15n }, { sale: 3, book: 'Ulysses', amount: 5n }]);
  await settle();
  sales.delete({ sale: 2 });
  sales.close();
  await sink.done;
  return { sink, records: await kcatRead(topic) };
}

describe('Feldera output connector: total sales as insert_delete', () => {
  it('writes each change of the view as {"insert": …} / {"delete": …}, in order', async () => {
    const { sink, records } = await sellBooks(false);
    assert.deepEqual(sink.warnings.length, 1, 'auto.offset.reset is a consumer property: warned about, not an error');
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      ['{"insert":{"total":10}}', '{"delete":{"total":10}}', '{"insert":{"total":30}}', '{"delete":{"total":30}}', '{"insert":{"total":15}}'],
    );
    assert.deepEqual(foldRetract(fromKcat(records), insertDeleteDecoder), ['{"total":15}']);
  });

  it('with array: true, a message holds an array of changes', async () => {
    const { records } = await sellBooks(true);
    const changes = records.flatMap((r) => JSON.parse(r.value?.toString() ?? '[]') as unknown[]);
    assert.deepEqual(changes.at(-1), { insert: { total: 15 } });
    assert.deepEqual(foldRetract(fromKcat(records), insertDeleteDecoder), ['{"total":15}']);
  });

  it('refuses a connector that is not a Kafka output, naming the field', () => {
    assert.throws(() => felderaConnectorSpec('c', { config: { transport: { name: 'kafka_input', config: { topic: 't' } }, format: { name: 'json' } } }), {
      code: ErrorCode.InvalidConfig,
      message: /connector "c" is misconfigured:\n {2}- config\.transport\.name: Invalid input: expected "kafka_output"/,
    });
  });
});

describe("Feldera output connector: fault_tolerance", () => {
  const body = (transport: Record<string, unknown>) => ({ config: { transport: { name: 'kafka_output', config: { 'bootstrap.servers': 'b:9092', topic: 't', ...transport } }, format: { name: 'json' } } });

  it('turns on exactly-once, its producer_options over the transport properties; absent or null stays at-least-once', () => {
    const spec = felderaConnectorSpec('c', body({ acks: 'all', 'linger.ms': 5, fault_tolerance: { producer_options: { 'linger.ms': '20' } } }));
    assert.equal(spec.delivery, 'exactly-once');
    assert.deepEqual(spec.kafka, { 'bootstrap.servers': 'b:9092', acks: 'all', 'linger.ms': '20' });
    assert.equal(felderaConnectorSpec('c', body({ fault_tolerance: {} })).delivery, 'exactly-once');
    assert.equal(felderaConnectorSpec('c', body({ fault_tolerance: null })).delivery, undefined);
    assert.equal(felderaConnectorSpec('c', body({})).delivery, undefined);
  });

  it('refuses consumer_options and unknown fault_tolerance fields, naming them', () => {
    assert.throws(() => felderaConnectorSpec('c', body({ fault_tolerance: { consumer_options: { 'fetch.min.bytes': '1' } } })), (error: Error & { details?: { field?: string } }) => {
      assert.equal(error.details?.field, 'config.transport.config.fault_tolerance.consumer_options');
      return true;
    });
    assert.throws(() => felderaConnectorSpec('c', body({ fault_tolerance: { mode: 'exactly_once' } })), /fault_tolerance: unknown option\(s\) "mode"/);
  });
});
