/**
 * ML-KEM (FIPS 203) with the hashes of node:crypto (OpenSSL SHA3-256/512, SHAKE128/256): the
 * same results as @noble/post-quantum, about four times faster here, because Keccak in
 * JavaScript is what dominates ML-KEM's cost. IKE establishment rates depend on it
 * (docs/performance.md, "IKE SA establishment").
 *
 * Straight from the standard, names as in FIPS 203: K-PKE (Alg. 13-15) over the NTT (Alg.
 * 9-12), ML-KEM.KeyGen_internal / Encaps_internal / Decaps_internal (Alg. 16-18). Polynomials
 * are Uint16Array(256) with coefficients in [0, q). The decapsulating side keeps Â and t̂ from
 * key generation for its re-encryption. Secret intermediates are wiped (best effort).
 */
import { createHash } from 'node:crypto';

const N = 256;
const Q = 3329;
/** 128^-1 mod q (FIPS 203 Alg. 10, last step). */
const N_INV = 3303;

export interface MlKemParams {
  readonly k: number;
  readonly eta1: number;
  readonly eta2: number;
  readonly du: number;
  readonly dv: number;
}

/** FIPS 203 Table 2. */
export const ML_KEM_PARAMS = {
  512: { k: 2, eta1: 3, eta2: 2, du: 10, dv: 4 },
  768: { k: 3, eta1: 2, eta2: 2, du: 10, dv: 4 },
  1024: { k: 4, eta1: 2, eta2: 2, du: 11, dv: 5 },
} as const satisfies Record<number, MlKemParams>;

// --- hashes (FIPS 203 §4.1) ----------------------------------------------------------------

// Fresh hash objects are copied from these: createHash fetches the algorithm from OpenSSL's
// provider every time (several microseconds in OpenSSL 3.0), copy() does not.
const BASE = { 'sha3-256': createHash('sha3-256'), 'sha3-512': createHash('sha3-512'), shake128: createHash('shake128'), shake256: createHash('shake256') };
const sha3 = (bits: 256 | 512, ...parts: Uint8Array[]): Buffer => {
  const h = BASE[`sha3-${bits}`].copy();
  for (const p of parts) h.update(p);
  return h.digest();
};
const shake = (bits: 128 | 256, length: number, ...parts: Uint8Array[]): Buffer => {
  const h = BASE[`shake${bits}`].copy({ outputLength: length });
  for (const p of parts) h.update(p);
  return h.digest();
};
/** PRF_η(s, b) = SHAKE256(s ‖ b, 64η). */
const prf = (eta: number, s: Uint8Array, b: number): Buffer => shake(256, 64 * eta, s, Uint8Array.of(b));

// --- NTT (Alg. 9-12) -----------------------------------------------------------------------------

const bitRev7 = (i: number): number => {
  let r = 0;
  for (let b = 0; b < 7; b++) r |= ((i >> b) & 1) << (6 - b);
  return r;
};
const powMod = (base: number, e: number): number => {
  let r = 1;
  for (let i = 0; i < e; i++) r = (r * base) % Q;
  return r;
};
/** ζ^BitRev7(i) and, for MultiplyNTTs, γ_i = ζ^(2·BitRev7(i)+1), with ζ = 17. */
const ZETAS = Uint16Array.from({ length: 128 }, (_, i) => powMod(17, bitRev7(i)));
const GAMMAS = Uint16Array.from({ length: 128 }, (_, i) => powMod(17, 2 * bitRev7(i) + 1));

function ntt(f: Uint16Array): void {
  let i = 1;
  for (let len = 128; len >= 2; len >>= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[i++]!;
      for (let j = start; j < start + len; j++) {
        const t = (zeta * f[j + len]!) % Q;
        const a = f[j]!;
        f[j + len] = a >= t ? a - t : a - t + Q;
        const s = a + t;
        f[j] = s >= Q ? s - Q : s;
      }
    }
  }
}

