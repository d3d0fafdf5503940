import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isGkmError } from '../../src/ikev2/errors.ts';
import { EncrId, IntegId, SnId } from '../../src/ikev2/registry/transform.ts';
import {
  createEspCipher,
  espSuite,
  EspReceiver,
  EspSender,
  keymatLength,
  senderIdFromIv,
  splitKeymat,
  type IvGenerator,
} from '../../src/datapath/esp/index.ts';
import { bytes, GCM128, hex, keysFor, rng, SUITES, throwsCode } from './helpers.ts';

interface Rfc7634Vector {
  source: string;
  key: string;
  salt: string;
  iv: string;
  spi: string;
  seq: number;
  aad: string;
  payload: string;
  nextHeader: number;
  ciphertextAndTag: string;
}
const V = JSON.parse(readFileSync(new URL('../vectors/rfc7634-esp.json', import.meta.url), 'utf8')) as Rfc7634Vector;

const fixedIv = (iv: Buffer): IvGenerator => ({ next: (pkt, off) => void iv.copy(pkt, off) });

test('RFC 7634 Appendix A.1 ESP example, byte for byte', () => {
  assert.equal(V.source, 'RFC 7634 Appendix A.1');
  const algorithms = { encr: EncrId.CHACHA20_POLY1305 };
  const keys = { encr: Buffer.concat([hex(V.key), hex(V.salt)]) };
  const spi = hex(V.spi).readUInt32BE(0);
  const sender = new EspSender({ spi, algorithms, keys, seqStart: V.seq, iv: fixedIv(hex(V.iv)) });
  const pkt = sender.encapsulate(hex(V.payload), V.nextHeader);
  const expected = Buffer.concat([hex(V.aad), hex(V.iv), hex(V.ciphertextAndTag)]);
  assert.equal(pkt.toString('hex'), expected.toString('hex'));

  const receiver = new EspReceiver({ spi, algorithms, keys });
  const out = receiver.decapsulate(expected);
  assert.ok(out);
  assert.equal(out.nextHeader, 4);
  assert.equal(out.seq, 5);
  assert.equal(out.payload.toString('hex'), V.payload);
});

for (const { name, algorithms } of SUITES) {
  for (const sn of [SnId.SEQ32, SnId.ESN64] as const) {
    test(`round trip ${name} sn=${sn}`, () => {
      const keys = keysFor(algorithms);
      const spi = 0x1000;
      const sender = new EspSender({ spi, algorithms, keys, sn });
      const receiver = new EspReceiver({ spi, algorithms, keys, sn });
      const suite = espSuite(algorithms);
      for (const len of [0, 1, 2, 3, 15, 16, 63, 64, 512, 1400]) {
        const payload = bytes(len, len);
        const pkt = sender.encapsulate(payload, 17);
        assert.equal(pkt.length, sender.packetLength(len));
        const ct = pkt.length - 8 - suite.ivLength - suite.icvLength;
        assert.equal(ct % suite.align, 0);
        const out = receiver.decapsulate(pkt);
        assert.ok(out);
        assert.equal(out.nextHeader, 17);
        assert.deepEqual(out.payload, payload);
      }
    });
  }
}

test('AES-GCM ICV and ciphertext match an independent RFC 4106 computation (with and without ESN)', () => {
  const keys = keysFor(GCM128);
  for (const sn of [SnId.SEQ32, SnId.ESN64] as const) {
    const sender = new EspSender({ spi: 0x4242, algorithms: GCM128, keys, sn, seqStart: sn === SnId.ESN64 ? 0x1_0000_0005 : 5 });
    const payload = bytes(100);
    const pkt = sender.encapsulate(payload, 4);
    const seqHi = sn === SnId.ESN64 ? 1 : -1;
    assert.equal(pkt.readUInt32BE(4), 5);
    // IV = 64-bit sequence number for unicast SAs.
    assert.equal(pkt.readUInt32BE(8), sn === SnId.ESN64 ? 1 : 0);
    assert.equal(pkt.readUInt32BE(12), 5);
    const nonce = Buffer.concat([keys.encr.subarray(16), pkt.subarray(8, 16)]);
    const c = createCipheriv('aes-128-gcm', keys.encr.subarray(0, 16), nonce, { authTagLength: 16 });
    const aad = seqHi < 0 ? pkt.subarray(0, 8) : Buffer.concat([pkt.subarray(0, 4), Buffer.from([0, 0, 0, 1]), pkt.subarray(4, 8)]);
    c.setAAD(aad);
    const plain = Buffer.concat([payload, Buffer.from([1, 2, 2, 4])]); // 100 + 2 pad + 2 = 104
    const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    assert.equal(pkt.subarray(16).toString('hex'), ct.toString('hex'));
  }
});

