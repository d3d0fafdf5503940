/**
 * The GM's G-IKEv2 exchanges as engine tasks (src/ikev2/sa/task.ts), over the unicast IKE SA:
 *
 *   GSA_AUTH (39)          IKE_AUTH's place (PeerConfig.authTask): RFC 9838 §2.3.1
 *       HDR, SK{IDi, [CERT,] [IDr,] AUTH, IDg, SAg, [N(GROUP_SENDER)], [N(INITIAL_CONTACT)]}
 *       ← HDR, SK{IDr, [CERT,] AUTH, GSA, KD, [N(USE_TRANSPORT_MODE)]}  |  {IDr, AUTH, N(error)}
 *   GSA_REGISTRATION (40)  another group (or again) over the same IKE SA: §2.3.2
 *       HDR, SK{IDg, SAg, [N(GROUP_SENDER)]}  ← HDR, SK{GSA, KD, [N]}  |  {N(error)}
 *   leaving / rejecting    HDR, SK{IDg, N(REGISTRATION_FAILED | NO_PROPOSAL_CHOSEN)}  ← HDR, SK{}
 *
 * AUTH is computed and checked exactly as in IKE_AUTH (auth.ts, §2.3.1, IntAuth included
 * after IKE_INTERMEDIATE). A failed AUTH ends the IKE SA (RFC 7296 §2.21.2); a group error
 * does not. Tasks hand the reply's payloads to a RegistrationSink, or tell it why no reply
 * will come; they never throw for group problems.
 */
import { getKeyWrap } from '../../ikev2/crypto/keywrap.ts';
import { gskW } from '../../ikev2/crypto/keys.ts';
import { GkmError } from '../../ikev2/errors.ts';
import { ExchangeType } from '../../ikev2/registry/exchange.ts';
import { nameOf } from '../../ikev2/registry/names.ts';
import { NotifyType } from '../../ikev2/registry/notify.ts';
import { PayloadType } from '../../ikev2/registry/payload.ts';
import { localAuthPayloads } from '../../ikev2/sa/auth.ts';
import { establishOnResponderAuth } from '../../ikev2/sa/exchanges/ike-auth.ts';
import type { PeerConfig } from '../../ikev2/sa/config.ts';
import { idPayload, type Identity } from '../../ikev2/sa/identity.ts';
import type { IkeSa } from '../../ikev2/sa/ike-sa.ts';
import type { InboundMessage, InitiatorTask, TaskContext, TaskResult } from '../../ikev2/sa/task.ts';
import type { Payload } from '../../ikev2/wire/payload.ts';
import { NotifyData } from '../../ikev2/wire/payloads/index.ts';
import type { CarryingSa } from '../keys/key-path.ts';
import { GroupRegistrationError } from './errors.ts';
import { groupRequestPayloads, leavePayloads, type GroupRequest } from './request.ts';

/** Receives the outcome of one registration exchange, exactly once. */
export interface RegistrationSink {
  /** The reply's payloads (AUTH verified for GSA_AUTH); `ikeSa` is the SA it came over. */
  reply(ikeSa: IkeSa, payloads: readonly Payload[]): void;
  /** No reply will be processed (SA closed, timeout, AUTH failure, refused without AUTH). */
  failed(error: GroupRegistrationError): void;
}

/**
 * The IKE SA as carrier of key downloads: its KWA and GSK_w = prf+(SK_d, "Key Wrap for
 * G-IKEv2") (§3.1.1), derived from the current SK_d (a rekeyed IKE SA has a new one).
 */
export function ikeSaCarrier(sa: IkeSa): CarryingSa {
  const { suite, prf, keys } = sa.requireCrypto();
  if (suite.kwaId === undefined) throw new GroupRegistrationError('GKM_GROUP_NO_KWA', 'the IKE SA negotiated no Key Wrap Algorithm (RFC 9838 §2.2): the GCKS did not pick one of ours');
  return { kwaId: suite.kwaId, gskW: gskW(prf, keys.skD, getKeyWrap(suite.kwaId).keyLength) };
}

