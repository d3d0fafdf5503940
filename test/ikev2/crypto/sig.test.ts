import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  algorithmIdentifierForKey,
  checkAlgorithmIdentifierFitsKey,
  defaultSchemeForKey,
  parseSignatureAuth,
  schemesForKey,
  signAuth,
  signatureAlgorithmIdentifier,
  signatureHashAlgorithmsFor,
  signatureLength,
  verifyAuth,
  type SignatureScheme,
} from '../../../src/ikev2/crypto/sig.ts';
import { SCHEMES } from '../../../src/ikev2/crypto/sig-schemes.ts';
import { publicKeyToSpki, spkiAlgorithmIdentifier, spkiToPublicKey } from '../../../src/ikev2/crypto/spki.ts';
import { isGkmError, type ErrorCode } from '../../../src/ikev2/errors.ts';
import { HashAlgorithm } from '../../../src/ikev2/registry/misc.ts';

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8'));
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const fails = (code: ErrorCode) => (e: unknown) => isGkmError(e, code);
const badSignature = fails('GKM_CRYPTO_BAD_SIGNATURE');
const badValue = fails('GKM_WIRE_BAD_VALUE');

/** RFC 7427 §3 AUTH data: ASN.1 Length | AlgorithmIdentifier | Signature Value. */
const authData = (algId: Buffer, signature: Buffer): Buffer => Buffer.concat([Buffer.of(algId.length), algId, signature]);

/** id-RSASSA-PSS key bound to SHA-256, MGF1-SHA-256, salt 32 (@types/node 20 types saltLength as a string). */
const rsaPssKeyPair = () =>
  generateKeyPairSync('rsa-pss', {
    modulusLength: 2048,
    hashAlgorithm: 'sha256',
    mgf1HashAlgorithm: 'sha256',
    saltLength: 32 as unknown as string,
  });

const RFC7427_RSASSA_PSS_SHA256 =
  '3041' + '06092a864886f70d01010a' + '3034' + 'a00f300d06096086480165030402010500' +
  'a11c301a06092a864886f70d010108300d06096086480165030402010500' + 'a203020120';

test('AlgorithmIdentifier DER: the RFC 7427 / RFC 8420 constants, byte for byte', () => {
  const expected: Partial<Record<SignatureScheme, string>> = {
    ed25519: '300506032b6570',
    ed448: '300506032b6571',
    'ecdsa-sha256': '300a06082a8648ce3d040302',
    'ecdsa-sha384': '300a06082a8648ce3d040303',
    'ecdsa-sha512': '300a06082a8648ce3d040304',
    'rsa-pkcs1-sha256': '300d06092a864886f70d01010b0500',
    'rsa-pss-sha256': RFC7427_RSASSA_PSS_SHA256, // RFC 7427 Appendix A.4.3, 67 octets
  };
  for (const [scheme, bytes] of Object.entries(expected)) {
    assert.equal(signatureAlgorithmIdentifier(scheme as SignatureScheme).toString('hex'), bytes, scheme);
  }
  assert.equal(RFC7427_RSASSA_PSS_SHA256.length / 2, 67);
  // OpenSSL encodes an id-RSASSA-PSS key (SHA-256, MGF1-SHA-256, salt 32) the same way.
  const { publicKey } = rsaPssKeyPair();
  assert.equal(spkiAlgorithmIdentifier(publicKeyToSpki(publicKey)).toString('hex'), RFC7427_RSASSA_PSS_SHA256);
});

interface SignatureTest {
  tcId: number;
  msg: string;
  sig: string;
  result: string;
}

function checkWycheproof(publicKey: KeyObject, scheme: SignatureScheme, tests: SignatureTest[]): void {
  const algId = signatureAlgorithmIdentifier(scheme);
  for (const t of tests) {
    const auth = authData(algId, hex(t.sig));
    if (t.result === 'valid') {
      assert.equal(verifyAuth(publicKey, hex(t.msg), auth), scheme, `tcId ${t.tcId}`);
      assert.throws(() => verifyAuth(publicKey, Buffer.concat([hex(t.msg), Buffer.of(0)]), auth), badSignature);
    } else {
      assert.throws(() => verifyAuth(publicKey, hex(t.msg), auth), badSignature, `tcId ${t.tcId}`);
    }
  }
}

test('Wycheproof Ed25519 inside method-14 AUTH data', () => {
  const file = vectors('wycheproof-ed25519.json');
  checkWycheproof(spkiToPublicKey(hex(file.publicKeyDer)), 'ed25519', file.tests);
});

