/**
 * ChaCha with a configurable round count, HChaCha and XChaCha (keystream XOR only).
 *
 * State layout (Bernstein, "ChaCha, a variant of Salsa20", 2008; RFC 8439 §2.3):
 *   words 0..3 constants "expand 32-byte k", 4..11 the 256-bit key, 12..15 counter/nonce.
 * Two conventions for words 12..15 exist and both are provided:
 *   - IETF (RFC 8439 §2.3): 32-bit block counter, 96-bit nonce;
 *   - original (Bernstein; used by ARX-KW and XChaCha): 64-bit block counter, 64-bit nonce.
 * All words are little-endian. Round counts must be even (one column + one diagonal round
 * per double round): 8, 12 or 20 in practice.
 *
 * Not constant-time in any strong sense (JavaScript), but free of secret-dependent branches
 * and table look-ups.
 */

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;

function checkRounds(rounds: number): void {
  if (!Number.isInteger(rounds) || rounds <= 0 || rounds % 2 !== 0 || rounds > 20) {
    throw new RangeError(`ChaCha rounds must be an even number in 2..20, got ${rounds}`);
  }
}

function checkLength(name: string, buf: Uint8Array, len: number): void {
  if (buf.length !== len) throw new RangeError(`${name} must be ${len} bytes, got ${buf.length}`);
}

function readLe32(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) | ((b[off + 1] ?? 0) << 8) | ((b[off + 2] ?? 0) << 16) | ((b[off + 3] ?? 0) << 24)) >>> 0;
}

/** The initial state: constants, key, and the four words 12..15 as given. */
function initState(key: Uint8Array, w12to15: ArrayLike<number>): Uint32Array {
  checkLength('ChaCha key', key, 32);
  const s = new Uint32Array(16);
  s.set(SIGMA, 0);
  for (let i = 0; i < 8; i++) s[4 + i] = readLe32(key, 4 * i);
  for (let i = 0; i < 4; i++) s[12 + i] = (w12to15[i] ?? 0) >>> 0;
  return s;
}

