/**
 * Connectors over the REST API (Fastify's inject, no socket; the in-memory writer): the seed's
 * body accepted, replaced, listed and deleted; every invalid body a 400 naming the field;
 * secrets redacted from responses and errors; the body limit; the OpenAPI document.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type TestService, connectorBody, testService } from './service-helpers.ts';

describe('REST connectors', () => {
  const t: TestService = testService();
  after(() => t.service.close());
  const inject = t.service.app.inject.bind(t.service.app);

  it('creates with 201, replaces with 200, lists, gets and deletes the seed connector', async () => {
    const created = await inject({ method: 'PUT', url: '/v0/connectors/total-sales', headers: t.write, payload: connectorBody('total-sales') });
    assert.equal(created.statusCode, 201, created.body);
    const body = created.json<{ name: string; description: string; warnings: string[] }>();
    assert.equal(body.name, 'total-sales');
    assert.equal(body.description, 'Kafka output connector for total sales from the book fair');
    assert.match(body.warnings.join('\n'), /auto\.offset\.reset.*consumer property/);
    const replaced = await inject({ method: 'PUT', url: '/v0/connectors/total-sales', headers: t.write, payload: connectorBody('other-topic') });
    assert.equal(replaced.statusCode, 200);
    const list = await inject({ method: 'GET', url: '/v0/connectors', headers: t.read });
    assert.deepEqual(list.json<{ name: string }[]>().map((connector) => connector.name), ['total-sales']);
    const got = await inject({ method: 'GET', url: '/v0/connectors/total-sales', headers: t.read });
    assert.equal(got.json<{ config: { transport: { config: { topic: string } } } }>().config.transport.config.topic, 'other-topic');
    const deleted = await inject({ method: 'DELETE', url: '/v0/connectors/total-sales', headers: t.write });
    assert.equal(deleted.statusCode, 200);
    const gone = await inject({ method: 'GET', url: '/v0/connectors/total-sales', headers: t.read });
    assert.equal(gone.statusCode, 404);
    assert.deepEqual(gone.json(), { error_code: 'UnknownConnectorName', message: 'no connector "total-sales"', details: { name: 'total-sales' } });
  });

  const invalid: { name: string; body: unknown; field: string; message: RegExp }[] = [
    { name: 'a misspelt Kafka property', body: connectorBody('t', 'b:9092', { 'bootstrap.servrs': 'x' }), field: 'config.transport.config', message: /`bootstrap\.servrs` is not a Kafka producer property of librdkafka or the Java client; did you mean `bootstrap\.servers`\?/ },
    { name: 'a transport other than kafka_output', body: { config: { transport: { name: 'http_output', config: { topic: 't' } }, format: { name: 'json' } } }, field: 'config.transport.name', message: /config\.transport\.name: .*kafka_output/ },
    { name: 'an unknown update_format', body: { config: { transport: { name: 'kafka_output', config: { 'bootstrap.servers': 'b:9092', topic: 't' } }, format: { name: 'json', config: { update_format: 'snowflake' } } } }, field: 'config.format.config.update_format', message: /update_format/ },
    { name: 'no topic', body: { config: { transport: { name: 'kafka_output', config: { 'bootstrap.servers': 'b:9092' } }, format: { name: 'json' } } }, field: 'config.transport.config.topic', message: /config\.transport\.config\.topic/ },
    { name: 'an unknown top-level field', body: { ...connectorBody('t'), colour: 'red' }, field: '', message: /unknown option\(s\) "colour"/ },
    { name: "Feldera's csv buffer_size_records", body: { config: { transport: { name: 'kafka_output', config: { 'bootstrap.servers': 'b:9092', topic: 't' } }, format: { name: 'csv', config: { buffer_size_records: 10 } } } }, field: 'config.format.config.buffer_size_records', message: /buffer_size_records is refused: 10: Feldera packs up to that many CSV records into one Kafka message, and Spillway writes one record per message/ },
    { name: "Feldera's avro debezium update format", body: { config: { transport: { name: 'kafka_output', config: { 'bootstrap.servers': 'b:9092', topic: 't' } }, format: { name: 'avro', config: { update_format: 'debezium' } } } }, field: 'config.format.config.update_format', message: /update_format is refused: "debezium": Spillway's Avro format has no Debezium envelope/ },
    { name: 'a bad acks value', body: connectorBody('t', 'b:9092', { acks: 'sometimes' }), field: 'config.transport.config', message: /acks/ },
  ];
  for (const { name, body, field, message } of invalid) {
    it(`answers 400 naming the field for ${name}`, async () => {
      const response = await inject({ method: 'PUT', url: '/v0/connectors/bad', headers: t.write, payload: body as Record<string, unknown> });
      assert.equal(response.statusCode, 400, response.body);
      const error = response.json<{ error_code: string; message: string; details: { field?: string; problems?: { field: string }[] } }>();
      assert.equal(error.error_code, 'INVALID_CONFIG');
      assert.match(error.message, message);
      if (field === '') assert.ok(error.details.problems?.some((problem) => problem.field === ''));
      else assert.ok(error.details.field === field || error.details.problems?.some((problem) => problem.field === field), JSON.stringify(error.details));
      assert.equal((await inject({ method: 'GET', url: '/v0/connectors/bad', headers: t.read })).statusCode, 404);
    });
  }

  it("accepts Feldera's csv and avro output formats", async () => {
    for (const format of [{ name: 'csv', config: { delimiter: '|' } }, { name: 'avro', config: { registry_urls: ['http://registry.example:8081'], namespace: 'com.books' } }, { name: 'avro', config: { skip_schema_id: true } }]) {
      const body = { config: { transport: { name: 'kafka_output', config: { 'bootstrap.servers': 'b:9092', topic: 't' } }, format } };
      const response = await inject({ method: 'PUT', url: '/v0/connectors/formats', headers: t.write, payload: body });
      assert.ok(response.statusCode === 201 || response.statusCode === 200, response.body);
      assert.deepEqual((await inject({ method: 'GET', url: '/v0/connectors/formats', headers: t.read })).json<{ config: { format: unknown } }>().config.format, format);
    }
    assert.equal((await inject({ method: 'DELETE', url: '/v0/connectors/formats', headers: t.write })).statusCode, 200);
  });

  it('refuses a name that is not a name, and a body that is not JSON', async () => {
    const badName = await inject({ method: 'PUT', url: '/v0/connectors/-x%20y', headers: t.write, payload: connectorBody('t') });
    assert.equal(badName.statusCode, 400);
    assert.equal(badName.json<{ error_code: string }>().error_code, 'INVALID_NAME');
    const notJson = await inject({ method: 'PUT', url: '/v0/connectors/x', headers: { ...t.write, 'content-type': 'application/json' }, payload: '{"config":' });
    assert.equal(notJson.statusCode, 400);
    assert.equal(notJson.json<{ error_code: string }>().error_code, 'BAD_REQUEST');
  });

  it('redacts secrets from every response and from errors', async () => {
    const secret = 'pa55-w0rd-never-shown';
    const body = connectorBody('t', 'b:9092', { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'u', 'sasl.password': secret, 'ssl.key.pem': `-----BEGIN ${secret}` });
    const put = await inject({ method: 'PUT', url: '/v0/connectors/secret', headers: t.write, payload: body });
    assert.equal(put.statusCode, 201, put.body);
    const responses = [put, await inject({ method: 'GET', url: '/v0/connectors/secret', headers: t.read }), await inject({ method: 'GET', url: '/v0/connectors', headers: t.read })];
    for (const response of responses) {
      assert.ok(!response.body.includes(secret), response.body);
      assert.match(response.body, /"sasl\.password":"\[redacted\]"/);
    }
    const failing = await inject({ method: 'PUT', url: '/v0/connectors/secret2', headers: t.write, payload: connectorBody('t', 'b:9092', { 'sasl.password': secret, 'sasl.mechanisms': 'NOPE' }) });
    assert.equal(failing.statusCode, 400);
    assert.ok(!failing.body.includes(secret), failing.body);
    assert.ok(!t.logs.join('\n').includes(secret));
  });

  it('refuses a body over the limit with 413', async () => {
    const big = connectorBody('t', 'b:9092', { 'client.id': 'x'.repeat(70 * 1024) });
    const response = await inject({ method: 'PUT', url: '/v0/connectors/big', headers: t.write, payload: big });
    assert.equal(response.statusCode, 413);
    assert.deepEqual(response.json(), { error_code: 'PAYLOAD_TOO_LARGE', message: 'the request body is larger than the limit of 65536 bytes', details: { limit: 65536 } });
  });

  it('serves its OpenAPI document, with the connector body and the sink spec as schemas', async () => {
    const response = await inject({ method: 'GET', url: '/v0/openapi.json', headers: t.read });
    assert.equal(response.statusCode, 200);
    const document = response.json<{ openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }>();
    assert.equal(document.openapi, '3.1.0');
    for (const path of ['/v0/connectors/{name}', '/v0/pipelines/{name}', '/v0/pipelines/{name}/ingress/{table}', '/v0/api_keys']) assert.ok(path in document.paths, path);
    assert.deepEqual(document.components.schemas.Connector, { oneOf: [{ $ref: '#/components/schemas/OutputConnector' }, { $ref: '#/components/schemas/InputConnector' }] });
    assert.ok(document.components.schemas.OutputConnector?.properties?.config);
    const input = document.components.schemas.InputConnector as { properties: { config: { properties: { transport: { oneOf?: { properties: { name: { const: string } } }[]; anyOf?: { properties: { name: { const: string } } }[] } } } } };
    const transports = input.properties.config.properties.transport;
    assert.deepEqual((transports.oneOf ?? transports.anyOf ?? []).map((option) => option.properties.name.const), ['kafka_input', 'file_input']);
    assert.ok(document.components.schemas.SinkSpec?.properties?.topic);
    // The transport config is described by the sink spec's own topic and kafka fields.
    const spec = document.components.schemas.SinkSpec as { properties: { topic: unknown; kafka: { additionalProperties: unknown } } };
    const transport = (document.components.schemas.OutputConnector as { properties: { config: { properties: { transport: { properties: { config: { properties: { topic: unknown }; additionalProperties: unknown } } } } } } }).properties.config.properties.transport.properties.config;
    assert.deepEqual(transport.properties.topic, spec.properties.topic);
    assert.deepEqual(transport.additionalProperties, spec.properties.kafka.additionalProperties);
  });
});
