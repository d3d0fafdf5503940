/**
 * A responder IKE SA whose keys are derived on first use (ike-sa.ts PendingIkeCrypto, made by
 * exchanges/ike-sa-init.ts for suites without ADDKE): the suite is known at once, the keys are
 * derived once, on the first read of `crypto`; a SA closed first disposes them underived; a
 * derivation that fails leaves the SA without keys and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { IkeSa, type IkeCrypto, type IkeSuite, type PendingIkeCrypto } from '../../../src/ikev2/sa/ike-sa.ts';
import { GkmError } from '../../../src/ikev2/errors.ts';

const suite = { encrId: 20, keyLengthBits: 256, prfId: 5, keMethod: 31, additionalKes: [] } as unknown as IkeSuite;
const endpoint = { ip: '127.0.0.1', port: 500 };

function pending(resolve: () => IkeCrypto): PendingIkeCrypto & { resolved: number; disposed: number } {
  const p = {
    suite,
    resolved: 0,
    disposed: 0,
    resolve() {
      p.resolved++;
      return resolve();
    },
    dispose() {
      p.disposed++;
    },
  };
  return p;
}

function responder(crypto: IkeCrypto | PendingIkeCrypto): IkeSa {
  const init = { ni: randomBytes(32), nr: randomBytes(32), requestBytes: randomBytes(100), responseBytes: randomBytes(100) };
  return IkeSa.responder(randomBytes(8), randomBytes(8), endpoint, endpoint, { proposals: [] }, init, crypto, 0, 1);
}

const fakeCrypto = (): IkeCrypto & { disposed: number } => {
  const c = { suite, disposed: 0, dispose: () => void c.disposed++ };
  return c as unknown as IkeCrypto & { disposed: number };
};

test('pending keys: suite at once, derived once on the first read of crypto, disposed with the SA', () => {
  const keys = fakeCrypto();
  const p = pending(() => keys);
  const sa = responder(p);
  assert.equal(sa.suite, suite);
  assert.equal(p.resolved, 0, 'reading the suite derives nothing');
  assert.equal(sa.crypto, keys);
  assert.equal(sa.requireCrypto(), keys);
  assert.equal(p.resolved, 1);
  sa.close();
  assert.equal(keys.disposed, 1);
  assert.equal(p.disposed, 0, 'resolved: the keys own what is left');
});

test('an SA closed before its keys were needed disposes them underived', () => {
  const p = pending(() => assert.fail('must not derive'));
  const sa = responder(p);
  sa.close();
  assert.equal(p.resolved, 0);
  assert.equal(p.disposed, 1);
  assert.equal(sa.crypto, undefined);
});

test('a derivation that fails leaves the SA without keys (its messages are dropped) and requireCrypto says why', () => {
  const p = pending(() => {
    throw new GkmError('GKM_CRYPTO_INVALID_KE', { detail: 'x25519 shared secret is all zero' });
  });
  const sa = responder(p);
  assert.equal(sa.crypto, undefined);
  assert.equal(p.disposed, 1);
  assert.throws(() => sa.requireCrypto(), (e: unknown) => e instanceof GkmError && e.code === 'GKM_IKE_INVALID_STATE' && /all zero/.test(e.message));
  assert.equal(p.resolved, 1, 'not retried');
  sa.close();
  assert.equal(p.disposed, 1);
});

test('keys given at once are used as before', () => {
  const keys = fakeCrypto();
  const sa = responder(keys);
  assert.equal(sa.suite, suite);
  assert.equal(sa.crypto, keys);
  sa.close();
  assert.equal(keys.disposed, 1);
});