test('Wycheproof ECDSA P-256 SHA-256 (DER signatures; BER and bad lengths rejected)', () => {
  const file = vectors('wycheproof-ecdsa-secp256r1-sha256.json');
  for (const group of file.testGroups) checkWycheproof(spkiToPublicKey(hex(group.publicKeyDer)), 'ecdsa-sha256', group.tests);
});

test('Wycheproof RSASSA-PSS 2048 SHA-256 MGF1 salt 32; also under the absent-NULL hash encoding', () => {
  const file = vectors('wycheproof-rsa-pss-2048-sha256-mgf1-32.json');
  const key = spkiToPublicKey(hex(file.publicKeyDer));
  assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  checkWycheproof(key, 'rsa-pss-sha256', file.tests);
  const alternate = SCHEMES.get('rsa-pss-sha256')!.alternateEncodings[0]!;
  const t = file.tests[0];
  assert.equal(verifyAuth(key, hex(t.msg), authData(alternate, hex(t.sig))), 'rsa-pss-sha256');
  const tampered = hex(t.sig);
  tampered[100]! ^= 0x40;
  const tamperedAuth = authData(signatureAlgorithmIdentifier('rsa-pss-sha256'), tampered);
  assert.throws(() => verifyAuth(key, hex(t.msg), tamperedAuth), badSignature);
});

// One key per type, generated once (RSA keygen is the slow part).
const keys = {
  ed25519: generateKeyPairSync('ed25519'),
  ed448: generateKeyPairSync('ed448'),
  p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  p521: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
  rsaPss: rsaPssKeyPair(),
};
type KeyName = keyof typeof keys;

const ROUND_TRIPS: [KeyName, SignatureScheme][] = [
  ['ed25519', 'ed25519'],
  ['ed448', 'ed448'],
  ['p256', 'ecdsa-sha256'],
  ['p384', 'ecdsa-sha384'],
  ['p521', 'ecdsa-sha512'],
  ['p256', 'ecdsa-sha384'],
  ['rsa', 'rsa-pss-sha256'],
  ['rsa', 'rsa-pss-sha384'],
  ['rsa', 'rsa-pss-sha512'],
  ['rsa', 'rsa-pkcs1-sha256'],
  ['rsaPss', 'rsa-pss-sha256'],
];

test('every scheme signs and verifies; a tampered signature or message fails', () => {
  const octets = Buffer.from('RealMessage1 | NonceRData | prf(SK_pi, IDi)');
  for (const [keyName, scheme] of ROUND_TRIPS) {
    const { privateKey, publicKey } = keys[keyName];
    const auth = signAuth(privateKey, octets, scheme);
    const parsed = parseSignatureAuth(auth);
    assert.equal(parsed.scheme, scheme);
    assert.deepEqual(parsed.algorithmIdentifier, signatureAlgorithmIdentifier(scheme));
    assert.equal(verifyAuth(publicKey, octets, auth), scheme, `${keyName} ${scheme}`);
    const tampered = Buffer.from(auth);
    tampered[tampered.length - 5]! ^= 0x01;
    assert.throws(() => verifyAuth(publicKey, octets, tampered), badSignature, `${keyName} ${scheme} tampered`);
    assert.throws(() => verifyAuth(publicKey, Buffer.concat([octets, Buffer.of(1)]), auth), badSignature);
  }
});

test('an AlgorithmIdentifier that does not fit the key is refused (RFC 9838 key/algorithm match)', () => {
  const octets = Buffer.from('octets');
  const mismatches: [KeyName, SignatureScheme][] = [
    ['ed25519', 'ecdsa-sha256'],
    ['ed25519', 'ed448'],
    ['p256', 'ed25519'],
    ['p256', 'rsa-pss-sha256'],
    ['rsa', 'ecdsa-sha256'],
    ['rsa', 'ed25519'],
    ['rsaPss', 'rsa-pkcs1-sha256'], // an id-RSASSA-PSS key is PSS-only
    ['rsaPss', 'rsa-pss-sha384'], // bound to SHA-256 by its parameters
  ];
  for (const [keyName, scheme] of mismatches) {
    const { privateKey, publicKey } = keys[keyName];
    assert.throws(() => signAuth(privateKey, octets, scheme), fails('GKM_CRYPTO_UNSUPPORTED'), `${keyName} ${scheme}`);
    // A signature made with a fitting key, presented against the wrong key.
    const donor = ROUND_TRIPS.find(([, s]) => s === scheme)![0];
    const auth = signAuth(keys[donor].privateKey, octets, scheme);
    assert.throws(() => verifyAuth(publicKey, octets, auth), badSignature, `${keyName} ${scheme}`);
    assert.throws(() => checkAlgorithmIdentifierFitsKey(signatureAlgorithmIdentifier(scheme), publicKey), badSignature);
  }
  // RSA below 2048 bits is refused both ways.
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  assert.throws(() => signAuth(small.privateKey, octets, 'rsa-pss-sha256'), fails('GKM_CRYPTO_UNSUPPORTED'));
  assert.throws(
    () => verifyAuth(small.publicKey, octets, authData(signatureAlgorithmIdentifier('rsa-pss-sha256'), Buffer.alloc(128, 1))),
    badSignature,
  );
});

