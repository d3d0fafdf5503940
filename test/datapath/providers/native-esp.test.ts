/**
 * The native ESP burst path against the userspace codec: same keys and sequence/IV source
 * give the same bytes, each side opens the other's packets, and replay verdicts match
 * packet-at-a-time processing (including duplicates and ESN wrap inside one burst).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { SnId } from '../../../src/ikev2/registry/transform.ts';
import { espSuite, EspReceiver, EspSender, type EspAlgorithms, type EspReceiverOptions } from '../../../src/datapath/esp/index.ts';
import { loadNativeAddon } from '../../../src/datapath/providers/native/addon.ts';
import { NativeReceiver } from '../../../src/datapath/providers/native/receiver.ts';
import { NativeSender, type NativeSenderOptions } from '../../../src/datapath/providers/native/sender.ts';
import { NativeStatus, statusError } from '../../../src/datapath/providers/native/status.ts';
import { bytes, hex, keysFor, rng, SUITES } from '../helpers.ts';
import { nativeSkip as skip } from './support.ts';

const NATIVE_SUITES = SUITES.filter((s) => espSuite(s.algorithms).counterIv);
const SIZES = [0, 1, 2, 3, 4, 5, 63, 64, 65, 511, 512, 1399, 1400, 1500];
const TWO32 = 0x1_0000_0000;

/** Encapsulates payloads through the native sender; returns one Buffer per packet (or the status). */
function nativeEncap(tx: NativeSender, payloads: Buffer[], nh: number[], slab = false): Array<Buffer | number> {
  const n = payloads.length;
  const outOff = new Uint32Array(n);
  const res = new Int32Array(n);
  let input: Parameters<NativeSender['encapBurst']>[0] = payloads;
  if (slab) {
    const offsets = new Uint32Array(n);
    const lengths = new Uint32Array(n);
    let at = 7; // deliberately unaligned
    payloads.forEach((p, i) => ((offsets[i] = at), (lengths[i] = p.length), (at += p.length + 3)));
    const buffer = Buffer.alloc(at);
    payloads.forEach((p, i) => p.copy(buffer, offsets[i]));
    input = { buffer, offsets, lengths };
  }
  const out = Buffer.alloc(tx.layout(input, n, outOff, 5) + 5);
  tx.encapBurst(input, Uint8Array.from(nh), out, outOff, res, n);
  return Array.from(res, (r, i) => (r > 0 ? out.subarray(outOff[i]!, outOff[i]! + r) : r));
}

type Verdict = string;

/** Userspace verdict per packet: payload hex, 'dummy', or the error code. */
function userspaceVerdicts(rx: EspReceiver, pkts: readonly Buffer[]): Verdict[] {
  return pkts.map((p) => {
    try {
      const r = rx.decapsulate(p);
      return r === null ? 'dummy' : `${r.nextHeader}:${r.seq}:${r.payload.toString('hex')}`;
    } catch (e) {
      if (!isGkmError(e)) throw e;
      return e.code;
    }
  });
}

/** Native verdicts, processing `pkts` in bursts of the given sizes. */
function nativeVerdicts(rx: NativeReceiver, pkts: readonly Buffer[], burstSizes: readonly number[]): Verdict[] {
  const out: Verdict[] = [];
  for (let at = 0, k = 0; at < pkts.length; k++) {
    const burst = pkts.slice(at, at + burstSizes[k % burstSizes.length]!);
    at += burst.length;
    const outOff = new Uint32Array(burst.length);
    const plain = Buffer.alloc(rx.layout(burst, burst.length, outOff));
    const r = rx.decapBurst(burst, burst.length, plain, outOff);
    burst.forEach((_, i) => {
      const s = r.res[3 * i]!;
      if (s === NativeStatus.OK) {
        const payload = plain.subarray(outOff[i]!, outOff[i]! + r.res[3 * i + 1]!);
        out.push(`${r.res[3 * i + 2]}:${r.seq[i]}:${payload.toString('hex')}`);
      } else out.push(s === NativeStatus.DUMMY ? 'dummy' : statusError(s, rx.spi).code);
    });
  }
  return out;
}

const params = (algorithms: EspAlgorithms, extra: Partial<NativeSenderOptions> = {}): NativeSenderOptions => ({
  spi: 0x1000,
  algorithms,
  keys: keysFor(algorithms),
  ...extra,
});

