/**
 * Per-group Sender-ID counters (RFC 9838 §2.5.1): the counter starts at 0 and grows by one
 * per ID handed out; fresh IDs on every registration, never reused. When the space of
 * GWP_SENDER_ID_BITS is used up the GCKS must exclude everyone and start over (reset).
 */
import { GkmError } from '../../ikev2/errors.ts';
import type { RepositoryContext } from './context.ts';
import { guarded } from './context.ts';

export interface SenderIdRepository {
  /**
   * Grant up to `requested` consecutive IDs below 2^bits (fewer when fewer are left: the GCKS
   * MAY grant fewer, MUST NOT grant more); GKM_GCKS_SENDER_IDS_EXHAUSTED when none is left.
   */
  allocate(groupId: number, requested: number, bits: number): number[];
  /** The next ID that would be granted. */
  next(groupId: number): number;
  /** Start again at 0, after every member has been excluded (RFC 9838 §2.5.1). */
  reset(groupId: number): void;
}

export function senderIdRepository(ctx: RepositoryContext): SenderIdRepository {
  const { db } = ctx;
  const get = db.prepare<[number], { next_value: number }>('SELECT next_value FROM sender_id_counters WHERE group_id = ?');
  const set = db.prepare(`INSERT INTO sender_id_counters (group_id, next_value) VALUES (?, ?)
    ON CONFLICT (group_id) DO UPDATE SET next_value = excluded.next_value`);

  const repo: SenderIdRepository = {
    next: (groupId) => get.get(groupId)?.next_value ?? 0,
    allocate(groupId, requested, bits) {
      const allocate = (): number[] => {
        if (!Number.isInteger(requested) || requested < 1) throw new GkmError('GKM_STORE_CONFLICT', { field: 'requested', detail: `${requested}` });
        const start = repo.next(groupId);
        const granted = Math.min(requested, 2 ** bits - start);
        if (granted < 1) {
          throw new GkmError('GKM_GCKS_SENDER_IDS_EXHAUSTED', { field: `group ${groupId}`, detail: `all 2^${bits} Sender-IDs granted; exclude all members and reset` });
        }
        guarded('sender_id_counters', () => set.run(groupId, start + granted));
        return Array.from({ length: granted }, (_, i) => start + i);
      };
      // A read, then one write as the last step: inside an open transaction (a registration)
      // nothing is left to undo when it fails, so no savepoint of its own; alone it needs a
      // transaction so that no other connection writes between the read and the write.
      return ctx.tx.open ? allocate() : ctx.tx.run(allocate);
    },
    reset(groupId) {
      guarded('sender_id_counters', () => set.run(groupId, 0));
    },
  };
  return repo;
}
