/** GM key handling primitives: unwrap checks, the Working Key Path rules, the key-path algorithm (RFC 9838 §3.3, §4.5.4). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getKeyWrap } from '../../../src/ikev2/crypto/keywrap.ts';
import { isGkmError, type ErrorCode } from '../../../src/ikev2/errors.ts';
import { KwaId } from '../../../src/ikev2/registry/transform.ts';
import type { WrappedKey } from '../../../src/ikev2/wire/group-attributes.ts';
import { fingerprintOf, keyFingerprint } from '../../../src/member/keys/fingerprint.ts';
import { resolveSaKey, type CarryingSa } from '../../../src/member/keys/key-path.ts';
import { tryUnwrapKey, unwrapKey } from '../../../src/member/keys/unwrap.ts';
import { WorkingKeyPath, type HeldKey } from '../../../src/member/keys/working-key-path.ts';
import { seededRandom } from '../../gcks/keys/support.ts';

const code = (c: ErrorCode) => (e: unknown) => isGkmError(e, c);
const random = seededRandom('gm-keys');
const kw = getKeyWrap(KwaId.KW_5649_256);
const arx = getKeyWrap(KwaId.KW_ARX);
const keys = new Map<number, Buffer>();
const key = (id: number): Buffer => keys.get(id) ?? (keys.set(id, random(32)), keys.get(id)!);
const carrier: CarryingSa = { kwaId: KwaId.KW_5649_256, gskW: random(32) };
/** `keyId` (its node key, or `plaintext`) wrapped under node key `kwkId` (0 = carrier GSK_w). */
const wrapped = (keyId: number, kwkId: number, plaintext = key(keyId)): WrappedKey => ({ keyId, kwkId, encryptedKey: kw.wrap(kwkId === 0 ? carrier.gskW : key(kwkId), plaintext) });
const held = (...ids: number[]): HeldKey[] => ids.map((id) => ({ keyId: id, key: Buffer.from(key(id)), kwaId: KwaId.KW_5649_256 }));
function wkpOf(...ids: number[]): WorkingKeyPath {
  const wkp = new WorkingKeyPath();
  wkp.update(held(...ids), { kind: 'gsk_w' });
  return wkp;
}
const SA = random(68);

test('fingerprints: 8 octets of SHA-256 in hex, labelled, never the key', () => {
  const k = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  assert.equal(keyFingerprint(k), 'a8faed6abbf35c12', 'SHA-256(00112233…ff)[0..8]');
  assert.notEqual(keyFingerprint(k), keyFingerprint(random(16)));
  const fp = fingerprintOf('ESP SA 0x00001234', k);
  assert.equal(fp.label, 'ESP SA 0x00001234');
  assert.ok(!JSON.stringify(fp).includes(k.toString('hex').slice(0, 8)));
});

test('unwrap: integrity failure and wrong length make the path unusable; a bad result is wiped', () => {
  const kek = random(32);
  const blob = kw.wrap(kek, random(36));
  assert.equal(unwrapKey(KwaId.KW_5649_256, kek, blob, 36).length, 36);
  assert.throws(() => unwrapKey(KwaId.KW_5649_256, kek, blob, 32), (e) => isGkmError(e, 'GKM_KEYS_BAD_KEY_LENGTH') && e.notify === null);
  assert.throws(() => unwrapKey(KwaId.KW_5649_256, random(32), blob, 36), code('GKM_CRYPTO_KEY_UNWRAP_FAILED'));
  assert.throws(() => unwrapKey(KwaId.KW_5649_256, random(16), blob, 36), code('GKM_CRYPTO_KEY_UNWRAP_FAILED'), 'KWK of another size');
  assert.equal(tryUnwrapKey(KwaId.KW_5649_256, kek, blob, 35), 'bad-length');
  assert.equal(tryUnwrapKey(KwaId.KW_5649_256, random(32), blob, 36), 'unwrap-failed');
});

test('Working Key Path: empty path → no change; ends at GSK_w → replaced; ends at WKP key X → the part before X replaced', () => {
  const wkp = wkpOf(2, 5, 11);
  assert.equal(wkp.update([], { kind: 'wkp', index: 1 }), false);
  assert.deepEqual(wkp.keyIds, [2, 5, 11]);
  const dropped = wkp.at(0)!.key;
  assert.equal(wkp.update(held(15, 16), { kind: 'wkp', index: 2 }), true);
  assert.deepEqual(wkp.keyIds, [15, 16, 11]);
  assert.ok(dropped.every((b) => b === 0), 'replaced keys are wiped');
  wkp.update(held(21, 22, 23), { kind: 'gsk_w' });
  assert.deepEqual(wkp.keyIds, [21, 22, 23]);
  assert.deepEqual(wkp.fingerprints().map((f) => f.label), ['WRAP_KEY 21', 'WRAP_KEY 22', 'WRAP_KEY 23']);
  wkp.clear();
  assert.equal(wkp.length, 0);
});