/** The ChaCha permutation (rounds only, no feed-forward), in place. RFC 8439 §2.1-§2.3. */
function permute(x: Uint32Array, rounds: number): void {
  let x0 = x[0]!, x1 = x[1]!, x2 = x[2]!, x3 = x[3]!;
  let x4 = x[4]!, x5 = x[5]!, x6 = x[6]!, x7 = x[7]!;
  let x8 = x[8]!, x9 = x[9]!, x10 = x[10]!, x11 = x[11]!;
  let x12 = x[12]!, x13 = x[13]!, x14 = x[14]!, x15 = x[15]!;
  // Quarter round (RFC 8439 §2.1): a += b; d ^= a; d <<<= 16; c += d; b ^= c; b <<<= 12;
  //                                a += b; d ^= a; d <<<= 8;  c += d; b ^= c; b <<<= 7.
  // Written out inline for speed; `| 0` keeps 32-bit arithmetic, `>>> 0` restores unsigned at the end.
  let t: number;
  for (let r = 0; r < rounds; r += 2) {
    // column round: (0,4,8,12) (1,5,9,13) (2,6,10,14) (3,7,11,15)
    x0 = (x0 + x4) | 0; t = x12 ^ x0; x12 = (t << 16) | (t >>> 16);
    x8 = (x8 + x12) | 0; t = x4 ^ x8; x4 = (t << 12) | (t >>> 20);
    x0 = (x0 + x4) | 0; t = x12 ^ x0; x12 = (t << 8) | (t >>> 24);
    x8 = (x8 + x12) | 0; t = x4 ^ x8; x4 = (t << 7) | (t >>> 25);

    x1 = (x1 + x5) | 0; t = x13 ^ x1; x13 = (t << 16) | (t >>> 16);
    x9 = (x9 + x13) | 0; t = x5 ^ x9; x5 = (t << 12) | (t >>> 20);
    x1 = (x1 + x5) | 0; t = x13 ^ x1; x13 = (t << 8) | (t >>> 24);
    x9 = (x9 + x13) | 0; t = x5 ^ x9; x5 = (t << 7) | (t >>> 25);

    x2 = (x2 + x6) | 0; t = x14 ^ x2; x14 = (t << 16) | (t >>> 16);
    x10 = (x10 + x14) | 0; t = x6 ^ x10; x6 = (t << 12) | (t >>> 20);
    x2 = (x2 + x6) | 0; t = x14 ^ x2; x14 = (t << 8) | (t >>> 24);
    x10 = (x10 + x14) | 0; t = x6 ^ x10; x6 = (t << 7) | (t >>> 25);

    x3 = (x3 + x7) | 0; t = x15 ^ x3; x15 = (t << 16) | (t >>> 16);
    x11 = (x11 + x15) | 0; t = x7 ^ x11; x7 = (t << 12) | (t >>> 20);
    x3 = (x3 + x7) | 0; t = x15 ^ x3; x15 = (t << 8) | (t >>> 24);
    x11 = (x11 + x15) | 0; t = x7 ^ x11; x7 = (t << 7) | (t >>> 25);

    // diagonal round: (0,5,10,15) (1,6,11,12) (2,7,8,13) (3,4,9,14)
    x0 = (x0 + x5) | 0; t = x15 ^ x0; x15 = (t << 16) | (t >>> 16);
    x10 = (x10 + x15) | 0; t = x5 ^ x10; x5 = (t << 12) | (t >>> 20);
    x0 = (x0 + x5) | 0; t = x15 ^ x0; x15 = (t << 8) | (t >>> 24);
    x10 = (x10 + x15) | 0; t = x5 ^ x10; x5 = (t << 7) | (t >>> 25);

    x1 = (x1 + x6) | 0; t = x12 ^ x1; x12 = (t << 16) | (t >>> 16);
    x11 = (x11 + x12) | 0; t = x6 ^ x11; x6 = (t << 12) | (t >>> 20);
    x1 = (x1 + x6) | 0; t = x12 ^ x1; x12 = (t << 8) | (t >>> 24);
    x11 = (x11 + x12) | 0; t = x6 ^ x11; x6 = (t << 7) | (t >>> 25);

    x2 = (x2 + x7) | 0; t = x13 ^ x2; x13 = (t << 16) | (t >>> 16);
    x8 = (x8 + x13) | 0; t = x7 ^ x8; x7 = (t << 12) | (t >>> 20);
    x2 = (x2 + x7) | 0; t = x13 ^ x2; x13 = (t << 8) | (t >>> 24);
    x8 = (x8 + x13) | 0; t = x7 ^ x8; x7 = (t << 7) | (t >>> 25);

    x3 = (x3 + x4) | 0; t = x14 ^ x3; x14 = (t << 16) | (t >>> 16);
    x9 = (x9 + x14) | 0; t = x4 ^ x9; x4 = (t << 12) | (t >>> 20);
    x3 = (x3 + x4) | 0; t = x14 ^ x3; x14 = (t << 8) | (t >>> 24);
    x9 = (x9 + x14) | 0; t = x4 ^ x9; x4 = (t << 7) | (t >>> 25);
  }
  // Uint32Array stores reduce modulo 2^32, so signed intermediates are fine.
  x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3;
  x[4] = x4; x[5] = x5; x[6] = x6; x[7] = x7;
  x[8] = x8; x[9] = x9; x[10] = x10; x[11] = x11;
  x[12] = x12; x[13] = x13; x[14] = x14; x[15] = x15;
}

/**
 * One 64-byte ChaCha block: permute, add the input state (feed-forward), serialise little-endian.
 * `w12to15` are state words 12..15 (counter and nonce in whichever convention the caller uses).
 */
export function chachaBlock(key: Uint8Array, w12to15: ArrayLike<number>, rounds: number): Buffer {
  checkRounds(rounds);
  const input = initState(key, w12to15);
  const x = input.slice();
  permute(x, rounds);
  const out = Buffer.allocUnsafe(64);
  for (let i = 0; i < 16; i++) out.writeUInt32LE((x[i]! + input[i]!) >>> 0, 4 * i);
  input.fill(0);
  x.fill(0);
  return out;
}