function nttInverse(f: Uint16Array): void {
  let i = 127;
  for (let len = 2; len <= 128; len <<= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[i--]!;
      for (let j = start; j < start + len; j++) {
        const t = f[j]!;
        const u = f[j + len]!;
        const s = t + u;
        f[j] = s >= Q ? s - Q : s;
        f[j + len] = (zeta * (u >= t ? u - t : u - t + Q)) % Q;
      }
    }
  }
  for (let j = 0; j < N; j++) f[j] = (f[j]! * N_INV) % Q;
}

/** acc += f × g in the NTT domain (Alg. 11/12), acc kept reduced. */
function multiplyAdd(acc: Uint16Array, f: Uint16Array, g: Uint16Array): void {
  for (let i = 0; i < 128; i++) {
    const a0 = f[2 * i]!;
    const a1 = f[2 * i + 1]!;
    const b0 = g[2 * i]!;
    const b1 = g[2 * i + 1]!;
    const c0 = (a0 * b0 + ((a1 * b1) % Q) * GAMMAS[i]!) % Q;
    const c1 = (a0 * b1 + a1 * b0) % Q;
    acc[2 * i] = (acc[2 * i]! + c0) % Q;
    acc[2 * i + 1] = (acc[2 * i + 1]! + c1) % Q;
  }
}

function add(into: Uint16Array, g: Uint16Array): void {
  for (let j = 0; j < N; j++) {
    const s = into[j]! + g[j]!;
    into[j] = s >= Q ? s - Q : s;
  }
}

// --- sampling (Alg. 7, 8) -------------------------------------------------------------------------

/** SampleNTT(ρ ‖ j ‖ i): rejection sampling from SHAKE128; a longer output is a prefix extension. */
function sampleNtt(rho: Uint8Array, j: number, i: number): Uint16Array {
  const seed = Uint8Array.of(j, i);
  const f = new Uint16Array(N);
  for (let length = 3 * 168; ; length *= 2) {
    const b = shake(128, length, rho, seed);
    let n = 0;
    for (let at = 0; at + 3 <= b.length && n < N; at += 3) {
      const d1 = b[at]! | ((b[at + 1]! & 0x0f) << 8);
      const d2 = (b[at + 1]! >> 4) | (b[at + 2]! << 4);
      if (d1 < Q) f[n++] = d1;
      if (d2 < Q && n < N) f[n++] = d2;
    }
    if (n === N) return f;
  }
}

/** SamplePolyCBD_η(B), B of 64η octets: coefficient i uses bits 2iη … 2iη+2η-1 (LSB first). */
function sampleCbd(b: Uint8Array, eta: number): Uint16Array {
  const f = new Uint16Array(N);
  const mask = (1 << eta) - 1;
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < N; i++) {
    while (bits < 2 * eta) {
      acc |= b[at++]! << bits;
      bits += 8;
    }
    let x = acc & mask;
    let y = (acc >> eta) & mask;
    acc >>>= 2 * eta;
    bits -= 2 * eta;
    x = (x & 1) + ((x >> 1) & 1) + ((x >> 2) & 1); // popcounts of η ≤ 3 bits
    y = (y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1);
    f[i] = x >= y ? x - y : x - y + Q;
  }
  return f;
}

// --- encodings (Alg. 4-6, §4.2.1 compression) ----------------------------------------------------