for (const { name, algorithms } of NATIVE_SUITES) {
  for (const sn of [SnId.SEQ32, SnId.ESN64, SnId.UNSPECIFIED32] as const) {
    test(`native encap is byte-identical to EspSender and cross-decrypts: ${name} sn=${sn}`, { skip }, () => {
      // ESN starts just below 2^32 so the burst crosses into SeqHi 1.
      const opts = params(algorithms, { sn, seqStart: sn === SnId.ESN64 ? TWO32 - 3 : 1 });
      const ref = new EspSender(opts);
      const tx = new NativeSender(opts);
      const payloads = SIZES.map((n, i) => bytes(n, i));
      const nh = SIZES.map((_, i) => (i % 3 === 0 ? 4 : i % 3 === 1 ? 41 : 17));
      const got = nativeEncap(tx, payloads, nh);
      const want = payloads.map((p, i) => ref.encapsulate(p, nh[i]!));
      got.forEach((g, i) => assert.equal(Buffer.isBuffer(g) && g.toString('hex'), want[i]!.toString('hex'), `packet ${i}`));
      assert.equal(tx.nextSeq, ref.nextSeq);

      const rxOpts: EspReceiverOptions = { ...opts, replay: { size: 64 } };
      assert.deepEqual(userspaceVerdicts(new EspReceiver(rxOpts), got as Buffer[]), nativeVerdicts(new NativeReceiver(rxOpts), want, [5, 3, 64]));
    });
  }
}

test('slab and array inputs give the same packets; TFC padding and Sender-ID IVs match EspSender', { skip }, () => {
  const algorithms = NATIVE_SUITES[0]!.algorithms;
  for (const extra of [{ tfcPadTo: 300 }, { senderIdBits: 8, senderId: 0xa5, ivStart: 0xffff_fff0n }, { senderIdBits: 32, senderId: 7 }]) {
    const opts = params(algorithms, extra);
    const payloads = SIZES.map((n) => bytes(n));
    const nh = payloads.map(() => 4);
    const a = nativeEncap(new NativeSender(opts), payloads, nh);
    const b = nativeEncap(new NativeSender(opts), payloads, nh, true);
    const ref = new EspSender(opts);
    a.forEach((p, i) => {
      assert.deepEqual(p, b[i]);
      assert.deepEqual(p, ref.encapsulate(payloads[i]!, 4), Object.keys(extra).join());
    });
  }
});

test('RFC 7634 Appendix A.1 through the addon (IV from a counter starting at the vector IV)', { skip }, () => {
  const V = JSON.parse(readFileSync(new URL('../../vectors/rfc7634-esp.json', import.meta.url), 'utf8')) as Record<string, string>;
  const algorithms = NATIVE_SUITES.find((s) => s.name === 'ChaCha20-Poly1305')!.algorithms;
  const keys = { encr: Buffer.concat([hex(V['key']!), hex(V['salt']!)]) };
  const spi = hex(V['spi']!).readUInt32BE(0);
  const tx = new NativeSender({ spi, algorithms, keys, sn: SnId.UNSPECIFIED32, seqStart: Number(V['seq']), ivStart: hex(V['iv']!).readBigUInt64BE(0) });
  const [pkt] = nativeEncap(tx, [hex(V['payload']!)], [Number(V['nextHeader'])]);
  const expected = Buffer.concat([hex(V['aad']!), hex(V['iv']!), hex(V['ciphertextAndTag']!)]);
  assert.equal((pkt as Buffer).toString('hex'), expected.toString('hex'));
  const rx = new NativeReceiver({ spi, algorithms, keys });
  assert.deepEqual(nativeVerdicts(rx, [expected], [1]), [`4:5:${V['payload']}`]);
});

