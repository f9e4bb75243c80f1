import avro from 'avsc';

/** A long that reads as bigint, built from avsc's documented 8-byte hook (not the encoder's). */
const testLong = avro.types.LongType.__with({
  fromBuffer: (bytes: Buffer) => bytes.readBigInt64LE(),
  toBuffer: (value: bigint) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(value);
    return bytes;
  },
  fromJSON: (json: number) => BigInt(json),
  toJSON: (value: bigint) => Number(value),
  isValid: (value: unknown) => typeof value === 'bigint',
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/** An Avro type for decoding in tests, set up independently of the encoder (its own 64-bit long type). */
export function independentAvroType(schema: avro.Schema): avro.Type {
  return avro.Type.forSchema(schema, {
    typeHook: (node) => (node === 'long' || (typeof node === 'object' && (node as { type?: unknown }).type === 'long') ? testLong : undefined),
  });
}
