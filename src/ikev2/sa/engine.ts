/**
 * The IKE SA engine: consumes `(datagram, remote, local)`, owns the IKE SAs and emits
 * datagrams through the injected sender. Per datagram it decides, in RFC 7296 order:
 *
 *   header ─▶ IKE_SA_INIT request (no SA yet) ─▶ stateless checks, cookie, responder SA
 *          ─▶ our SPI ─▶ request: responder window (§2.3) ─▶ decrypt/reassemble ─▶ handler
 *                      └ response: pending request     ─▶ decrypt/reassemble ─▶ task
 *
 * Nothing that fails integrity changes state (§2.21: dropped silently); authenticated but
 * malformed requests are answered with the notify of their error. Requests we send are
 * retransmitted with back-off until answered or given up (§2.1), which closes the SA.
 */
import { GkmError, isGkmError } from '../errors.ts';
import { siphash24_128 } from '../crypto/siphash.ts';
import { deriveChildKeys, childKeySizes } from '../crypto/keys.ts';
import { FragmentReassembler, fragmentMessage, protectMessage, unprotectMessage, type OpenedMessage } from '../crypto/encrypted-message.ts';
import type { IkeSaKeyRecord, EspSaKeyRecord } from '../keylog/index.ts';
import { ExchangeType, HeaderFlag, IKE_HEADER_LENGTH } from '../registry/exchange.ts';
import { nameOf } from '../registry/names.ts';
import { EncrId, IntegId, KeId, KwaId, PrfId } from '../registry/transform.ts';
import { PayloadType } from '../registry/payload.ts';
import { NotifyType } from '../registry/notify.ts';
import { decodeHeader, isResponse, isFromOriginalInitiator, type DecodedHeader, type IkeHeader } from '../wire/header.ts';
import { decodeMessage, encodeMessage, type DecodedMessage } from '../wire/message.ts';
import type { Payload } from '../wire/payload.ts';
import type { NotifyPayload } from '../wire/payloads/index.ts';
import { notify } from '../wire/payloads/index.ts';
import { Reader } from '../wire/reader.ts';
import { ChildSaRecord, childSuiteOf, childSummary, keMethodsOf, type ChildSa, type ChildSaSink, type InstalledChildSa, type NegotiatedChild } from './child-sa.ts';
import { DEFAULT_ENGINE_OPTIONS, type ChildConfig, type EngineOptions, type PeerConfig, type ResponderPolicy } from './config.ts';
import { CookieJar } from './cookies.ts';
import { EventHub, type CloseReason, type IkeEvent, type IkeSaSummary } from './events.ts';
import { IkeSaInitTask, respondToIkeSaInit } from './exchanges/ike-sa-init.ts';
import { ikeAuthResponder } from './exchanges/ike-auth.ts';
import { armChildLifetime, armLifetimes, createChildSaResponder, CreateChildSaTask, setIkeLifetime } from './exchanges/create-child-sa.ts';
import { followupKeResponder } from './exchanges/followup-ke.ts';
import { ikeIntermediateResponder } from './exchanges/ike-intermediate.ts';
import { DeleteChildSasTask, DeleteIkeSaTask, informationalResponder, LivenessTask } from './exchanges/informational.ts';
import { identityText, sameIdentity, type Identity } from './identity.ts';
import { IkeSa, type PendingRequest, type PhaseKind, type Role } from './ike-sa.ts';
import { errorNotifyFor, PeerNotifyError } from './messages.ts';
import { optimizedRekeyNotifies } from './optimized-rekey.ts';
import type { EstablishInput, InboundMessage, InitiatorTask, RekeyedIkeSaSpec, ResponderHandler, ResponseSpec, SentRequest, TaskContext } from './task.ts';
import { realScheduler, sameEndpoint, type DatagramSender, type Endpoint, type RandomSource, type Scheduler, type Timer } from './types.ts';
import { TimerQueue } from './timer-queue.ts';
import { pooledRandomSource } from './random-pool.ts';
import { retained } from './retained.ts';
import { NO_KE_METHODS, sharedChildSuite, sharedSelectors } from './shared-values.ts';
import { datagramDigest } from './windows.ts';
import { ReceivedMessage, SentMessage } from './message-forms.ts';

/** The key-log writer's surface (keylog/writer.ts), so tests can pass a recorder. */
export interface KeyLogSink {
  recordIkeSa(r: IkeSaKeyRecord): void;
  recordEspSa(r: EspSaKeyRecord): void;
}

export interface EngineDeps {
  readonly sender: DatagramSender;
  readonly scheduler?: Scheduler;
  readonly random?: RandomSource;
  /** Wall clock for certificate validity (the scheduler's clock is monotonic). */
  readonly wallClock?: () => Date;
  readonly childSaSink?: ChildSaSink;
  readonly keyLog?: KeyLogSink;
  /** Answer IKE_SA_INIT requests with this policy; without it we only initiate. */
  readonly responder?: ResponderPolicy;
  readonly options?: Partial<EngineOptions>;
}

const ZERO_SPI = Buffer.alloc(8);
const newReassembler = (mid: number): FragmentReassembler => new FragmentReassembler(mid);
/** TaskContext.setTimer: the callback is the timer's argument, not a closure around it. */
const callThunk = (_sa: IkeSa, fn: unknown): void => (fn as () => void)();
const PHASE_ORDER: readonly PhaseKind[] = ['init-sent', 'keyed', 'established', 'deleting', 'closed'];
const isWireError = (e: unknown): e is GkmError => isGkmError(e) && e.code.startsWith('GKM_WIRE_') && e.code !== 'GKM_WIRE_TOO_LARGE';

/**
 * Index key of a pair of authenticated identities (RFC 7296 §2.4, INITIAL_CONTACT): a
 * keyed hash (SipHash, a random key per engine: peers cannot aim at one key) as a small
 * integer, so the index keeps no string per SA; SAs that share a key are told apart by
 * their identities on lookup.
 */
function identitiesKey(hashKey: Buffer, remote: Identity, local: Identity): number {
  const lengths = Buffer.allocUnsafe(6);
  lengths.writeUInt8(remote.type & 0xff, 0);
  lengths.writeUInt16BE(remote.data.length, 1);
  lengths.writeUInt8(local.type & 0xff, 3);
  lengths.writeUInt16BE(local.data.length, 4);
  return siphash24_128(hashKey, Buffer.concat([lengths, remote.data, local.data])).readInt32BE(0);
}

