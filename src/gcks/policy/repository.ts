/**
 * Group policies in the store: validated on the way in and again on the way out (a hand-
 * edited or older document fails loudly), with an audit entry per change, atomically.
 */
import { GkmError } from '../../ikev2/errors.ts';
import type { Store } from '../../store/index.ts';
import { ensureSigningKey } from '../groups/signing-key.ts';
import type { GroupPolicy, RekeyAuthentication } from './types.ts';
import { validateGroupPolicy } from './validate.ts';

export interface LoadedPolicy {
  readonly policy: GroupPolicy;
  readonly version: number;
}

const authOf = (p: GroupPolicy): RekeyAuthentication | undefined => (p.rekey.method === 'multicast' ? p.rekey.sa.authentication : undefined);
const sameAuth = (a: RekeyAuthentication | undefined, b: RekeyAuthentication | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

export function loadGroupPolicy(store: Store, groupId: number): LoadedPolicy | undefined {
  const stored = store.policies.get(groupId);
  if (!stored) return undefined;
  try {
    return { policy: validateGroupPolicy(stored.document), version: stored.version };
  } catch (e) {
    if (!(e instanceof GkmError)) throw e;
    throw new GkmError('GKM_POLICY_INVALID', { field: `group ${groupId} policy v${stored.version}`, detail: `stored policy no longer validates: ${e.message}`, cause: e });
  }
}

/**
 * Validate and store a group's policy; creates the rekey signing key a signature policy
 * needs. The GSA_REKEY authentication cannot change once members may hold it: GCAUTH is
 * only sent at registration (§4.4.2.1.1).
 */
export function saveGroupPolicy(store: Store, groupId: number, document: unknown, actor: string): LoadedPolicy {
  const policy = validateGroupPolicy(document);
  return store.transaction(() => {
    store.groups.require(groupId);
    const previous = store.policies.get(groupId);
    if (previous) {
      const before = authOf(validateGroupPolicy(previous.document));
      if (before && !sameAuth(before, authOf(policy))) {
        throw new GkmError('GKM_POLICY_INVALID', {
          field: 'rekey.sa.authentication',
          detail: 'the GSA_REKEY authentication of a group never changes (§4.4.2.1.1); create a new group instead',
        });
      }
    }
    const auth = authOf(policy);
    if (auth?.method === 'signature') ensureSigningKey(store, groupId, auth.algorithm);
    const { version } = store.policies.put(groupId, policy);
    store.audit.append({ actor, action: previous ? 'policy.update' : 'policy.create', groupId, detail: { version } });
    return { policy, version };
  });
}
