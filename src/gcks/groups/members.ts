/**
 * Authorized members: identity and credential (a PSK, stored sealed, or a public key as
 * SPKI), and per group a role and a Sender-ID limit. At registration, an authenticated
 * member that is not authorized for the group is GKM_GCKS_NOT_AUTHORIZED (notify
 * AUTHORIZATION_FAILED, RFC 9838 §4.7).
 */
import { createPublicKey } from 'node:crypto';
import { spkiToPublicKey } from '../../ikev2/crypto/spki.ts';
import { GkmError } from '../../ikev2/errors.ts';
import type { Authorization, MemberCredential, MemberRecord, MemberRole, Store, StoredIdentity } from '../../store/index.ts';
import { InputReader } from '../config/input.ts';
import { identityLabel, MEMBER_ID_KINDS, normalizeIdentity, parseIdentity } from './identity.ts';

/** Shortest PSK accepted: 128 bits (RFC 7296 §2.15 asks for a key as strong as the SA's). */
export const MIN_PSK_OCTETS = 16;
export const MAX_SENDER_IDS_PER_MEMBER = 1024;

export interface MemberSpec {
  readonly identity: StoredIdentity;
  readonly credential: MemberCredential;
}

export interface AuthorizationSpec {
  readonly role: MemberRole;
  readonly maxSenderIds: number;
}

const reader = (): InputReader => new InputReader('GKM_MEMBER_INVALID');

/**
 * Parse `{ id: {type, value}, psk: "text" | pskHex: "…" | publicKey: "PEM or base64 DER SPKI" }`.
 * A text PSK is its UTF-8 bytes.
 */
export function parseMemberSpec(v: unknown): MemberSpec {
  const r = reader();
  const o = r.object(v, 'member', ['id', 'psk', 'pskHex', 'publicKey']);
  const identity = parseIdentity(o.id, r, 'member.id', MEMBER_ID_KINDS);
  const given = ['psk', 'pskHex', 'publicKey'].filter((k) => o[k] !== undefined);
  if (given.length !== 1) r.fail('member', 'give exactly one of psk, pskHex, publicKey');
  let credential: MemberCredential;
  if (o.publicKey !== undefined) {
    const text = r.string(o.publicKey, 'member.publicKey');
    credential = { kind: 'public-key', spki: parsePublicKey(text, r) };
  } else {
    const psk =
      o.psk !== undefined
        ? Buffer.from(r.string(o.psk, 'member.psk'), 'utf8')
        : Buffer.from(r.string(o.pskHex, 'member.pskHex', { pattern: /^(?:[0-9a-fA-F]{2})+$/, what: 'hex octets' }), 'hex');
    if (psk.length < MIN_PSK_OCTETS) r.fail(given[0]!, `a PSK needs at least ${MIN_PSK_OCTETS} octets`);
    credential = { kind: 'psk', psk };
  }
  return { identity, credential };
}

/** A PEM public key or base64 DER SPKI, as canonical DER SPKI of a supported signature key type. */
function parsePublicKey(text: string, r: InputReader): Buffer {
  try {
    const der = text.includes('-----BEGIN') ? createPublicKey(text).export({ format: 'der', type: 'spki' }) : Buffer.from(text, 'base64');
    return spkiToPublicKey(der).export({ format: 'der', type: 'spki' });
  } catch (e) {
    return r.fail('member.publicKey', `not a usable public key: ${(e as Error).message}`);
  }
}

export function parseAuthorizationSpec(v: unknown): AuthorizationSpec {
  const r = reader();
  const o = r.object(v ?? {}, 'authorization', ['role', 'maxSenderIds']);
  const role = r.optional(o.role, (x) => r.oneOf(x, 'authorization.role', ['sender', 'receiver', 'both'] as const), 'receiver' as const);
  const maxSenderIds = r.optional(o.maxSenderIds, (x) => r.integer(x, 'authorization.maxSenderIds', 0, MAX_SENDER_IDS_PER_MEMBER), role === 'receiver' ? 0 : 1);
  if (role === 'receiver' && maxSenderIds > 0) r.fail('authorization.maxSenderIds', 'a receiver gets no Sender-IDs');
  return { role, maxSenderIds };
}

export function addMember(store: Store, spec: MemberSpec, actor: string): MemberRecord {
  return store.transaction(() => {
    const member = store.members.create(spec.identity, spec.credential);
    store.audit.append({ actor, action: 'member.create', memberId: member.id, detail: { id: identityLabel(member.identity), credential: member.credentialKind } });
    return member;
  });
}

export function authorizeMember(store: Store, groupId: number, memberId: number, spec: AuthorizationSpec, actor: string): Authorization {
  return store.transaction(() => {
    const a = store.members.authorize(groupId, memberId, spec);
    store.audit.append({ actor, action: 'member.authorize', groupId, memberId, detail: { role: a.role, maxSenderIds: a.maxSenderIds } });
    return a;
  });
}

/** Revoking also ends the member's registration for the group (its row cascades). */
export function revokeMember(store: Store, groupId: number, memberId: number, actor: string): boolean {
  return store.transaction(() => {
    const done = store.members.revoke(groupId, memberId);
    if (done) store.audit.append({ actor, action: 'member.revoke', groupId, memberId });
    return done;
  });
}

/** The member a received IDi names, if any (normalized like stored identities). */
export function findMemberByIdentity(store: Store, id: StoredIdentity): MemberRecord | undefined {
  try {
    return store.members.findByIdentity(normalizeIdentity(id, 'GKM_MEMBER_INVALID', 'IDi'));
  } catch (e) {
    if (e instanceof GkmError && e.code === 'GKM_MEMBER_INVALID') return undefined;
    throw e;
  }
}

/** The member's authorization for the group; GKM_GCKS_NOT_AUTHORIZED (AUTHORIZATION_FAILED) when none. */
export function requireAuthorization(store: Store, groupId: number, memberId: number): Authorization {
  const a = store.members.authorization(groupId, memberId);
  if (!a) throw new GkmError('GKM_GCKS_NOT_AUTHORIZED', { field: `group ${groupId}`, detail: `member ${memberId}` });
  return a;
}