test('AES-GMAC (RFC 4543): payload in clear, ICV over SPI..NH with the IV, SeqHi for ESN', () => {
  const algorithms = { encr: EncrId.NULL_AUTH_AES_GMAC, keyBits: 128 };
  const keys = keysFor(algorithms);
  for (const sn of [SnId.SEQ32, SnId.ESN64] as const) {
    const sender = new EspSender({ spi: 0x777, algorithms, keys, sn });
    const payload = bytes(33);
    const pkt = sender.encapsulate(payload, 6);
    assert.deepEqual(pkt.subarray(16, 49), payload);
    const end = pkt.length - 16;
    const nonce = Buffer.concat([keys.encr.subarray(16), pkt.subarray(8, 16)]);
    const c = createCipheriv('aes-128-gcm', keys.encr.subarray(0, 16), nonce, { authTagLength: 16 });
    c.setAAD(sn === SnId.ESN64 ? Buffer.concat([pkt.subarray(0, 4), Buffer.alloc(4), pkt.subarray(4, end)]) : pkt.subarray(0, end));
    c.final();
    assert.deepEqual(pkt.subarray(end), c.getAuthTag());
    const receiver = new EspReceiver({ spi: 0x777, algorithms, keys, sn });
    const flipped = Buffer.from(pkt);
    flipped[20]! ^= 1; // a payload byte: integrity-protected
    throwsCode(() => receiver.decapsulate(flipped), 'GKM_ESP_AUTH_FAILED');
    assert.deepEqual(receiver.decapsulate(pkt)?.payload, payload);
  }
});

test('AES-CBC + HMAC: ICV = HMAC(SPI..NH [|| SeqHi]) truncated; random IVs', () => {
  const algorithms = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 };
  const keys = keysFor(algorithms);
  const sender = new EspSender({ spi: 0x999, algorithms, keys, sn: SnId.ESN64, seqStart: 0x2_0000_0001 });
  const a = sender.encapsulate(bytes(40), 41);
  const b = sender.encapsulate(bytes(40), 41);
  assert.notDeepEqual(a.subarray(8, 24), b.subarray(8, 24));
  const end = a.length - 16;
  const mac = createHmac('sha256', keys.integ!).update(a.subarray(0, end)).update(Buffer.from([0, 0, 0, 2])).digest();
  assert.deepEqual(a.subarray(end), mac.subarray(0, 16));
});

test('KEYMAT split: encryption key (with salt) first, then integrity key', () => {
  const suite = espSuite({ encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_256_128 });
  assert.equal(keymatLength(suite), 64);
  const k = splitKeymat(suite, bytes(64));
  assert.deepEqual(k.encr, bytes(64).subarray(0, 32));
  assert.deepEqual(k.integ, bytes(64).subarray(32));
  assert.equal(keymatLength(espSuite(GCM128)), 20);
  throwsCode(() => splitKeymat(suite, bytes(63)), 'GKM_CRYPTO_BAD_KEY_LENGTH');
});

