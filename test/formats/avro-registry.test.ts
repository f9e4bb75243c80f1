/**
 * Avro in the Confluent wire format, end to end: a real schema registry (Apicurio, embedded, or
 * SCHEMA_REGISTRY_URL) and the real broker. Deephaven's produce() writes a table; kcat reads the
 * raw records back; each is decoded by an independent path — the schema id taken from the
 * record's own bytes, the schema fetched by id from the registry over plain HTTP, the body
 * decoded by avsc with its own 64-bit long type. Also: key subjects, the subject name
 * strategies, lookup without registering, an incompatible schema change refused with the
 * registry's own message, and a registry that is down.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type avro from 'avsc';
import { freePort } from '../../src/broker/embedded-broker.ts';
import { produce } from '../../src/dialects/deephaven.ts';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import type { AvroEncoder } from '../../src/formats/avro.ts';
import { KeyValueSpec, avroSpec, createEncoder, keyValueSpecSchema } from '../../src/formats/key-value-spec.ts';
import { SchemaRegistryClient, SchemaRegistryError } from '../../src/formats/schema-registry.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { useSchemaRegistry } from '../helpers/schema-registry.ts';
import { independentAvroType } from '../helpers/avro-decoder.ts';

const registry = useSchemaRegistry();


/** Registry requests made directly over HTTP, not through Spillway's client. */
async function registryGet(path: string): Promise<unknown> {
  const response = await fetch(`${registry.url}${path}`);
  const body = await response.text();
  assert.equal(response.status, 200, `GET ${path}: ${body}`);
  return JSON.parse(body);
}

async function registryPut(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${registry.url}${path}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `PUT ${path}: ${await response.text()}`);
}

/** Decodes one Confluent-framed record: magic byte, schema id, then Avro binary under the fetched schema. */
async function decodeConfluent(bytes: Buffer | null): Promise<{ id: number; schema: unknown; value: Record<string, unknown> }> {
  assert.ok(bytes !== null && bytes.length >= 5, 'a record value in the Confluent wire format');
  assert.equal(bytes[0], 0, 'magic byte');
  const id = bytes.readUInt32BE(1);
  const { schema } = (await registryGet(`/schemas/ids/${id}`)) as { schema: string };
  const parsed = JSON.parse(schema) as avro.Schema;
  const type = independentAvroType(parsed);
  return { id, schema: parsed, value: { ...(type.fromBuffer(bytes.subarray(5)) as Record<string, unknown>) } };
}

const trades = defineSchema(
  {
    id: 'int64',
    symbol: 'string',
    price: { type: 'decimal', precision: 12, scale: 2 },
    at: { type: 'timestamp', unit: 'us' },
    day: 'date',
    venue: { type: 'string', nullable: true },
  },
  { primaryKey: ['id'] },
);

const tradeRows = [
  { id: 1n, symbol: 'ACME', price: '10.50', at: '2024-05-01T09:30:00.000001Z', day: '2024-05-01', venue: 'XNYS' },
  { id: 2n, symbol: 'INITECH', price: '-0.01', at: '2024-05-01T09:30:00.5Z', day: '2024-05-01', venue: null },
  { id: 2n ** 62n, symbol: 'Ünïcode', price: '9999999999.99', at: '1969-12-31T23:59:59.999999Z', day: '1969-12-31', venue: 'XLON' },
];

function spec(options: Parameters<typeof avroSpec>[0] = {}): AvroEncoder {
  return createEncoder(keyValueSpecSchema.parse(avroSpec(options)), trades, 'value') as AvroEncoder;
}