/** The engine as the task contexts of all its SAs reach it. */
interface EngineOps {
  readonly options: EngineOptions;
  readonly responderPolicy: ResponderPolicy | undefined;
  wallClock(): Date;
  random(length: number): Buffer;
  now(): number;
  emit(event: IkeEvent): void;
  queue(sa: IkeSa, task: InitiatorTask, front: boolean): void;
  allocateChildSpi(): Buffer;
  releaseChildSpi(spi: Buffer): void;
  installChild(sa: IkeSa, child: NegotiatedChild, ni: Buffer, nr: Buffer, secrets: readonly Buffer[] | undefined, role: Role | undefined): ChildSa;
  removeChild(sa: IkeSa, child: ChildSa, reason: CloseReason): void;
  setTimer(sa: IkeSa, delayMs: number, fn: () => void): Timer;
  setTimerWith<A>(sa: IkeSa, delayMs: number, handler: (ctx: TaskContext, arg: A) => void, arg: A): Timer;
  allocateIkeSpi(): Buffer;
  spawnRekeyedIkeSa(sa: IkeSa, spec: RekeyedIkeSaSpec): TaskContext;
  deleteIkeSa(sa: IkeSa): void;
  establish(sa: IkeSa, input: EstablishInput): void;
  purgeOtherSas(sa: IkeSa, remoteId: Identity): void;
  close(sa: IkeSa, reason: CloseReason, error?: GkmError, notice?: NotifyPayload): void;
}

/**
 * A TaskContext is two references: its SA's methods live on the prototype, not in closures
 * per SA; what does not depend on the SA is the engine's own function (safe to pass on
 * detached, e.g. `random` as a RandomSource).
 */
class SaTaskContext implements TaskContext {
  constructor(
    readonly sa: IkeSa,
    readonly ops: EngineOps,
  ) {}
  get options(): EngineOptions {
    return this.ops.options;
  }
  get responderPolicy(): ResponderPolicy | undefined {
    return this.ops.responderPolicy;
  }
  get wallClock(): () => Date {
    return this.ops.wallClock;
  }
  get random(): RandomSource {
    return this.ops.random;
  }
  get now(): () => number {
    return this.ops.now;
  }
  get emit(): (event: IkeEvent) => void {
    return this.ops.emit;
  }
  get allocateChildSpi(): () => Buffer {
    return this.ops.allocateChildSpi;
  }
  get releaseChildSpi(): (spi: Buffer) => void {
    return this.ops.releaseChildSpi;
  }
  get allocateIkeSpi(): () => Buffer {
    return this.ops.allocateIkeSpi;
  }
  queue(task: InitiatorTask, opts?: { readonly front?: boolean }): void {
    this.ops.queue(this.sa, task, opts?.front ?? false);
  }
  installChild(child: NegotiatedChild, ni: Buffer, nr: Buffer, secrets?: readonly Buffer[], role?: Role): ChildSa {
    return this.ops.installChild(this.sa, child, ni, nr, secrets, role);
  }
  removeChild(child: ChildSa, reason: CloseReason): void {
    this.ops.removeChild(this.sa, child, reason);
  }
  setTimer(delayMs: number, fn: () => void): Timer {
    return this.ops.setTimer(this.sa, delayMs, fn);
  }
  setTimerWith<A>(delayMs: number, handler: (ctx: TaskContext, arg: A) => void, arg: A): Timer {
    return this.ops.setTimerWith(this.sa, delayMs, handler, arg);
  }
  spawnRekeyedIkeSa(spec: RekeyedIkeSaSpec): TaskContext {
    return this.ops.spawnRekeyedIkeSa(this.sa, spec);
  }
  deleteIkeSa(): void {
    this.ops.deleteIkeSa(this.sa);
  }
  establish(input: EstablishInput): void {
    this.ops.establish(this.sa, input);
  }
  purgeOtherSas(remoteId: Identity): void {
    this.ops.purgeOtherSas(this.sa, remoteId);
  }
  close(reason: CloseReason, error?: GkmError, notice?: NotifyPayload): void {
    this.ops.close(this.sa, reason, error, notice);
  }
}

/**
 * Endpoints many SAs hold identically, one shared object per address and port (an
 * Endpoint is 40 B and its address string 32 B per SA otherwise); bounded, emptied when full.
 */
class SharedEndpoints {
  readonly #known = new Map<string, Endpoint>();
  constructor(readonly max: number) {}

  shared(e: Endpoint): Endpoint {
    const key = `${e.ip}|${e.port}`;
    const known = this.#known.get(key);
    if (known) return known;
    if (this.#known.size >= this.max) this.#known.clear();
    this.#known.set(key, e);
    return e;
  }
}

/** A datagram waiting for the end of the turn (EngineOptions.coalesceSends). */
class PendingSend {
  constructor(
    readonly datagram: Buffer,
    readonly remote: Endpoint,
    readonly local: Endpoint,
  ) {}
}

export class IkeEngine {
  readonly events = new EventHub();
  /**
   * Retransmitted requests seen (answered again from the response cache, or dropped while
   * their first copy is processed or when they differ from it); for benchmarks and operators.
   */
  readonly counters = { retransmittedRequests: 0, retransmissionsAnswered: 0 };
  readonly options: EngineOptions;
  readonly #sender: DatagramSender;
  readonly #scheduler: Scheduler;
  readonly #random: RandomSource;
  readonly #wallClock: () => Date;
  readonly #sink: ChildSaSink | undefined;
  readonly #keyLog: KeyLogSink | undefined;
  readonly #responder: ResponderPolicy | undefined;
  readonly #cookies: CookieJar;
  /** By our SPI (hex). */
  readonly #sas = new Map<string, IkeSa>();
  /** Half-open responder SAs by SPIi + source, to recognise IKE_SA_INIT retransmissions (§2.1). */
  readonly #initIndex = new Map<string, IkeSa>();
  /**
   * Half-open responder SAs (IKE_SA_INIT answered, IKE_AUTH not yet) → their #initIndex key,
   * in creation order: one sweep timer expires them oldest first.
   */
  readonly #halfOpen = new Map<IkeSa, string>();
  #halfOpenSweep: Timer | undefined;
  /**
   * Open IKE SAs with identities by identitiesKey, for INITIAL_CONTACT (RFC 7296 §2.4): one
   * SA, or an array when several share the key (same identities, or a hash collision).
   */
  readonly #byIdentities = new Map<number, IkeSa | IkeSa[]>();
  readonly #identitiesHashKey: Buffer;
  readonly #handlers = new Map<number, ResponderHandler>();
  /** Our inbound Child SA SPIs in use, as signed 32-bit integers (small integers, no string per SA). */
  readonly #childSpis = new Set<number>();
  /** Our endpoints are few: SAs share one object per local address and port. */
  readonly #locals = new SharedEndpoints(1024);
  /** Peers' endpoints, shared by the SAs of one address and port (a NAT, one host with many SAs). */
  readonly #remotes = new SharedEndpoints(4096);
  /** What per-SA task contexts call back into: one object per engine, not closures per SA. */
  readonly #ops: EngineOps;
  /** Every per-SA timer (liveness, lifetimes, retries) on one scheduler timer. */
  readonly #timers: TimerQueue<IkeSa>;
  #invalidSpiTokens: number;
  #invalidSpiRefill: number;