test('replay verdicts equal packet-at-a-time: duplicates, old, forged and reordered packets in bursts', { skip }, () => {
  const next = rng(7);
  for (const { algorithms } of NATIVE_SUITES.slice(0, 3)) {
    for (const sn of [SnId.SEQ32, SnId.ESN64] as const) {
      for (const replay of [{ size: 32 }, { size: 64, kind: 'rfc4303' as const }, { size: 0 }]) {
        if (sn === SnId.ESN64 && replay.size === 0) continue;
        const opts = params(algorithms, { sn, seqStart: sn === SnId.ESN64 ? TWO32 - 40 : 1 });
        const tx = new EspSender(opts);
        const sent = Array.from({ length: 120 }, (_, i) => tx.encapsulate(bytes(20 + (i % 7)), i % 10 === 9 ? 59 : 4));
        // Shuffle locally, duplicate some, forge some, replay old ones at the end.
        const stream: Buffer[] = [];
        for (let i = 0; i < sent.length; i++) {
          const j = Math.min(sent.length - 1, i + Math.floor(next() * 6));
          stream.push(sent[j]!);
          if (next() < 0.15) stream.push(sent[j]!);
          if (next() < 0.05) {
            const f = Buffer.from(sent[i]!);
            f[f.length - 1]! ^= 1;
            stream.push(f);
          }
        }
        stream.push(...sent.slice(0, 10));
        const rxOpts: EspReceiverOptions = { ...opts, replay };
        const want = userspaceVerdicts(new EspReceiver(rxOpts), stream);
        for (const bursts of [[1], [7], [32, 3], [stream.length]]) {
          const rx = new NativeReceiver(rxOpts);
          assert.deepEqual(nativeVerdicts(rx, stream, bursts), want, `sn=${sn} ${JSON.stringify(replay)} bursts ${bursts}`);
        }
      }
    }
  }
});

test('ESN: a burst whose window moves into the next SeqHi re-infers later packets (RFC 4303 A.2)', { skip }, () => {
  const algorithms = NATIVE_SUITES[0]!.algorithms;
  const opts = params(algorithms, { sn: SnId.ESN64, seqStart: TWO32 - 100 });
  const tx = new EspSender(opts);
  const sent = Array.from({ length: 300 }, () => tx.encapsulate(bytes(8), 4));
  // 2^32 - 100 .. 2^32 + 199: deliver the top of the range first, then straddlers.
  const stream = [sent[0]!, sent[299]!, sent[60]!, sent[110]!, sent[250]!, sent[95]!, sent[280]!, sent[299]!];
  const rxOpts: EspReceiverOptions = { ...opts, replay: { size: 64 } };
  const want = userspaceVerdicts(new EspReceiver(rxOpts), stream);
  assert.deepEqual(nativeVerdicts(new NativeReceiver(rxOpts), stream, [stream.length]), want);
  assert.ok(want.filter((v) => v.startsWith('4:')).length >= 3, want.join(' '));
});

test('sequence space: SEQ32 stops at 2^32-1, SN value 2 wraps to 1, Sender-ID counters run out', { skip }, () => {
  const algorithms = NATIVE_SUITES[0]!.algorithms;
  const tx = new NativeSender(params(algorithms, { seqStart: 0xffff_fffe }));
  assert.equal(tx.capacity(), 2);
  const r = nativeEncap(tx, [bytes(4), bytes(4), bytes(4)], [4, 4, 4]);
  assert.ok(Buffer.isBuffer(r[0]) && Buffer.isBuffer(r[1]));
  assert.equal(r[2], NativeStatus.EXHAUSTED);
  assert.equal(tx.capacity(), 0);

  const wrap = params(algorithms, { sn: SnId.UNSPECIFIED32, seqStart: 0xffff_ffff });
  const ref = new EspSender(wrap);
  nativeEncap(new NativeSender(wrap), [bytes(1), bytes(2)], [4, 4]).forEach((p, i) =>
    assert.deepEqual(p, ref.encapsulate(bytes(i + 1), 4)),
  );

  const ids = new NativeSender(params(algorithms, { senderIdBits: 32, senderId: 1, ivStart: 0xffff_fffen }));
  assert.equal(ids.capacity(), 2);
  assert.deepEqual(nativeEncap(ids, [bytes(1), bytes(1), bytes(1)], [4, 4, 4]).map((p) => typeof p), ['object', 'object', 'number']);
  assert.equal(ids.nextSeq, 3, 'a refused packet consumes no sequence number');
});