describe('Avro with a schema registry, end to end', () => {
  it('produce() writes Confluent-framed Avro that an independent reader decodes with the registry schema', async () => {
    const topic = randomTopic('avro-confluent');
    const sink = produce(
      newTable(trades, tradeRows),
      { 'bootstrap.servers': bootstrapServers(), 'schema.registry.url': registry.url },
      topic,
      avroSpec({ columns: ['id'], name: 'TradeKey', namespace: 'com.example' }),
      avroSpec({ name: 'Trade', namespace: 'com.example' }),
    );
    await sink.done;

    const records = await kcatRead(topic);
    assert.equal(records.length, 3);
    const values = await Promise.all(records.map((record) => decodeConfluent(record.value)));
    const keys = await Promise.all(records.map((record) => decodeConfluent(record.key)));
    const byId = new Map(values.map(({ value }) => [value.id as bigint, value]));
    assert.deepEqual(byId.get(1n), {
      id: 1n,
      symbol: 'ACME',
      price: Buffer.from([0x04, 0x1a]), // 1050 unscaled at scale 2
      at: 1_714_555_800_000_001n,
      day: 19844,
      venue: 'XNYS',
    });
    assert.deepEqual(byId.get(2n), { id: 2n, symbol: 'INITECH', price: Buffer.from([0xff]), at: 1_714_555_800_500_000n, day: 19844, venue: null });
    assert.deepEqual(byId.get(2n ** 62n), {
      id: 2n ** 62n,
      symbol: 'Ünïcode',
      price: Buffer.from('00e8d4a50fff', 'hex'), // 999999999999 unscaled
      at: -1n,
      day: -1,
      venue: 'XLON',
    });
    for (const [index, key] of keys.entries()) assert.deepEqual(key.value, { id: values[index]?.value.id });

    // One schema id per part; the registry holds them under TopicNameStrategy's subjects.
    const valueIds = new Set(values.map((decoded) => decoded.id));
    const keyIds = new Set(keys.map((decoded) => decoded.id));
    assert.equal(valueIds.size, 1);
    assert.equal(keyIds.size, 1);
    const subjects = (await registryGet('/subjects')) as string[];
    assert.ok(subjects.includes(`${topic}-value`) && subjects.includes(`${topic}-key`), subjects.join(', '));
    const latest = (await registryGet(`/subjects/${topic}-value/versions/latest`)) as { id: number; schema: string };
    assert.equal(latest.id, [...valueIds][0]);
    assert.deepEqual((values[0]?.schema as { fields: unknown[] }).fields[2], {
      name: 'price',
      type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 },
    });
  });

  it('names subjects by record name or by topic and record name, or as given', async () => {
    const topic = randomTopic('avro-subjects');
    const context = { sink: 'subjects', topic, part: 'value' as const, schemaRegistryUrl: registry.url };
    const name = `Trade${topic.slice(-12)}`;
    const byRecord = spec({ name, namespace: 'com.example', registry: { subjectNameStrategy: 'record' } });
    await byRecord.prepare?.(context);
    assert.equal(byRecord.registered?.subject, `com.example.${name}`);
    const byTopicRecord = spec({ name, namespace: 'com.example', registry: { subjectNameStrategy: 'topic-record' } });
    await byTopicRecord.prepare?.(context);
    assert.equal(byTopicRecord.registered?.subject, `${topic}-com.example.${name}`);
    const given = spec({ registry: { url: registry.url, subject: `${topic}-custom` } });
    await given.prepare?.({ sink: 'subjects', topic, part: 'value' });
    assert.equal(given.registered?.subject, `${topic}-custom`);
    const subjects = (await registryGet('/subjects')) as string[];
    for (const subject of [`com.example.${name}`, `${topic}-com.example.${name}`, `${topic}-custom`]) {
      assert.ok(subjects.includes(subject), `${subject} not in ${subjects.join(', ')}`);
    }
    // The same schema text is the same schema: the registry gives each subject the same id.
    assert.equal(byRecord.registered?.id, byTopicRecord.registered?.id);
    // The framed bytes carry that id.
    const row = { id: 7n, symbol: 'X', price: '1.00', at: 0n, day: '1970-01-01', venue: null };
    assert.equal(byRecord.encode(row)?.readUInt32BE(1), byRecord.registered?.id);
  });

  it('with autoRegister off, looks up the id of a registered schema and refuses an unregistered one', async () => {
    const topic = randomTopic('avro-lookup');
    const context = { sink: 'lookup', topic, part: 'value' as const, schemaRegistryUrl: registry.url };
    const unregistered = spec({ registry: { autoRegister: false } });
    await assert.rejects(unregistered.prepare?.(context) ?? Promise.resolve(), (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.SchemaRegistry);
      assert.match(
        error.message,
        new RegExp(
          `^sink "lookup": avroSpec for the value schema under subject "${topic}-value" \\(registry ${registry.url}\\): ` +
            `looking up the schema under subject "${topic}-value" at ${registry.url}: the registry answered HTTP 404 \\(error_code 4040\\d\\): .+; ` +
            'register the schema first, or set registry.autoRegister: true$',
        ),
      );
      return true;
    });
    const writer = spec();
    await writer.prepare?.(context);
    const reader = spec({ registry: { autoRegister: false } });
    await reader.prepare?.(context);
    assert.equal(reader.registered?.id, writer.registered?.id);
  });

  it('fails the sink with the registry\'s own message when a schema change breaks BACKWARD compatibility', async () => {
    const topic = randomTopic('avro-compat');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const kafka = { 'bootstrap.servers': bootstrapServers(), 'schema.registry.url': registry.url };
    const first = produce(newTable(trades, tradeRows), kafka, topic, KeyValueSpec.IGNORE, avroSpec({ columns: ['id', 'symbol'] }));
    await first.done;
    await registryPut(`/config/${topic}-value`, { compatibility: 'BACKWARD' });

    // A new required field without a default: readers of the new schema cannot read old records.
    const breaking = {
      type: 'record',
      name: 'Value',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'symbol', type: 'string' },
        { name: 'venue2', type: 'string' },
      ],
    };
    const second = produce({
      table: newTable(trades, tradeRows),
      kafkaConfig: kafka,
      topic,
      valueSpec: avroSpec({ schema: breaking, mapping: { venue2: 'symbol' } }),
      name: 'compat-check',
    });
    await assert.rejects(second.done, (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.SchemaRegistry);
      assert.match(error.message, new RegExp(`^sink "compat-check": avroSpec for the value schema under subject "${topic}-value" \\(registry ${registry.url}\\): `));
      assert.match(error.message, /the registry answered HTTP 409 \(error_code 409\): .*[Ii]ncompatible/);
      assert.match(error.message, /the subject's compatibility rule refuses this schema/);
      return true;
    });
    // Only the first sink's records are in the topic.
    assert.equal((await kcatRead(topic)).length, tradeRows.length);
  });

  it('fails the sink naming the URL when the registry is down', async () => {
    const topic = randomTopic('avro-down');
    const down = `http://127.0.0.1:${await freePort()}`;
    const sink = produce({
      table: newTable(trades, tradeRows),
      kafkaConfig: { 'bootstrap.servers': bootstrapServers(), 'schema.registry.url': down },
      topic,
      valueSpec: avroSpec(),
      name: 'registry-down',
    });
    await assert.rejects(sink.done, (error: unknown) => {
      assert.ok(error instanceof SpillwayError);
      assert.equal(error.code, ErrorCode.SchemaRegistry);
      assert.match(
        error.message,
        new RegExp(
          `^sink "registry-down": avroSpec for the value schema under subject "${topic}-value" \\(registry ${down}\\): registering a schema under subject "${topic}-value": ` +
            `no schema registry answered at ${down} \\(.*ECONNREFUSED.*\\); check the URL and that the registry is running$`,
        ),
      );
      return true;
    });
    assert.equal(sink.metrics.records, 0);
  });
});