test('malformed AUTH data is GKM_WIRE_BAD_VALUE; unknown algorithms are GKM_CRYPTO_BAD_SIGNATURE', () => {
  const pub = keys.ed25519.publicKey;
  const ed = signatureAlgorithmIdentifier('ed25519');
  const sig = Buffer.alloc(64, 7);
  const malformed = [
    Buffer.alloc(0),
    Buffer.of(0x00),
    Buffer.concat([Buffer.of(0x08), ed]), // length beyond the data
    Buffer.concat([Buffer.of(0x06), ed.subarray(0, 6), sig]), // SEQUENCE longer than announced
    Buffer.concat([Buffer.of(0x08), ed, Buffer.of(0x00), sig]), // announced longer than SEQUENCE
    Buffer.concat([Buffer.of(0x08), hex('30810506032b6570'), sig]), // BER long-form length
    Buffer.concat([Buffer.of(0x07), hex('310506032b6570'), sig]), // SET, not SEQUENCE
    Buffer.concat([Buffer.of(0x07), ed]), // no signature value
  ];
  for (const data of malformed) assert.throws(() => verifyAuth(pub, Buffer.alloc(1), data), badValue, data.toString('hex'));
  const unknown = [
    hex('300d06092a864886f70d0101050500'), // sha1WithRSAEncryption
    hex('300706032b65700500'), // Ed25519 with a NULL parameter
    hex('300c06082a8648ce3d0403020500'), // ecdsa-with-SHA256 with NULL
  ];
  for (const algId of unknown) assert.throws(() => verifyAuth(pub, Buffer.alloc(1), authData(algId, sig)), badSignature);
  // Wrong signature sizes are refused before verification.
  for (const bad of [63, 65]) assert.throws(() => verifyAuth(pub, Buffer.alloc(1), authData(ed, Buffer.alloc(bad, 1))), badSignature);
});

test('signatureLength: fixed sizes, ECDSA maximum DER; exact-length signing for GSA_REKEY', () => {
  const expected: [KeyName, SignatureScheme, number][] = [
    ['ed25519', 'ed25519', 64],
    ['ed448', 'ed448', 114],
    ['rsa', 'rsa-pss-sha256', 256],
    ['rsa', 'rsa-pkcs1-sha256', 256],
    ['p256', 'ecdsa-sha256', 72],
    ['p384', 'ecdsa-sha384', 104],
    ['p521', 'ecdsa-sha512', 139],
  ];
  const octets = Buffer.from('A|P with a zeroed signature field');
  for (const [keyName, scheme, length] of expected) {
    const { privateKey, publicKey } = keys[keyName];
    assert.equal(signatureLength(scheme, publicKey), length, scheme);
    const algIdLength = signatureAlgorithmIdentifier(scheme).length;
    const auth = signAuth(privateKey, octets, scheme, { signatureLength: length });
    assert.equal(auth.length, 1 + algIdLength + length, scheme);
    verifyAuth(publicKey, octets, auth);
  }
  const p256 = keys.p256.privateKey;
  assert.equal(signAuth(p256, octets, 'ecdsa-sha256', { signatureLength: 70 }).length, 1 + 12 + 70);
  assert.throws(() => signAuth(p256, octets, 'ecdsa-sha256', { signatureLength: 60 }), fails('GKM_CRYPTO_INTERNAL'));
  assert.throws(() => signAuth(keys.ed25519.privateKey, octets, 'ed25519', { signatureLength: 65 }), fails('GKM_CRYPTO_INTERNAL'));
});

test('SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4, RFC 8420): distinct IDs in order', () => {
  assert.deepEqual(signatureHashAlgorithmsFor(['ed25519', 'ecdsa-sha256', 'rsa-pss-sha256', 'ecdsa-sha384', 'ed448']), [
    HashAlgorithm.IDENTITY,
    HashAlgorithm.SHA2_256,
    HashAlgorithm.SHA2_384,
  ]);
  assert.deepEqual(signatureHashAlgorithmsFor(['rsa-pkcs1-sha512']), [HashAlgorithm.SHA2_512]);
});

