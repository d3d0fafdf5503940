/**
 * The key state of one group on the GCKS, tying together SPIs, Key IDs, the LKH tree and
 * the SA keys, and producing the KD payloads of each exchange (RFC 9838 §2.3, §2.4, §3):
 *
 *   register()      GSA_AUTH / GSA_REGISTRATION reply keys, over the GM's IKE SA
 *   commit()        after joins/evictions: GSA_REKEY #1 (new Rekey SA, membership change,
 *                   under the old KEK) then GSA_REKEY #2 (new Data-Security SAs under the new
 *                   KEK), in that order (forward access control, §3.2.1)
 *   simpleRekey()   GSA_REKEY without membership change (App. A "simple rekey")
 *   inbandRekey()   GSA_INBAND_REKEY keys, over a GM's IKE SA
 *
 * Policies come from the group model without SPIs; this module attaches SPIs and keys.
 * Sender-IDs are granted by the caller (SenderIdAllocator or the store) and passed in.
 *
 * Joins refresh the joiner's path at once (backward access control); the existing members
 * learn the new keys at the next commit(), which the caller should run soon after (e.g.
 * within a second, or before any other rekey). Joiners get the batch's new Rekey SA; a GM
 * already in the tree that registers again gets its current path and the current Rekey SA.
 */
import { GkmError } from '../../ikev2/errors.ts';
import type { GroupExchangeContext } from '../../ikev2/wire/group-attributes.ts';
import type { GsaPolicy } from '../../ikev2/wire/payloads/gsa.ts';
import type { KdPayload } from '../../ikev2/wire/payloads/kd.ts';
import { createDataSecuritySa, createRekeySa, type CreateSaOptions, type DataSecuritySaKeys, type GsaPolicyTemplate, type RekeySaKeys } from './group-sa-keys.ts';
import { buildKeyDownload, pathWraps, type KeyChannel } from './key-download.ts';
import { KeyIdAllocator } from './key-ids.ts';
import { KeyTree, type LeafKeySource, type MemberId } from './key-tree.ts';
import { secureRandom, type RandomSource } from './random.ts';
import { SpiAllocator } from './spi-allocator.ts';
import { WrapCache } from './wrap-cache.ts';

export interface GroupKeysOptions {
  /** Rekey SA policy; absent for a group rekeyed in-band only (RFC 9838 §2.4.2). */
  readonly rekeySa?: GsaPolicyTemplate;
  readonly dataSecurity: readonly GsaPolicyTemplate[];
  /** LKH tree degree for a multicast-rekeyed group, or false for no tree (keys under GSK_w only). */
  readonly treeDegree?: number | false;
  /** Members placed in a balanced tree from the start (no rekey; App. A's example tree). */
  readonly initialMembers?: readonly MemberId[];
  /** Announce each SA's successor in GSA_NEXT_SPI (default: yes when there is a Rekey SA). */
  readonly announceNextSpis?: boolean;
  readonly spis?: SpiAllocator;
  readonly keyIds?: KeyIdAllocator;
  readonly random?: RandomSource;
  /** LKH leaf keys derived from their Key IDs (leaf-keys.ts) instead of random. */
  readonly leafKeys?: LeafKeySource;
  /** Keys and tree as the store held them (GCKS restart), instead of fresh ones; pass `spis`/`keyIds` with their state. */
  readonly restored?: RestoredGroupKeys;
}

/** A group's key state rebuilt from the store. */
export interface RestoredGroupKeys {
  readonly rekeySa?: RekeySaKeys;
  readonly pendingRekeySa?: RekeySaKeys;
  readonly dataSecurity: readonly DataSecuritySaKeys[];
  readonly tree?: KeyTree;
}

/** The IKE SA a registration or in-band rekey travels over. */
export interface IkeSaKeyChannel {
  /** KWA negotiated in IKE_SA_INIT. */
  readonly kwaId: number;
  /** GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2") of that IKE SA. */
  readonly gskW: Buffer;
}

