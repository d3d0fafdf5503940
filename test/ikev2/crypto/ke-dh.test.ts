import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  createInitiatorKe,
  createInitiatorKeForTest,
  keDataLength,
  respondKe,
  respondKeForTest,
} from '../../../src/ikev2/crypto/ke.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { KeId } from '../../../src/ikev2/registry/transform.ts';

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8'));
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const isInvalidKe = (e: unknown): boolean => isGkmError(e, 'GKM_CRYPTO_INVALID_KE');

interface KnownExchange {
  method: number;
  i: string;
  gi: string;
  r: string;
  gr: string;
  gir: string;
}

/** Both roles from fixed private keys: public values and g^ir must match the vector. */
function checkKnownExchange(v: KnownExchange): void {
  const initiator = createInitiatorKeForTest(v.method, hex(v.i));
  assert.equal(initiator.publicData().toString('hex'), v.gi);
  const response = respondKeForTest(v.method, hex(v.gi), hex(v.r));
  assert.equal(response.publicData.toString('hex'), v.gr);
  assert.equal(response.sharedSecret.toString('hex'), v.gir);
  assert.equal(initiator.complete(hex(v.gr)).toString('hex'), v.gir);
}

test('RFC 8031 Appendix A: X25519 known answer', () => {
  const file = vectors('ke-rfc8031-x25519.json');
  for (const c of file.cases) checkKnownExchange({ method: file.method, ...c });
});

test('RFC 5903 §8: ECP-256/384/521 known answers (x || y KE data, x-only secret)', () => {
  const file = vectors('ke-rfc5903-ecp.json');
  assert.equal(file.cases.length, 3);
  for (const c of file.cases) checkKnownExchange(c);
});

test('Wycheproof X25519: results, and all-zero shared secrets rejected', () => {
  const file = vectors('wycheproof-x25519.json');
  for (const t of file.tests) {
    const run = () => respondKeForTest(file.method, hex(t.public), hex(t.private)).sharedSecret;
    if (/^0+$/.test(t.shared)) {
      assert.throws(run, isInvalidKe, `tcId ${t.tcId}`);
    } else {
      assert.equal(run().toString('hex'), t.shared, `tcId ${t.tcId}`);
    }
  }
});

test('Wycheproof ECDH secp256r1 (ecpoint): results, invalid and compressed points rejected', () => {
  const file = vectors('wycheproof-ecdh-secp256r1-ecpoint.json');
  let rejected = 0;
  for (const t of file.tests) {
    const point = hex(t.public);
    // IKE carries x || y only (RFC 5903 §7): strip the X9.62 uncompressed marker.
    const keData = point[0] === 0x04 ? point.subarray(1) : point;
    const run = () => respondKeForTest(file.method, keData, hex(t.private)).sharedSecret;
    if (t.result === 'invalid' || point[0] !== 0x04) {
      assert.throws(run, isInvalidKe, `tcId ${t.tcId}`);
      rejected++;
    } else {
      assert.equal(run().toString('hex'), t.shared, `tcId ${t.tcId}`);
    }
  }
  assert.ok(rejected >= 8);
});

const DH_METHODS = [KeId.MODP2048, KeId.ECP256, KeId.ECP384, KeId.ECP521, KeId.CURVE25519, KeId.CURVE448];

test('DH round trips: initiator and responder agree, sizes per RFC 5903 / RFC 8031 / RFC 3526', () => {
  const sizes: Record<number, [number, number]> = {
    [KeId.MODP2048]: [256, 256],
    [KeId.ECP256]: [64, 32],
    [KeId.ECP384]: [96, 48],
    [KeId.ECP521]: [132, 66],
    [KeId.CURVE25519]: [32, 32],
    [KeId.CURVE448]: [56, 56],
  };
  for (const method of DH_METHODS) {
    const [dataLength, secretLength] = sizes[method]!;
    const initiator = createInitiatorKe(method);
    assert.equal(initiator.publicData().length, dataLength);
    assert.equal(keDataLength(method, 'initiator'), dataLength);
    assert.equal(keDataLength(method, 'responder'), dataLength);
    const response = respondKe(method, initiator.publicData());
    assert.equal(response.publicData.length, dataLength);
    assert.equal(response.sharedSecret.length, secretLength);
    assert.deepEqual(initiator.complete(response.publicData), response.sharedSecret, `method ${method}`);
  }
});

test('wrong KE data lengths are rejected for every DH method, both roles', () => {
  for (const method of DH_METHODS) {
    const length = keDataLength(method, 'initiator');
    for (const bad of [0, length - 1, length + 1]) {
      assert.throws(() => respondKe(method, Buffer.alloc(bad, 1)), isInvalidKe);
      assert.throws(() => createInitiatorKe(method).complete(Buffer.alloc(bad, 1)), isInvalidKe);
    }
  }
});

test('MODP-2048: public values outside 1 < y < p-1 are rejected (RFC 6989 §2.1)', () => {
  const p = hex(
    'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404dd' +
      'ef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed' +
      'ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da48361c55d39a69163fa8fd24cf5f' +
      '83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b' +
      'e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf6955817183995497cea956ae515d2261898fa0510' +
      '15728e5a8aacaa68ffffffffffffffff',
  );
  const pMinusOne = Buffer.from(p);
  pMinusOne[255] = 0xfe;
  const one = Buffer.alloc(256);
  one[255] = 1;
  for (const y of [Buffer.alloc(256), one, pMinusOne, p, Buffer.alloc(256, 0xff)]) {
    assert.throws(() => respondKe(KeId.MODP2048, y), isInvalidKe);
  }
  const two = Buffer.alloc(256);
  two[255] = 2;
  assert.equal(respondKe(KeId.MODP2048, two).sharedSecret.length, 256);
});

test('an initiator completes once; dispose ends it; unsupported methods are refused', () => {
  const initiator = createInitiatorKe(KeId.CURVE25519);
  const response = respondKe(KeId.CURVE25519, initiator.publicData());
  initiator.complete(response.publicData);
  assert.throws(() => initiator.complete(response.publicData), (e) => isGkmError(e, 'GKM_CRYPTO_INTERNAL'));

  const abandoned = createInitiatorKe(KeId.ECP256);
  abandoned.dispose();
  assert.throws(() => abandoned.complete(Buffer.alloc(64)), (e) => isGkmError(e, 'GKM_CRYPTO_INTERNAL'));

  // An invalid responder value also consumes the initiator (no retry on the same key).
  const once = createInitiatorKe(KeId.CURVE25519);
  assert.throws(() => once.complete(Buffer.alloc(32)), isInvalidKe);
  assert.throws(() => once.complete(respondKe(KeId.CURVE25519, once.publicData()).publicData));

  for (const method of [KeId.NONE, 1, 2, 5, 22, 33, 34, 38, 40000]) {
    assert.throws(() => createInitiatorKe(method), (e) => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED'));
  }
});
