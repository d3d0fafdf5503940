import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { nativeXdhGroup, nodeXdhGroup, xdhPath, type DhGroup, type XdhCurveName } from '../../../src/ikev2/crypto/ke-dh.ts';
import { ikeNativeCrypto, type IkeNativeCrypto } from '../../../src/ikev2/crypto/native.ts';
import { lowOrderValues } from '../../../src/ikev2/crypto/xdh-low-order.ts';
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

// --- X25519 / X448 on both paths: the native addon (CI: GKM_REQUIRE_NATIVE=1) and node:crypto ----

const native = ikeNativeCrypto();
const nativeRequired = process.env['GKM_REQUIRE_NATIVE'] === '1' || process.env['CI'] !== undefined;
const XDH_PATHS: readonly (readonly [string, (curve: XdhCurveName) => DhGroup])[] = [
  ...(native ? [['native addon', (c: XdhCurveName) => nativeXdhGroup(c, native)] as const] : []),
  ['node:crypto', nodeXdhGroup],
];

test('the native addon is loaded where CI requires it, and dhGroups uses it', () => {
  if (!nativeRequired && !native) return;
  assert.ok(native, 'GKM_REQUIRE_NATIVE=1 but the addon (with its IKE functions) did not load');
  assert.equal(xdhPath, 'native addon');
});

/** X(k, u) through a group: a key pair from the fixed private key k, then derive(u). */
const scalarMult = (group: DhGroup, k: Buffer, u: Buffer): Buffer => group.generate(k).derive(u);

