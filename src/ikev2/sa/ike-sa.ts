/**
 * IKE SA state (RFC 7296 §2). The phase is a small state machine; data that exists only from
 * some phase on (keys, the IKE_SA_INIT record) is reached through require*() accessors that
 * fail loudly, and a transition not in the table throws, so an illegal step cannot pass
 * silently.
 *
 *   init-sent ──▶ keyed ──▶ established ──▶ deleting ──▶ closed
 *       └───────────┴────────────┴──────────────────────────▲
 */
import { GkmError } from '../errors.ts';
import { SkCipherPair, type IvSource, type SkCipher } from '../crypto/cipher.ts';
import type { IkeSaKeys } from '../crypto/keys.ts';
import type { Prf } from '../crypto/prf.ts';
import { intAuthValue } from '../crypto/keys.ts';
import { wipeKeys } from '../crypto/zeroize.ts';
import type { FragmentReassembler } from '../crypto/encrypted-message.ts';
import type { Proposal } from '../wire/payloads/index.ts';
import { ChildSaTable } from './child-sa.ts';
import type { IkeSaInitConfig, PeerConfig } from './config.ts';
import type { Identity } from './identity.ts';
import type { NatState } from './nat.ts';
import type { InitiatorTask, SentRequest } from './task.ts';
import type { Endpoint, Timer } from './types.ts';
import { latin1Bytes, latin1Equals, latin1Of, retainedWhole } from './retained.ts';
import { MessageWindows, type RequesterWindow, type ResponderWindow } from './windows.ts';

export type Role = 'initiator' | 'responder';

const NO_PENDING: ReadonlyMap<number, PendingRequest> = new Map();
const NO_TASKS: readonly InitiatorTask[] = Object.freeze([]);

/** The keys an established SA no longer keeps (see forgetAuthentication). */
const NO_KEY = Buffer.alloc(0);
export type PhaseKind = 'init-sent' | 'keyed' | 'established' | 'deleting' | 'closed';

const TRANSITIONS: Readonly<Record<PhaseKind, readonly PhaseKind[]>> = {
  'init-sent': ['keyed', 'closed'],
  keyed: ['established', 'closed'],
  established: ['deleting', 'closed'],
  deleting: ['closed'],
  closed: [],
};

/** The negotiated IKE SA transforms. */
export interface IkeSuite {
  readonly proposal: Proposal;
  readonly encrId: number;
  readonly keyLengthBits?: number | undefined;
  readonly integId?: number | undefined;
  readonly prfId: number;
  readonly keMethod: number;
  /** RFC 9370 ADDKE methods, in round order. */
  readonly additionalKes: readonly number[];
  /** RFC 9838 Key Wrap Algorithm. */
  readonly kwaId?: number | undefined;
}

export interface IkeCrypto {
  readonly suite: IkeSuite;
  readonly prf: Prf;
  /** All seven keys until authentication is over, then SK_d alone (the others empty). */
  readonly keys: IkeSaKeys;
  /**
   * Protects what we send: SK_ei/SK_ai as initiator, SK_er/SK_ar as responder. A short-lived
   * cipher over the SA's key allocation on each read (SkCipherPair): read it per message.
   */
  readonly outbound: SkCipher;
  readonly inbound: SkCipher;
  readonly ivs: IvSource;
  /** Wipes every key (IKE SA closed, or keys replaced); not usable afterwards. */
  dispose(): void;
}

/**
 * Keys derived when first needed: an IKE_SA_INIT responder's (exchanges/ike-sa-init.ts), whose
 * shared secret the key-pair pool's worker computes while the reply travels (ke.ts
 * respondKeLater). IkeSa resolves it on the first read of `crypto`.
 */
export interface PendingIkeCrypto {
  readonly suite: IkeSuite;
  /** The keys (called once); throws if they cannot be derived. */
  resolve(): IkeCrypto;
  /** Never resolved (the SA closed first): wipes what it holds. */
  dispose(): void;
}

const isPending = (c: IkeCrypto | PendingIkeCrypto): c is PendingIkeCrypto => typeof (c as PendingIkeCrypto).resolve === 'function';

/**
 * An IKE SA's keys and SK ciphers (RFC 7296 §2.14): one object and one key allocation
 * (SK_d | SK_ei | SK_er | SK_ai | SK_ar, SkCipherPair) for the SA's life, the outbound IV
 * counter included; until authentication is over also the seven keys as derived (`keys`),
 * wiped by forgetKeys(). Built by ikeCryptoFromKeys (additional-ke.ts).
 */
