/**
 * Groups: creation from a JSON spec (name, IDg, member cap, policy) in one transaction with
 * its policy, signing key and audit entry; lookup by a received IDg (RFC 9838 §4.2), where
 * an unknown group is GKM_GCKS_UNKNOWN_GROUP (notify INVALID_GROUP_ID, §4.7).
 */
import { GkmError } from '../../ikev2/errors.ts';
import type { GroupRecord, Store, StoredIdentity } from '../../store/index.ts';
import { InputReader } from '../config/input.ts';
import { saveGroupPolicy, type LoadedPolicy } from '../policy/repository.ts';
import { validateGroupPolicy } from '../policy/validate.ts';
import { GROUP_ID_KINDS, identityLabel, normalizeIdentity, parseIdentity } from './identity.ts';

export interface GroupSpec {
  readonly name: string;
  readonly identity: StoredIdentity;
  readonly memberCap: number | null;
  /** Policy document, validated by validateGroupPolicy. */
  readonly policy: unknown;
}

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_MEMBER_CAP = 10_000_000;

/** Parse `{ name, id: {type, value}, memberCap?, policy }`; the policy is validated too. */
export function parseGroupSpec(v: unknown): GroupSpec {
  const r = new InputReader('GKM_GROUP_INVALID_ID');
  const o = r.object(v, 'group', ['name', 'id', 'memberCap', 'policy']);
  const name = r.string(o.name, 'group.name', { pattern: GROUP_NAME, what: 'a name of letters, digits, ".", "_", "-"' });
  const identity = parseIdentity(o.id, r, 'group.id', GROUP_ID_KINDS);
  const memberCap = r.optional(o.memberCap, (x) => (x === null ? null : r.integer(x, 'group.memberCap', 1, MAX_MEMBER_CAP)), null);
  validateGroupPolicy(o.policy);
  return { name, identity, memberCap, policy: o.policy };
}

export function createGroup(store: Store, spec: GroupSpec, actor: string): { group: GroupRecord } & LoadedPolicy {
  return store.transaction(() => {
    const group = store.groups.create({ name: spec.name, identity: spec.identity, memberCap: spec.memberCap });
    store.audit.append({ actor, action: 'group.create', groupId: group.id, detail: { name: group.name, id: identityLabel(group.identity), memberCap: group.memberCap } });
    return { group, ...saveGroupPolicy(store, group.id, spec.policy, actor) };
  });
}

/** The group a received IDg names; GKM_GCKS_UNKNOWN_GROUP (INVALID_GROUP_ID) when none. */
export function findGroupByIdg(store: Store, idg: StoredIdentity): GroupRecord {
  let normalized: StoredIdentity;
  try {
    normalized = normalizeIdentity(idg);
  } catch (e) {
    throw new GkmError('GKM_GCKS_UNKNOWN_GROUP', { field: 'IDg', detail: (e as Error).message, cause: e });
  }
  const group = store.groups.findByIdentity(normalized);
  if (!group) throw new GkmError('GKM_GCKS_UNKNOWN_GROUP', { field: 'IDg', detail: identityLabel(normalized) });
  return group;
}

export function removeGroup(store: Store, groupId: number, actor: string): boolean {
  return store.transaction(() => {
    const group = store.groups.get(groupId);
    if (!group) return false;
    store.groups.remove(groupId);
    store.audit.append({ actor, action: 'group.remove', groupId, detail: { name: group.name, id: identityLabel(group.identity) } });
    return true;
  });
}