test('replayed packets are dropped; forged ones do not move the window', () => {
  const keys = keysFor(GCM128);
  const sender = new EspSender({ spi: 0x500, algorithms: GCM128, keys });
  const receiver = new EspReceiver({ spi: 0x500, algorithms: GCM128, keys });
  const p1 = sender.encapsulate(bytes(10), 17);
  const p2 = sender.encapsulate(bytes(10), 17);
  assert.ok(receiver.decapsulate(p1));
  throwsCode(() => receiver.decapsulate(p1), 'GKM_ESP_REPLAY');
  const forged = Buffer.from(p2);
  forged[forged.length - 1]! ^= 0x80;
  throwsCode(() => receiver.decapsulate(forged), 'GKM_ESP_AUTH_FAILED');
  assert.equal(receiver.window?.top, 1);
  // A forged packet far ahead must not advance the window either.
  const far = Buffer.from(p2);
  far.writeUInt32BE(1_000_000, 4);
  throwsCode(() => receiver.decapsulate(far), 'GKM_ESP_AUTH_FAILED');
  assert.equal(receiver.window?.top, 1);
  assert.ok(receiver.decapsulate(p2));
});

test('padding is checked (1, 2, 3, ...) and pad length bounded', () => {
  const keys = keysFor(GCM128);
  const cipher = createEspCipher(espSuite(GCM128), keys);
  const receiver = new EspReceiver({ spi: 0x600, algorithms: GCM128, keys, replay: { size: 0 } });
  const build = (plain: Buffer, seq: number): Buffer => {
    const pkt = Buffer.alloc(16 + plain.length + 16);
    pkt.writeUInt32BE(0x600, 0);
    pkt.writeUInt32BE(seq, 4);
    pkt.writeUInt32BE(seq, 12);
    plain.copy(pkt, 16);
    cipher.seal(pkt, 16 + plain.length, -1);
    return pkt;
  };
  assert.deepEqual(receiver.decapsulate(build(Buffer.from([9, 9, 0, 17]), 1))?.payload, Buffer.from([9, 9]));
  throwsCode(() => receiver.decapsulate(build(Buffer.from([1, 3, 2, 17]), 2)), 'GKM_ESP_BAD_PADDING'); // wrong 2nd pad byte
  throwsCode(() => receiver.decapsulate(build(Buffer.from([1, 2, 9, 17]), 3)), 'GKM_ESP_BAD_PADDING'); // pad length > plaintext
  throwsCode(() => receiver.decapsulate(build(Buffer.from([7, 2, 2, 17]), 4)), 'GKM_ESP_BAD_PADDING'); // wrong 1st pad byte
  const ok = receiver.decapsulate(build(Buffer.from([5, 5, 5, 5, 1, 2, 2, 17]), 5));
  assert.deepEqual(ok?.payload, Buffer.from([5, 5, 5, 5]));
});

test('TFC padding pads the payload; dummy packets (NH 59) are silently dropped', () => {
  const keys = keysFor(GCM128);
  const sender = new EspSender({ spi: 0x700, algorithms: GCM128, keys, tfcPadTo: 200 });
  const receiver = new EspReceiver({ spi: 0x700, algorithms: GCM128, keys });
  const pkt = sender.encapsulate(bytes(20), 4);
  assert.equal(pkt.length, 8 + 8 + 204 + 16);
  const out = receiver.decapsulate(pkt);
  assert.equal(out?.payload.length, 200);
  assert.deepEqual(out?.payload.subarray(0, 20), bytes(20));
  assert.ok(out?.payload.subarray(20).every((b) => b === 0));
  const dummy = sender.dummy(64);
  assert.equal(receiver.decapsulate(dummy), null);
  throwsCode(() => receiver.decapsulate(dummy), 'GKM_ESP_REPLAY'); // still sequence-checked
});