export class SaCrypto extends SkCipherPair<IkeSuite> implements IkeCrypto {
  #keys: IkeSaKeys | undefined;

  constructor(role: Role, suite: IkeSuite, readonly prf: Prf, keys: IkeSaKeys) {
    // What the SA keeps for its life in one allocation of its own: SK_d, then both directions.
    super(suite, retainedWhole(keys.skD, keys.skEi, keys.skEr, keys.skAi, keys.skAr), keys.skD.length, role === 'responder');
    this.#keys = keys;
  }

  get keys(): IkeSaKeys {
    return this.#keys ?? { skD: this.prefix, skAi: NO_KEY, skAr: NO_KEY, skEi: NO_KEY, skEr: NO_KEY, skPi: NO_KEY, skPr: NO_KEY };
  }

  get ivs(): IvSource {
    return this;
  }

  /**
   * Wipes the seven keys as derived (SK_pi/SK_pr only AUTH needed; SK_d and the SK keys stay
   * in the pair's allocation, which this frees of the derivation's). Idempotent.
   */
  forgetKeys(): void {
    if (this.#keys) wipeKeys(this.#keys);
    this.#keys = undefined;
  }

  override dispose(): void {
    this.forgetKeys();
    super.dispose();
  }
}

/** IKE_SA_INIT as it happened: AUTH signs these exact bytes (RFC 7296 §2.15). */
export interface InitRecord {
  readonly ni: Buffer;
  readonly nr: Buffer;
  /** The last IKE_SA_INIT request (with cookie / corrected KE), as sent or received. */
  readonly requestBytes: Buffer;
  readonly responseBytes: Buffer;
}

export interface Extensions {
  /** RFC 7383, both sides announced it. */
  fragmentation: boolean;
  /** RFC 6023, the peer announced it. */
  childless: boolean;
  /** RFC 7427 hash IDs the peer announced (undefined: no notify). */
  peerSignatureHashes: readonly number[] | undefined;
  /** RFC 9242, both sides announced it. */
  intermediate: boolean;
  nat: NatState | undefined;
  /** Optimized rekey: both sides sent OPTIMIZED_REKEY_SUPPORTED in IKE_AUTH (digest §D). */
  optimizedRekey: boolean;
}

const FRAGMENTATION = 1;
const CHILDLESS = 2;
const INTERMEDIATE = 4;
const OPTIMIZED_REKEY = 8;

const withFlag = (flags: number, flag: number, on: boolean): number => (on ? flags | flag : flags & ~flag);

/** An SA's Extensions with the four flags in one small integer: 3 fields instead of 6 (48 B, not 72). */
class SaExtensions implements Extensions {
  #flags = 0;
  peerSignatureHashes: readonly number[] | undefined = undefined;
  nat: NatState | undefined = undefined;