/**
 * XOR `data` with the keystream of successive blocks. `words(i)` yields words 12..15 for block i.
 * Returns a new buffer; `data` is not modified.
 */
function xorKeystream(
  key: Uint8Array,
  data: Uint8Array,
  rounds: number,
  words: (block: number) => ArrayLike<number>,
): Buffer {
  const out = Buffer.from(data);
  for (let off = 0, blk = 0; off < out.length; off += 64, blk++) {
    const ks = chachaBlock(key, words(blk), rounds);
    const n = Math.min(64, out.length - off);
    for (let i = 0; i < n; i++) out[off + i] = out[off + i]! ^ ks[i]!;
    ks.fill(0);
  }
  return out;
}

/**
 * ChaCha, IETF layout (RFC 8439 §2.4): 32-bit initial block counter, 12-byte nonce.
 */
export function chachaXorIetf(
  key: Uint8Array,
  nonce: Uint8Array,
  counter: number,
  data: Uint8Array,
  rounds = 20,
): Buffer {
  checkLength('ChaCha IETF nonce', nonce, 12);
  const blocks = Math.ceil(data.length / 64);
  if (!Number.isInteger(counter) || counter < 0 || counter + blocks > 0x1_0000_0000) {
    throw new RangeError('ChaCha IETF block counter out of range');
  }
  const n0 = readLe32(nonce, 0), n1 = readLe32(nonce, 4), n2 = readLe32(nonce, 8);
  return xorKeystream(key, data, rounds, (b) => [counter + b, n0, n1, n2]);
}

/**
 * ChaCha, original layout (Bernstein 2008): 64-bit block counter (words 12-13), 8-byte nonce
 * (words 14-15). The counter starts at `counter` (default 0).
 */
export function chachaXor(key: Uint8Array, nonce: Uint8Array, data: Uint8Array, rounds: number, counter = 0): Buffer {
  checkLength('ChaCha nonce', nonce, 8);
  const blocks = Math.ceil(data.length / 64);
  if (!Number.isSafeInteger(counter) || counter < 0 || counter + blocks > Number.MAX_SAFE_INTEGER) {
    throw new RangeError('ChaCha block counter out of range');
  }
  const n0 = readLe32(nonce, 0), n1 = readLe32(nonce, 4);
  return xorKeystream(key, data, rounds, (b) => {
    const c = counter + b;
    return [c >>> 0, Math.floor(c / 0x1_0000_0000) >>> 0, n0, n1];
  });
}

/**
 * HChaCha (draft-irtf-cfrg-xchacha-03 §2.2): the permutation over (key, 16-byte input) without
 * feed-forward; the subkey is state words 0..3 and 12..15, little-endian.
 */
export function hchacha(key: Uint8Array, nonce16: Uint8Array, rounds: number): Buffer {
  checkRounds(rounds);
  checkLength('HChaCha input', nonce16, 16);
  const x = initState(key, [readLe32(nonce16, 0), readLe32(nonce16, 4), readLe32(nonce16, 8), readLe32(nonce16, 12)]);
  permute(x, rounds);
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE(x[i]!, 4 * i);
    out.writeUInt32LE(x[12 + i]!, 16 + 4 * i);
  }
  x.fill(0);
  return out;
}

/**
 * XChaCha (draft-irtf-cfrg-xchacha-03 §2.3, generalised to any round count): subkey =
 * HChaCha_r(key, nonce[0..16]); keystream = ChaCha_r(subkey, original layout, counter 0,
 * nonce = nonce[16..24]). The same round count is used for both steps.
 */
export function xchachaXor(key: Uint8Array, nonce24: Uint8Array, data: Uint8Array, rounds: number): Buffer {
  checkLength('XChaCha nonce', nonce24, 24);
  const subkey = hchacha(key, nonce24.subarray(0, 16), rounds);
  try {
    return chachaXor(subkey, nonce24.subarray(16, 24), data, rounds, 0);
  } finally {
    subkey.fill(0);
  }
}
