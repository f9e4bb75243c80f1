/**
 * Feldera input connectors checked without connecting: every option of Feldera's kafka_input and
 * file_input that Spillway does not honour is refused with a 400 naming the field and saying why;
 * attachments name is_input and relation_name when an input connector is attached wrongly; and a
 * kept ingress body that no longer fits its program fails the start, naming it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MemoryWriter } from '../../src/kafka/memory-writer.ts';
import { PipelineRuntime } from '../../src/service/pipeline-runtime.ts';
import { SALES_PROGRAM, type TestService, connectorBody, testService } from './service-helpers.ts';

const KAFKA = { 'bootstrap.servers': '127.0.0.1:9092', topic: 'sales' };
const JSON_FORMAT = { name: 'json', config: { update_format: 'insert_delete', array: false } };
const kafkaInput = (config: Record<string, unknown>, format: unknown = JSON_FORMAT) => ({ config: { transport: { name: 'kafka_input', config: { ...KAFKA, ...config } }, format } });
const fileInput = (config: Record<string, unknown>, format: unknown = JSON_FORMAT) => ({ config: { transport: { name: 'file_input', config: { path: '/tmp/sales.json', ...config } }, format } });

describe('Feldera input connectors refused at their field', () => {
  const t: TestService = testService();
  after(() => t.service.close());
  const put = (name: string, payload: unknown) => t.service.app.inject({ method: 'PUT', url: `/v0/connectors/${name}`, headers: t.write, payload: payload as object });

  const cases: { name: string; body: unknown; field: string; message: RegExp }[] = [
    { name: 'fault_tolerance', body: kafkaInput({ fault_tolerance: 'exactly_once' }), field: 'config.transport.config.fault_tolerance', message: /^connector "c": config\.transport\.config\.fault_tolerance is refused: input connectors keep no checkpoint/ },
    { name: 'partitions', body: kafkaInput({ partitions: [0] }), field: 'config.transport.config.partitions', message: /partitions is refused: every partition of the topic is read/ },
    { name: 'group_join_timeout_secs', body: kafkaInput({ group_join_timeout_secs: 5 }), field: 'config.transport.config.group_join_timeout_secs', message: /without a consumer group/ },
    { name: 'include_headers', body: kafkaInput({ include_headers: true }), field: 'config.transport.config.include_headers', message: /only the record value is read/ },
    { name: 'start_from offsets', body: kafkaInput({ start_from: { offsets: [1, 2] } }), field: 'config.transport.config.start_from', message: /start_from is refused: \{"offsets":\[1,2\]\}: only "earliest" and "latest" are supported/ },
    { name: 'an unknown auto.offset.reset', body: kafkaInput({ 'auto.offset.reset': 'error' }), field: 'config.transport.config.auto.offset.reset', message: /"error" is not a starting point; use earliest or latest/ },
    { name: 'start_from against auto.offset.reset', body: kafkaInput({ start_from: 'earliest', 'auto.offset.reset': 'latest' }), field: 'config.transport.config.start_from', message: /"earliest" disagrees with auto\.offset\.reset \(latest\); keep one/ },
    { name: 'topic and topics', body: kafkaInput({ topics: ['a'] }), field: 'config.transport.config.topics', message: /give topic or topics, not both/ },
    { name: 'no topic', body: { config: { transport: { name: 'kafka_input', config: { 'bootstrap.servers': 'b:9092' } }, format: JSON_FORMAT } }, field: 'config.transport.config.topic', message: /no topic; give "topic" \(or the older "topics" list\)/ },
    { name: 'a property that is an object', body: kafkaInput({ 'client.id': { a: 1 } }), field: 'config.transport.config.client.id', message: /a librdkafka property is a string, number or boolean/ },
    { name: 'a misspelt librdkafka property', body: kafkaInput({ 'bootstrap.servrs': 'x' }), field: 'config.transport.config', message: /`bootstrap\.servrs` is not a Kafka consumer property/ },
    { name: 'SASL without a SASL protocol', body: kafkaInput({ 'sasl.password': 'hunter2' }), field: 'config.transport.config', message: /`security\.protocol` is plaintext; set it to sasl_plaintext or sasl_ssl/ },
    { name: 'update_format debezium', body: kafkaInput({}, { name: 'json', config: { update_format: 'debezium' } }), field: 'config.format.config.update_format', message: /"debezium" is not supported for input; use insert_delete or raw/ },
    { name: 'json_flavor', body: kafkaInput({}, { name: 'json', config: { json_flavor: 'debezium_mysql' } }), field: 'config.format.config.json_flavor', message: /only the default JSON flavor is read/ },
    { name: 'lines', body: kafkaInput({}, { name: 'json', config: { lines: 'single' } }), field: 'config.format.config.lines', message: /values are read one per line/ },
    { name: 'a CSV delimiter', body: kafkaInput({}, { name: 'csv', config: { delimiter: ';' } }), field: 'config.format.config.delimiter', message: /input CSV is comma-separated/ },
    { name: 'CSV headers', body: kafkaInput({}, { name: 'csv', config: { headers: true } }), field: 'config.format.config.headers', message: /input CSV has no header line/ },
    { name: 'an unknown format', body: kafkaInput({}, { name: 'parquet' }), field: 'config.format.name', message: /config\.format\.name/ },
    { name: 'an unknown format option', body: kafkaInput({}, { name: 'json', config: { flavour: 1 } }), field: 'config.format.config', message: /unknown option\(s\) "flavour"/ },
    { name: 'a JSON array in a file', body: fileInput({}, { name: 'json', config: { update_format: 'raw', array: true } }), field: 'config.format.config.array', message: /a file is read one value per line/ },
    { name: 'a relative path', body: fileInput({ path: 'sales.json' }), field: 'config.transport.config.path', message: /"sales\.json" is relative; give an absolute path or a file:\/\/ URL/ },
    { name: 'a file URL on another host', body: fileInput({ path: 'file://elsewhere/sales.json' }), field: 'config.transport.config.path', message: /"file:\/\/elsewhere\/sales\.json" is not a file URL/ },
    { name: 'buffer_size_bytes', body: fileInput({ buffer_size_bytes: 4096 }), field: 'config.transport.config.buffer_size_bytes', message: /buffer_size_bytes is refused/ },
    { name: 'an unknown file option', body: fileInput({ glob: '*.json' }), field: 'config.transport.config', message: /unknown option\(s\) "glob"/ },
  ];
  for (const { name, body, field, message } of cases) {
    it(`refuses ${name}`, async () => {
      const response = await put('c', body);
      assert.equal(response.statusCode, 400, response.body);
      const error = response.json<{ error_code: string; message: string; details: { field?: string } }>();
      assert.equal(error.error_code, 'INVALID_CONFIG');
      assert.match(error.message, message);
      assert.equal(error.details.field, field);
      assert.doesNotMatch(response.body, /hunter2/);
    });
  }

  it('accepts a valid input connector and says what is wrong with its attachments', async () => {
    assert.equal((await put('sales-in', kafkaInput({ start_from: 'earliest' }))).statusCode, 201);
    assert.equal((await put('total-sales', connectorBody('total-sales'))).statusCode, 201);
    const program = `${SALES_PROGRAM}\nCREATE TABLE gen (n INT) WITH ('connector' = 'datagen', 'number-of-rows' = '1');`;
    const attach = async (attachment: Record<string, unknown>) => {
      const response = await t.service.app.inject({ method: 'PUT', url: '/v0/pipelines/p', headers: t.write, payload: { program, attached_connectors: [{ name: 'in', connector_name: 'sales-in', relation_name: 'sales', is_input: true, ...attachment }] } });
      return { status: response.statusCode, body: response.json<{ message: string; details: { field?: string } }>() };
    };
    assert.equal((await attach({})).status, 201);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ is_input: false }, 'attached_connectors.0.is_input', /the connector "sales-in" is an input connector; set is_input to true, or attach an output connector$/],
      [{ relation_name: 'total_sales' }, 'attached_connectors.0.relation_name', /an input connector feeds a table declared without WITH \(…\); "total_sales" is a view; name one of: sales$/],
      [{ relation_name: 'gen' }, 'attached_connectors.0.relation_name', /"gen" is a table with its own connector \(WITH …\); name one of: sales$/],
      [{ relation_name: 'nope' }, 'attached_connectors.0.relation_name', /the program has no table "nope"; name one of: sales$/],
      [{ connector_name: 'total-sales' }, 'attached_connectors.0.is_input', /the connector "total-sales" is an output connector; set is_input to false/],
    ];
    for (const [attachment, field, message] of cases) {
      const { status, body } = await attach(attachment);
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(body.details.field, field);
      assert.match(body.message, message);
    }
    // Exactly-once over a table an input connector feeds: the plan says what the guarantee becomes.
    const exactlyOnce = connectorBody('totals', '127.0.0.1:9092', { fault_tolerance: { producer_options: { 'transaction.timeout.ms': '60000' } } });
    assert.equal((await put('eos', exactlyOnce)).statusCode, 201);
    const attachments = (input: boolean) => [
      ...(input ? [{ name: 'in', connector_name: 'sales-in', relation_name: 'sales', is_input: true }] : []),
      { name: 'out', connector_name: 'eos', relation_name: 'total_sales', is_input: false },
    ];
    const warned = await t.service.app.inject({ method: 'PUT', url: '/v0/pipelines/p', headers: t.write, payload: { program, attached_connectors: attachments(true) } });
    assert.equal(warned.statusCode, 200, warned.body);
    assert.ok(warned.json<{ warnings: string[] }>().warnings.includes('input table cannot be replayed (an input connector feeds "sales" and keeps no checkpoint): after a restart its rows are not read again, so delivery is at-least-once for what was written and rows accepted but not yet written are lost'), warned.body);
    const quiet = await t.service.app.inject({ method: 'PUT', url: '/v0/pipelines/p', headers: t.write, payload: { program, attached_connectors: attachments(false) } });
    assert.equal(quiet.statusCode, 200, quiet.body);
    assert.ok(!quiet.json<{ warnings: string[] }>().warnings.some((warning) => warning.includes('cannot be replayed')), quiet.body);
  });
});

describe('the ingress journal replayed on a start', () => {
  it('fails the start naming a kept body that no longer fits the program', async () => {
    const runtime = new PipelineRuntime('p', {
      dependencies: { createWriter: () => new MemoryWriter() },
      journal: { entries: () => [{ table: 'sales', options: { format: 'json', update_format: 'raw' }, body: '{"id":1,"book":"a","amount":1}' }, { table: 'gone', options: { format: 'json' }, body: '' }], append: () => {} },
    });
    await assert.rejects(runtime.start({ name: 'p', program: SALES_PROGRAM, attached: [] }, () => undefined), /^SpillwayError: pipeline "p": the kept ingress 2 into "gone" cannot be replayed: the program has no input table "gone"$/);
    assert.equal(runtime.state, 'Shutdown');
    const bad = new PipelineRuntime('p', { journal: { entries: () => [{ table: 'sales', options: { format: 'json', update_format: 'raw' }, body: '{"id":"x"}' }], append: () => {} } });
    await assert.rejects(bad.start({ name: 'p', program: SALES_PROGRAM, attached: [] }, () => undefined), /the kept ingress 1 into "sales" cannot be replayed: ingress into "sales": value 1: .*"id"/);
  });
});