test('hostile arguments and packets: bounds-checked, typed errors, no crash', { skip }, () => {
  const addon = loadNativeAddon();
  const algorithms = NATIVE_SUITES[0]!.algorithms;
  const tx = new NativeSender(params(algorithms));
  const rx = new NativeReceiver(params(algorithms));
  const nh = new Uint8Array(4);
  const res = new Int32Array(12);
  const code = (e: unknown): boolean => (e as { code?: string }).code === 'ERR_GKM_NATIVE_ARGS';
  // Offsets and lengths outside the input, counts beyond the arrays, output slots beyond `out`.
  assert.throws(() => tx.encapBurst({ buffer: Buffer.alloc(10), offsets: Uint32Array.of(8), lengths: Uint32Array.of(3) }, nh, Buffer.alloc(100), new Uint32Array(1), res, 1), code);
  assert.throws(() => tx.encapBurst({ buffer: Buffer.alloc(10), offsets: Uint32Array.of(0xffff_ffff), lengths: Uint32Array.of(2) }, nh, Buffer.alloc(100), new Uint32Array(1), res, 1), code);
  assert.throws(() => tx.encapBurst([bytes(1)], nh, Buffer.alloc(100), new Uint32Array(1), res, 2), code);
  assert.throws(() => tx.encapBurst([bytes(1)], nh, Buffer.alloc(100), new Uint32Array(8), res, 1.5), code);
  tx.encapBurst([bytes(100)], nh, Buffer.alloc(100), Uint32Array.of(0), res, 1);
  assert.equal(res[0], NativeStatus.NO_ROOM);
  tx.encapBurst([bytes(1)], nh, Buffer.alloc(100), Uint32Array.of(101), res, 1);
  assert.equal(res[0], NativeStatus.NO_ROOM);
  // Wrong object types, wrong direction, a destroyed SA.
  assert.throws(() => addon.encap({} as never, tx.state, [bytes(1)], null, null, nh, Buffer.alloc(64), new Uint32Array(1), res, 1), code);
  assert.throws(() => addon.encap(tx['handle' as keyof NativeSender] as never, new BigUint64Array(2), [bytes(1)], null, null, nh, Buffer.alloc(64), new Uint32Array(1), res, 1), code);
  assert.throws(() => addon.decap(tx['handle' as keyof NativeSender] as never, [bytes(1)], null, null, null, Buffer.alloc(64), new Uint32Array(1), res, 1), code);
  assert.throws(() => addon.createSa('aes-128-cbc', Buffer.alloc(20), new Uint32Array(8), true), code);
  assert.throws(() => addon.createSa('aes-128-gcm', Buffer.alloc(19), Uint32Array.of(0x1000, 0, 0, 0, 0, 0, 16, 0), true), code);
  // A getter on the input array that detaches the output buffer: read before any pointer is taken.
  const ab = new ArrayBuffer(256);
  const sneaky: Buffer[] = [];
  Object.defineProperty(sneaky, 0, { get: () => (structuredClone(ab, { transfer: [ab] }), bytes(10)) });
  sneaky.length = 1;
  tx.encapBurst(sneaky, nh, new Uint8Array(ab), Uint32Array.of(0), res, 1);
  assert.equal(res[0], NativeStatus.NO_ROOM, 'the detached output has no room');
  const gone = new NativeSender(params(algorithms));
  gone.close();
  assert.throws(() => nativeEncap(gone, [bytes(1)], [4]), code);

  // Truncated, misaligned, wrong-SPI and random packets: every verdict is a typed drop.
  const good = new EspSender(params(algorithms)).encapsulate(bytes(40), 4);
  const next = rng(99);
  const junk: Buffer[] = [Buffer.alloc(0), good.subarray(0, 7), good.subarray(0, 26), good.subarray(0, good.length - 1)];
  for (let i = 0; i < 300; i++) {
    const p = Buffer.from(good.subarray(0, Math.floor(next() * good.length)));
    for (let k = 8; k < p.length; k++) if (next() < 0.2) p[k] = Math.floor(next() * 256);
    junk.push(p);
  }
  const wrongSpi = Buffer.from(good);
  wrongSpi[0] = 9;
  junk.push(wrongSpi);
  const verdicts = nativeVerdicts(rx, junk, [17]);
  assert.deepEqual(verdicts, userspaceVerdicts(new EspReceiver(params(algorithms)), junk));
  assert.ok(verdicts.every((v) => v.startsWith('GKM_ESP_')), verdicts.join(' '));
});
