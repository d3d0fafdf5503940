/** Group and member identities: validation and one normalized form (RFC 9838 §4.2, RFC 7296 §3.5). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdType } from '../../../src/ikev2/registry/misc.ts';
import { InputReader } from '../../../src/gcks/config/index.ts';
import { GROUP_ID_KINDS, identityInput, identityLabel, normalizeIdentity, parseIdentity } from '../../../src/gcks/groups/index.ts';
import { gkmError } from '../../store/helpers.ts';

const parse = (v: unknown) => parseIdentity(v, new InputReader('GKM_GROUP_INVALID_ID'), 'id', GROUP_ID_KINDS);

test('KEY_ID as text or hex, kept as opaque octets', () => {
  assert.deepEqual(parse({ type: 'key-id', value: 'Sample-Group' }), { idType: IdType.ID_KEY_ID, data: Buffer.from('Sample-Group') });
  assert.deepEqual(parse({ type: 'key-id', hex: '00ff' }), { idType: IdType.ID_KEY_ID, data: Buffer.from([0, 255]) });
  assert.deepEqual(identityInput(parse({ type: 'key-id', hex: '00ff' })), { type: 'key-id', hex: '00ff' });
  assert.equal(identityLabel(parse({ type: 'key-id', value: 'g' })), 'key-id:g');
  assert.throws(() => parse({ type: 'key-id', value: 'x'.repeat(257) }), gkmError('GKM_GROUP_INVALID_ID', /1\.\.256 octets/));
});

test('FQDN: lower case, no trailing dot, host-name syntax', () => {
  const id = parse({ type: 'fqdn', value: 'Video.Example.COM.' });
  assert.deepEqual(id, { idType: IdType.ID_FQDN, data: Buffer.from('video.example.com') });
  assert.deepEqual(identityInput(id), { type: 'fqdn', value: 'video.example.com' });
  for (const bad of ['-a.example', 'a..b', 'under_score.example', 'a'.repeat(64) + '.example', 'ünicode.example']) {
    assert.throws(() => parse({ type: 'fqdn', value: bad }), gkmError('GKM_GROUP_INVALID_ID'), bad);
  }
});

test('IPv4 and IPv6 as bytes, shown in canonical text', () => {
  const v6 = parse({ type: 'ipv6', value: '2001:DB8:0:0:0:0:0:1' });
  assert.equal(v6.data.length, 16);
  assert.deepEqual(identityInput(v6), { type: 'ipv6', value: '2001:db8::1' });
  assert.deepEqual(parse({ type: 'ipv4', value: '192.0.2.1' }).data, Buffer.from([192, 0, 2, 1]));
  assert.throws(() => parse({ type: 'ipv4', value: '2001:db8::1' }), gkmError('GKM_GROUP_INVALID_ID', /IPv4/));
  assert.throws(() => parse({ type: 'ipv6', value: 'fe80::1%eth0' }), gkmError('GKM_GROUP_INVALID_ID'));
});

test('RFC 822: domain lower-cased, local part kept', () => {
  assert.deepEqual(parse({ type: 'rfc822', value: 'Ops@Example.ORG' }).data, Buffer.from('Ops@example.org'));
  assert.throws(() => parse({ type: 'rfc822', value: 'no-at-sign' }), gkmError('GKM_GROUP_INVALID_ID'));
});

test('shape errors name the field', () => {
  assert.throws(() => parse({ type: 'dn', value: 'CN=x' }), gkmError('GKM_GROUP_INVALID_ID', /\(id\.type\)/));
  assert.throws(() => parse({ type: 'fqdn', hex: '00' }), gkmError('GKM_GROUP_INVALID_ID', /binary key-id/));
  assert.throws(() => parse({ type: 'fqdn' }), gkmError('GKM_GROUP_INVALID_ID', /id\.value/));
});

test('normalizeIdentity applies the same rules to a received ID', () => {
  assert.deepEqual(normalizeIdentity({ idType: IdType.ID_FQDN, data: Buffer.from('GROUP.example.') }).data, Buffer.from('group.example'));
  assert.throws(() => normalizeIdentity({ idType: IdType.ID_DER_ASN1_DN, data: Buffer.from([0x30, 0]) }), gkmError('GKM_GROUP_INVALID_ID', /ID type 9/));
  assert.throws(() => normalizeIdentity({ idType: IdType.ID_IPV4_ADDR, data: Buffer.alloc(16) }), gkmError('GKM_GROUP_INVALID_ID'));
});