describe('SchemaRegistryClient against the registry', () => {
  const schemaText = JSON.stringify({ type: 'record', name: 'Probe', fields: [{ name: 'a', type: 'int' }] });

  it('registers, looks up, fetches by id, lists subjects and sets compatibility', async () => {
    const subject = `${randomTopic('client')}-value`;
    const writer = new SchemaRegistryClient({ url: registry.url });
    const registered = await writer.register(subject, schemaText);
    assert.deepEqual(await writer.register(subject, schemaText), registered);
    // A fresh client has no cache: every answer below comes from the registry.
    const reader = new SchemaRegistryClient({ url: registry.url });
    const found = await reader.lookup(subject, schemaText);
    assert.equal(found.id, registered.id);
    assert.equal(found.version, 1);
    const byId = await new SchemaRegistryClient({ url: registry.url }).schemaById(registered.id);
    assert.equal(byId.schemaType, 'AVRO');
    assert.deepEqual(JSON.parse(byId.schema), JSON.parse(schemaText));
    assert.ok((await reader.subjects()).includes(subject));
    await reader.setCompatibility('FULL', subject);
    assert.deepEqual(await registryGet(`/config/${subject}`), { compatibilityLevel: 'FULL' });
  });

  it('skips a node that does not answer for the next one, and keeps credentials out of messages', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const live = registry.url.replace('http://', 'http://probe:s3cret@');
    const client = new SchemaRegistryClient({ url: `${dead}, ${live}` });
    assert.equal(client.url, `${dead},${registry.url}`);
    const subject = `${randomTopic('client-failover')}-value`;
    assert.equal(typeof (await client.register(subject, schemaText)).id, 'number');
    await assert.rejects(client.schemaById(2 ** 31), (error: unknown) => {
      assert.ok(error instanceof SchemaRegistryError);
      assert.equal(error.code, ErrorCode.SchemaRegistry);
      assert.equal(error.status, 404);
      assert.match(error.message, new RegExp(`^fetching schema id ${2 ** 31} at ${registry.url}: the registry answered HTTP 404 \\(error_code 40403\\): `));
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });

  it('refuses a URL that is not http(s)', () => {
    assert.throws(
      () => new SchemaRegistryClient({ url: 'registry:8081' }),
      (error: unknown) => error instanceof SpillwayError && error.code === ErrorCode.InvalidConfig && error.message === 'the schema registry URL "registry:8081" must start with http:// or https://',
    );
    assert.throws(
      () => new SchemaRegistryClient({ url: 'http://[registry' }),
      (error: unknown) => error instanceof SpillwayError && error.message === 'the schema registry URL "http://[registry" is not a URL; give one such as http://127.0.0.1:8081',
    );
    assert.throws(
      () => new SchemaRegistryClient({ url: ' , ' }),
      (error: unknown) => error instanceof SpillwayError && error.message === 'the schema registry URL is empty; give one such as http://127.0.0.1:8081',
    );
  });
});
