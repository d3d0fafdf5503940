import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createIvSource, createSkCipher, type IvSource } from '../../../src/ikev2/crypto/cipher.ts';
import { suiteKeySizes, type ProtectionSuite } from '../../../src/ikev2/crypto/algorithms.ts';
import {
  FragmentReassembler,
  fragmentMessage,
  plainFormOfOutgoing,
  plainFormOfReceived,
  protectMessage,
  unprotectMessage,
} from '../../../src/ikev2/crypto/encrypted-message.ts';
import { decodeMessage, notify, type IkeHeader, type Payload } from '../../../src/ikev2/wire/index.ts';
import { EncrId, ExchangeType, HeaderFlag, IntegId, NotifyType, PayloadType } from '../../../src/ikev2/registry/index.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';

const fixedIv = (hex: string): IvSource => ({ next: () => Buffer.from(hex, 'hex') });

// RFC 7634 Appendix A.2 (IKEv2 example): key 808182..9f, salt a0a1a2a3, IV 1011121314151617,
// an INFORMATIONAL request, Message ID 9, carrying N(SET_WINDOW_SIZE = 10).
test('RFC 7634 A.2: SK message byte for byte', () => {
  const skE = Buffer.concat([Buffer.from('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', 'hex'), Buffer.from('a0a1a2a3', 'hex')]);
  const cipher = createSkCipher({ encrId: EncrId.CHACHA20_POLY1305 }, skE);
  const header: IkeHeader = {
    spiI: Buffer.from('c0c1c2c3c4c5c6c7', 'hex'),
    spiR: Buffer.from('d0d1d2d3d4d5d6d7', 'hex'),
    exchangeType: ExchangeType.INFORMATIONAL,
    flags: 0,
    messageId: 9,
  };
  const win = Buffer.alloc(4);
  win.writeUInt32BE(10);
  const raw = protectMessage(header, [notify(NotifyType.SET_WINDOW_SIZE, win)], cipher, fixedIv('1011121314151617'));
  const expected =
    'c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e202500000000090000004529000029' +
    '1011121314151617' +
    '610394701f8d017f7c129248896b71bfe25236efd7cdc67066906315b2';
  assert.equal(raw.toString('hex'), expected);
  const opened = unprotectMessage(decodeMessage(raw), cipher);
  assert.deepEqual(opened.inner, [notify(NotifyType.SET_WINDOW_SIZE, win)]);
});

const suites: ProtectionSuite[] = [
  { encrId: EncrId.AES_GCM_16, keyLengthBits: 128 },
  { encrId: EncrId.AES_GCM_16, keyLengthBits: 256 },
  { encrId: EncrId.CHACHA20_POLY1305 },
  { encrId: EncrId.AES_CBC, keyLengthBits: 256, integId: IntegId.HMAC_SHA2_256_128 },
];

function cipherFor(s: ProtectionSuite) {
  const sz = suiteKeySizes(s);
  return createSkCipher(s, randomBytes(sz.encr), sz.integ ? randomBytes(sz.integ) : undefined);
}

const header: IkeHeader = {
  spiI: randomBytes(8),
  spiR: randomBytes(8),
  exchangeType: ExchangeType.GSA_AUTH,
  flags: HeaderFlag.INITIATOR,
  messageId: 1,
};
const inner: Payload[] = [
  { type: PayloadType.IDi, idType: 11, data: Buffer.from('member-1') },
  { type: PayloadType.AUTH, method: 2, data: randomBytes(32) },
  { type: PayloadType.IDg, idType: 11, data: Buffer.from('group-1') },
  { type: PayloadType.VENDOR_ID, data: randomBytes(3000) },
];

for (const s of suites) {
  const label = `${s.encrId}/${s.keyLengthBits ?? ''}/${s.integId ?? ''}`;
  test(`SK round trip, tamper detection and A|P (${label})`, () => {
    const cipher = cipherFor(s);
    const raw = protectMessage(header, inner, cipher, createIvSource(cipher));
    const msg = decodeMessage(raw);
    const opened = unprotectMessage(msg, cipher);
    assert.deepEqual(opened.inner, inner);
    assert.deepEqual(plainFormOfReceived(msg, opened), plainFormOfOutgoing(header, inner));
    for (const at of [0, 20, raw.length - 1, msg.encryptedOffset + 2, msg.encryptedOffset + 10]) {
      const bad = Buffer.from(raw);
      bad[at]! ^= 0x01;
      assert.throws(
        () => unprotectMessage(decodeMessage(bad), cipher),
        (e) => isGkmError(e),
        `flip at ${at}`,
      );
    }
  });

  test(`fragmentation and reassembly (${label})`, () => {
    const cipher = cipherFor(s);
    const frags = fragmentMessage(header, inner, cipher, createIvSource(cipher), 1232);
    assert.ok(frags.length >= 3);
    for (const f of frags) assert.ok(f.length <= 1232, `fragment of ${f.length}`);
    const re = new FragmentReassembler(header.messageId);
    // out of order, with a duplicate and a forged fragment that must change nothing
    const order = [...frags.keys()].reverse();
    const forged = Buffer.from(frags[0]!);
    forged[forged.length - 1]! ^= 0xff;
    assert.throws(() => re.add(decodeMessage(forged), cipher), (e) => isGkmError(e, 'GKM_CRYPTO_AUTH_FAILED'));
    let result;
    for (const [k, i] of order.entries()) {
      result = re.add(decodeMessage(frags[i]!), cipher);
      if (k === 0) assert.equal(re.add(decodeMessage(frags[i]!), cipher).complete, false); // duplicate
      assert.equal(result.complete, k === order.length - 1);
    }
    assert.ok(result && result.complete);
    assert.deepEqual(result.inner, inner);
    assert.deepEqual(plainFormOfReceived(result.first, result), plainFormOfOutgoing(header, inner));
  });
}

test('RFC 7383 §2.6: fewer-total fragment dropped, more-total restarts', () => {
  const cipher = cipherFor(suites[0]!);
  const big = fragmentMessage(header, inner, cipher, createIvSource(cipher), 700);
  const small = fragmentMessage(header, inner, cipher, createIvSource(cipher), 1400);
  assert.ok(big.length > small.length);
  const re = new FragmentReassembler(header.messageId);
  re.add(decodeMessage(small[0]!), cipher);
  for (const f of big.slice(0, -1)) assert.equal(re.add(decodeMessage(f), cipher).complete, false);
  assert.equal(re.add(decodeMessage(small[1]!), cipher).complete, false); // fewer: dropped
  const done = re.add(decodeMessage(big.at(-1)!), cipher);
  assert.ok(done.complete);
  assert.deepEqual(done.inner, inner);
});
