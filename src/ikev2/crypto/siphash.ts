/**
 * SipHash-2-4 with 128-bit output (Aumasson & Bernstein, "SipHash: a fast short-input PRF",
 * 2012; the 128-bit mode as in the reference implementation github.com/veorq/SipHash).
 *
 * 128-bit mode differs from the 64-bit one in three places:
 *   - v1 ^= 0xee after keying;
 *   - v2 ^= 0xee (instead of 0xff) before the first finalization;
 *   - v1 ^= 0xdd before a second finalization, which yields the upper 8 output bytes.
 *
 * 64-bit words are kept as (hi, lo) pairs of unsigned 32-bit numbers.
 */

// v0..v3 as [v0h, v0l, v1h, v1l, v2h, v2l, v3h, v3l]
type State = Uint32Array;

/** a += b (mod 2^64) for the words at indices ia, ib. */
function add(s: State, ia: number, ib: number): void {
  const lo = s[ia + 1]! + s[ib + 1]!;
  s[ia] = s[ia]! + s[ib]! + (lo > 0xffffffff ? 1 : 0);
  s[ia + 1] = lo;
}

/** a ^= b. */
function xor(s: State, ia: number, ib: number): void {
  s[ia] = s[ia]! ^ s[ib]!;
  s[ia + 1] = s[ia + 1]! ^ s[ib + 1]!;
}

/** rotate left by n (0 < n < 64). */
function rotl(s: State, i: number, n: number): void {
  let hi = s[i]!, lo = s[i + 1]!;
  if (n >= 32) {
    [hi, lo] = [lo, hi];
    n -= 32;
  }
  if (n > 0) {
    const h = (hi << n) | (lo >>> (32 - n));
    const l = (lo << n) | (hi >>> (32 - n));
    hi = h;
    lo = l;
  }
  s[i] = hi;
  s[i + 1] = lo;
}

const V0 = 0, V1 = 2, V2 = 4, V3 = 6;

/** SipRound (paper §2.1). */
function sipRound(s: State): void {
  add(s, V0, V1); rotl(s, V1, 13); xor(s, V1, V0); rotl(s, V0, 32);
  add(s, V2, V3); rotl(s, V3, 16); xor(s, V3, V2);
  add(s, V0, V3); rotl(s, V3, 21); xor(s, V3, V0);
  add(s, V2, V1); rotl(s, V1, 17); xor(s, V1, V2); rotl(s, V2, 32);
}

function le32(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) | ((b[off + 1] ?? 0) << 8) | ((b[off + 2] ?? 0) << 16) | ((b[off + 3] ?? 0) << 24)) >>> 0;
}

/** Absorb one 64-bit message word m = (mh, ml) with c = 2 compression rounds. */
function compress(s: State, mh: number, ml: number): void {
  s[V3] = s[V3]! ^ mh;
  s[V3 + 1] = s[V3 + 1]! ^ ml;
  sipRound(s);
  sipRound(s);
  s[V0] = s[V0]! ^ mh;
  s[V0 + 1] = s[V0 + 1]! ^ ml;
}

/** d = 4 finalization rounds, then write v0 ^ v1 ^ v2 ^ v3 little-endian at out[off]. */
function finalize(s: State, out: Buffer, off: number): void {
  for (let i = 0; i < 4; i++) sipRound(s);
  out.writeUInt32LE((s[0]! ^ s[2]! ^ s[4]! ^ s[6]!) >>> 0, off + 4); // hi word
  out.writeUInt32LE((s[1]! ^ s[3]! ^ s[5]! ^ s[7]!) >>> 0, off); // lo word
}

/** SipHash-2-4 with 128-bit output. key: 16 bytes (k0 ‖ k1, each little-endian). */
export function siphash24_128(key: Uint8Array, msg: Uint8Array): Buffer {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
  const k0h = le32(key, 4), k0l = le32(key, 0), k1h = le32(key, 12), k1l = le32(key, 8);
  // Initialization (paper §2.1): the constants are "somepseudorandomlygeneratedbytes".
  const s: State = new Uint32Array([
    0x736f6d65 ^ k0h, 0x70736575 ^ k0l,
    0x646f7261 ^ k1h, (0x6e646f6d ^ k1l ^ 0xee) >>> 0, // 128-bit mode: v1 ^= 0xee
    0x6c796765 ^ k0h, 0x6e657261 ^ k0l,
    0x74656462 ^ k1h, 0x79746573 ^ k1l,
  ]);

  const n = msg.length;
  const full = n - (n % 8);
  for (let off = 0; off < full; off += 8) compress(s, le32(msg, off + 4), le32(msg, off));

  // Last word: remaining bytes, zero-padded, with (n mod 256) in the top byte.
  const tail = new Uint8Array(8);
  tail.set(msg.subarray(full));
  tail[7] = n & 0xff;
  compress(s, le32(tail, 4), le32(tail, 0));

  const out = Buffer.allocUnsafe(16);
  s[V2 + 1] = s[V2 + 1]! ^ 0xee; // 128-bit mode (0xff in 64-bit mode)
  finalize(s, out, 0);
  s[V1 + 1] = s[V1 + 1]! ^ 0xdd;
  finalize(s, out, 8);
  s.fill(0);
  return out;
}