/** ByteEncode_d of `polys` one after the other (coefficients < 2^d, or < q for d = 12). */
function byteEncode(polys: readonly Uint16Array[], d: number): Buffer {
  const out = Buffer.alloc((polys.length * N * d) / 8);
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const f of polys) {
    for (let i = 0; i < N; i++) {
      acc |= f[i]! << bits;
      bits += d;
      while (bits >= 8) {
        out[at++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
  }
  return out;
}

/** ByteDecode_d into `count` polynomials (d = 12: reduced mod q, FIPS 203 Alg. 6). */
function byteDecode(b: Uint8Array, d: number, count: number): Uint16Array[] {
  const mask = (1 << d) - 1;
  const out: Uint16Array[] = [];
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let p = 0; p < count; p++) {
    const f = new Uint16Array(N);
    for (let i = 0; i < N; i++) {
      while (bits < d) {
        acc |= b[at++]! << bits;
        bits += 8;
      }
      const v = acc & mask;
      f[i] = d === 12 ? v % Q : v;
      acc >>>= d;
      bits -= d;
    }
    out.push(f);
  }
  return out;
}

/** Compress_d(x) = ⌈(2^d / q)·x⌋ mod 2^d, in place. */
function compress(f: Uint16Array, d: number): Uint16Array {
  const mask = (1 << d) - 1;
  for (let i = 0; i < N; i++) f[i] = Math.floor((f[i]! * (1 << (d + 1)) + Q) / (2 * Q)) & mask;
  return f;
}

/** Decompress_d(y) = ⌈(q / 2^d)·y⌋, in place. */
function decompress(f: Uint16Array, d: number): Uint16Array {
  for (let i = 0; i < N; i++) f[i] = (f[i]! * Q + (1 << (d - 1))) >> d;
  return f;
}

const wipePolys = (...ps: readonly Uint16Array[][]): void => {
  for (const list of ps) for (const p of list) p.fill(0);
};

// --- K-PKE (Alg. 13-15) ---------------------------------------------------------------------------

/** Â[i][j] = SampleNTT(ρ ‖ j ‖ i). */
function matrixA(rho: Uint8Array, k: number): Uint16Array[][] {
  return Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => sampleNtt(rho, j, i)));
}

interface PublicKey {
  readonly tHat: Uint16Array[];
  readonly rho: Buffer;
  readonly a: Uint16Array[][];
}

function pkeEncrypt(p: MlKemParams, pk: PublicKey, m: Uint8Array, r: Uint8Array): Buffer {
  const { k } = p;
  let nonce = 0;
  const y = Array.from({ length: k }, () => sampleCbd(prf(p.eta1, r, nonce++), p.eta1));
  const e1 = Array.from({ length: k }, () => sampleCbd(prf(p.eta2, r, nonce++), p.eta2));
  const e2 = sampleCbd(prf(p.eta2, r, nonce), p.eta2);
  for (const f of y) ntt(f);
  const u = Array.from({ length: k }, (_, i) => {
    const acc = new Uint16Array(N);
    for (let j = 0; j < k; j++) multiplyAdd(acc, pk.a[j]![i]!, y[j]!); // Âᵀ ∘ ŷ
    nttInverse(acc);
    add(acc, e1[i]!);
    return compress(acc, p.du);
  });
  const v = new Uint16Array(N);
  for (let j = 0; j < k; j++) multiplyAdd(v, pk.tHat[j]!, y[j]!);
  nttInverse(v);
  add(v, e2);
  add(v, decompress(byteDecode(m, 1, 1)[0]!, 1));
  const c = Buffer.concat([byteEncode(u, p.du), byteEncode([compress(v, p.dv)], p.dv)]);
  wipePolys(y, e1, [e2, v]);
  return c;
}

function pkeDecrypt(p: MlKemParams, sHat: readonly Uint16Array[], c: Uint8Array): Buffer {
  const { k } = p;
  const uBytes = (N * p.du * k) / 8;
  const u = byteDecode(c.subarray(0, uBytes), p.du, k).map((f) => decompress(f, p.du));
  const v = decompress(byteDecode(c.subarray(uBytes), p.dv, 1)[0]!, p.dv);
  const w = new Uint16Array(N);
  for (let j = 0; j < k; j++) {
    ntt(u[j]!);
    multiplyAdd(w, sHat[j]!, u[j]!);
  }
  nttInverse(w);
  for (let i = 0; i < N; i++) w[i] = v[i]! >= w[i]! ? v[i]! - w[i]! : v[i]! - w[i]! + Q; // v − NTT⁻¹(ŝᵀ ∘ NTT(u))
  const m = byteEncode([compress(w, 1)], 1);
  wipePolys(u, [v, w]);
  return m;
}

// --- ML-KEM (Alg. 16-18) --------------------------------------------------------------------------