// RFC 7748 §5.2 (both X25519 cases, the second X448 case) and §5.2's iterated test.
const RFC7748 = {
  x25519: {
    cases: [
      ['a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4', 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c', 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'],
      ['4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d', 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493', '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957'],
    ],
    base: 9,
    after1: '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
    after1000: '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51',
  },
  x448: {
    cases: [
      [
        '203d494428b8399352665ddca42f9de8fef600908e0d461cb021f8c538345dd77c3e4806e25f46d3315c44e0a5b4371282dd2c8d5be3095f',
        '0fbcc2f993cd56d3305b0b7d9e55d4c1a8fb5dbb52f8e9a1e9b6201b165d015894e56c4d3570bee52fe205e28a78b91cdfbde71ce8d157db',
        '884a02576239ff7a2f2f63b2db6a9ff37047ac13568e1e30fe63c4a7ad1b3ee3a5700df34321d62077e63633c575c1c954514e99da7c179d',
      ],
    ],
    base: 5,
    after1: '3f482c8a9f19b01e6c46ee9711d9dc14fd4bf67af30765c2ae2b846a4d23a8cd0db897086239492caf350b51f833868b9bc2b3bca9cf4113',
    after1000: 'aa3b4749d55b9daf1e5b00288826c467274ce3ebbdd5c17b975e09d4af6c67cf10d087202db88286e2b79fceea3ec353ef54faa26e219f38',
  },
} as const;

for (const [path, make] of XDH_PATHS) {
  test(`RFC 7748 §5.2 X25519/X448 vectors and the 1 / 1,000 iteration test (${path})`, () => {
    for (const curve of ['x25519', 'x448'] as const) {
      const v = RFC7748[curve];
      const group = make(curve);
      for (const [k, u, out] of v.cases) assert.equal(scalarMult(group, hex(k), hex(u)).toString('hex'), out, `${curve} ${k}`);
      let k: Buffer = Buffer.alloc(group.publicLength);
      k[0] = v.base;
      let u: Buffer = Buffer.from(k);
      for (let i = 1; i <= 1000; i++) {
        [k, u] = [scalarMult(group, k, u), k];
        if (i === 1) assert.equal(k.toString('hex'), v.after1, `${curve} after 1 iteration`);
      }
      assert.equal(k.toString('hex'), v.after1000, `${curve} after 1,000 iterations`);
    }
  });

  test(`RFC 7748 §6.1 X25519 key agreement: public values and K (${path})`, () => {
    const group = make('x25519');
    const alice = group.generate(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const bob = group.generate(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    assert.equal(alice.publicData.toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    assert.equal(bob.publicData.toString('hex'), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    assert.equal(alice.derive(bob.publicData).toString('hex'), k);
    assert.equal(bob.derive(alice.publicData).toString('hex'), k);
  });

  test(`Wycheproof X25519, every case, and low-order points give the all-zero rejection (${path})`, () => {
    const group = make('x25519');
    const file = vectors('wycheproof-x25519.json');
    for (const t of file.tests) {
      const run = () => scalarMult(group, hex(t.private), hex(t.public));
      if (/^0+$/.test(t.shared)) assert.throws(run, isInvalidKe, `tcId ${t.tcId}`);
      else assert.equal(run().toString('hex'), t.shared, `tcId ${t.tcId}`);
    }
    // u = 0, 1, the two points of order 8, p - 1 (order 2), p and p + 1, also with bit 255 set
    // (masked, RFC 7748 §5): X25519 of any clamped scalar with them is 0 (xdh-low-order.ts).
    const lowOrder = lowOrderValues('x25519').map((u) => u.toString('hex'));
    for (const u of lowOrder) {
      for (const point of [hex(u), Buffer.from(hex(u).map((b, i) => (i === 31 ? b | 0x80 : b)))]) {
        const pair = group.generate();
        assert.throws(() => pair.derive(point), isInvalidKe, u);
        pair.dispose();
      }
    }
  });
}

test('native and node:crypto agree on random private keys and peer values (X25519, X448)', { skip: !native && 'addon not loaded' }, () => {
  for (const curve of ['x25519', 'x448'] as const) {
    const a = nativeXdhGroup(curve, native!);
    const b = nodeXdhGroup(curve);
    for (let i = 0; i < 100; i++) {
      const k = randomBytes(a.publicLength);
      const peer = randomBytes(a.publicLength); // any u-coordinate: on the curve or its twist
      const pa = a.generate(k);
      const pb = b.generate(k);
      assert.deepEqual(pa.publicData, pb.publicData, `${curve} public value`);
      assert.deepEqual(pa.derive(peer), pb.derive(peer), `${curve} shared secret`);
      // Fresh native key pairs interoperate with node:crypto ones.
      const fresh = a.generate();
      const other = b.generate();
      assert.deepEqual(fresh.derive(other.publicData), other.derive(fresh.publicData));
      assert.equal(fresh.publicData.length, a.publicLength);
    }
  }
});

test('native X25519: dispose wipes the private key; wrong lengths are typed errors', { skip: !native && 'addon not loaded' }, () => {
  let seen: Uint8Array | undefined;
  const spy: IkeNativeCrypto = {
    ...native!,
    xdhGenerate(curve, priv, pub) {
      seen = priv;
      native!.xdhGenerate(curve, priv, pub);
    },
  };
  const group = nativeXdhGroup('x25519', spy);
  const pair = group.generate();
  assert.ok(seen && seen.some((b) => b !== 0));
  assert.equal(seen[0]! & 7, 0, 'clamped (RFC 7748 §5)');
  assert.equal(seen[31]! & 0xc0, 0x40, 'clamped (RFC 7748 §5)');
  pair.dispose();
  assert.ok(seen.every((b) => b === 0), 'private key wiped');
  assert.throws(() => pair.derive(Buffer.alloc(32, 9)), (e) => isGkmError(e, 'GKM_CRYPTO_INTERNAL'));
  assert.throws(() => group.generate().derive(Buffer.alloc(31, 9)), isInvalidKe);
  assert.throws(() => group.generate(Buffer.alloc(31, 1)), (e) => isGkmError(e, 'GKM_CRYPTO_BAD_KEY_LENGTH'));
});
