import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  createInitiatorKe,
  createInitiatorKeForTest,
  keDataLength,
  keSecretLength,
  respondKe,
  respondKeForTest,
} from '../../../src/ikev2/crypto/ke.ts';
import { encapsulationKeyModulusOk } from '../../../src/ikev2/crypto/ke-mlkem.ts';
import { InitiatorKeRounds, ResponderKeRounds, runKeRoundsLocally } from '../../../src/ikev2/crypto/ke-multi.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { ErrorCodes } from '../../../src/ikev2/errors.ts';
import { NotifyType } from '../../../src/ikev2/registry/notify.ts';
import { KeId } from '../../../src/ikev2/registry/transform.ts';

const mlkem = JSON.parse(readFileSync(new URL('../../vectors/mlkem.json', import.meta.url), 'utf8'));
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const isInvalidKe = (e: unknown): boolean => isGkmError(e, 'GKM_CRYPTO_INVALID_KE');

const ML_KEM = [
  { method: KeId.ML_KEM_512, k: 2, ek: 800, ct: 768 },
  { method: KeId.ML_KEM_768, k: 3, ek: 1184, ct: 1088 },
  { method: KeId.ML_KEM_1024, k: 4, ek: 1568, ct: 1568 },
];

test('ML-KEM decapsulation known answers (Wycheproof, incl. implicit rejection)', () => {
  assert.deepEqual(new Set(mlkem.decaps.map((v: { method: number }) => v.method)), new Set([35, 36, 37]));
  for (const v of mlkem.decaps) {
    const initiator = createInitiatorKeForTest(v.method, hex(v.seed));
    if (v.ek) assert.equal(initiator.publicData().toString('hex'), v.ek, `tcId ${v.tcId}`);
    assert.equal(initiator.complete(hex(v.c)).toString('hex'), v.K, `${v.parameterSet} tcId ${v.tcId}`);
  }
});

test('ML-KEM encapsulation known answer (NIST ACVP)', () => {
  for (const v of mlkem.acvpEncap) {
    const r = respondKeForTest(v.method, hex(v.ek), hex(v.m));
    assert.equal(r.publicData.toString('hex'), v.c);
    assert.equal(r.sharedSecret.toString('hex'), v.k);
  }
});

test('FIPS 203 §7.2 modulus check: Wycheproof ModulusOverflow keys are INVALID_KE (INVALID_SYNTAX)', () => {
  const { method, tests } = mlkem.encapsModulus;
  assert.equal(ErrorCodes.GKM_CRYPTO_INVALID_KE.notify, NotifyType.INVALID_SYNTAX);
  for (const t of tests) {
    const ek = hex(t.ek);
    assert.equal(encapsulationKeyModulusOk(ek, 2), false, `tcId ${t.tcId}`);
    assert.throws(() => respondKe(method, ek), isInvalidKe, `tcId ${t.tcId}`);
  }
});

test('modulus check at the boundary, every parameter set: 3328 accepted, 3329 and 4095 rejected', () => {
  for (const { method, k } of ML_KEM) {
    const ek = createInitiatorKe(method).publicData();
    assert.ok(encapsulationKeyModulusOk(ek, k));
    // Last coefficient of t: the high 12 bits of the final 3-byte group of ek[0 : 384k].
    const at = 384 * k - 3;
    const withLastCoefficient = (c: number): Buffer => {
      const copy = Buffer.from(ek);
      copy[at + 1] = (copy[at + 1]! & 0x0f) | ((c & 0x0f) << 4);
      copy[at + 2] = c >> 4;
      return copy;
    };
    assert.equal(respondKe(method, withLastCoefficient(3328)).sharedSecret.length, 32);
    for (const c of [3329, 4095]) assert.throws(() => respondKe(method, withLastCoefficient(c)), isInvalidKe);
    // The rho seed after t is not range-checked.
    const rho = Buffer.from(ek);
    rho.fill(0xff, 384 * k);
    assert.ok(encapsulationKeyModulusOk(rho, k));
  }
});

test('ML-KEM round trips and sizes: ek/ct per FIPS 203 Table 3, 32-byte secret', () => {
  for (const { method, ek, ct } of ML_KEM) {
    assert.equal(keDataLength(method, 'initiator'), ek);
    assert.equal(keDataLength(method, 'responder'), ct);
    assert.equal(keSecretLength(method), 32);
    const initiator = createInitiatorKe(method);
    assert.equal(initiator.publicData().length, ek);
    const r = respondKe(method, initiator.publicData());
    assert.equal(r.publicData.length, ct);
    assert.deepEqual(initiator.complete(r.publicData), r.sharedSecret);
  }
});

test('ML-KEM exact lengths in both roles; a modified ciphertext gives another key (implicit rejection)', () => {
  for (const { method, ek, ct } of ML_KEM) {
    for (const bad of [0, ek - 1, ek + 1, ct === ek ? 1 : ct]) {
      assert.throws(() => respondKe(method, Buffer.alloc(bad)), isInvalidKe);
    }
    for (const bad of [0, ct - 1, ct + 1]) {
      assert.throws(() => createInitiatorKe(method).complete(Buffer.alloc(bad)), isInvalidKe);
    }
    const initiator = createInitiatorKe(method);
    const r = respondKe(method, initiator.publicData());
    const tampered = Buffer.from(r.publicData);
    tampered[0]! ^= 1;
    const secret = initiator.complete(tampered);
    assert.equal(secret.length, 32);
    assert.notDeepEqual(secret, r.sharedSecret);
  }
});

test('RFC 9370 rounds: X25519 then ML-KEM-768, secrets in order and equal on both sides', () => {
  const secrets = runKeRoundsLocally([KeId.CURVE25519, KeId.ML_KEM_768]);
  assert.deepEqual(secrets.map((s) => s.length), [32, 32]);

  const initiator = new InitiatorKeRounds([KeId.ECP256, KeId.ML_KEM_512, KeId.CURVE448]);
  const responder = new ResponderKeRounds([KeId.ECP256, KeId.ML_KEM_512, KeId.CURVE448]);
  const lengths: number[] = [];
  while (!initiator.done) {
    const method = initiator.nextMethod!;
    const kei = initiator.start();
    assert.equal(kei.length, keDataLength(method, 'initiator'));
    assert.throws(() => initiator.start(), (e) => isGkmError(e, 'GKM_CRYPTO_INTERNAL'));
    initiator.finish(responder.answer(kei));
    lengths.push(initiator.secrets.at(-1)!.length);
  }
  assert.deepEqual(lengths, [32, 32, 56]);
  assert.deepEqual(initiator.secrets, responder.secrets);
  assert.ok(responder.done);
  assert.throws(() => responder.answer(Buffer.alloc(56)), (e) => isGkmError(e, 'GKM_CRYPTO_INTERNAL'));
  assert.throws(() => initiator.finish(Buffer.alloc(56)), (e) => isGkmError(e, 'GKM_CRYPTO_INTERNAL'));

  const kept = initiator.secrets[0]!;
  initiator.dispose();
  assert.ok(kept.every((b) => b === 0), 'dispose wipes the secrets');
  assert.throws(() => new InitiatorKeRounds([]), (e) => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED'));
  assert.throws(() => new ResponderKeRounds([31, 99]), (e) => isGkmError(e, 'GKM_CRYPTO_UNSUPPORTED'));
});
