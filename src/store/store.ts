/**
 * The GCKS store: one SQLite database behind small repositories. `openStore` opens (or
 * creates) the database, applies the migrations, and checks the master key against the
 * key check value recorded when the database was created. No other module writes SQL.
 *
 * Atomic changes: `store.transaction(fn)` runs `fn` in one SQLite transaction (nested calls
 * become savepoints); `fn` must be synchronous, and anything it throws rolls back every
 * repository change made inside it.
 */
import { GkmError } from '../ikev2/errors.ts';
import { DEFAULT_BUSY_TIMEOUT_MS, IN_MEMORY, openDatabase, type SqliteDatabase } from './database.ts';
import { applyMigrations, loadMigrations, schemaVersion } from './migrations.ts';
import { auditRepository, type AuditRepository } from './repositories/audit.ts';
import type { RepositoryContext } from './repositories/context.ts';
import { groupRepository, policyRepository, type GroupRepository, type PolicyRepository } from './repositories/groups.ts';
import { groupKeyStateRepository, type GroupKeyStateRepository } from './repositories/group-key-state.ts';
import { GROUP_SECRET_COLUMN, groupSecretRepository, type GroupSecretRepository } from './repositories/group-secrets.ts';
import { KEY_SECRET_COLUMN, keyMaterialRepository, type KeyMaterialRepository } from './repositories/keys.ts';
import { lkhLeafRepository, type LkhLeafRepository } from './repositories/lkh-leaves.ts';
import { MEMBER_PSK_COLUMN, memberRepository, type MemberRepository } from './repositories/members.ts';
import { registrationRepository, type RegistrationRepository } from './repositories/registrations.ts';
import { senderIdRepository, type SenderIdRepository } from './repositories/sender-ids.ts';
import { SecretBox } from './secret-box.ts';
import { Transactions } from './transactions.ts';
import { WalCheckpointer, type WalCheckpointerOptions } from './checkpointer.ts';

export interface StoreOptions {
  /** Database file, or ":memory:"; default ./data/gcks.db. */
  readonly path?: string;
  /** 32-byte master key (src/store/master-key.ts loads it). */
  readonly masterKey: Buffer;
  readonly busyTimeoutMs?: number;
  /** Default: migrations/ of this repository. */
  readonly migrationsDir?: string;
  /** Clock, ms since the epoch (tests). */
  readonly now?: () => number;
  /**
   * WAL checkpoints on a thread of their own (src/store/checkpointer.ts) instead of in the
   * committing call; the GCKS service's choice. Ignored for ":memory:".
   */
  readonly backgroundCheckpoints?: boolean | Omit<WalCheckpointerOptions, 'path' | 'busyTimeoutMs'>;
}

export interface Store {
  readonly path: string;
  /** Whether this open created the database file. */
  readonly created: boolean;
  readonly schemaVersion: number;
  readonly groups: GroupRepository;
  readonly policies: PolicyRepository;
  readonly members: MemberRepository;
  readonly registrations: RegistrationRepository;
  readonly keys: KeyMaterialRepository;
  readonly senderIds: SenderIdRepository;
  /** Key engine state per group (current/pending Rekey SA rows, Key ID counter, open batch). */
  readonly groupKeyState: GroupKeyStateRepository;
  /** Sealed per-group secrets (the one LKH leaf keys are derived from). */
  readonly groupSecrets: GroupSecretRepository;
  /** LKH leaves with derived keys: Key ID, position, member (no secret). */
  readonly lkhLeaves: LkhLeafRepository;
  readonly audit: AuditRepository;
  /** Whether WAL checkpoints run on the checkpoint thread now (see StoreOptions). */
  readonly backgroundCheckpoints: boolean;
  transaction<T>(fn: () => T): T;
  /**
   * Group commit: open a transaction that store.transaction() calls nest in (as savepoints,
   * each still all-or-nothing) until commit(); one commit for many small changes. Keep it
   * short (one event-loop turn): it holds SQLite's write lock from its start (BEGIN
   * IMMEDIATE). Audit entries appended inside it are written at its commit (multi-row).
   */
  beginBatch(): StoreBatch;
  /** Re-encrypt every secret under `newMasterKey` in one transaction; afterwards only it opens the store. */
  rotateMasterKey(newMasterKey: Buffer): { readonly reencrypted: number };
  close(): void;
}

