/** Shared fixtures for the datapath tests. */
import assert from 'node:assert/strict';
import { isGkmError, type ErrorCode } from '../../src/ikev2/errors.ts';
import { EncrId, IntegId } from '../../src/ikev2/registry/transform.ts';
import { espSuite, type EspAlgorithms, type EspKeys } from '../../src/datapath/esp/index.ts';
import { parseAddress } from '../../src/datapath/address.ts';
import { writeIpv4, writeIpv6 } from '../../src/datapath/modes/ip.ts';

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

export interface NamedSuite {
  readonly name: string;
  readonly algorithms: EspAlgorithms;
}

export const SUITES: readonly NamedSuite[] = [
  { name: 'AES-GCM-16-128', algorithms: { encr: EncrId.AES_GCM_16, keyBits: 128 } },
  { name: 'AES-GCM-16-192', algorithms: { encr: EncrId.AES_GCM_16, keyBits: 192 } },
  { name: 'AES-GCM-16-256', algorithms: { encr: EncrId.AES_GCM_16, keyBits: 256 } },
  { name: 'AES-GCM-8-128', algorithms: { encr: EncrId.AES_GCM_8, keyBits: 128 } },
  { name: 'AES-GCM-12-256', algorithms: { encr: EncrId.AES_GCM_12, keyBits: 256 } },
  { name: 'ChaCha20-Poly1305', algorithms: { encr: EncrId.CHACHA20_POLY1305 } },
  { name: 'AES-GMAC-128', algorithms: { encr: EncrId.NULL_AUTH_AES_GMAC, keyBits: 128 } },
  { name: 'AES-GMAC-256', algorithms: { encr: EncrId.NULL_AUTH_AES_GMAC, keyBits: 256 } },
  { name: 'AES-CBC-128+HMAC-SHA2-256-128', algorithms: { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 } },
  { name: 'AES-CBC-256+HMAC-SHA2-384-192', algorithms: { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_384_192 } },
  { name: 'AES-CBC-192+HMAC-SHA2-512-256', algorithms: { encr: EncrId.AES_CBC, keyBits: 192, integ: IntegId.HMAC_SHA2_512_256 } },
];

export const GCM128: EspAlgorithms = { encr: EncrId.AES_GCM_16, keyBits: 128 };

/** Deterministic keys of the right sizes for a suite. */
export function keysFor(algorithms: EspAlgorithms, seed = 1): EspKeys {
  const s = espSuite(algorithms);
  const fill = (n: number, base: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (base + i * 7) & 0xff));
  const encr = fill(s.keyLength + s.saltLength, seed);
  return s.integKeyLength === 0 ? { encr } : { encr, integ: fill(s.integKeyLength, seed + 100) };
}

export function bytes(n: number, seed = 3): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
}

/** Asserts that `fn` throws a GkmError with `code` (and nothing else). */
export function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isGkmError(e), `expected GkmError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** Small deterministic PRNG for bounded fuzz loops. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

export interface V4Opts {
  readonly ttl?: number;
  readonly tos?: number;
  readonly id?: number;
  readonly fragment?: number;
  readonly options?: Buffer;
  readonly protocol?: number;
}

/** An IPv4 UDP packet with `n` payload bytes (UDP checksum left 0). */
export function udp4(src: string, dst: string, n: number, o: V4Opts = {}): Buffer {
  const hl = 20 + (o.options?.length ?? 0);
  const buf = Buffer.alloc(hl + 8 + n);
  writeIpv4(buf, 0, {
    tos: o.tos ?? 0,
    totalLength: buf.length,
    id: o.id ?? 0x1234,
    fragment: o.fragment ?? 0x4000,
    ttl: o.ttl ?? 64,
    protocol: o.protocol ?? 17,
    src: parseAddress(src),
    dst: parseAddress(dst),
    ...(o.options ? { options: o.options } : {}),
  });
  buf.writeUInt16BE(40000, hl);
  buf.writeUInt16BE(5000, hl + 2);
  buf.writeUInt16BE(8 + n, hl + 4);
  bytes(n, 9).copy(buf, hl + 8);
  return buf;
}

/** An IPv6 UDP packet; `hopByHop` inserts an 8-byte Hop-by-Hop header (PadN). */
export function udp6(src: string, dst: string, n: number, o: { hopByHop?: boolean; hopLimit?: number; tc?: number } = {}): Buffer {
  const ext = o.hopByHop ? 8 : 0;
  const buf = Buffer.alloc(40 + ext + 8 + n);
  writeIpv6(buf, 0, {
    trafficClass: o.tc ?? 0,
    flowLabel: 0x12345,
    payloadLength: buf.length - 40,
    nextHeader: o.hopByHop ? 0 : 17,
    hopLimit: o.hopLimit ?? 64,
    src: parseAddress(src),
    dst: parseAddress(dst),
  });
  if (o.hopByHop) {
    buf[40] = 17;
    buf[41] = 0;
    buf[42] = 1; // PadN
    buf[43] = 4;
  }
  const u = 40 + ext;
  buf.writeUInt16BE(40000, u);
  buf.writeUInt16BE(5000, u + 2);
  buf.writeUInt16BE(8 + n, u + 4);
  bytes(n, 11).copy(buf, u + 8);
  return buf;
}