test('malformed packets are rejected with typed errors only', () => {
  const keys = keysFor(GCM128);
  const sender = new EspSender({ spi: 0x800, algorithms: GCM128, keys });
  const receiver = new EspReceiver({ spi: 0x800, algorithms: GCM128, keys, replay: { size: 0 } });
  const good = sender.encapsulate(bytes(50), 17);
  throwsCode(() => receiver.decapsulate(Buffer.alloc(0)), 'GKM_ESP_MALFORMED');
  throwsCode(() => receiver.decapsulate(good.subarray(0, 33)), 'GKM_ESP_MALFORMED');
  throwsCode(() => receiver.decapsulate(good.subarray(0, good.length - 1)), 'GKM_ESP_MALFORMED');
  const otherSpi = Buffer.from(good);
  otherSpi.writeUInt32BE(0x801, 0);
  throwsCode(() => receiver.decapsulate(otherSpi), 'GKM_ESP_NO_SA');
  const cbc = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 };
  const cbcRx = new EspReceiver({ spi: 0x800, algorithms: cbc, keys: keysFor(cbc) });
  throwsCode(() => cbcRx.decapsulate(Buffer.alloc(8 + 16 + 8 + 16)), 'GKM_ESP_MALFORMED'); // 8 is not a block

  const rand = rng(7);
  for (const { algorithms } of SUITES) {
    const k = keysFor(algorithms);
    const tx = new EspSender({ spi: 0x900, algorithms, keys: k, sn: SnId.ESN64 });
    const rx = new EspReceiver({ spi: 0x900, algorithms, keys: k, sn: SnId.ESN64 });
    for (let i = 0; i < 150; i++) {
      const pkt = Buffer.from(tx.encapsulate(bytes(Math.floor(rand() * 100)), 4));
      const cut = rand() < 0.3 ? pkt.subarray(0, Math.floor(rand() * pkt.length)) : pkt;
      const n = 1 + Math.floor(rand() * 3);
      for (let j = 0; j < n && cut.length > 0; j++) cut[Math.floor(rand() * cut.length)]! ^= 1 + Math.floor(rand() * 255);
      try {
        rx.decapsulate(cut);
      } catch (e) {
        assert.ok(isGkmError(e), `non-GkmError: ${String(e)}`);
      }
    }
  }
});

test('multi-sender group SA: RFC 6054 IV = Sender-ID || counter, per-sender replay', () => {
  const keys = keysFor(GCM128);
  const base = { spi: 0xa00, algorithms: GCM128, keys, sn: SnId.UNSPECIFIED32, senderIdBits: 8 } as const;
  const s5 = new EspSender({ ...base, senderId: 5 });
  const s9 = new EspSender({ ...base, senderId: 9 });
  const p5a = s5.encapsulate(bytes(10), 17);
  const p5b = s5.encapsulate(bytes(10), 17);
  const p9a = s9.encapsulate(bytes(10), 17);
  assert.equal(p5a.subarray(8, 16).toString('hex'), '0500000000000001');
  assert.equal(p5b.subarray(8, 16).toString('hex'), '0500000000000002');
  assert.equal(p9a.subarray(8, 16).toString('hex'), '0900000000000001');
  assert.equal(senderIdFromIv(p9a, 8, 8), 9);
  // Both senders use sequence number 1: per-sender state accepts both, rejects replays.
  const rx = new EspReceiver({ ...base, perSenderReplay: true });
  assert.equal(rx.decapsulate(p5a)?.senderId, 5);
  assert.equal(rx.decapsulate(p9a)?.senderId, 9);
  assert.ok(rx.decapsulate(p5b));
  throwsCode(() => rx.decapsulate(p9a), 'GKM_ESP_REPLAY');
  throwsCode(() => rx.decapsulate(p5a), 'GKM_ESP_REPLAY');
  assert.equal(rx.perSender?.senders, 2);
  // SN value 2 without per-sender state: no replay check.
  const open = new EspReceiver({ ...base, replay: { size: 1024 } });
  assert.ok(open.decapsulate(p5a));
  assert.ok(open.decapsulate(p5a));
  assert.equal(open.window, null);

  const wide = new EspSender({ ...base, senderIdBits: 32, senderId: 0xdeadbeef });
  assert.equal(wide.encapsulate(bytes(1), 17).subarray(8, 16).toString('hex'), 'deadbeef00000001');
  const narrow = new EspSender({ ...base, senderIdBits: 3, senderId: 7 });
  assert.equal(narrow.encapsulate(bytes(1), 17).subarray(8, 16).toString('hex'), 'e000000000000001');
  const last = new EspSender({ ...base, senderIdBits: 32, senderId: 1, ivStart: 0xffff_ffffn });
  assert.equal(last.encapsulate(bytes(1), 17).subarray(8, 16).toString('hex'), '00000001ffffffff');
  throwsCode(() => last.encapsulate(bytes(1), 17), 'GKM_ESP_SEQ_EXHAUSTED');
});

