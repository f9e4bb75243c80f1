/**
 * XXH64 (xxHash, 64-bit variant), the digest Flux's `kafka.to` uses for a record's key.
 *
 * How it works: inputs of 32 bytes or more are consumed in 32-byte stripes by four accumulators
 * (each 8-byte lane multiplied by prime 2, added, rotated left 31, multiplied by prime 1); the
 * accumulators are then rotated by 1, 7, 12 and 18 bits, summed, and folded in one by one. Shorter
 * inputs start from seed + prime 5. The length is added, the tail is mixed in 8, then 4, then 1
 * byte at a time, and a final avalanche (xor-shift 33, × prime 2, xor-shift 29, × prime 3,
 * xor-shift 32) spreads every input bit over the result. Arithmetic is modulo 2^64 and lanes are
 * little-endian.
 *
 * A key is hashed for every row, so the 64-bit words are kept as two unsigned 32-bit halves and
 * multiplied in 16-bit limbs (exact in doubles) rather than as bigints, which allocate per step.
 */

// The primes as [high 32 bits, low 32 bits].
const P1_HI = 0x9e3779b1;
const P1_LO = 0x85ebca87;
const P2_HI = 0xc2b2ae3d;
const P2_LO = 0x27d4eb4f;
const P3_HI = 0x165667b1;
const P3_LO = 0x9e3779f9;
const P4_HI = 0x85ebca77;
const P4_LO = 0xc2b2ae63;
const P5_HI = 0x27d4eb2f;
const P5_LO = 0x165667c5;

/** A 64-bit word as two unsigned 32-bit halves; every helper writes its result into one. */
interface Word {
  hi: number;
  lo: number;
}

function set(target: Word, hi: number, lo: number): void {
  target.hi = hi >>> 0;
  target.lo = lo >>> 0;
}

function add(target: Word, hi: number, lo: number): void {
  const low = target.lo + lo;
  target.lo = low >>> 0;
  target.hi = (target.hi + hi + (low > 0xffff_ffff ? 1 : 0)) >>> 0;
}

/** target = target × (hi, lo) mod 2^64, by schoolbook multiplication of 16-bit limbs. */
function multiply(target: Word, hi: number, lo: number): void {
  const a0 = target.lo & 0xffff;
  const a1 = target.lo >>> 16;
  const a2 = target.hi & 0xffff;
  const a3 = target.hi >>> 16;
  const b0 = lo & 0xffff;
  const b1 = lo >>> 16;
  const b2 = hi & 0xffff;
  const b3 = hi >>> 16;
  const c0 = a0 * b0;
  const c1 = a1 * b0 + a0 * b1 + Math.floor(c0 / 0x10000);
  const c2 = a2 * b0 + a1 * b1 + a0 * b2 + Math.floor(c1 / 0x10000);
  const c3 = a3 * b0 + a2 * b1 + a1 * b2 + a0 * b3 + Math.floor(c2 / 0x10000);
  target.lo = (((c1 & 0xffff) << 16) | (c0 & 0xffff)) >>> 0;
  target.hi = (((c3 & 0xffff) << 16) | (c2 & 0xffff)) >>> 0;
}

/** Rotates left by 1–31 bits (every rotation XXH64 uses is below 32). */
function rotateLeft(target: Word, bits: number): void {
  const { hi, lo } = target;
  set(target, (hi << bits) | (lo >>> (32 - bits)), (lo << bits) | (hi >>> (32 - bits)));
}

// Scratch words, reused so that hashing allocates nothing per step (the hash is synchronous).
const scaled: Word = { hi: 0, lo: 0 };
const folded: Word = { hi: 0, lo: 0 };

/** The stripe round: accumulator = rotl(accumulator + lane × P2, 31) × P1. */
function round(accumulator: Word, lane: Word): void {
  set(scaled, lane.hi, lane.lo);
  multiply(scaled, P2_HI, P2_LO);
  add(accumulator, scaled.hi, scaled.lo);
  rotateLeft(accumulator, 31);
  multiply(accumulator, P1_HI, P1_LO);
}

function mergeRound(hash: Word, accumulator: Word): void {
  set(folded, 0, 0);
  round(folded, accumulator);
  set(hash, hash.hi ^ folded.hi, hash.lo ^ folded.lo);
  multiply(hash, P1_HI, P1_LO);
  add(hash, P4_HI, P4_LO);
}

function readLane(bytes: Uint8Array, view: DataView, offset: number, lane: Word): void {
  lane.lo = view.getUint32(bytes.byteOffset + offset, true);
  lane.hi = view.getUint32(bytes.byteOffset + offset + 4, true);
}