export interface RegistrationRequest {
  readonly member: MemberId;
  readonly ikeSa: IkeSaKeyChannel;
  /** GM_SENDER_IDs granted to this registration. */
  readonly senderIds?: readonly number[];
  /** AUTH_KEY: SPKI of the rekey signing key, with GCAUTH Digital Signature. */
  readonly authKey?: Buffer;
}

export interface RegistrationKeys {
  readonly kd: KdPayload;
  /** Policies for the GSA payload, with the SPIs the KD refers to. */
  readonly rekeySa?: GsaPolicy;
  readonly dataSecurity: readonly GsaPolicy[];
  readonly wraps: number;
  /** A commit that had to happen first (the tree had no room): send it before this reply. */
  readonly precedingRekey?: MembershipRekey;
}

export interface GroupRekeyMessage {
  /** The SA it is sent over: its KWA and GSK_w protect the KD (and its keys the message). */
  readonly channel: KeyChannel;
  readonly rekeySa?: GsaPolicy;
  readonly dataSecurity: readonly GsaPolicy[];
  readonly kd: KdPayload;
  readonly wraps: number;
}

export interface RetiredKeys {
  readonly rekeySa?: RekeySaKeys;
  readonly dataSecurity: readonly DataSecuritySaKeys[];
}

export interface MembershipRekey {
  /** GSA_REKEY #1 under the old Rekey SA; null when no current member needs it. */
  readonly membership: GroupRekeyMessage | null;
  /** GSA_REKEY #2 under the new Rekey SA with new Data-Security SAs; null when they are kept. */
  readonly dataSecurity: GroupRekeyMessage | null;
  /** Replaced SAs: keep until their DTD has passed, then wipeSaKeys() and release the SPIs. */
  readonly retired: RetiredKeys;
}

const channelOf = (context: GroupExchangeContext, c: IkeSaKeyChannel | RekeySaKeys): KeyChannel => ({ context, kwaId: c.kwaId, gskW: c.gskW });
const templateOf = ({ spi: _spi, ...t }: GsaPolicy): GsaPolicyTemplate => t;

export class GroupKeys {
  readonly spis: SpiAllocator;
  readonly keyIds: KeyIdAllocator;
  readonly tree: KeyTree | undefined;
  readonly #random: RandomSource;
  readonly #rekeyTemplate: GsaPolicyTemplate | undefined;
  readonly #create: CreateSaOptions;
  #rekeySa: RekeySaKeys | undefined;
  /** The Rekey SA of the pending batch, given to joiners. */
  #pendingRekeySa: RekeySaKeys | undefined;
  #dataSecurity: DataSecuritySaKeys[];
  /** In-band groups: membership changed since the last commit. */
  #inbandEvictions = 0;
  /** Registration wraps shared by members of a subtree (only ciphertext). */
  readonly #wraps = new WrapCache();