test('key path: the first SA_KEY that resolves wins; recursion through WRAP_KEYs; the anchor is the key that decrypted the last one', () => {
  const r = resolveSaKey({
    saKeys: [wrapped(0, 1, SA), wrapped(0, 15, SA)],
    expectedLength: 68,
    carrier,
    wkp: wkpOf(2, 5, 11),
    wrapKeys: [wrapped(15, 6), wrapped(15, 16), wrapped(16, 11)],
  });
  assert.deepEqual(r.resolved?.keymat, SA);
  assert.deepEqual(r.resolved?.newPath.map((h) => h.keyId), [15, 16]);
  assert.deepEqual(r.resolved?.anchor, { kind: 'wkp', index: 2 });
  assert.deepEqual(r.failures, []);
  const none = resolveSaKey({ saKeys: [wrapped(0, 1, SA), wrapped(0, 15, SA)], expectedLength: 68, carrier, wkp: wkpOf(2, 5, 12), wrapKeys: [wrapped(15, 6), wrapped(15, 16), wrapped(16, 11)] });
  assert.equal(none.resolved, null, 'F: nothing resolves → excluded');
});

test('key path: a KW failure or a wrong length on one path, another path still works; cycles end', () => {
  const corrupt: WrappedKey = { ...wrapped(15, 6), encryptedKey: Buffer.from(wrapped(15, 6).encryptedKey).fill(7, 0, 4) };
  const r = resolveSaKey({ saKeys: [wrapped(0, 15, SA)], expectedLength: 68, carrier, wkp: wkpOf(6, 13, 11), wrapKeys: [corrupt, wrapped(15, 11)] });
  assert.deepEqual(r.failures, [{ keyId: 15, kwkId: 6, reason: 'unwrap-failed' }]);
  assert.deepEqual(r.resolved?.newPath.map((h) => h.keyId), [15]);
  assert.deepEqual(r.resolved?.anchor, { kind: 'wkp', index: 2 });

  const short = resolveSaKey({ saKeys: [wrapped(0, 0, random(60)), wrapped(0, 1, SA)], expectedLength: 68, carrier, wkp: wkpOf(1), wrapKeys: [] });
  assert.deepEqual(short.failures, [{ keyId: 0, kwkId: 0, reason: 'bad-length' }]);
  assert.deepEqual(short.resolved?.keymat, SA);

  const badKwk = resolveSaKey({ saKeys: [wrapped(0, 30, SA)], expectedLength: 68, carrier, wkp: wkpOf(), wrapKeys: [wrapped(30, 0, random(16))] });
  assert.deepEqual(badKwk.failures, [{ keyId: 30, kwkId: 0, reason: 'bad-length' }], 'a WRAP_KEY must have the KWA key size');
  assert.equal(badKwk.resolved, null);

  const cycle = resolveSaKey({ saKeys: [wrapped(0, 40, SA)], expectedLength: 68, carrier, wkp: wkpOf(), wrapKeys: [wrapped(40, 41), wrapped(41, 40)] });
  assert.equal(cycle.resolved, null);
});

test('key path at registration: GSK_w{7}, 3{7}… gives the initial WKP; keys stay bound to the KWA they came with', () => {
  const r = resolveSaKey({ saKeys: [wrapped(0, 1, SA)], expectedLength: 68, carrier, wkp: new WorkingKeyPath(), wrapKeys: [wrapped(1, 3), wrapped(3, 7), wrapped(7, 0)] });
  assert.deepEqual(r.resolved?.newPath.map((h) => h.keyId), [1, 3, 7]);
  assert.deepEqual(r.resolved?.anchor, { kind: 'gsk_w' });
  // A WKP key received over an SA whose KWA was ARX is used with ARX later on.
  const wkp = new WorkingKeyPath();
  wkp.update([{ keyId: 50, key: key(50), kwaId: KwaId.KW_ARX }], { kind: 'gsk_w' });
  const sa: WrappedKey = { keyId: 0, kwkId: 50, encryptedKey: arx.wrap(key(50), SA) };
  assert.deepEqual(resolveSaKey({ saKeys: [sa], expectedLength: 68, carrier, wkp, wrapKeys: [] }).resolved?.keymat, SA);
});