test('sequence numbers: 32-bit exhaustion, SN 2 wrap, ESN across 2^32', () => {
  const keys = keysFor(GCM128);
  const s32 = new EspSender({ spi: 0xb00, algorithms: GCM128, keys, seqStart: 0xffff_ffff });
  s32.encapsulate(bytes(1), 17);
  throwsCode(() => s32.encapsulate(bytes(1), 17), 'GKM_ESP_SEQ_EXHAUSTED');

  const s2 = new EspSender({ spi: 0xb00, algorithms: GCM128, keys, sn: SnId.UNSPECIFIED32, seqStart: 0xffff_ffff });
  const a = s2.encapsulate(bytes(1), 17);
  const b = s2.encapsulate(bytes(1), 17);
  assert.equal(a.readUInt32BE(4), 0xffff_ffff);
  assert.equal(b.readUInt32BE(4), 1);
  assert.notDeepEqual(a.subarray(8, 16), b.subarray(8, 16)); // IV counter does not wrap

  const esnTx = new EspSender({ spi: 0xb01, algorithms: GCM128, keys, sn: SnId.ESN64, seqStart: 0xffff_fffe });
  const esnRx = new EspReceiver({ spi: 0xb01, algorithms: GCM128, keys, sn: SnId.ESN64 });
  esnRx.window?.reset(0xffff_fffd);
  const pkts = [0, 1, 2, 3].map(() => esnTx.encapsulate(bytes(8), 17));
  assert.equal(esnRx.decapsulate(pkts[0]!)?.seq, 0xffff_fffe);
  assert.equal(esnRx.decapsulate(pkts[2]!)?.seq, 0x1_0000_0000);
  assert.equal(esnRx.decapsulate(pkts[1]!)?.seq, 0xffff_ffff); // late, inferred into the old subspace
  assert.equal(esnRx.decapsulate(pkts[3]!)?.seq, 0x1_0000_0001);
  throwsCode(() => esnRx.decapsulate(pkts[1]!), 'GKM_ESP_REPLAY');
});

test('invalid SA configurations are typed errors', () => {
  const keys = keysFor(GCM128);
  throwsCode(() => new EspSender({ spi: 0x100, algorithms: GCM128, keys, sn: SnId.ESN64, senderIdBits: 8, senderId: 1 }), 'GKM_ESP_BAD_CONFIG');
  const cbc = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 };
  throwsCode(() => new EspSender({ spi: 0x100, algorithms: cbc, keys: keysFor(cbc), senderIdBits: 8, senderId: 1 }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => new EspSender({ spi: 0x100, algorithms: GCM128, keys, senderIdBits: 8, senderId: 256 }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => new EspSender({ spi: 0x100, algorithms: GCM128, keys, senderIdBits: 8 }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => new EspSender({ spi: 0x100, algorithms: GCM128, keys, senderIdBits: 33, senderId: 1 }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => new EspReceiver({ spi: 0x100, algorithms: GCM128, keys, perSenderReplay: true }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => new EspSender({ spi: 255, algorithms: GCM128, keys }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => new EspSender({ spi: 0x100, algorithms: GCM128, keys: { encr: bytes(16) } }), 'GKM_CRYPTO_BAD_KEY_LENGTH');
  throwsCode(() => new EspSender({ spi: 0x100, algorithms: { encr: EncrId['3DES'] }, keys }), 'GKM_CRYPTO_UNSUPPORTED');
  throwsCode(() => new EspSender({ spi: 0x100, algorithms: { encr: EncrId.AES_GCM_16, keyBits: 100 }, keys }), 'GKM_CRYPTO_UNSUPPORTED');
  throwsCode(() => new EspSender({ spi: 0x100, algorithms: { ...GCM128, integ: IntegId.HMAC_SHA2_256_128 }, keys }), 'GKM_CRYPTO_UNSUPPORTED');
});
