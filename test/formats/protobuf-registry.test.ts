/**
 * Protobuf in the Confluent wire format, end to end: a real schema registry (Apicurio, embedded,
 * or SCHEMA_REGISTRY_URL) and the real broker. Deephaven's produce() writes a table; kcat reads
 * the raw records back; each is taken apart here — magic byte, schema id, message-index array —
 * the schema is fetched by id from the registry over plain HTTP, and protoc decodes the body
 * with it. Also: the subject name strategies, lookup without registering, and a registry that
 * is down.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort } from '../../src/broker/embedded-broker.ts';
import { produce } from '../../src/dialects/deephaven.ts';
import { ErrorCode, SpillwayError } from '../../src/errors.ts';
import { KeyValueSpec, createEncoder, keyValueSpecSchema, protobufSpec } from '../../src/formats/key-value-spec.ts';
import { createTopic } from '../../src/kafka/kafka-client.ts';
import { defineSchema } from '../../src/model/schema.ts';
import { newTable } from '../../src/sources/static-table.ts';
import { bootstrapServers, kcatRead, randomTopic } from '../helpers/kafka.ts';
import { protocDecode } from '../helpers/protoc.ts';
import { useSchemaRegistry } from '../helpers/schema-registry.ts';

const registry = useSchemaRegistry();

async function registryGet(path: string): Promise<unknown> {
  const response = await fetch(`${registry.url}${path}`);
  const body = await response.text();
  assert.equal(response.status, 200, `GET ${path}: ${body}`);
  return JSON.parse(body);
}

/** Reads one zigzag varint, as Confluent's ByteUtils.readVarint does. */
function readVarint(bytes: Buffer, at: number): [number, number] {
  let raw = 0;
  let shift = 0;
  let position = at;
  for (;;) {
    const byte = bytes[position++] as number;
    raw |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return [(raw >>> 1) ^ -(raw & 1), position];
}

interface Framed {
  readonly id: number;
  readonly indexes: number[];
  readonly schema: string;
  readonly schemaType: unknown;
  readonly body: Buffer;
}

/** Takes a Confluent protobuf record apart: magic 0, 4-byte id, message indexes ([0] as one 0 byte), body. */
async function unframe(bytes: Buffer | null): Promise<Framed> {
  assert.ok(bytes !== null && bytes.length >= 6, 'a record in the Confluent wire format');
  assert.equal(bytes[0], 0, 'magic byte');
  const id = bytes.readUInt32BE(1);
  let [count, position] = readVarint(bytes, 5);
  const indexes: number[] = [];
  if (count === 0) indexes.push(0);
  for (; count > 0; count--) {
    const [index, next] = readVarint(bytes, position);
    indexes.push(index);
    position = next;
  }
  const { schema, schemaType } = (await registryGet(`/schemas/ids/${id}`)) as { schema: string; schemaType?: unknown };
  return { id, indexes, schema, schemaType, body: bytes.subarray(position) };
}

const ORDER_PROTO = `syntax = "proto3";
package shop;

message Header { string source = 1; }

message Order {
  int64 id = 1;
  string customer = 2;
  optional double total = 3;
  message Note { string text = 1; }
}
`;

const orders = defineSchema({ id: 'int64', customer: 'string', total: { type: 'float64', nullable: true } }, { primaryKey: ['id'] });
const orderRows = [
  { id: 1n, customer: 'Ann', total: 12.5 },
  { id: 2n ** 60n, customer: 'Bö', total: null },
  { id: 3n, customer: '', total: 0 },
];

describe('Protobuf with a schema registry, end to end', () => {
  it('produce() writes Confluent-framed protobuf that protoc decodes with the schema fetched by id', async () => {
    const topic = randomTopic('protobuf-confluent');
    const sink = produce(
      newTable(orders, orderRows),
      { 'bootstrap.servers': bootstrapServers(), 'schema.registry.url': registry.url },
      topic,
      protobufSpec({ columns: ['id'], name: 'OrderKey', package: 'shop' }),
      protobufSpec({ schema: ORDER_PROTO, messageName: 'shop.Order' }),
    );
    await sink.done;

    const records = await kcatRead(topic);
    assert.equal(records.length, 3);
    const decoded = [];
    for (const record of records) {
      const key = await unframe(record.key);
      const value = await unframe(record.value);
      assert.deepEqual(key.indexes, [0], 'the key message is the first of its .proto');
      assert.deepEqual(value.indexes, [1], 'shop.Order is the second top-level message');
      assert.equal(key.schemaType, 'PROTOBUF');
      assert.equal(value.schemaType, 'PROTOBUF');
      decoded.push({ key: await protocDecode(key.schema, 'shop.OrderKey', key.body), value: await protocDecode(value.schema, 'shop.Order', value.body), keyId: key.id, valueId: value.id });
    }
    assert.deepEqual(decoded.map((entry) => entry.value).sort(), ['id: 1\ncustomer: "Ann"\ntotal: 12.5\n', 'id: 1152921504606846976\ncustomer: "B\\303\\266"\n', 'id: 3\ntotal: 0\n'].sort());
    assert.deepEqual(decoded.map((entry) => entry.key).sort(), ['id: 1\n', 'id: 1152921504606846976\n', 'id: 3\n'].sort());
    assert.equal(new Set(decoded.map((entry) => entry.valueId)).size, 1);
    assert.equal(new Set(decoded.map((entry) => entry.keyId)).size, 1);

    const subjects = (await registryGet('/subjects')) as string[];
    assert.ok(subjects.includes(`${topic}-value`) && subjects.includes(`${topic}-key`), subjects.join(', '));
    const latest = (await registryGet(`/subjects/${topic}-value/versions/latest`)) as { id: number; schemaType?: string };
    assert.equal(latest.id, decoded[0]?.valueId);
    assert.equal(latest.schemaType, 'PROTOBUF');
  });

  it('registers a .proto that imports google/protobuf/timestamp.proto, and protoc decodes the Timestamp', async () => {
    const proto = 'syntax = "proto3";\npackage ev;\n\nimport "google/protobuf/timestamp.proto";\n\nmessage Event {\n  int64 id = 1;\n  google.protobuf.Timestamp at = 2;\n}\n';
    const events = defineSchema({ id: 'int64', at: 'timestamp' });
    const topic = randomTopic('protobuf-timestamp');
    await produce(newTable(events, [{ id: 7n, at: '2024-05-01T09:30:00.25Z' }]), { 'bootstrap.servers': bootstrapServers(), 'schema.registry.url': registry.url }, topic, KeyValueSpec.IGNORE, protobufSpec({ schema: proto })).done;
    const [record] = await kcatRead(topic);
    const value = await unframe(record?.value ?? null);
    assert.deepEqual(value.indexes, [0]);
    assert.equal(await protocDecode(value.schema, 'ev.Event', value.body), 'id: 7\nat {\n  seconds: 1714555800\n  nanos: 250000000\n}\n');
  });

  it('names subjects by message name, by topic and message name, or as given', async () => {
    const cases = [
      { strategy: 'record' as const, subject: (_topic: string) => 'shop.Order' },
      { strategy: 'topic-record' as const, subject: (topic: string) => `${topic}-shop.Order` },
    ];
    for (const { strategy, subject } of cases) {
      const topic = randomTopic(`protobuf-${strategy}`);
      const encoded = createEncoder(keyValueSpecSchema.parse(protobufSpec({ schema: ORDER_PROTO, messageName: 'Order', registry: { url: registry.url, subjectNameStrategy: strategy } })), orders, 'value');
      await encoded.prepare?.({ sink: 'subjects', topic, part: 'value' });
      const versions = (await registryGet(`/subjects/${encodeURIComponent(subject(topic))}/versions`)) as number[];
      assert.ok(versions.length >= 1, `${strategy}: subject ${subject(topic)}`);
    }
    const given = `given-${randomTopic('subject')}`;
    const encoded = createEncoder(keyValueSpecSchema.parse(protobufSpec({ registry: { url: registry.url, subject: given } })), orders, 'value');
    await encoded.prepare?.({ sink: 'subjects', topic: 'unused', part: 'value' });
    assert.deepEqual(await registryGet(`/subjects/${given}/versions`), [1]);
  });

  it('with autoRegister off, looks up a registered schema and refuses an unregistered one', async () => {
    const topic = randomTopic('protobuf-lookup');
    const register = createEncoder(keyValueSpecSchema.parse(protobufSpec({ registry: { url: registry.url } })), orders, 'value');
    await register.prepare?.({ sink: 'lookup', topic, part: 'value' });
    const frame = register.encode(Object.freeze({ id: 1n, customer: 'x', total: null }));
    const lookup = createEncoder(keyValueSpecSchema.parse(protobufSpec({ registry: { url: registry.url, autoRegister: false } })), orders, 'value');
    await lookup.prepare?.({ sink: 'lookup', topic, part: 'value' });
    assert.deepEqual(lookup.encode(Object.freeze({ id: 1n, customer: 'x', total: null })), frame);

    const missing = createEncoder(keyValueSpecSchema.parse(protobufSpec({ registry: { url: registry.url, autoRegister: false } })), orders, 'value');
    const other = randomTopic('protobuf-unregistered');
    await assert.rejects(missing.prepare?.({ sink: 'lookup', topic: other, part: 'value' }) ?? Promise.resolve(), (error: unknown) => {
      assert.ok(error instanceof SpillwayError && error.code === ErrorCode.SchemaRegistry, String(error));
      assert.ok(error.message.includes(`sink "lookup": protobufSpec for the value schema under subject "${other}-value"`), error.message);
      assert.ok(error.message.endsWith('; register the schema first, or set registry.autoRegister: true'), error.message);
      return true;
    });
  });

  it('fails the sink naming the URL when the registry is down', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const topic = randomTopic('protobuf-down');
    await createTopic([bootstrapServers()], topic, { partitions: 1 });
    const sink = produce(newTable(orders, orderRows), { 'bootstrap.servers': bootstrapServers(), 'schema.registry.url': down }, topic, protobufSpec({ columns: ['id'] }), protobufSpec());
    await assert.rejects(sink.done, (error: unknown) => {
      assert.ok(error instanceof SpillwayError && error.code === ErrorCode.SchemaRegistry, String(error));
      assert.ok(error.message.includes(`registry ${down}`) && error.message.includes('no schema registry answered'), error.message);
      return true;
    });
  });
});