  get fragmentation(): boolean {
    return (this.#flags & FRAGMENTATION) !== 0;
  }
  set fragmentation(on: boolean) {
    this.#flags = withFlag(this.#flags, FRAGMENTATION, on);
  }
  get childless(): boolean {
    return (this.#flags & CHILDLESS) !== 0;
  }
  set childless(on: boolean) {
    this.#flags = withFlag(this.#flags, CHILDLESS, on);
  }
  get intermediate(): boolean {
    return (this.#flags & INTERMEDIATE) !== 0;
  }
  set intermediate(on: boolean) {
    this.#flags = withFlag(this.#flags, INTERMEDIATE, on);
  }
  get optimizedRekey(): boolean {
    return (this.#flags & OPTIMIZED_REKEY) !== 0;
  }
  set optimizedRekey(on: boolean) {
    this.#flags = withFlag(this.#flags, OPTIMIZED_REKEY, on);
  }

  /** The same extensions as `other` (an IKE SA rekey keeps them, RFC 7296 §2.18). */
  copyFrom(other: SaExtensions): void {
    this.#flags = other.#flags;
    this.peerSignatureHashes = other.peerSignatureHashes;
    this.nat = other.nat;
  }
}

/** RFC 9242 §3.3.2 chaining state, filled by IKE_INTERMEDIATE tasks. */
export interface IntAuthState {
  i: Buffer | undefined;
  r: Buffer | undefined;
  /** MID of the first IKE_AUTH request. */
  ikeAuthMessageId: number | undefined;
}

export interface PendingRequest {
  readonly task: InitiatorTask;
  request: SentRequest;
  retransmits: number;
  timer: Timer | undefined;
}

const SPI_OCTETS = 8;
/** `#remoteIdType` before the peer is authenticated. */
const NO_IDENTITY = -1;

export class IkeSa {
  readonly id: string;
  readonly role: Role;
  /**
   * SPIi | SPIr | the peer's identity data, one character per octet (retained.ts latin1Of):
   * kept on the JS heap, read as fresh Buffers (spiI, spiR, remoteId).
   */
  #ids: string;
  #remoteIdType = NO_IDENTITY;
  local: Endpoint;
  remote: Endpoint;
  readonly initConfig: IkeSaInitConfig;
  /** Initiator: from the start. Responder: once IKE_AUTH resolved the peer. */
  config: PeerConfig | undefined;
  localId: Identity | undefined;
  readonly createdAt: number;
  lastInbound: number;

  #phase: PhaseKind;
  #init: InitRecord | undefined;
  #crypto: IkeCrypto | undefined;
  /** Responder keys not derived yet (PendingIkeCrypto); `crypto` resolves them. */
  #pendingCrypto: PendingIkeCrypto | undefined;
  /** Why the pending keys could not be derived (the SA then has none). */
  #cryptoFailure: string | undefined;
  readonly extensions = new SaExtensions();
  intAuth: IntAuthState | undefined;
  /** Id of the IKE SA that took over our Child SAs after a rekey (RFC 7296 §2.18). */
  supersededBy: string | undefined;
  /** RFC 9370 §2.2.2: ADDKE rounds completed in IKE_INTERMEDIATE (see additional-ke.ts). */
  additionalKeRounds = 0;

  /** Both Message ID windows (RFC 7296 §2.3), one object: `requester` and `responder`. */
  readonly #windows: MessageWindows;
  /** Queued exchanges (addTask, shiftTask, takeTasks); allocated while there are any. */
  #tasks: InitiatorTask[] | undefined;
  /** Our requests in flight, by MID; allocated while there are any (most SAs have none). */
  #pending: Map<number, PendingRequest> | undefined;
  /** SKF reassembly by `request:MID` / `response:MID` (RFC 7383); allocated while in use. */
  #reassembly: Map<string, FragmentReassembler> | undefined;
  /** By inbound SPI (hex); most SAs hold one or two (small-map.ts). */
  readonly children = new ChildSaTable();
  /** Entries this SA has in the engine's TimerQueue (timer-queue.ts), for its bookkeeping. */
  armedTimers = 0;
  /**
   * Lifetimes (exchanges/create-child-sa.ts): the IKE SA's soft and hard deadlines (scheduler
   * time, -1 when passed or none), and its one lifetime timer with the time it is due.
   */
  ikeRekeyAt = -1;
  ikeExpireAt = -1;
  lifetimeDue = -1;
  lifetimeTimer: Timer | undefined = undefined;

  private constructor(role: Role, spiI: Buffer, spiR: Buffer, local: Endpoint, remote: Endpoint, initConfig: IkeSaInitConfig, phase: PhaseKind, now: number, windowSize: number) {
    this.role = role;
    this.#ids = latin1Of(spiI, spiR);
    this.id = (role === 'initiator' ? spiI : spiR).toString('hex');
    this.local = local;
    this.remote = remote;
    this.initConfig = initConfig;
    this.#phase = phase;
    this.createdAt = now;
    this.lastInbound = now;
    this.#windows = new MessageWindows(0, windowSize);
  }

  static initiator(spiI: Buffer, local: Endpoint, remote: Endpoint, config: PeerConfig, now: number, windowSize: number): IkeSa {
    const sa = new IkeSa('initiator', spiI, Buffer.alloc(8), local, remote, config, 'init-sent', now, windowSize);
    sa.config = config;
    return sa;
  }

  /**
   * A responder SA exists only once IKE_SA_INIT is answered, so it starts keyed (its keys
   * possibly still pending: derived on the first read of `crypto`).
   */
  static responder(spiI: Buffer, spiR: Buffer, local: Endpoint, remote: Endpoint, initConfig: IkeSaInitConfig, init: InitRecord, crypto: IkeCrypto | PendingIkeCrypto, now: number, windowSize: number): IkeSa {
    const sa = new IkeSa('responder', spiI, spiR, local, remote, initConfig, 'keyed', now, windowSize);
    sa.#init = init;
    if (isPending(crypto)) sa.#pendingCrypto = crypto;
    else sa.#crypto = crypto;
    return sa;
  }

  /**
   * The IKE SA created by a CREATE_CHILD_SA rekey of `old` (RFC 7296 §2.18): established at
   * once, same peers, identities and extensions, fresh Message IDs (0 both ways, §2.3).
   * The rekey's initiator is its original initiator (`role`).
   */
  static rekeyed(old: IkeSa, role: Role, spiI: Buffer, spiR: Buffer, crypto: IkeCrypto, now: number, windowSize: number): IkeSa {
    const sa = new IkeSa(role, spiI, spiR, old.local, old.remote, old.initConfig, 'established', now, windowSize);
    sa.#crypto = crypto;
    sa.config = old.config;
    sa.localId = old.localId;
    sa.remoteId = old.remoteId;
    sa.extensions.copyFrom(old.extensions);
    return sa;
  }

  get tasks(): readonly InitiatorTask[] {
    return this.#tasks ?? NO_TASKS;
  }

  addTask(task: InitiatorTask, front = false): void {
    const tasks = (this.#tasks ??= []);
    if (front) tasks.unshift(task);
    else tasks.push(task);
  }

  shiftTask(): InitiatorTask | undefined {
    const tasks = this.#tasks;
    const task = tasks?.shift();
    if (tasks?.length === 0) this.#tasks = undefined;
    return task;
  }

  /** Removes and returns every queued task. */
  takeTasks(): InitiatorTask[] {
    const tasks = this.#tasks ?? [];
    this.#tasks = undefined;
    return tasks;
  }

  get requester(): RequesterWindow {
    return this.#windows;
  }

  get responder(): ResponderWindow {
    return this.#windows;
  }

  get pending(): ReadonlyMap<number, PendingRequest> {
    return this.#pending ?? NO_PENDING;
  }

  setPending(mid: number, p: PendingRequest): void {
    (this.#pending ??= new Map()).set(mid, p);
  }

  deletePending(mid: number): void {
    if (this.#pending?.delete(mid) && this.#pending.size === 0) this.#pending = undefined;
  }

  /** The reassembler of `key`, created when `messageId` is given and none exists. */
  reassembler(key: string, messageId: number, create: (mid: number) => FragmentReassembler): FragmentReassembler {
    const map = (this.#reassembly ??= new Map());
    let r = map.get(key);
    if (!r) map.set(key, (r = create(messageId)));
    return r;
  }

  dropReassembly(key: string): void {
    if (this.#reassembly?.delete(key) && this.#reassembly.size === 0) this.#reassembly = undefined;
  }

  /** A new Buffer on each read (the SPIs are kept in a string). */
  get spiI(): Buffer {
    return latin1Bytes(this.#ids, 0, SPI_OCTETS);
  }

  get spiR(): Buffer {
    return latin1Bytes(this.#ids, SPI_OCTETS, 2 * SPI_OCTETS);
  }

  /** Whether `spi` is SPIi (`which` 'i') or SPIr ('r'), without a copy. */
  spiEquals(which: 'i' | 'r', spi: Uint8Array): boolean {
    return spi.length === SPI_OCTETS && latin1Equals(this.#ids, which === 'i' ? 0 : SPI_OCTETS, spi);
  }

  /** The authenticated peer identity (set once established); a new object on each read. */
  get remoteId(): Identity | undefined {
    return this.#remoteIdType === NO_IDENTITY ? undefined : { type: this.#remoteIdType, data: latin1Bytes(this.#ids, 2 * SPI_OCTETS) };
  }

  set remoteId(id: Identity | undefined) {
    this.setIds(this.spiI, this.spiR, id);
  }

  /** Whether the authenticated peer identity is `id`, without a copy. */
  hasRemoteId(id: Identity): boolean {
    return this.#remoteIdType === id.type && this.#ids.length === 2 * SPI_OCTETS + id.data.length && latin1Equals(this.#ids, 2 * SPI_OCTETS, id.data);
  }

  /** `private`, not `#`: a `#method` gives every instance a brand slot (8 B). */
  private setIds(spiI: Buffer, spiR: Buffer, id: Identity | undefined): void {
    this.#ids = id === undefined ? latin1Of(spiI, spiR) : latin1Of(spiI, spiR, id.data);
    this.#remoteIdType = id === undefined ? NO_IDENTITY : id.type;
  }

  get phase(): PhaseKind {
    return this.#phase;
  }

  get isOpen(): boolean {
    return this.#phase !== 'closed';
  }

  /** Our SPI of the pair. */
  get localSpi(): Buffer {
    return this.role === 'initiator' ? this.spiI : this.spiR;
  }

  get initiatorName(): string {
    return this.config?.name ?? this.id;
  }

  advance(to: PhaseKind): void {
    if (!TRANSITIONS[this.#phase].includes(to)) {
      throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `IKE SA ${this.id}: ${this.#phase} -> ${to}` });
    }
    this.#phase = to;
  }

  /** Initiator: IKE_SA_INIT completed (init-sent → keyed). */
  keyed(spiR: Buffer, init: InitRecord, crypto: IkeCrypto): void {
    this.advance('keyed');
    this.setIds(this.spiI, spiR, this.remoteId);
    this.#init = init;
    this.#crypto = crypto;
  }

  requireCrypto(): IkeCrypto {
    const crypto = this.crypto;
    if (!crypto) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `IKE SA ${this.id} has no keys in phase ${this.#phase}${this.#cryptoFailure ? ` (${this.#cryptoFailure})` : ''}` });
    return crypto;
  }

  /** The keys; pending ones are derived now (undefined if that fails: the SA's messages are then dropped). */
  get crypto(): IkeCrypto | undefined {
    if (this.#pendingCrypto) this.#resolveCrypto(this.#pendingCrypto);
    return this.#crypto;
  }

  /** The negotiated transforms, without deriving pending keys. */
  get suite(): IkeSuite | undefined {
    return this.#pendingCrypto?.suite ?? this.#crypto?.suite;
  }

  #resolveCrypto(pending: PendingIkeCrypto): void {
    this.#pendingCrypto = undefined;
    try {
      this.#crypto = pending.resolve();
    } catch (e) {
      pending.dispose();
      this.#cryptoFailure = e instanceof Error ? e.message : String(e);
    }
  }

  /**
   * RFC 9370 §2.2.2: after an additional key exchange the new keys protect every following
   * message. Only before authentication; the old ciphers are disposed and old keys wiped.
   */
  replaceCrypto(next: IkeCrypto): void {
    const old = this.crypto;
    if (this.#phase !== 'keyed' || !old) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `IKE SA ${this.id}: key update in phase ${this.#phase}` });
    this.#crypto = next;
    old.dispose();
  }

  requireInit(): InitRecord {
    if (!this.#init) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `IKE SA ${this.id} has no IKE_SA_INIT record` });
    return this.#init;
  }

  /** IntAuth for AUTH (RFC 9242 §3.3.2), or undefined when no IKE_INTERMEDIATE took place. */
  intAuthValue(): Buffer | undefined {
    const s = this.intAuth;
    if (!s?.i || !s.r || s.ikeAuthMessageId === undefined) return undefined;
    return intAuthValue(s.i, s.r, s.ikeAuthMessageId);
  }

  /**
   * Once authenticated, what only AUTH needed goes (RFC 7296 §2.15, RFC 9242 §3.3.2): the
   * IKE_SA_INIT record (both messages, both nonces), IntAuth, and the seven keys as derived
   * (wiped, SaCrypto.forgetKeys): SK_d and the SK keys live on in the SaCrypto's one key
   * allocation, and only SK_d derives anything later (Child SAs, rekeys, GSK_w). The key log
   * has recorded all of them by then. The
   * engine calls this when the exchange that established the SA is over; idempotent.
   */
  forgetAuthentication(): void {
    if (this.#phase !== 'established' && this.#phase !== 'deleting') return;
    this.#init = undefined;
    this.intAuth = undefined;
    if (this.#crypto instanceof SaCrypto) this.#crypto.forgetKeys();
  }

  /** Enters `closed` from any phase and wipes the keys. */
  close(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    for (const p of this.pending.values()) p.timer?.cancel();
    this.#pendingCrypto?.dispose();
    this.#pendingCrypto = undefined;
    this.#crypto?.dispose();
  }
}
