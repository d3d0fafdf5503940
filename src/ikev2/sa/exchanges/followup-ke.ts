/**
 * IKE_FOLLOWUP_KE (RFC 9370 §2.2.4): the additional key exchanges of a CREATE_CHILD_SA, one
 * exchange per round, in increasing ADDKE type order:
 *
 *   HDR, SK{KEi(n), N(ADDITIONAL_KEY_EXCHANGE, link)}  -->
 *                                 <--  HDR, SK{KEr(n), [N(ADDITIONAL_KEY_EXCHANGE, link)]}
 *
 * The link is opaque: the initiator echoes the latest one it received (strongSwan reuses one
 * octet). A responder that has no state for the link answers STATE_NOT_FOUND; the keys are
 * derived by the CREATE_CHILD_SA code once the last round is done.
 */
import { GkmError } from '../../errors.ts';
import type { InitiatorKeRounds } from '../../crypto/ke-multi.ts';
import { ExchangeType } from '../../registry/exchange.ts';
import { NotifyType } from '../../registry/notify.ts';
import { nameOf } from '../../registry/names.ts';
import { PayloadType } from '../../registry/payload.ts';
import type { Payload } from '../../wire/payload.ts';
import type { KePayload } from '../../wire/payloads/index.ts';
import { NotifyData } from '../../wire/payloads/index.ts';
import { findNotify, firstErrorNotify, PeerNotifyError, required } from '../messages.ts';
import { rekeyStateOf } from '../rekey-state.ts';
import type { InboundMessage, InitiatorTask, ResponderHandler, ResponseSpec, TaskContext, TaskResult } from '../task.ts';

/** The initiator's side of a multi-KE CREATE_CHILD_SA, driven round by round. */
export interface FollowupFlow {
  readonly rounds: InitiatorKeRounds;
  /** Latest ADDITIONAL_KEY_EXCHANGE data from the responder. */
  link: Buffer;
  /** false after a lost collision: no further round is started (RFC 9370 §2.2.4). */
  readonly continuing: boolean;
  /** The last round is done: derive keys, install. */
  roundsDone(ctx: TaskContext): void;
  /** The exchange will not complete. */
  failed(): void;
}

export class FollowupKeTask implements InitiatorTask {
  readonly name = 'IKE_FOLLOWUP_KE';
  readonly exchangeType = ExchangeType.IKE_FOLLOWUP_KE;
  readonly phases = ['established'] as const;
  readonly critical = false;
  readonly #flow: FollowupFlow;
  #method: number | undefined;

  constructor(flow: FollowupFlow) {
    this.#flow = flow;
  }

  obsolete(): boolean {
    return !this.#flow.continuing;
  }

  buildRequest(): Payload[] {
    this.#method = this.#flow.rounds.nextMethod;
    if (this.#method === undefined) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: 'no key exchange round left' });
    const data = this.#flow.rounds.start();
    return [{ type: PayloadType.KE, method: this.#method, data } satisfies KePayload, NotifyData.ADDITIONAL_KEY_EXCHANGE.build(this.#flow.link)];
  }

  processResponse(ctx: TaskContext, res: InboundMessage): TaskResult {
    const error = firstErrorNotify(res.payloads);
    if (error) throw new PeerNotifyError(error, this.name);
    const ke = required<KePayload>(res.payloads, PayloadType.KE, 'KEr');
    if (ke.method !== this.#method) throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'KEr', detail: `method ${ke.method}, sent ${this.#method}` });
    const link = findNotify(res.payloads, NotifyType.ADDITIONAL_KEY_EXCHANGE);
    const flow = this.#flow;
    flow.rounds.finish(ke.data);
    if (link) flow.link = NotifyData.ADDITIONAL_KEY_EXCHANGE.parse(link);
    if (flow.rounds.done) {
      flow.roundsDone(ctx);
    } else {
      if (!link) throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'N(ADDITIONAL_KEY_EXCHANGE)', detail: 'more rounds negotiated but no link' });
      if (flow.continuing) ctx.queue(new FollowupKeTask(flow), { front: true });
      else flow.failed();
    }
    this.#method = undefined;
    return 'done';
  }

  dispose(): void {
    this.#flow.failed();
  }
}

export const followupKeResponder: ResponderHandler = {
  exchangeType: ExchangeType.IKE_FOLLOWUP_KE,
  phases: ['established', 'deleting'],
  handle(ctx: TaskContext, req: InboundMessage): ResponseSpec {
    const ke = required<KePayload>(req.payloads, PayloadType.KE, 'KEi');
    const n = findNotify(req.payloads, NotifyType.ADDITIONAL_KEY_EXCHANGE);
    if (!n) throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'N(ADDITIONAL_KEY_EXCHANGE)', detail: 'missing' });
    const link = NotifyData.ADDITIONAL_KEY_EXCHANGE.parse(n);
    const followups = rekeyStateOf(ctx.sa).followups;
    const pending = followups.get(link.toString('hex'));
    if (!pending) {
      ctx.emit({ type: 'error', ikeSaId: ctx.sa.id, code: 'GKM_IKE_INVALID_STATE', notify: NotifyType.STATE_NOT_FOUND, notifyName: nameOf(NotifyType, NotifyType.STATE_NOT_FOUND), message: 'IKE_FOLLOWUP_KE for no pending exchange' });
      return { payloads: [NotifyData.STATE_NOT_FOUND.build()] };
    }
    if (ke.method !== pending.nextMethod) {
      throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'KEi', detail: `method ${ke.method}, round needs ${pending.nextMethod}` });
    }
    const answer = pending.answer(ke.method, ke.data); // invalid data throws before any state changes
    const payloads: Payload[] = [{ type: PayloadType.KE, method: ke.method, data: answer.data } satisfies KePayload];
    if (answer.complete) {
      followups.delete(link.toString('hex'));
      answer.complete();
    } else {
      payloads.push(NotifyData.ADDITIONAL_KEY_EXCHANGE.build(link));
    }
    return { payloads };
  },
};