export interface StoreBatch {
  commit(): void;
  rollback(): void;
}

const KEY_CHECK = 'master_key_check';

/** Every sealed column; the master key rotation walks them all. */
const SECRET_COLUMNS = [MEMBER_PSK_COLUMN, KEY_SECRET_COLUMN, GROUP_SECRET_COLUMN] as const;

function checkMasterKey(db: SqliteDatabase, box: SecretBox): void {
  const row = db.prepare<[string], { value: string }>('SELECT value FROM store_meta WHERE name = ?').get(KEY_CHECK);
  if (!row) {
    // A database without a check value may not hold sealed secrets either: refuse to guess.
    const sealed = SECRET_COLUMNS.some(({ table, column }) => db.prepare(`SELECT 1 FROM ${table} WHERE ${column} IS NOT NULL LIMIT 1`).get());
    if (sealed) throw new GkmError('GKM_STORE_MASTER_KEY_MISMATCH', { detail: 'the database holds secrets but no key check value; restore it from a backup' });
    db.prepare('INSERT INTO store_meta (name, value) VALUES (?, ?)').run(KEY_CHECK, box.keyCheckValue);
    return;
  }
  if (!box.matches(row.value)) {
    throw new GkmError('GKM_STORE_MASTER_KEY_MISMATCH', {
      detail:
        'the key check value stored in the database differs. Start with the master key this database was created with ' +
        '(GCKS_MASTER_KEY_FILE or GCKS_MASTER_KEY); to change keys, rotate with both the old and the new key. ' +
        'Starting afresh means moving the database away: every group, member and key in it would be lost',
    });
  }
}

function rotate(db: SqliteDatabase, oldBox: SecretBox, newBox: SecretBox): number {
  let n = 0;
  for (const { table, column } of SECRET_COLUMNS) {
    const rows = db.prepare<[], { id: number; uid: string; sealed: Buffer }>(`SELECT id, uid, ${column} AS sealed FROM ${table} WHERE ${column} IS NOT NULL`).all();
    const update = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE id = ?`);
    for (const r of rows) {
      const place = { table, column, uid: r.uid };
      const plain = oldBox.open(r.sealed, place);
      update.run(newBox.seal(plain, place), r.id);
      plain.fill(0);
      n++;
    }
  }
  db.prepare('UPDATE store_meta SET value = ? WHERE name = ?').run(newBox.keyCheckValue, KEY_CHECK);
  return n;
}

export function openStore(opts: StoreOptions): Store {
  let box = new SecretBox(opts.masterKey);
  const { db, path, created } = openDatabase({ path: opts.path, busyTimeoutMs: opts.busyTimeoutMs });
  try {
    applyMigrations(db, loadMigrations(opts.migrationsDir));
    db.transaction(() => checkMasterKey(db, box))();
  } catch (e) {
    db.close();
    throw e;
  }
  const tx = new Transactions(db);
  const bg = opts.backgroundCheckpoints;
  const checkpointer = bg && path !== IN_MEMORY ? new WalCheckpointer(db, { ...(typeof bg === 'object' ? bg : {}), path, busyTimeoutMs: opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS }) : undefined;
  const ctx: RepositoryContext = { db, secrets: () => box, now: opts.now ?? Date.now, tx };
  return {
    path,
    created,
    get backgroundCheckpoints() {
      return checkpointer?.running ?? false;
    },
    schemaVersion: schemaVersion(db),
    groups: groupRepository(ctx),
    policies: policyRepository(ctx),
    members: memberRepository(ctx),
    registrations: registrationRepository(ctx),
    keys: keyMaterialRepository(ctx),
    senderIds: senderIdRepository(ctx),
    groupKeyState: groupKeyStateRepository(ctx),
    groupSecrets: groupSecretRepository(ctx),
    lkhLeaves: lkhLeafRepository(ctx),
    audit: auditRepository(ctx),
    transaction: (fn) => tx.run(fn),
    beginBatch() {
      tx.beginBatch();
      return { commit: () => tx.commit(), rollback: () => tx.rollback() };
    },
    rotateMasterKey(newMasterKey) {
      const next = new SecretBox(newMasterKey);
      const reencrypted = tx.run(() => rotate(db, box, next));
      box = next;
      return { reencrypted };
    },
    close() {
      checkpointer?.stop(); // its connection closes first: this one's close checkpoints and removes the WAL
      db.close();
    },
  };
}
