/** Groups, members, signing keys and the sample group, on a real store. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkAlgorithmIdentifierFitsKey, signatureAlgorithmIdentifier } from '../../../src/ikev2/crypto/sig.ts';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { NotifyType } from '../../../src/ikev2/registry/notify.ts';
import { IdType } from '../../../src/ikev2/registry/misc.ts';
import { openStore } from '../../../src/store/index.ts';
import {
  addMember,
  authorizeMember,
  createGroup,
  ensureSampleGroup,
  findGroupByIdg,
  findMemberByIdentity,
  loadSigningKey,
  parseAuthorizationSpec,
  parseGroupSpec,
  parseMemberSpec,
  requireAuthorization,
  revokeMember,
  SAMPLE_PSK_FILE,
} from '../../../src/gcks/groups/index.ts';
import { loadGroupPolicy, saveGroupPolicy } from '../../../src/gcks/policy/index.ts';
import { gkmError, memoryStore, newMasterKey, tempDir } from '../../store/helpers.ts';
import { basePolicy, changed } from '../policy/fixtures.ts';

const spec = (over: Record<string, unknown> = {}) => parseGroupSpec({ name: 'video', id: { type: 'fqdn', value: 'Video.Example' }, memberCap: 50, policy: basePolicy(), ...over });

test('createGroup stores group, policy, signing key and audit entries in one transaction', () => {
  const store = memoryStore();
  const { group, policy, version } = createGroup(store, spec(), 'admin:test');
  assert.equal(version, 1);
  assert.equal(group.memberCap, 50);
  assert.deepEqual(loadGroupPolicy(store, group.id)?.policy, policy);
  const key = loadSigningKey(store, group.id)!;
  assert.equal(key.scheme, 'ed25519');
  checkAlgorithmIdentifierFitsKey(signatureAlgorithmIdentifier('ed25519'), key.privateKey);
  assert.deepEqual(store.audit.list({ groupId: group.id }).map((e) => e.action), ['group.create', 'policy.create']);
  // A duplicate IDg rolls the whole creation back.
  assert.throws(() => createGroup(store, spec({ name: 'other' }), 'admin:test'), gkmError('GKM_STORE_CONFLICT'));
  assert.equal(store.groups.list().length, 1);
});

test('an invalid policy creates nothing', () => {
  const store = memoryStore();
  assert.throws(() => parseGroupSpec({ name: 'g', id: { type: 'key-id', value: 'g' }, policy: changed('dataSecuritySas.0.mode', 'beet') }), gkmError('GKM_POLICY_INVALID'));
  assert.throws(() => createGroup(store, { name: 'g', identity: { idType: 11, data: Buffer.from('g') }, memberCap: null, policy: {} }, 'a'), gkmError('GKM_POLICY_INVALID'));
  assert.deepEqual(store.groups.list(), []);
});

test('findGroupByIdg: normalized lookup; unknown group is INVALID_GROUP_ID', () => {
  const store = memoryStore();
  const { group } = createGroup(store, spec(), 'admin:test');
  assert.equal(findGroupByIdg(store, { idType: IdType.ID_FQDN, data: Buffer.from('VIDEO.example.') }).id, group.id);
  for (const idg of [{ idType: IdType.ID_FQDN, data: Buffer.from('audio.example') }, { idType: IdType.ID_DER_ASN1_DN, data: Buffer.from([0x30, 0]) }]) {
    assert.throws(() => findGroupByIdg(store, idg), (e: unknown) => isGkmError(e, 'GKM_GCKS_UNKNOWN_GROUP') && e.notify === NotifyType.INVALID_GROUP_ID && e.httpStatus === 404);
  }
});

test('policy updates: version grows, audit entry; the rekey authentication never changes', () => {
  const store = memoryStore();
  const { group } = createGroup(store, spec(), 'admin:test');
  const keyBefore = loadSigningKey(store, group.id)!.record.id;
  assert.equal(saveGroupPolicy(store, group.id, changed('groupWide.activationTimeDelay', 10), 'admin:test').version, 2);
  assert.equal(loadSigningKey(store, group.id)!.record.id, keyBefore, 'the signing key is kept');
  assert.throws(() => saveGroupPolicy(store, group.id, changed('rekey.sa.authentication', { method: 'implicit' }), 'admin:test'), gkmError('GKM_POLICY_INVALID', /never changes/));
  assert.throws(() => saveGroupPolicy(store, group.id, changed('rekey.sa.authentication.algorithm', 'ed448'), 'admin:test'), gkmError('GKM_POLICY_INVALID', /never changes/));
  assert.equal(loadGroupPolicy(store, group.id)?.version, 2);
  assert.deepEqual(store.audit.list({ groupId: group.id }).map((e) => e.action), ['group.create', 'policy.create', 'policy.update']);
});

test('a stored policy that no longer validates fails loudly on load', () => {
  const store = memoryStore();
  const { group } = createGroup(store, spec(), 'admin:test');
  store.policies.put(group.id, { dataSecuritySas: 'tampered' });
  assert.throws(() => loadGroupPolicy(store, group.id), gkmError('GKM_POLICY_INVALID', /no longer validates/));
});

test('members: PSK or public key, authorization, AUTHORIZATION_FAILED, revocation', () => {
  const store = memoryStore();
  const { group } = createGroup(store, spec(), 'admin:test');
  const alice = addMember(store, parseMemberSpec({ id: { type: 'rfc822', value: 'alice@Example.com' }, psk: 'correct horse battery staple' }), 'admin:test');
  const spki = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const bob = addMember(store, parseMemberSpec({ id: { type: 'key-id', value: 'bob' }, publicKey: spki }), 'admin:test');
  assert.equal(bob.credentialKind, 'public-key');
  assert.ok(bob.publicKey && bob.publicKey.length === 44);
  assert.deepEqual(store.members.credential(alice.id), { kind: 'psk', psk: Buffer.from('correct horse battery staple') });
  assert.equal(findMemberByIdentity(store, { idType: IdType.ID_RFC822_ADDR, data: Buffer.from('alice@EXAMPLE.com') })?.id, alice.id);
  assert.equal(findMemberByIdentity(store, { idType: 99, data: Buffer.from('x') }), undefined);

  assert.throws(() => requireAuthorization(store, group.id, alice.id), (e: unknown) => isGkmError(e, 'GKM_GCKS_NOT_AUTHORIZED') && e.notify === NotifyType.AUTHORIZATION_FAILED);
  authorizeMember(store, group.id, alice.id, parseAuthorizationSpec({ role: 'sender', maxSenderIds: 3 }), 'admin:test');
  assert.deepEqual(requireAuthorization(store, group.id, alice.id).maxSenderIds, 3);
  assert.equal(revokeMember(store, group.id, alice.id, 'admin:test'), true);
  assert.throws(() => requireAuthorization(store, group.id, alice.id), gkmError('GKM_GCKS_NOT_AUTHORIZED'));
  assert.deepEqual(store.audit.list({ groupId: group.id }).map((e) => e.action).slice(-2), ['member.authorize', 'member.revoke']);
});

test('member and authorization specs are validated', () => {
  const bad: [unknown, RegExp][] = [
    [{ id: { type: 'key-id', value: 'm' }, psk: 'short' }, /at least 16 octets/],
    [{ id: { type: 'key-id', value: 'm' } }, /exactly one of/],
    [{ id: { type: 'key-id', value: 'm' }, psk: 'a'.repeat(20), pskHex: '00'.repeat(20) }, /exactly one of/],
    [{ id: { type: 'key-id', value: 'm' }, publicKey: 'bm90IGEga2V5' }, /not a usable public key/],
  ];
  for (const [v, re] of bad) assert.throws(() => parseMemberSpec(v), gkmError('GKM_MEMBER_INVALID', re));
  assert.deepEqual(parseAuthorizationSpec(undefined), { role: 'receiver', maxSenderIds: 0 });
  assert.deepEqual(parseAuthorizationSpec({ role: 'both' }), { role: 'both', maxSenderIds: 1 });
  assert.throws(() => parseAuthorizationSpec({ role: 'receiver', maxSenderIds: 2 }), gkmError('GKM_MEMBER_INVALID', /no Sender-IDs/));
  assert.equal(parseMemberSpec({ id: { type: 'key-id', value: 'm' }, pskHex: 'ab'.repeat(16) }).credential.kind, 'psk');
});

test('ensureSampleGroup: created once with a 0600 PSK file; restart keeps group, member, keys', () => {
  const dir = tempDir();
  const path = join(dir, 'data', 'gcks.db');
  const key = newMasterKey();
  let store = openStore({ path, masterKey: key });
  const first = ensureSampleGroup(store);
  assert.equal(first.created, true);
  assert.equal(first.pskFile, join(dir, 'data', SAMPLE_PSK_FILE));
  assert.equal(statSync(first.pskFile!).mode & 0o777, 0o600);
  const psk = readFileSync(first.pskFile!, 'utf8').replace(/\n$/, '');
  const group = store.groups.require(first.groupId);
  assert.deepEqual(group.identity, { idType: IdType.ID_KEY_ID, data: Buffer.from('sample-group') });
  const member = store.members.findByIdentity({ idType: IdType.ID_KEY_ID, data: Buffer.from('sample-member') })!;
  assert.deepEqual(store.members.credential(member.id), { kind: 'psk', psk: Buffer.from(psk, 'utf8') });
  const signing = loadSigningKey(store, group.id)!;
  store.close();

  store = openStore({ path, masterKey: key });
  try {
    const again = ensureSampleGroup(store);
    assert.deepEqual(again, { created: false, groupId: first.groupId, pskFile: null });
    assert.equal(readFileSync(first.pskFile!, 'utf8').replace(/\n$/, ''), psk, 'the PSK file is not rewritten');
    const p = loadGroupPolicy(store, group.id)!.policy;
    assert.equal(p.rekey.method === 'multicast' && p.rekey.sa.destination.address, '239.192.0.100');
    assert.equal(p.groupWide.senderIdBits, 8);
    assert.deepEqual(loadSigningKey(store, group.id)!.spki, signing.spki);
    assert.equal(requireAuthorization(store, group.id, member.id).role, 'both');
  } finally {
    store.close();
  }
  // The raw database holds neither the PSK nor the signing key's private half.
  const raw = readFileSync(path);
  assert.equal(raw.indexOf(Buffer.from(psk)), -1);
  const pkcs8 = signing.privateKey.export({ format: 'der', type: 'pkcs8' });
  assert.equal(raw.indexOf(pkcs8.subarray(pkcs8.length - 32)), -1);
});

test('ensureSampleGroup on an in-memory store writes no file', () => {
  const store = memoryStore();
  const r = ensureSampleGroup(store);
  assert.equal(r.pskFile, null);
  assert.equal(r.created, true);
});