test('default schemes and G-IKEv2 attribute 18 for each key type', () => {
  const expected: Record<KeyName, SignatureScheme> = {
    ed25519: 'ed25519',
    ed448: 'ed448',
    p256: 'ecdsa-sha256',
    p384: 'ecdsa-sha384',
    p521: 'ecdsa-sha512',
    rsa: 'rsa-pss-sha256',
    rsaPss: 'rsa-pss-sha256',
  };
  for (const [name, scheme] of Object.entries(expected) as [KeyName, SignatureScheme][]) {
    const { publicKey, privateKey } = keys[name];
    assert.equal(defaultSchemeForKey(publicKey), scheme);
    assert.equal(defaultSchemeForKey(privateKey), scheme);
    const algId = algorithmIdentifierForKey(publicKey);
    assert.deepEqual(algId, signatureAlgorithmIdentifier(scheme));
    assert.equal(checkAlgorithmIdentifierFitsKey(algId, publicKey), scheme);
    assert.ok(schemesForKey(publicKey).includes(scheme));
  }
  assert.deepEqual(schemesForKey(keys.ed25519.publicKey), ['ed25519']);
  assert.deepEqual(schemesForKey(keys.p384.publicKey), ['ecdsa-sha256', 'ecdsa-sha384', 'ecdsa-sha512']);
  // Byte match where the key's SPKI algorithm is itself a signature algorithm (RSASSA-PSS):
  const pssAbsentNull = SCHEMES.get('rsa-pss-sha256')!.alternateEncodings[0]!;
  assert.throws(() => checkAlgorithmIdentifierFitsKey(pssAbsentNull, keys.rsaPss.publicKey), badSignature);
  // ... but only a type check for an rsaEncryption key.
  assert.equal(checkAlgorithmIdentifierFitsKey(pssAbsentNull, keys.rsa.publicKey), 'rsa-pss-sha256');
  assert.throws(() => defaultSchemeForKey(generateKeyPairSync('x25519').publicKey), fails('GKM_CRYPTO_UNSUPPORTED'));
});

test('SubjectPublicKeyInfo: round trips, strict DER, supported types only', () => {
  for (const [name, { publicKey, privateKey }] of Object.entries(keys)) {
    const spki = publicKeyToSpki(publicKey);
    assert.deepEqual(publicKeyToSpki(privateKey), spki, name);
    const parsed = spkiToPublicKey(spki);
    assert.ok(parsed.equals(publicKey), name);
  }
  assert.equal(spkiAlgorithmIdentifier(publicKeyToSpki(keys.ed25519.publicKey)).toString('hex'), '300506032b6570');
  assert.equal(
    spkiAlgorithmIdentifier(publicKeyToSpki(keys.p256.publicKey)).toString('hex'),
    '301306072a8648ce3d020106082a8648ce3d030107', // id-ecPublicKey, prime256v1
  );
  const ed = publicKeyToSpki(keys.ed25519.publicKey);
  assert.throws(() => spkiToPublicKey(Buffer.concat([ed, Buffer.of(0)])), badValue);
  assert.throws(() => spkiToPublicKey(ed.subarray(0, ed.length - 1)), badValue);
  assert.throws(() => spkiToPublicKey(Buffer.from('not a key')), badValue);
  // Compressed EC points (RFC 5480 §2.2 MAY) round-trip through OpenSSL and are accepted.
  const p256 = publicKeyToSpki(keys.p256.publicKey); // 30 59 | AlgorithmIdentifier | 03 42 00 04 x y
  const algId = p256.subarray(2, 23);
  const [x, y] = [p256.subarray(27, 59), p256.subarray(59)];
  const point = Buffer.concat([Buffer.of((y[31]! & 1) === 0 ? 0x02 : 0x03), x]);
  const compressedSpki = Buffer.concat([Buffer.of(0x30, 0x39), algId, Buffer.of(0x03, 0x22, 0x00), point]);
  assert.ok(spkiToPublicKey(compressedSpki).equals(keys.p256.publicKey));
  assert.throws(() => spkiToPublicKey(publicKeyToSpki(generateKeyPairSync('x25519').publicKey)), fails('GKM_CRYPTO_UNSUPPORTED'));
  assert.throws(() => spkiAlgorithmIdentifier(Buffer.of(0x30, 0x02, 0x05, 0x00)), badValue);
});