export interface NativeKeyPair {
  readonly encapsulationKey: Buffer;
  /** K from a ciphertext of the right length; implicit rejection (Alg. 18) never throws. */
  decapsulate(ciphertext: Uint8Array): Buffer;
  dispose(): void;
}

export class NativeMlKem {
  readonly params: MlKemParams;
  readonly encapsulationKeyLength: number;
  readonly ciphertextLength: number;

  constructor(params: MlKemParams) {
    this.params = params;
    this.encapsulationKeyLength = 384 * params.k + 32;
    this.ciphertextLength = (N * (params.du * params.k + params.dv)) / 8;
  }

  /** ML-KEM.KeyGen_internal(d, z) from the 64-octet seed d ‖ z. */
  keygen(seed: Uint8Array): NativeKeyPair {
    const p = this.params;
    const d = seed.subarray(0, 32);
    const z = Buffer.from(seed.subarray(32, 64));
    const g = sha3(512, d, Uint8Array.of(p.k)); // (ρ, σ) = G(d ‖ k)
    const rho = Buffer.from(g.subarray(0, 32));
    const sigma = g.subarray(32);
    const a = matrixA(rho, p.k);
    let nonce = 0;
    const sHat = Array.from({ length: p.k }, () => sampleCbd(prf(p.eta1, sigma, nonce++), p.eta1));
    const e = Array.from({ length: p.k }, () => sampleCbd(prf(p.eta1, sigma, nonce++), p.eta1));
    for (const f of [...sHat, ...e]) ntt(f);
    const tHat = Array.from({ length: p.k }, (_, i) => {
      const acc = new Uint16Array(N);
      for (let j = 0; j < p.k; j++) multiplyAdd(acc, a[i]![j]!, sHat[j]!);
      add(acc, e[i]!);
      return acc;
    });
    wipePolys(e);
    g.fill(0);
    const ek = Buffer.concat([byteEncode(tHat, 12), rho]);
    const h = sha3(256, ek);
    const pk: PublicKey = { tHat, rho, a };
    let live = true;
    return {
      encapsulationKey: ek,
      decapsulate: (c) => {
        if (!live) throw new Error('ML-KEM key pair disposed');
        const m = pkeDecrypt(p, sHat, c);
        const kr = sha3(512, m, h); // (K', r') = G(m' ‖ h)
        const cPrime = pkeEncrypt(p, pk, m, kr.subarray(32));
        const kBar = shake(256, 32, z, c); // J(z ‖ c)
        const same = cPrime.length === c.length && cPrime.equals(c);
        const out = Buffer.from(same ? kr.subarray(0, 32) : kBar);
        for (const b of [m, kr, kBar]) b.fill(0);
        return out;
      },
      dispose: () => {
        live = false;
        wipePolys(sHat);
        z.fill(0);
      },
    };
  }

  /**
   * ML-KEM.Encaps_internal(ek, m) for a 32-octet message m. The caller has checked the length
   * and the §7.2 modulus rule (ke-mlkem.ts): ByteDecode12 would otherwise reduce silently.
   */
  encapsulate(ek: Uint8Array, m: Uint8Array): { ciphertext: Buffer; sharedKey: Buffer } {
    const p = this.params;
    const tBytes = 384 * p.k;
    const rho = Buffer.from(ek.subarray(tBytes, tBytes + 32));
    const pk: PublicKey = { tHat: byteDecode(ek.subarray(0, tBytes), 12, p.k), rho, a: matrixA(rho, p.k) };
    const kr = sha3(512, m, sha3(256, ek)); // (K, r) = G(m ‖ H(ek))
    const ciphertext = pkeEncrypt(p, pk, m, kr.subarray(32));
    const sharedKey = Buffer.from(kr.subarray(0, 32));
    kr.fill(0);
    return { ciphertext, sharedKey };
  }
}

export const nativeMlKem = {
  512: new NativeMlKem(ML_KEM_PARAMS[512]),
  768: new NativeMlKem(ML_KEM_PARAMS[768]),
  1024: new NativeMlKem(ML_KEM_PARAMS[1024]),
} as const;
