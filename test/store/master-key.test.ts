/** Master key loading (file / environment, base64 / hex / raw) and the sealed-value format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateMasterKeyFile, loadMasterKey, parseMasterKey, SecretBox } from '../../src/store/index.ts';
import { ikeNativeAead } from '../../src/ikev2/crypto/native.ts';
import { gkmError, tempDir } from './helpers.ts';

const key = randomBytes(32);

test('parseMasterKey: hex, base64, base64url; anything else is refused with advice', () => {
  assert.deepEqual(parseMasterKey(key.toString('hex')), key);
  assert.deepEqual(parseMasterKey(`  ${key.toString('base64')}\n`), key);
  assert.deepEqual(parseMasterKey(key.toString('base64url')), key);
  for (const bad of ['', 'short', randomBytes(16).toString('hex'), randomBytes(33).toString('base64'), `${key.toString('hex')}00`]) {
    assert.throws(() => parseMasterKey(bad), gkmError('GKM_STORE_MASTER_KEY_INVALID', /openssl rand -base64 32/));
  }
});

test('loadMasterKey: GCKS_MASTER_KEY, GCKS_MASTER_KEY_FILE, an explicit file', () => {
  assert.deepEqual(loadMasterKey({ env: { GCKS_MASTER_KEY: key.toString('base64') } }), { key, origin: 'env:GCKS_MASTER_KEY', warnings: [] });
  const dir = tempDir();
  const b64 = join(dir, 'b64.key');
  writeFileSync(b64, `${key.toString('base64')}\n`, { mode: 0o600 });
  assert.deepEqual(loadMasterKey({ env: { GCKS_MASTER_KEY_FILE: b64 } }).key, key);
  const raw = join(dir, 'raw.key');
  writeFileSync(raw, key, { mode: 0o600 });
  assert.deepEqual(loadMasterKey({ file: raw, env: {} }).key, key);
  chmodSync(raw, 0o644);
  assert.match(loadMasterKey({ file: raw, env: {} }).warnings[0] ?? '', /chmod 600/);
});

test('loadMasterKey: missing is GKM_STORE_MASTER_KEY_MISSING saying what to do; both set is refused', () => {
  assert.throws(() => loadMasterKey({ env: {} }), gkmError('GKM_STORE_MASTER_KEY_MISSING', /GCKS_MASTER_KEY_FILE nor GCKS_MASTER_KEY.*openssl rand/));
  assert.throws(() => loadMasterKey({ env: { GCKS_MASTER_KEY_FILE: join(tempDir(), 'absent.key') } }), gkmError('GKM_STORE_MASTER_KEY_MISSING', /ENOENT/));
  assert.throws(
    () => loadMasterKey({ env: { GCKS_MASTER_KEY_FILE: '/x', GCKS_MASTER_KEY: key.toString('hex') } }),
    gkmError('GKM_STORE_MASTER_KEY_INVALID', /keep one/),
  );
});

test('generateMasterKeyFile: 0600, base64, never overwrites', () => {
  const path = join(tempDir(), 'sub', 'master.key');
  const k = generateMasterKeyFile(path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(parseMasterKey(readFileSync(path, 'utf8')), k);
  assert.throws(() => generateMasterKeyFile(path), gkmError('GKM_STORE_CONFLICT'));
});

test('SecretBox: random nonce per value, place-bound, key check value', () => {
  const box = new SecretBox(key);
  const place = { table: 't', column: 'c', uid: 'u1' };
  const a = box.seal(Buffer.from('same'), place);
  const b = box.seal(Buffer.from('same'), place);
  assert.notDeepEqual(a, b);
  assert.equal(a.length, 1 + 12 + 4 + 16);
  assert.deepEqual(box.open(a, place), Buffer.from('same'));
  for (const other of [{ ...place, uid: 'u2' }, { ...place, column: 'd' }, { ...place, table: 'x' }]) {
    assert.throws(() => box.open(a, other), gkmError('GKM_STORE_SECRET_CORRUPT'));
  }
  const flipped = Buffer.from(a);
  flipped[20] = flipped[20]! ^ 1;
  assert.throws(() => box.open(flipped, place), gkmError('GKM_STORE_SECRET_CORRUPT'));
  assert.throws(() => new SecretBox(randomBytes(32)).open(a, place), gkmError('GKM_STORE_SECRET_CORRUPT'));
  assert.equal(box.matches(new SecretBox(key).keyCheckValue), true);
  assert.equal(box.matches(new SecretBox(randomBytes(32)).keyCheckValue), false);
  assert.equal(box.keyCheckValue.includes(key.toString('hex')), false);
});

test('SecretBox: the native AEAD and node:crypto make and open the same values (either opens what the other sealed)', (t) => {
  const native = new SecretBox(key);
  const node = new SecretBox(key, { aead: 'node' });
  if (!ikeNativeAead()) t.diagnostic('no native addon here: node:crypto on both sides');
  const place = { table: 'key_material', column: 'secret_enc', uid: '01a2038a-589c-7f33-8a05-17e273aeaa8b' };
  for (const length of [0, 1, 15, 16, 17, 32, 48, 100]) {
    const secret = randomBytes(length);
    for (const [seal, open] of [[native, node], [node, native]] as const) {
      const sealed = seal.seal(secret, place);
      assert.equal(sealed.length, 1 + 12 + length + 16);
      assert.deepEqual(open.open(sealed, place), secret, `length ${length}`);
      assert.throws(() => open.open(sealed, { ...place, uid: 'other' }), gkmError('GKM_STORE_SECRET_CORRUPT'));
      for (const at of [1, 5, 13, sealed.length - 1]) {
        const tampered = Buffer.from(sealed);
        tampered[at] = tampered[at]! ^ 0x80;
        assert.throws(() => open.open(tampered, place), gkmError('GKM_STORE_SECRET_CORRUPT'), `length ${length}, octet ${at}`);
      }
    }
  }
});