  constructor(deps: EngineDeps) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...deps.options };
    optimizedRekeyNotifies(this.options); // GKM_IKE_CONFIG now rather than at the first IKE_AUTH
    this.#sender = deps.sender;
    this.#scheduler = deps.scheduler ?? realScheduler;
    this.#random = deps.random ?? pooledRandomSource();
    this.#wallClock = deps.wallClock ?? (() => new Date());
    this.#sink = deps.childSaSink;
    this.#keyLog = deps.keyLog;
    this.#responder = deps.responder;
    this.#cookies = new CookieJar(this.#scheduler, this.#random, this.options.cookieSecretLifetimeMs);
    this.#invalidSpiTokens = this.options.invalidSpiPerSecond;
    this.#invalidSpiRefill = this.#scheduler.now();
    this.#timers = new TimerQueue(this.#scheduler);
    this.#identitiesHashKey = Buffer.from(this.#random(16));
    this.#ops = {
      options: this.options,
      responderPolicy: this.#responder,
      wallClock: () => this.#wallClock(),
      random: (n) => this.#random(n),
      now: () => this.#scheduler.now(),
      emit: (e) => this.#emit(e),
      queue: (sa, task, front) => this.#queue(sa, task, front),
      allocateChildSpi: () => this.#allocateChildSpi(),
      releaseChildSpi: (spi) => this.#childSpis.delete(spi.readInt32BE()),
      installChild: (sa, child, ni, nr, secrets, role) => this.#installChild(sa, child, ni, nr, secrets, role),
      removeChild: (sa, child, reason) => this.#removeChild(sa, child, reason),
      setTimer: (sa, ms, fn) => this.#timers.add(sa, ms, callThunk, fn),
      setTimerWith: (sa, ms, handler, arg) => this.#timers.add(sa, ms, this.#withContext, handler, arg),
      allocateIkeSpi: () => this.#allocateIkeSpi(),
      spawnRekeyedIkeSa: (sa, spec) => this.#spawnRekeyed(sa, spec),
      deleteIkeSa: (sa) => this.deleteIkeSa(sa.id),
      establish: (sa, input) => this.#establish(sa, input),
      purgeOtherSas: (sa, remoteId) => this.#purgeOtherSas(sa, remoteId),
      close: (sa, reason, error, notice) => {
        if (notice) this.#sendNotice(sa, notice);
        if (error) this.#reportError(sa, error);
        this.#close(sa, reason);
      },
    };
    for (const h of [createChildSaResponder, followupKeResponder]) this.registerResponder(h);
    for (const h of [ikeIntermediateResponder, ikeAuthResponder, informationalResponder]) this.registerResponder(h);
  }

  // --- public API ---------------------------------------------------------------------------

  /** Answers requests of `handler.exchangeType` (replacing a built-in one, e.g. to extend it). */
  registerResponder(handler: ResponderHandler): void {
    this.#handlers.set(handler.exchangeType, handler);
  }

  /** Starts an IKE SA as initiator; progress is reported through `events`. */
  initiate(config: PeerConfig, remote: Endpoint, local: Endpoint): IkeSa {
    if (config.proposals.length === 0) throw new GkmError('GKM_IKE_CONFIG', { field: 'proposals', detail: 'empty' });
    let spiI = this.#random(8);
    while (spiI.equals(ZERO_SPI) || this.#sas.has(spiI.toString('hex'))) spiI = this.#random(8);
    const sa = IkeSa.initiator(spiI, local, remote, config, this.#scheduler.now(), this.options.windowSize);
    const task = new IkeSaInitTask(config, this.#random, this.options.nonceLength, this.options.maxInitRetries);
    this.#sas.set(sa.id, sa);
    sa.addTask(task);
    this.#pump(sa);
    return sa;
  }

  get(id: string): IkeSa | undefined {
    return this.#sas.get(id);
  }

  list(): IkeSa[] {
    return [...this.#sas.values()];
  }

  /** Queues an exchange on an IKE SA (CREATE_CHILD_SA, GSA_REGISTRATION, ...). */
  queueTask(id: string, task: InitiatorTask, opts: { front?: boolean } = {}): void {
    const sa = this.#require(id);
    this.#queue(sa, task, opts.front ?? false);
  }

  /** Deletes an IKE SA with its Child SAs: INFORMATIONAL {D(IKE)} when established. */
  deleteIkeSa(id: string): void {
    const sa = this.#require(id);
    if (sa.phase !== 'established') {
      if (sa.phase !== 'deleting') this.#close(sa, 'local');
      return;
    }
    sa.advance('deleting');
    for (const t of sa.takeTasks()) t.dispose?.();
    this.#queue(sa, new DeleteIkeSaTask(), true);
  }

  /** Deletes one Child SA (by inbound SPI, hex) in both directions. */
  deleteChildSa(id: string, inboundSpiHex: string): void {
    const sa = this.#require(id);
    const child = sa.children.get(inboundSpiHex);
    if (!child || child.state === 'deleting') throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `no Child SA ${inboundSpiHex}` });
    child.state = 'deleting';
    this.#queue(sa, new DeleteChildSasTask([child]), false);
  }

  /** Creates one more Child SA with CREATE_CHILD_SA (RFC 7296 §1.3.1). */
  createChildSa(id: string, config: ChildConfig): void {
    this.#queue(this.#require(id), new CreateChildSaTask({ kind: 'new-child', config }), false);
  }

  /** Rekeys one Child SA (by inbound SPI, hex) with CREATE_CHILD_SA {N(REKEY_SA), ...} (§1.3.3). */
  rekeyChildSa(id: string, inboundSpiHex: string): void {
    const sa = this.#require(id);
    const child = sa.children.get(inboundSpiHex);
    if (!child || child.state !== 'installed') throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `no Child SA ${inboundSpiHex} to rekey` });
    this.#queue(sa, new CreateChildSaTask({ kind: 'rekey-child', inboundSpi: child.inboundSpi }), false);
  }

  /** Rekeys the IKE SA with CREATE_CHILD_SA {SA(IKE), Ni, KEi} (RFC 7296 §1.3.2, §2.18). */
  rekeyIkeSa(id: string): void {
    this.#queue(this.#require(id), new CreateChildSaTask({ kind: 'rekey-ike' }), false);
  }

  /** Half-open responder SAs (IKE_SA_INIT answered, not authenticated yet). */
  get halfOpenCount(): number {
    return this.#halfOpen.size;
  }

  /** Feeds one received IKE message (non-ESP marker already removed by the transport). */
  async receive(datagram: Buffer, remote: Endpoint, incomingLocal: Endpoint): Promise<void> {
    if (datagram.length < IKE_HEADER_LENGTH) return;
    const local = this.#locals.shared(incomingLocal);
    let msg: DecodedMessage;
    try {
      msg = decodeMessage(datagram); // the header is decoded once, with the message
    } catch (e) {
      return this.#onUndecodable(datagram, e, remote, local);
    }
    const header = msg.header;
    if (isResponse(header)) return this.#onResponse(msg, remote, local);
    if (this.#isInitRequest(header)) return this.#onInitRequest(msg, datagram, remote, local);
    // We are the original responder when the sender is the original initiator.
    const ourSpi = isFromOriginalInitiator(header) ? header.spiR : header.spiI;
    const sa = this.#sas.get(ourSpi.toString('hex'));
    if (!sa || !this.#matchesSa(sa, header)) return this.#answerInvalidSpi(header, remote, local);
    return this.#onRequest(sa, msg, datagram, remote, local);
  }

  /**
   * A datagram decodeMessage refused: its header alone decides the answer. A major version
   * above ours gets INVALID_MAJOR_VERSION (RFC 7296 §2.5); of the rest, only an IKE_SA_INIT
   * request is answered unprotected; elsewhere this is unauthenticated noise.
   */
  #onUndecodable(datagram: Buffer, error: unknown, remote: Endpoint, local: Endpoint): void {
    let header: DecodedHeader;
    try {
      header = decodeHeader(new Reader(datagram.subarray(0, IKE_HEADER_LENGTH), 'header'));
    } catch (e) {
      if (isGkmError(e, 'GKM_WIRE_INVALID_MAJOR_VERSION')) this.#answerMajorVersion(datagram, remote, local, e);
      return;
    }
    if (this.#isInitRequest(header)) this.#sendStateless(header, errorNotifyFor(error), remote, local);
  }

  // --- IKE_SA_INIT responder ------------------------------------------------------------------

  #isInitRequest(h: DecodedHeader): boolean {
    return h.exchangeType === ExchangeType.IKE_SA_INIT && !isResponse(h) && h.spiR.equals(ZERO_SPI);
  }

  #onInitRequest(msg: DecodedMessage, datagram: Buffer, source: Endpoint, local: Endpoint): void {
    const h = msg.header;
    // RFC 7296 §3.1: the original initiator sets I; SPIi is never zero; the first MID is 0.
    if (!this.#responder || !isFromOriginalInitiator(h) || h.messageId !== 0 || h.spiI.equals(ZERO_SPI)) return;
    const remote = this.#remotes.shared(source);
    const key = `${h.spiI.toString('hex')}|${remote.ip}|${remote.port}`;
    const existing = this.#initIndex.get(key);
    if (existing) {
      this.counters.retransmittedRequests++;
      const cached = existing.responder.cachedFor(0, datagramDigest(datagram));
      if (cached) this.#answerAgain(cached, remote, local);
      return;
    }
    const request = this.#inbound(msg, msg.payloads, remote, local);
    let result: ReturnType<typeof respondToIkeSaInit>;
    try {
      result = respondToIkeSaInit({
        request,
        config: this.#responder.init,
        cookies: this.#cookies,
        cookieRequired: this.halfOpenCount >= this.options.halfOpenThreshold,
        random: this.#random,
        nonceLength: this.options.nonceLength,
        now: this.#scheduler.now(),
        windowSize: this.options.windowSize,
      });
    } catch (e) {
      this.#sendStateless(h, errorNotifyFor(e), remote, local);
      return;
    }
    if (result.kind === 'stateless') {
      this.#sendResponse({ ...h, spiR: ZERO_SPI }, result.payloads, remote, local);
      return;
    }
    const header: IkeHeader = { spiI: h.spiI, spiR: result.spiR, exchangeType: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.RESPONSE, messageId: 0 };
    const bytes = encodeMessage({ header, payloads: result.payloads });
    const sa = result.create(bytes);
    this.#sas.set(sa.id, sa);
    this.#initIndex.set(key, sa);
    this.#halfOpen.set(sa, key);
    sa.responder.answered(0, [bytes], [datagramDigest(datagram)]);
    this.#transmit([bytes], remote, local);
    this.#armHalfOpenSweep();
  }

  /**
   * One timer for all half-open SAs (RFC 7296 §2.6: their state is what a flood exhausts):
   * they are created in time order, so the oldest decides when the next one expires.
   */
  #armHalfOpenSweep(): void {
    if (this.#halfOpenSweep) return;
    const oldest = this.#halfOpen.keys().next();
    if (oldest.done) return;
    const timeout = this.options.halfOpenTimeoutMs;
    this.#halfOpenSweep = this.#scheduler.setTimer(Math.max(0, oldest.value.createdAt + timeout - this.#scheduler.now()), () => {
      this.#halfOpenSweep = undefined;
      const now = this.#scheduler.now();
      for (const sa of this.#halfOpen.keys()) {
        if (sa.createdAt + timeout > now) break;
        this.#close(sa, 'half-open-timeout');
      }
      this.#armHalfOpenSweep();
    });
  }

  /** Established or closed: no longer half-open, and IKE_SA_INIT cannot come again (§2.1). */
  #leaveHalfOpen(sa: IkeSa): void {
    const key = this.#halfOpen.get(sa);
    if (key === undefined) return;
    this.#halfOpen.delete(sa);
    this.#initIndex.delete(key);
  }

  #sendStateless(h: IkeHeader, n: NotifyPayload | undefined, remote: Endpoint, local: Endpoint): void {
    if (n) this.#sendResponse({ ...h, spiR: ZERO_SPI }, [n], remote, local);
  }

  /** An unprotected response echoing the request's SPIs and MID. */
  #sendResponse(h: IkeHeader, payloads: Payload[], remote: Endpoint, local: Endpoint): void {
    const flags = HeaderFlag.RESPONSE | (isFromOriginalInitiator(h) ? 0 : HeaderFlag.INITIATOR);
    const header: IkeHeader = { spiI: h.spiI, spiR: h.spiR, exchangeType: h.exchangeType, flags, messageId: h.messageId };
    this.#transmit([encodeMessage({ header, payloads })], remote, local);
  }

  /** RFC 7296 §2.5: INVALID_MAJOR_VERSION (data: our version), only to requests. */
  #answerMajorVersion(datagram: Buffer, remote: Endpoint, local: Endpoint, e: GkmError): void {
    const flags = datagram[19] ?? 0;
    if (flags & HeaderFlag.RESPONSE || !this.#takeInvalidSpiToken()) return;
    const h: IkeHeader = { spiI: datagram.subarray(0, 8), spiR: datagram.subarray(8, 16), exchangeType: datagram[18] ?? 0, flags, messageId: datagram.readUInt32BE(20) };
    this.#sendResponse(h, [errorNotifyFor(e)!], remote, local);
  }

  /** RFC 7296 §2.21.4: INVALID_IKE_SPI outside any SA, to requests only, rate-limited. */
  #answerInvalidSpi(h: DecodedHeader, remote: Endpoint, local: Endpoint): void {
    if (!this.#takeInvalidSpiToken()) return;
    this.#sendResponse({ ...h, exchangeType: ExchangeType.INFORMATIONAL }, [notify(NotifyType.INVALID_IKE_SPI)], remote, local);
  }

  #takeInvalidSpiToken(): boolean {
    const now = this.#scheduler.now();
    const rate = this.options.invalidSpiPerSecond;
    this.#invalidSpiTokens = Math.min(rate, this.#invalidSpiTokens + ((now - this.#invalidSpiRefill) / 1000) * rate);
    this.#invalidSpiRefill = now;
    if (this.#invalidSpiTokens < 1) return false;
    this.#invalidSpiTokens -= 1;
    return true;
  }

  // --- messages of an SA ----------------------------------------------------------------------

  /** The header fits the SA: I flag per role, and the peer's SPI (once known). */
  #matchesSa(sa: IkeSa, h: DecodedHeader): boolean {
    if (isFromOriginalInitiator(h) !== (sa.role === 'responder')) return false;
    if (sa.role === 'responder') return sa.spiEquals('i', h.spiI);
    return sa.phase === 'init-sent' || sa.spiEquals('r', h.spiR);
  }

  #inbound(msg: DecodedMessage, payloads: readonly Payload[], remote: Endpoint, local: Endpoint, opened?: OpenedMessage): InboundMessage {
    return new ReceivedMessage(msg, payloads, remote, local, opened);
  }

  /**
   * Verifies and decrypts an SK message or collects an SKF fragment. undefined: dropped
   * (integrity failure, unprotected, incomplete). Throws wire errors of authenticated messages.
   */
  #open(sa: IkeSa, msg: DecodedMessage, kind: 'request' | 'response', remote: Endpoint, local: Endpoint): InboundMessage | undefined {
    if (msg.header.exchangeType === ExchangeType.IKE_SA_INIT) return this.#inbound(msg, msg.payloads, remote, local);
    const crypto = sa.crypto;
    const last = msg.payloads.at(-1);
    if (!crypto || !last) return undefined;
    try {
      if (last.type === PayloadType.SK) {
        const opened = unprotectMessage(msg, crypto.inbound);
        return this.#inbound(msg, opened.inner, remote, local, opened);
      }
      if (last.type !== PayloadType.SKF || !sa.extensions.fragmentation) return undefined;
      const key = `${kind}:${msg.header.messageId}`;
      const r = sa.reassembler(key, msg.header.messageId, newReassembler).add(msg, crypto.inbound);
      if (!r.complete) return undefined;
      sa.dropReassembly(key);
      return this.#inbound(r.first, r.inner, remote, local, r);
    } catch (e) {
      if (isWireError(e)) throw e;
      return undefined; // integrity / padding failure: drop silently (RFC 7296 §2.21)
    }
  }

  #answerAgain(cached: readonly Buffer[], remote: Endpoint, local: Endpoint): void {
    this.counters.retransmissionsAnswered++;
    this.#transmit(cached, remote, local);
  }

  async #onRequest(sa: IkeSa, msg: DecodedMessage, datagram: Buffer, remote: Endpoint, local: Endpoint): Promise<void> {
    const mid = msg.header.messageId;
    const cls = sa.responder.classify(mid);
    if (cls === 'retransmit') {
      this.counters.retransmittedRequests++;
      const cached = sa.responder.cachedFor(mid, datagramDigest(datagram));
      if (cached) this.#answerAgain(cached, remote, local);
      return;
    }
    if (cls === 'in-progress') this.counters.retransmittedRequests++;
    // IKE_SA_INIT never arrives inside an SA: an unprotected copy must not touch it.
    if (cls !== 'new' || sa.phase === 'init-sent' || sa.phase === 'closed' || msg.header.exchangeType === ExchangeType.IKE_SA_INIT) return;
    let inbound: InboundMessage | undefined;
    let spec: ResponseSpec;
    const ctx = this.#context(sa);
    sa.responder.begin(mid);
    try {
      inbound = this.#open(sa, msg, 'request', remote, local);
      if (!inbound) {
        sa.responder.abandon(mid);
        return;
      }
      sa.lastInbound = this.#scheduler.now();
      spec = await this.#dispatch(ctx, inbound);
    } catch (e) {
      spec = this.#errorResponse(sa, e);
    }
    if (!sa.isOpen && spec.payloads.length === 0) return;
    const digest = datagramDigest(inbound?.raw ?? datagram);
    // RFC 7296 §2.11, §2.23: answer the request's source; follow the peer's address from now on.
    if (!sameEndpoint(sa.remote, remote)) sa.remote = this.#remotes.shared(remote);
    if (!sameEndpoint(sa.local, local)) sa.local = local;
    const header: IkeHeader = { spiI: sa.spiI, spiR: sa.spiR, exchangeType: msg.header.exchangeType, flags: this.#flags(sa, true), messageId: mid };
    const datagrams = this.#encode(sa, header, spec.payloads);
    sa.responder.answered(mid, datagrams, [digest]);
    this.#transmit(datagrams, remote, local);
    spec.afterSend?.(new SentMessage(header, spec.payloads, datagrams, false));
    this.#settle(ctx);
    this.#pump(sa);
  }

  async #dispatch(ctx: TaskContext, req: InboundMessage): Promise<ResponseSpec> {
    const handler = this.#handlers.get(req.header.exchangeType);
    const phase = ctx.sa.phase;
    if (!handler || !handler.phases.includes(phase)) {
      // Not authenticated yet: only the authentication exchange is acceptable. Afterwards an
      // exchange we do not implement (or not now) is a syntax error for us (RFC 7296 §2.21).
      throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'exchange', detail: `${nameOf(ExchangeType, req.header.exchangeType)} not accepted in ${phase}` });
    }
    return handler.handle(ctx, req);
  }

  /** Error → its notify; before authentication (or on AUTH failure) the SA is then deleted (§2.21.2). */
  #errorResponse(sa: IkeSa, e: unknown): ResponseSpec {
    const n = errorNotifyFor(e);
    this.#reportError(sa, e, n?.notifyType);
    const preAuth = sa.phase === 'keyed';
    const authFailed = n?.notifyType === NotifyType.AUTHENTICATION_FAILED;
    if (n && !preAuth && !authFailed) return { payloads: [n] };
    const reason: CloseReason = authFailed ? 'auth-failed' : 'error';
    return { payloads: n ? [n] : [], afterSend: () => this.#close(sa, reason) };
  }

  async #onResponse(msg: DecodedMessage, remote: Endpoint, local: Endpoint): Promise<void> {
    const h = msg.header;
    // A response from the original responder comes to us as initiator: our SPI is SPIi.
    const sa = this.#sas.get((isFromOriginalInitiator(h) ? h.spiR : h.spiI).toString('hex'));
    if (!sa || !sa.isOpen) return;
    const initResponse = h.exchangeType === ExchangeType.IKE_SA_INIT;
    if (initResponse ? sa.phase !== 'init-sent' || isFromOriginalInitiator(h) : !this.#matchesSa(sa, h)) return;
    const pending = sa.pending.get(h.messageId);
    if (!pending || pending.task.exchangeType !== h.exchangeType) return;
    let inbound: InboundMessage | undefined;
    try {
      inbound = this.#open(sa, msg, 'response', remote, local);
    } catch (e) {
      return this.#taskFailed(sa, pending, e);
    }
    if (!inbound) return;
    if (!initResponse) sa.lastInbound = this.#scheduler.now();
    const ctx = this.#context(sa);
    let result: Awaited<ReturnType<InitiatorTask['processResponse']>>;
    try {
      result = await pending.task.processResponse(ctx, inbound, pending.request);
    } catch (e) {
      return this.#taskFailed(sa, pending, e);
    }
    this.#settle(ctx);
    if (result === 'ignore' || sa.pending.get(h.messageId) !== pending) return;
    pending.timer?.cancel();
    if (result === 'resend' && sa.isOpen) {
      this.#sendRequest(sa, pending.task, h.messageId);
      return;
    }
    this.#finishRequest(sa, h.messageId);
  }

  #finishRequest(sa: IkeSa, mid: number): void {
    const p = sa.pending.get(mid);
    p?.timer?.cancel();
    sa.deletePending(mid);
    sa.requester.complete(mid);
    sa.dropReassembly(`response:${mid}`);
    this.#pump(sa);
  }

  #taskFailed(sa: IkeSa, pending: PendingRequest, e: unknown): void {
    pending.task.dispose?.();
    this.#reportError(sa, e);
    if (pending.task.critical) {
      this.#close(sa, 'error');
      return;
    }
    this.#finishRequest(sa, pending.request.messageId);
  }

  #reportError(sa: IkeSa | undefined, e: unknown, notifyType?: number): void {
    const peerNotify = e instanceof PeerNotifyError ? e.peerNotify : undefined;
    const n = notifyType ?? peerNotify;
    this.#emit({
      type: 'error',
      ...(sa ? { ikeSaId: sa.id } : {}),
      code: isGkmError(e) ? e.code : 'GKM_IKE_INVALID_STATE',
      ...(n !== undefined ? { notify: n, notifyName: nameOf(NotifyType, n) } : {}),
      message: e instanceof Error ? e.message : String(e),
    });
  }

  // --- requests we send -----------------------------------------------------------------------

  #queue(sa: IkeSa, task: InitiatorTask, front: boolean): void {
    if (!sa.isOpen) throw new GkmError('GKM_IKE_SA_CLOSED', { detail: sa.id });
    sa.addTask(task, front);
    this.#pump(sa);
  }

  /** Sends queued tasks while the peer's window has room (RFC 7296 §2.3). */
  #pump(sa: IkeSa): void {
    while (sa.isOpen && sa.requester.canSend() && sa.tasks.length > 0) {
      const task = sa.tasks[0]!;
      if (task.obsolete?.(this.#context(sa))) {
        sa.shiftTask();
        task.dispose?.();
        continue;
      }
      if (!task.phases.includes(sa.phase)) {
        const reachable = task.phases.some((p) => PHASE_ORDER.indexOf(p) > PHASE_ORDER.indexOf(sa.phase));
        if (reachable) return; // e.g. a CREATE_CHILD_SA queued before IKE_AUTH completed
        sa.shiftTask();
        task.dispose?.();
        this.#reportError(sa, new GkmError('GKM_IKE_INVALID_STATE', { detail: `${task.name} not possible in ${sa.phase}` }));
        continue;
      }
      sa.shiftTask();
      this.#sendRequest(sa, task, undefined);
    }
  }

  /** Builds and sends a request; `mid` given = resend under the same Message ID. */
  #sendRequest(sa: IkeSa, task: InitiatorTask, mid: number | undefined): void {
    let payloads: Payload[];
    try {
      payloads = task.buildRequest(this.#context(sa));
    } catch (e) {
      task.dispose?.();
      this.#reportError(sa, e);
      if (mid !== undefined) sa.deletePending(mid);
      if (task.critical || mid !== undefined) this.#close(sa, 'error');
      return;
    }
    if (!sa.isOpen) return;
    const messageId = mid ?? sa.requester.allocate(); // allocated only once the request exists: MIDs stay contiguous
    const header: IkeHeader = { spiI: sa.spiI, spiR: sa.spiR, exchangeType: task.exchangeType, flags: this.#flags(sa, false), messageId };
    const datagrams = this.#encode(sa, header, payloads);
    const request: SentRequest = new SentMessage(header, payloads, datagrams, task.exchangeType === ExchangeType.IKE_SA_INIT);
    const pending: PendingRequest = { task, request, retransmits: 0, timer: undefined };
    sa.setPending(messageId, pending);
    this.#transmit(datagrams, sa.remote, sa.local);
    this.#armRetransmit(sa, pending);
  }

  /** RFC 7296 §2.1: same bytes, exponential back-off; when the tries run out the SA is dead. */
  #armRetransmit(sa: IkeSa, pending: PendingRequest): void {
    const { baseMs, factor } = this.options.retransmit;
    pending.timer = this.#timers.add(sa, baseMs * factor ** pending.retransmits, this.#retransmitDue, pending);
  }

  readonly #retransmitDue = (sa: IkeSa, p: unknown): void => {
    const pending = p as PendingRequest;
    if (sa.pending.get(pending.request.messageId) !== pending) return;
    if (pending.retransmits >= this.options.retransmit.tries) {
      pending.task.dispose?.();
      this.#reportError(sa, new GkmError('GKM_IKE_TIMEOUT', { detail: `${pending.task.name} (MID ${pending.request.messageId})` }));
      this.#close(sa, 'timeout');
      return;
    }
    pending.retransmits++;
    this.#transmit(pending.request.datagrams, sa.remote, sa.local);
    this.#armRetransmit(sa, pending);
  };

  #flags(sa: IkeSa, response: boolean): number {
    return (sa.role === 'initiator' ? HeaderFlag.INITIATOR : 0) | (response ? HeaderFlag.RESPONSE : 0);
  }

  /** IKE_SA_INIT in clear; everything else SK, or SKF fragments above the size limit (RFC 7383). */
  #encode(sa: IkeSa, header: IkeHeader, payloads: Payload[]): Buffer[] {
    if (header.exchangeType === ExchangeType.IKE_SA_INIT) return [encodeMessage({ header, payloads })];
    const crypto = sa.requireCrypto();
    const whole = protectMessage(header, payloads, crypto.outbound, crypto.ivs);
    if (!sa.extensions.fragmentation || whole.length <= this.options.fragmentSize) return [whole];
    return fragmentMessage(header, payloads, crypto.outbound, crypto.ivs, this.options.fragmentSize);
  }

  #transmit(datagrams: readonly Buffer[], remote: Endpoint, local: Endpoint): void {
    if (!this.options.coalesceSends) {
      for (const d of datagrams) this.#sender.send(d, remote, local);
      return;
    }
    // EngineOptions.coalesceSends: queued in order, sent together at the end of this turn.
    if (this.#pendingSends.length === 0) setImmediate(this.#flushSends);
    for (const d of datagrams) this.#pendingSends.push(new PendingSend(d, remote, local));
  }

  #pendingSends: PendingSend[] = [];
  readonly #flushSends = (): void => {
    const pending = this.#pendingSends;
    this.#pendingSends = [];
    for (const p of pending) this.#sender.send(p.datagram, p.remote, p.local);
  };

  // --- task context ---------------------------------------------------------------------------

  /** Cheap enough to build per use: the SA and the engine's shared #ops. */
  #context(sa: IkeSa): TaskContext {
    return new SaTaskContext(sa, this.#ops);
  }

  #emit(e: IkeEvent): void {
    this.events.emit(e);
  }

  #allocateChildSpi(): Buffer {
    for (;;) {
      const spi = this.#random(4);
      const value = spi.readInt32BE();
      if (value >>> 0 >= 256 && !this.#childSpis.has(value)) {
        this.#childSpis.add(value);
        return spi;
      }
    }
  }

  #establish(sa: IkeSa, input: EstablishInput): void {
    sa.advance('established');
    this.#leaveHalfOpen(sa);
    sa.config = input.config;
    sa.localId = input.localId; // ours: from the configuration
    sa.remoteId = input.remoteId; // copied: not a view into the message
    this.#indexIdentities(sa);
    this.#recordIkeKeys(sa);
    if (this.events.has('ike_up')) this.#emit({ type: 'ike_up', ike: this.summary(sa) }); // a summary per SA only for a listener (the GCKS has none)
    this.#armLiveness(sa);
    setIkeLifetime(this.#context(sa)); // armed by #settle, once the exchange's Child SA is in
  }

  #allocateIkeSpi(): Buffer {
    let spi = this.#random(8);
    while (spi.equals(ZERO_SPI) || this.#sas.has(spi.toString('hex'))) spi = this.#random(8);
    return spi;
  }

  /** RFC 7296 §2.18: the IKE SA a rekey of `old` created; Message IDs start at 0 again. */
  #spawnRekeyed(old: IkeSa, spec: RekeyedIkeSaSpec): TaskContext {
    const sa = IkeSa.rekeyed(old, spec.role, spec.spiI, spec.spiR, spec.crypto, this.#scheduler.now(), this.options.windowSize);
    this.#sas.set(sa.id, sa);
    this.#indexIdentities(sa);
    this.#recordIkeKeys(sa);
    sa.forgetAuthentication();
    this.#armLiveness(sa);
    const ctx = this.#context(sa);
    setIkeLifetime(ctx);
    armLifetimes(ctx);
    return ctx;
  }

  /** INITIAL_CONTACT: our other SAs between the same two identities are stale (RFC 7296 §2.4). */
  #purgeOtherSas(sa: IkeSa, remoteId: Identity): void {
    const localId = sa.localId;
    if (!localId) return;
    const entry = this.#byIdentities.get(identitiesKey(this.#identitiesHashKey, remoteId, localId));
    const same = entry === undefined ? [] : Array.isArray(entry) ? [...entry] : [entry];
    for (const other of same) {
      if (other !== sa && other.phase === 'established' && other.hasRemoteId(remoteId) && other.localId && sameIdentity(other.localId, localId)) this.#close(other, 'initial-contact');
    }
  }

  /** Open IKE SAs with identities (established, deleting) are indexed until closed. */
  #indexIdentities(sa: IkeSa): void {
    const key = this.#identitiesKeyOf(sa);
    if (key === undefined) return;
    const entry = this.#byIdentities.get(key);
    if (entry === undefined) this.#byIdentities.set(key, sa);
    else if (Array.isArray(entry)) entry.push(sa);
    else this.#byIdentities.set(key, [entry, sa]);
  }

  #unindexIdentities(sa: IkeSa): void {
    const key = this.#identitiesKeyOf(sa);
    if (key === undefined) return;
    const entry = this.#byIdentities.get(key);
    if (entry === sa) {
      this.#byIdentities.delete(key);
      return;
    }
    if (!Array.isArray(entry)) return;
    const at = entry.indexOf(sa);
    if (at < 0) return;
    entry.splice(at, 1);
    if (entry.length === 1) this.#byIdentities.set(key, entry[0]!);
  }

  #identitiesKeyOf(sa: IkeSa): number | undefined {
    const remoteId = sa.remoteId;
    return remoteId && sa.localId ? identitiesKey(this.#identitiesHashKey, remoteId, sa.localId) : undefined;
  }

  #installChild(sa: IkeSa, child: NegotiatedChild, ni: Buffer, nr: Buffer, secrets?: readonly Buffer[], role: Role = sa.role): ChildSa {
    const { prf, keys } = sa.requireCrypto();
    const suite = childSuiteOf(child.proposal);
    const k = deriveChildKeys(prf, keys.skD, ni, nr, childKeySizes(suite), secrets);
    const [out, inn] = role === 'initiator' ? [[k.encrI, k.integI], [k.encrR, k.integR]] : [[k.encrR, k.integR], [k.encrI, k.integI]];
    const nat = sa.extensions.nat;
    const encapsulated = nat !== undefined && (nat.local || nat.remote);
    const installed: InstalledChildSa = {
      ikeSaId: sa.id,
      name: child.name,
      protocolId: child.protocolId,
      mode: child.mode,
      encapsulated,
      local: sa.local,
      remote: sa.remote,
      suite,
      localTs: child.localTs,
      remoteTs: child.remoteTs,
      inbound: { spi: child.inboundSpi.readUInt32BE(), encKey: inn[0]!, integKey: inn[1]! },
      outbound: { spi: child.outboundSpi.readUInt32BE(), encKey: out[0]!, integKey: out[1]! },
      ...(child.resourceId ? { resourceId: Buffer.from(child.resourceId) } : {}),
    };
    this.#sink?.install(installed);
    this.#recordEspKeys(sa, installed);
    const keMethods = keMethodsOf(child.proposal);
    // The record outlives the exchange: shared or own values, never views into a message.
    const record: ChildSa = new ChildSaRecord({
      name: child.name,
      protocolId: child.protocolId,
      mode: child.mode,
      inboundSpi: child.inboundSpi,
      outboundSpi: child.outboundSpi,
      localTs: sharedSelectors(child.localTs),
      remoteTs: sharedSelectors(child.remoteTs),
      ...(child.resourceId !== undefined ? { resourceId: retained(child.resourceId)[0]! } : {}),
      ...(child.initial !== undefined ? { initial: child.initial } : {}),
      suite: sharedChildSuite(suite),
      encapsulated,
      keMethods: keMethods.length === 0 ? NO_KE_METHODS : keMethods,
      state: 'installed',
      installedAt: this.#scheduler.now(),
    });
    sa.children.set(child.inboundSpi.toString('hex'), record);
    this.#emit({ type: 'child_up', ikeSaId: sa.id, child: childSummary(record) });
    armChildLifetime(this.#context(sa), record);
    return record;
  }

  #removeChild(sa: IkeSa, child: ChildSa, reason: CloseReason): void {
    if (!sa.children.delete(child.inboundSpi.toString('hex'))) return;
    this.#childSpis.delete(child.inboundSpiValue | 0);
    this.#sink?.remove({ ikeSaId: sa.id, inboundSpi: child.inboundSpiValue, outboundSpi: child.outboundSpiValue });
    this.#emit({ type: 'deleted', ikeSaId: sa.id, what: 'child', reason, child: childSummary(child) });
  }

  /** One INFORMATIONAL request, no retransmission: the SA closes right after. */
  #sendNotice(sa: IkeSa, n: NotifyPayload): void {
    if (!sa.crypto) return;
    for (const mid of sa.pending.keys()) sa.requester.complete(mid); // answered or abandoned: the SA is ending
    if (!sa.requester.canSend()) return;
    const header: IkeHeader = { spiI: sa.spiI, spiR: sa.spiR, exchangeType: ExchangeType.INFORMATIONAL, flags: this.#flags(sa, false), messageId: sa.requester.allocate() };
    this.#transmit(this.#encode(sa, header, [n]), sa.remote, sa.local);
  }

  #close(sa: IkeSa, why: CloseReason): void {
    if (!sa.isOpen) return;
    const reason: CloseReason = sa.supersededBy !== undefined && (why === 'local' || why === 'peer') ? 'rekeyed' : why;
    for (const t of sa.takeTasks()) t.dispose?.();
    for (const p of sa.pending.values()) p.task.dispose?.();
    for (const c of [...sa.children.values()]) this.#removeChild(sa, c, reason);
    sa.close();
    this.#timers.noteDead(sa.armedTimers);
    this.#sas.delete(sa.id);
    this.#leaveHalfOpen(sa);
    this.#unindexIdentities(sa);
    this.#emit({ type: 'deleted', ikeSaId: sa.id, what: 'ike', reason, ...(sa.config ? { name: sa.config.name } : {}) });
  }

  /**
   * After an exchange's message: what only authentication needed goes (IkeSa.forgetAuthentication),
   * and the lifetime timer is armed once the SA is established with its Child SA (armLifetimes).
   */
  #settle(ctx: TaskContext): void {
    const sa = ctx.sa;
    sa.forgetAuthentication();
    if (sa.phase === 'established' && sa.lifetimeTimer === undefined) armLifetimes(ctx);
  }

  /** A TaskContext.setTimerWith handler, called with a context of the SA (one function per engine). */
  readonly #withContext = (sa: IkeSa, handler: unknown, arg: unknown): void => (handler as (ctx: TaskContext, arg: unknown) => void)(this.#context(sa), arg);

  /** RFC 7296 §2.4: probe only after a quiet period; a lost probe ends like any request. */
  #armLiveness(sa: IkeSa): void {
    const interval = this.options.livenessIntervalMs;
    if (interval <= 0) return;
    const wait = Math.max(1, sa.lastInbound + interval - this.#scheduler.now());
    this.#timers.add(sa, wait, this.#livenessDue);
  }

  readonly #livenessDue = (sa: IkeSa): void => {
    if (sa.phase !== 'established') return;
    const quiet = this.#scheduler.now() - sa.lastInbound >= this.options.livenessIntervalMs;
    if (quiet && sa.pending.size === 0 && sa.tasks.length === 0) this.#queue(sa, new LivenessTask(), false);
    this.#armLiveness(sa);
  };

  #require(id: string): IkeSa {
    const sa = this.#sas.get(id);
    if (!sa) throw new GkmError('GKM_IKE_SA_CLOSED', { detail: `no IKE SA ${id}` });
    return sa;
  }

  // --- reporting ------------------------------------------------------------------------------

  summary(sa: IkeSa): IkeSaSummary {
    const s = sa.suite;
    const suite: Record<string, string> = {};
    if (s) {
      suite['encr'] = `${nameOf(EncrId, s.encrId)}${s.keyLengthBits ? `/${s.keyLengthBits}` : ''}`;
      if (s.integId !== undefined) suite['integ'] = nameOf(IntegId, s.integId);
      suite['prf'] = nameOf(PrfId, s.prfId);
      suite['ke'] = [s.keMethod, ...s.additionalKes].map((m) => nameOf(KeId, m)).join('+');
      if (s.kwaId !== undefined) suite['kwa'] = nameOf(KwaId, s.kwaId);
    }
    return {
      id: sa.id,
      ...(sa.config ? { name: sa.config.name } : {}),
      role: sa.role,
      spiI: sa.spiI.toString('hex'),
      spiR: sa.spiR.toString('hex'),
      local: sa.local,
      remote: sa.remote,
      ...(sa.localId ? { localId: identityText(sa.localId) } : {}),
      ...(sa.remoteId ? { remoteId: identityText(sa.remoteId) } : {}),
      suite,
      ...(sa.extensions.nat ? { natLocal: sa.extensions.nat.local, natRemote: sa.extensions.nat.remote } : {}),
    };
  }

  #recordIkeKeys(sa: IkeSa): void {
    if (!this.#keyLog || !sa.crypto) return;
    const { suite, keys } = sa.crypto;
    const copy = (b: Buffer): Buffer => Buffer.from(b);
    this.#keyLog.recordIkeSa({
      spiI: copy(sa.spiI),
      spiR: copy(sa.spiR),
      encrId: suite.encrId,
      ...(suite.keyLengthBits ? { encrKeyBits: suite.keyLengthBits } : {}),
      integId: suite.integId ?? IntegId.NONE,
      prfId: suite.prfId,
      keMethods: [suite.keMethod, ...suite.additionalKes],
      ...(suite.kwaId !== undefined ? { kwaId: suite.kwaId } : {}),
      skD: copy(keys.skD),
      skAi: copy(keys.skAi),
      skAr: copy(keys.skAr),
      skEi: copy(keys.skEi),
      skEr: copy(keys.skEr),
      skPi: copy(keys.skPi),
      skPr: copy(keys.skPr),
    });
  }

  #recordEspKeys(sa: IkeSa, c: InstalledChildSa): void {
    if (!this.#keyLog) return;
    const family = c.local.ip.includes(':') ? 'IPv6' : 'IPv4';
    for (const [dir, src, dst] of [[c.inbound, c.remote.ip, c.local.ip], [c.outbound, c.local.ip, c.remote.ip]] as const) {
      this.#keyLog.recordEspSa({
        ikeSpiI: Buffer.from(sa.spiI),
        ikeSpiR: Buffer.from(sa.spiR),
        family,
        src,
        dst,
        spi: dir.spi,
        encrId: c.suite.encrId,
        ...(c.suite.keyLengthBits ? { encrKeyBits: c.suite.keyLengthBits } : {}),
        integId: c.suite.integId ?? IntegId.NONE,
        encKey: Buffer.from(dir.encKey),
        integKey: Buffer.from(dir.integKey),
      });
    }
  }
}