  constructor(opts: GroupKeysOptions) {
    this.#random = opts.random ?? secureRandom;
    this.spis = opts.spis ?? new SpiAllocator({ random: this.#random });
    this.keyIds = opts.keyIds ?? new KeyIdAllocator();
    this.#rekeyTemplate = opts.rekeySa;
    // GSA_NEXT_SPI is for multicast rekey only (RFC 9838 §5 table).
    this.#create = { random: this.#random, announceNextSpi: opts.rekeySa !== undefined && (opts.announceNextSpis ?? true) };
    const restored = opts.restored;
    this.#rekeySa = restored ? restored.rekeySa : opts.rekeySa && createRekeySa(opts.rekeySa, this.spis, this.#create);
    this.#pendingRekeySa = restored?.pendingRekeySa;
    this.#dataSecurity = restored ? [...restored.dataSecurity] : opts.dataSecurity.map((t) => createDataSecuritySa(t, this.spis, this.#create));
    const degree = opts.treeDegree;
    this.tree = restored
      ? restored.tree
      : this.#rekeySa && degree !== false
        ? KeyTree.build(opts.initialMembers ?? [], { kwaId: this.#rekeySa.kwaId, keyIds: this.keyIds, random: this.#random, ...(degree ? { degree } : {}), ...(opts.leafKeys ? { leafKeys: opts.leafKeys } : {}) })
        : undefined;
  }

  get rekeySa(): RekeySaKeys | undefined {
    return this.#rekeySa;
  }

  /** The Rekey SA of the pending batch (joiners hold it; commit() makes it current). */
  get pendingRekeySa(): RekeySaKeys | undefined {
    return this.#pendingRekeySa;
  }

  get dataSecurity(): readonly DataSecuritySaKeys[] {
    return this.#dataSecurity;
  }

  /** The registration context of this group (RFC 9838 §5 columns). */
  get registrationContext(): 'registration' | 'registration-inband' {
    return this.#rekeySa ? 'registration' : 'registration-inband';
  }

  /** Keys for a registration reply (GSA_AUTH / GSA_REGISTRATION). */
  register(req: RegistrationRequest): RegistrationKeys {
    const channel = channelOf(this.registrationContext, req.ikeSa);
    const tree = this.tree;
    let precedingRekey: MembershipRekey | undefined;
    let rekeySa = this.#rekeySa;
    let wraps = pathWraps([]);
    if (tree) {
      if (req.ikeSa.kwaId !== tree.kwaId) {
        throw new GkmError('GKM_KEYS_KWA_MISMATCH', { field: 'IKE SA KWA', detail: `IKE SA uses KWA ${req.ikeSa.kwaId}, the key tree ${tree.kwaId}` });
      }
      if (!tree.has(req.member) && !tree.canJoin) precedingRekey = this.commit() ?? undefined;
      if (tree.has(req.member)) {
        wraps = pathWraps(tree.path(req.member));
        if (tree.isFresh(req.member)) rekeySa = this.#pending();
      } else {
        rekeySa = this.#pending();
        wraps = pathWraps(tree.join(req.member));
      }
    }
    const built = buildKeyDownload(channel, {
      ...(rekeySa ? { rekeySa: { ...rekeySa, under: wraps.rekeySaUnder } } : {}),
      dataSecurity: this.#dataSecurity,
      member: { wrapKeys: wraps.wrapKeys, ...(req.authKey ? { authKey: req.authKey } : {}), ...(req.senderIds ? { senderIds: req.senderIds } : {}) },
    }, this.#wraps);
    return {
      kd: built.kd,
      ...(rekeySa ? { rekeySa: rekeySa.policy } : {}),
      dataSecurity: this.#dataSecurity.map((s) => s.policy),
      wraps: built.wraps,
      ...(precedingRekey ? { precedingRekey } : {}),
    };
  }

  /**
   * Remove a member. Takes effect with the next commit(); returns a commit that had to be
   * made first (the member had received keys of the pending batch), to be sent now.
   */
  evict(member: MemberId): MembershipRekey | null {
    const tree = this.tree;
    if (!tree) {
      if (this.#rekeySa) throw new GkmError('GKM_KEYS_TREE_STATE', { detail: 'no key tree: exclude all members and rekey instead' });
      this.#inbandEvictions++; // in-band: the member simply gets no more GSA_INBAND_REKEYs
      return null;
    }
    const forced = tree.holdsPendingKeys(member) ? this.commit() : null;
    tree.evict(member);
    return forced;
  }

  /**
   * Close the membership batch. Data-Security SAs are replaced when a member was evicted
   * (or when `refreshDataSecurity` says so), in a second message under the new KEK.
   */
  commit(opts: { readonly refreshDataSecurity?: boolean } = {}): MembershipRekey | null {
    if (!this.tree) {
      if (this.#rekeySa || (this.#inbandEvictions === 0 && !opts.refreshDataSecurity)) return null;
      this.#inbandEvictions = 0;
      return { membership: null, dataSecurity: null, retired: { dataSecurity: this.#replaceDataSecurity() } };
    }
    const tree = this.tree;
    const change = tree.commit();
    if (!change) return null;
    const old = this.#rekeySa!;
    const next = this.#pending();
    this.#rekeySa = next;
    this.#pendingRekeySa = undefined;
    let membership: GroupRekeyMessage | null = null;
    if (change.rekeySaUnder.length > 0) {
      const channel = channelOf('rekey', old);
      const built = buildKeyDownload(channel, { rekeySa: { ...next, under: change.rekeySaUnder }, member: { wrapKeys: change.wrapKeys } });
      membership = { channel, rekeySa: next.policy, dataSecurity: [], kd: built.kd, wraps: built.wraps };
    }
    const refresh = (opts.refreshDataSecurity ?? change.evicted > 0) && this.#dataSecurity.length > 0;
    const retiredTeks = refresh ? this.#replaceDataSecurity() : [];
    const dataSecurity = refresh ? this.#rekeyMessage(next, { rekeySa: false, dataSecurity: true }) : null;
    return { membership, dataSecurity, retired: { rekeySa: old, dataSecurity: retiredTeks } };
  }

  /**
   * GSA_REKEY without membership change: a new Rekey SA under the current one's GSK_w
   * (App. A "simple rekey") and/or new Data-Security SAs. With both, the message carries
   * the new KEK with the new TEKs (§3.2.1: no policy change without a new KEK).
   */
  simpleRekey(what: { readonly rekeySa: boolean; readonly dataSecurity: boolean }): { readonly message: GroupRekeyMessage; readonly retired: RetiredKeys } {
    const old = this.#rekeySa;
    if (!old) throw new GkmError('GKM_KEYS_TREE_STATE', { detail: 'in-band group: use inbandRekey()' });
    if (this.tree?.hasPendingChanges) throw new GkmError('GKM_KEYS_TREE_STATE', { detail: 'membership batch pending: commit() first' });
    if (!what.rekeySa && !(what.dataSecurity && this.#dataSecurity.length > 0)) throw new GkmError('GKM_KEYS_BAD_INPUT', { detail: 'nothing to rekey' });
    const retiredTeks = what.dataSecurity ? this.#replaceDataSecurity() : [];
    if (what.rekeySa) this.#rekeySa = createRekeySa(this.#rekeyTemplate!, this.spis, this.#create);
    const message = this.#rekeyMessage(old, what);
    return { message, retired: { ...(what.rekeySa ? { rekeySa: old } : {}), dataSecurity: retiredTeks } };
  }

  /** Keys for a GSA_INBAND_REKEY to one GM over its IKE SA (current Data-Security SAs). */
  inbandRekey(ikeSa: IkeSaKeyChannel): GroupRekeyMessage {
    const channel = channelOf('inband', ikeSa);
    const built = buildKeyDownload(channel, { dataSecurity: this.#dataSecurity });
    return { channel, dataSecurity: this.#dataSecurity.map((s) => s.policy), kd: built.kd, wraps: built.wraps };
  }

  #pending(): RekeySaKeys {
    return (this.#pendingRekeySa ??= createRekeySa(this.#rekeyTemplate!, this.spis, this.#create));
  }

  #replaceDataSecurity(): DataSecuritySaKeys[] {
    const old = this.#dataSecurity;
    this.#dataSecurity = old.map((s) => createDataSecuritySa(templateOf(s.policy), this.spis, this.#create));
    return old;
  }

  /** A GSA_REKEY over `over` carrying the (new) current Rekey SA and/or Data-Security SAs, under its GSK_w. */
  #rekeyMessage(over: RekeySaKeys, what: { readonly rekeySa: boolean; readonly dataSecurity: boolean }): GroupRekeyMessage {
    const channel = channelOf('rekey', over);
    const rekeySa = what.rekeySa ? this.#rekeySa : undefined;
    const dataSecurity = what.dataSecurity ? this.#dataSecurity : [];
    const built = buildKeyDownload(channel, { ...(rekeySa ? { rekeySa } : {}), dataSecurity });
    return { channel, ...(rekeySa ? { rekeySa: rekeySa.policy } : {}), dataSecurity: dataSecurity.map((s) => s.policy), kd: built.kd, wraps: built.wraps };
  }
}
