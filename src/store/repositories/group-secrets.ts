/**
 * Sealed per-group secrets that are neither SA keys nor key-tree node keys (migration 005):
 *   lkh-leaf-keys  the secret LKH leaf keys are derived from (src/gcks/keys/leaf-keys.ts)
 * One row per group and purpose, created once and never changed; sealed under the master key
 * like key_material, bound to the row's uid.
 */
import type { SecretPlace } from '../secret-box.ts';
import type { RepositoryContext } from './context.ts';
import { guarded, newUid } from './context.ts';

export type GroupSecretPurpose = 'lkh-leaf-keys';

export interface GroupSecretRepository {
  /** The decrypted secret, or undefined; GKM_STORE_SECRET_CORRUPT if it does not authenticate. */
  get(groupId: number, purpose: GroupSecretPurpose): Buffer | undefined;
  /** Store a new secret (GKM_STORE_CONFLICT if the group has one for this purpose). */
  add(groupId: number, purpose: GroupSecretPurpose, secret: Uint8Array): void;
}

export const GROUP_SECRET_COLUMN = { table: 'group_secrets', column: 'secret_enc' } as const;
const place = (uid: string): SecretPlace => ({ ...GROUP_SECRET_COLUMN, uid });

export function groupSecretRepository(ctx: RepositoryContext): GroupSecretRepository {
  const { db } = ctx;
  const get = db.prepare<[number, string], { uid: string; secret_enc: Buffer }>('SELECT uid, secret_enc FROM group_secrets WHERE group_id = ? AND purpose = ?');
  const insert = db.prepare('INSERT INTO group_secrets (uid, group_id, purpose, secret_enc, created_at) VALUES (?, ?, ?, ?, ?)');
  return {
    get(groupId, purpose) {
      const r = get.get(groupId, purpose);
      return r && ctx.secrets().open(r.secret_enc, place(r.uid));
    },
    add(groupId, purpose, secret) {
      const uid = newUid();
      const sealed = ctx.secrets().seal(secret, place(uid));
      guarded('group_secrets', () => insert.run(uid, groupId, purpose, sealed, ctx.now()));
    },
  };
}