/** Settles a sink once; later calls are ignored. */
class Once {
  #done = false;
  constructor(private readonly sink: RegistrationSink) {}
  get done(): boolean {
    return this.#done;
  }
  reply(sa: IkeSa, payloads: readonly Payload[]): void {
    if (this.#done) return;
    this.#done = true;
    this.sink.reply(sa, payloads);
  }
  failed(e: GroupRegistrationError): void {
    if (this.#done) return;
    this.#done = true;
    this.sink.failed(e);
  }
}

const ikeSaLost = (exchange: string): GroupRegistrationError => new GroupRegistrationError('GKM_GROUP_IKE_SA', `${exchange} did not complete: the IKE SA failed or closed`);

export class GsaAuthTask implements InitiatorTask {
  readonly name = 'GSA_AUTH';
  readonly exchangeType: number = ExchangeType.GSA_AUTH;
  readonly phases = ['keyed'] as const;
  readonly critical = true;
  readonly #config: PeerConfig;
  readonly #request: GroupRequest;
  readonly #sink: Once;
  #failure: GroupRegistrationError | undefined;

  constructor(config: PeerConfig, request: GroupRequest, sink: RegistrationSink) {
    this.#config = config;
    this.#request = request;
    this.#sink = new Once(sink);
  }

  buildRequest(ctx: TaskContext): Payload[] {
    if (ctx.sa.requireCrypto().suite.kwaId === undefined) {
      this.#failure = new GroupRegistrationError('GKM_GROUP_NO_KWA', 'the GCKS chose an IKE proposal without a Key Wrap Algorithm (RFC 9838 §2.2)');
      throw new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'SA', detail: 'no KWA transform chosen' });
    }
    const config = this.#config;
    const idi = idPayload(PayloadType.IDi, config.localId);
    const local = localAuthPayloads(ctx.sa, config.localAuth, 'initiator', idi);
    const payloads: Payload[] = [idi, ...local.certs];
    if (config.remoteId) payloads.push(idPayload(PayloadType.IDr, config.remoteId));
    payloads.push(local.auth, ...groupRequestPayloads(this.#request));
    if (config.initialContact !== false) payloads.push(NotifyData.INITIAL_CONTACT.build());
    return payloads;
  }

  processResponse(ctx: TaskContext, res: InboundMessage): TaskResult {
    const p = res.payloads;
    const config = this.#config;
    const established = establishOnResponderAuth(ctx, config, p, 'GSA_AUTH', {
      // AUTHENTICATION_FAILED (or any error sent without AUTH): no IKE SA (RFC 7296 §2.21.2).
      refused: (error) => {
        this.#failure = new GroupRegistrationError('GKM_GROUP_REFUSED', `GSA_AUTH failed: the GCKS answered ${nameOf(NotifyType, error.notifyType)}`, { notify: error.notifyType });
      },
      authFailed: (e) => {
        this.#failure = new GroupRegistrationError('GKM_GROUP_IKE_SA', `the GCKS failed authentication: ${e.message}`, { notify: NotifyType.AUTHENTICATION_FAILED, cause: e });
      },
    });
    if (!established) return 'done';
    this.#sink.reply(ctx.sa, p);
    return 'done';
  }

  dispose(): void {
    this.#sink.failed(this.#failure ?? ikeSaLost('GSA_AUTH'));
  }
}

export class GsaRegistrationTask implements InitiatorTask {
  readonly name = 'GSA_REGISTRATION';
  readonly exchangeType: number = ExchangeType.GSA_REGISTRATION;
  readonly phases = ['established'] as const;
  readonly critical = false;
  readonly #request: GroupRequest;
  readonly #sink: Once;

  constructor(request: GroupRequest, sink: RegistrationSink) {
    this.#request = request;
    this.#sink = new Once(sink);
  }

  buildRequest(): Payload[] {
    return groupRequestPayloads(this.#request);
  }

  processResponse(ctx: TaskContext, res: InboundMessage): TaskResult {
    this.#sink.reply(ctx.sa, res.payloads);
    return 'done';
  }

  dispose(): void {
    this.#sink.failed(ikeSaLost('GSA_REGISTRATION'));
  }
}

/** GSA_REGISTRATION {IDg, N(REGISTRATION_FAILED | NO_PROPOSAL_CHOSEN)} → {}: `done(true)` once answered. */
export class GsaLeaveTask implements InitiatorTask {
  readonly name = 'GSA_REGISTRATION (leave)';
  readonly exchangeType: number = ExchangeType.GSA_REGISTRATION;
  readonly phases = ['established'] as const;
  readonly critical = false;
  #done: ((answered: boolean) => void) | undefined;

  constructor(
    private readonly group: Identity,
    private readonly reason: 'leave' | 'reject-policy',
    done: (answered: boolean) => void,
  ) {
    this.#done = done;
  }

  buildRequest(): Payload[] {
    return leavePayloads(this.group, this.reason);
  }

  processResponse(): TaskResult {
    this.#finish(true);
    return 'done';
  }

  dispose(): void {
    this.#finish(false);
  }

  #finish(answered: boolean): void {
    const done = this.#done;
    this.#done = undefined;
    done?.(answered);
  }
}
