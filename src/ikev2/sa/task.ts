/**
 * The task framework (strongSwan's tasks, one small unit per exchange step):
 *
 * - An InitiatorTask is an exchange we start: the engine queues it on an IKE SA, gives it
 *   the next Message ID when the window allows and the SA is in one of its `phases`, sends
 *   (and retransmits) what `buildRequest` returns, and hands it the matching response.
 * - A ResponderHandler answers requests of one exchange type in the given phases.
 *
 * Exchanges register without touching the engine: the GCKS adds GSA_AUTH /
 * GSA_REGISTRATION responders, the member its GSA_AUTH initiator task (PeerConfig.authTask).
 * Protection (SK/SKF, RFC 7383), windows and retransmission are the engine's job; tasks see
 * decrypted payload lists.
 */
import type { GkmError } from '../errors.ts';
import type { DecodedHeader } from '../wire/header.ts';
import type { Payload } from '../wire/payload.ts';
import type { NotifyPayload } from '../wire/payloads/index.ts';
import type { ChildSa, NegotiatedChild } from './child-sa.ts';
import type { EngineOptions, PeerConfig, ResponderPolicy } from './config.ts';
import type { CloseReason, IkeEvent } from './events.ts';
import type { Identity } from './identity.ts';
import type { IkeCrypto, IkeSa, PhaseKind, Role } from './ike-sa.ts';
import type { Endpoint, Timer } from './types.ts';

export interface InboundMessage {
  readonly header: DecodedHeader;
  /** Inner payloads of SK/SKF messages; the payloads themselves for IKE_SA_INIT. */
  readonly payloads: readonly Payload[];
  /** The message as received (fragment 1 of a reassembled one). */
  readonly raw: Buffer;
  readonly remote: Endpoint;
  readonly local: Endpoint;
  /** A|P, the message as if unencrypted (RFC 9242 §3.1): IntAuth input for IKE_INTERMEDIATE. */
  plainForm(): Buffer;
}

export interface SentRequest {
  readonly messageId: number;
  readonly payloads: readonly Payload[];
  /** Exactly what went on the wire (one datagram, or every fragment). */
  readonly datagrams: readonly Buffer[];
  plainForm(): Buffer;
}

/**
 * 'done': exchange over. 'resend': rebuild and send the request again with the same Message
 * ID (IKE_SA_INIT after COOKIE / INVALID_KE_PAYLOAD). 'ignore': the response is not
 * acceptable but unauthenticated; keep waiting (and retransmitting).
 */
export type TaskResult = 'done' | 'resend' | 'ignore';

export interface InitiatorTask {
  readonly name: string;
  readonly exchangeType: number;
  /** SA phases in which the request may be sent. */
  readonly phases: readonly PhaseKind[];
  /** A failure (thrown error) of a critical task closes the IKE SA. */
  readonly critical: boolean;
  /**
   * Checked before the request is built: true drops the task silently (e.g. a rekey of a
   * Child SA the peer has rekeyed or deleted meanwhile).
   */
  obsolete?(ctx: TaskContext): boolean;
  buildRequest(ctx: TaskContext): Payload[];
  processResponse(ctx: TaskContext, response: InboundMessage, request: SentRequest): TaskResult | Promise<TaskResult>;
  /** The exchange will not complete (timeout, SA closed): drop any private state. */
  dispose?(): void;
}

/** A response as the engine sent it. */
export interface SentResponse {
  readonly messageId: number;
  /** Exactly what went on the wire (one datagram, or every fragment). */
  readonly datagrams: readonly Buffer[];
  /** A|P (RFC 9242 §3.1): IntAuth input for IKE_INTERMEDIATE. */
  plainForm(): Buffer;
}

export interface ResponseSpec {
  readonly payloads: Payload[];
  /**
   * Runs once the response is sent (e.g. close the SA after a Delete or AUTH failure, or
   * switch keys after IKE_INTERMEDIATE: the response itself went out under the old ones).
   */
  readonly afterSend?: (sent: SentResponse) => void;
}

export interface ResponderHandler {
  readonly exchangeType: number;
  readonly phases: readonly PhaseKind[];
  /** Errors thrown with a notify (GkmError.notify) are answered with that notify. */
  handle(ctx: TaskContext, request: InboundMessage): ResponseSpec | Promise<ResponseSpec>;
}

export interface EstablishInput {
  readonly config: PeerConfig;
  readonly localId: Identity;
  readonly remoteId: Identity;
}

/** The IKE SA a CREATE_CHILD_SA rekey created (RFC 7296 §2.18): SPIs, keys, our role in it. */
export interface RekeyedIkeSaSpec {
  /** The rekey's initiator is the new SA's original initiator. */
  readonly role: Role;
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly crypto: IkeCrypto;
}

/** What tasks and handlers may do to their IKE SA and the engine. */
export interface TaskContext {
  readonly sa: IkeSa;
  readonly options: EngineOptions;
  readonly responderPolicy: ResponderPolicy | undefined;
  /** Wall-clock time (certificate validity). */
  wallClock(): Date;
  random(length: number): Buffer;
  emit(event: IkeEvent): void;
  queue(task: InitiatorTask, opts?: { readonly front?: boolean }): void;
  /** A fresh inbound SPI for a Child SA, unique within this engine. */
  allocateChildSpi(): Buffer;
  releaseChildSpi(spi: Buffer): void;
  /**
   * Derives keys, installs through the sink, records the key log, emits child_up. `role` is
   * ours in the exchange that created the Child SA (RFC 7296 §2.17: "initiator" there is the
   * CREATE_CHILD_SA initiator, whose nonce is Ni); default: our IKE SA role (IKE_AUTH).
   */
  installChild(child: NegotiatedChild, ni: Buffer, nr: Buffer, secrets?: readonly Buffer[], role?: Role): ChildSa;
  removeChild(child: ChildSa, reason: CloseReason): void;
  /** Monotonic time of the engine's scheduler. */
  now(): number;
  /** A timer bound to this IKE SA: it never fires once the SA is closed. */
  setTimer(delayMs: number, fn: () => void): Timer;
  /**
   * setTimer without a closure per timer: `handler` (one function shared by every SA) gets
   * a context of this SA and `arg`. What many SAs arm (lifetimes) uses this.
   */
  setTimerWith<A>(delayMs: number, handler: (ctx: TaskContext, arg: A) => void, arg: A): Timer;
  /** A fresh IKE SPI, unique within this engine (IKE SA rekey, RFC 7296 §2.18). */
  allocateIkeSpi(): Buffer;
  /**
   * Registers the IKE SA a rekey of this one created (keys logged, liveness armed) and
   * returns its context; moving the Child SAs is the caller's decision (collisions).
   */
  spawnRekeyedIkeSa(spec: RekeyedIkeSaSpec): TaskContext;
  /** Deletes this IKE SA with INFORMATIONAL {D(IKE)}, as IkeEngine.deleteIkeSa does. */
  deleteIkeSa(): void;
  /** keyed → established; emits ike_up and records the key log. */
  establish(input: EstablishInput): void;
  /** INITIAL_CONTACT (RFC 7296 §2.4): drop our other IKE SAs with this peer identity. */
  purgeOtherSas(remoteId: Identity): void;
  /**
   * Closes the SA now (no Delete exchange); `error` is reported as an error event. With
   * `notice`, one INFORMATIONAL request carrying it is sent first, without retransmission
   * (RFC 7296 §2.21.2: AUTHENTICATION_FAILED from the initiator).
   */
  close(reason: CloseReason, error?: GkmError, notice?: NotifyPayload): void;
}