/** The XXH64 digest of `bytes` (seed 0, as Go's cespare/xxhash), in 8 bytes, little-endian as Flux writes it. */
export function xxhash64LittleEndian(bytes: Uint8Array): Buffer {
  const hash = xxhash64Words(bytes);
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32LE(hash.lo, 0);
  out.writeUInt32LE(hash.hi, 4);
  return out;
}

/** The XXH64 digest of `bytes` (seed 0) as an unsigned 64-bit bigint. */
export function xxhash64(bytes: Uint8Array): bigint {
  const hash = xxhash64Words(bytes);
  return (BigInt(hash.hi) << 32n) | BigInt(hash.lo);
}

function xxhash64Words(bytes: Uint8Array): Word {
  const view = new DataView(bytes.buffer);
  const length = bytes.length;
  const lane: Word = { hi: 0, lo: 0 };
  const hash: Word = { hi: 0, lo: 0 };
  let offset = 0;
  if (length >= 32) {
    const v1: Word = { hi: P1_HI, lo: P1_LO };
    add(v1, P2_HI, P2_LO);
    const v2: Word = { hi: P2_HI, lo: P2_LO };
    const v3: Word = { hi: 0, lo: 0 };
    // seed − P1, i.e. the two's complement of P1.
    const v4: Word = { hi: ~P1_HI, lo: ~P1_LO };
    add(v4, 0, 1);
    for (const limit = length - 32; offset <= limit; offset += 32) {
      readLane(bytes, view, offset, lane);
      round(v1, lane);
      readLane(bytes, view, offset + 8, lane);
      round(v2, lane);
      readLane(bytes, view, offset + 16, lane);
      round(v3, lane);
      readLane(bytes, view, offset + 24, lane);
      round(v4, lane);
    }
    const rotated: Word = { hi: 0, lo: 0 };
    set(rotated, v1.hi, v1.lo);
    rotateLeft(rotated, 1);
    add(hash, rotated.hi, rotated.lo);
    set(rotated, v2.hi, v2.lo);
    rotateLeft(rotated, 7);
    add(hash, rotated.hi, rotated.lo);
    set(rotated, v3.hi, v3.lo);
    rotateLeft(rotated, 12);
    add(hash, rotated.hi, rotated.lo);
    set(rotated, v4.hi, v4.lo);
    rotateLeft(rotated, 18);
    add(hash, rotated.hi, rotated.lo);
    mergeRound(hash, v1);
    mergeRound(hash, v2);
    mergeRound(hash, v3);
    mergeRound(hash, v4);
  } else {
    set(hash, P5_HI, P5_LO);
  }
  add(hash, Math.floor(length / 0x1_0000_0000), length >>> 0);
  const mixed: Word = { hi: 0, lo: 0 };
  for (; offset + 8 <= length; offset += 8) {
    readLane(bytes, view, offset, lane);
    set(mixed, 0, 0);
    round(mixed, lane);
    set(hash, hash.hi ^ mixed.hi, hash.lo ^ mixed.lo);
    rotateLeft(hash, 27);
    multiply(hash, P1_HI, P1_LO);
    add(hash, P4_HI, P4_LO);
  }
  if (offset + 4 <= length) {
    set(mixed, 0, view.getUint32(bytes.byteOffset + offset, true));
    multiply(mixed, P1_HI, P1_LO);
    set(hash, hash.hi ^ mixed.hi, hash.lo ^ mixed.lo);
    rotateLeft(hash, 23);
    multiply(hash, P2_HI, P2_LO);
    add(hash, P3_HI, P3_LO);
    offset += 4;
  }
  for (; offset < length; offset++) {
    set(mixed, 0, bytes[offset] as number);
    multiply(mixed, P5_HI, P5_LO);
    set(hash, hash.hi ^ mixed.hi, hash.lo ^ mixed.lo);
    rotateLeft(hash, 11);
    multiply(hash, P1_HI, P1_LO);
  }
  // Avalanche: xor-shift right 33, × P2, xor-shift right 29, × P3, xor-shift right 32.
  set(hash, hash.hi, hash.lo ^ (hash.hi >>> 1));
  multiply(hash, P2_HI, P2_LO);
  set(hash, hash.hi ^ (hash.hi >>> 29), hash.lo ^ ((hash.lo >>> 29) | (hash.hi << 3)));
  multiply(hash, P3_HI, P3_LO);
  set(hash, hash.hi, hash.lo ^ hash.hi);
  return hash;
}
