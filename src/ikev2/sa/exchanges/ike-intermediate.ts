/**
 * IKE_INTERMEDIATE (RFC 9242) carrying the additional key exchanges of RFC 9370 §2.2.2, one
 * exchange per negotiated ADDKE transform in increasing type order, MIDs 1, 2, …:
 *
 *   HDR(43, MID n), SK{KEi(n)}  -->
 *                          <--  HDR(43, MID n), SK{KEr(n)}
 *
 * Both messages are protected with keys(n-1) and may be fragmented (RFC 7383; an ML-KEM-768
 * ek is 1184 octets). After the exchange both sides chain IntAuth and move to keys(n)
 * (additional-ke.ts); the authentication exchange (IKE_AUTH, or the configured one such as
 * GSA_AUTH) follows the last round and signs the chain through authOctets().
 *
 * Responder errors (RFC 9370 §2.2.2, RFC 7296 §2.21.2): a KE payload missing, repeated, of
 * another method than the round's, of the wrong length, or an ML-KEM ek failing the FIPS 203
 * modulus check is INVALID_SYNTAX (there is no INVALID_KE_PAYLOAD for ADDKE rounds), and the
 * half-open SA is deleted after the answer. Nothing is changed before the answer is sent.
 */
import { GkmError } from '../../errors.ts';
import { respondKe, type KeInitiator, type KeResponse } from '../../crypto/ke.ts';
import { nameOf } from '../../registry/names.ts';
import { ExchangeType } from '../../registry/exchange.ts';
import { PayloadType } from '../../registry/payload.ts';
import { KeId } from '../../registry/transform.ts';
import type { Payload } from '../../wire/payload.ts';
import type { KePayload } from '../../wire/payloads/index.ts';
import { additionalKeHooks, completeIntermediateExchange, nextAdditionalKe } from '../additional-ke.ts';
import type { PeerConfig } from '../config.ts';
import type { IkeSa } from '../ike-sa.ts';
import { firstErrorNotify, PeerNotifyError, required, single } from '../messages.ts';
import type { InboundMessage, InitiatorTask, ResponderHandler, ResponseSpec, SentRequest, TaskContext, TaskResult } from '../task.ts';
import { IkeAuthTask } from './ike-auth.ts';

const syntax = (detail: string): GkmError => new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'IKE_INTERMEDIATE', detail });

/**
 * What the initiator runs after IKE_SA_INIT or an IKE_INTERMEDIATE round: the next ADDKE
 * round, else the authentication exchange (IKE_AUTH, or PeerConfig.authTask, e.g. GSA_AUTH:
 * RFC 9838 §1 allows IKE_INTERMEDIATE before it too).
 */
export function nextInitiatorStep(config: PeerConfig, sa: IkeSa): InitiatorTask {
  const method = nextAdditionalKe(sa);
  if (method !== undefined) return new IkeIntermediateTask(config, method);
  return config.authTask?.(sa) ?? new IkeAuthTask(config);
}

// --- initiator ----------------------------------------------------------------------------

export class IkeIntermediateTask implements InitiatorTask {
  readonly name = 'IKE_INTERMEDIATE';
  readonly exchangeType = ExchangeType.IKE_INTERMEDIATE;
  readonly phases = ['keyed'] as const;
  readonly critical = true;
  readonly #config: PeerConfig;
  readonly #method: number;
  #ke: KeInitiator | undefined;

  constructor(config: PeerConfig, method: number) {
    this.#config = config;
    this.#method = method;
  }

  buildRequest(ctx: TaskContext): Payload[] {
    if (!ctx.sa.extensions.intermediate || nextAdditionalKe(ctx.sa) !== this.#method) {
      throw new GkmError('GKM_IKE_INVALID_STATE', { field: 'IKE_INTERMEDIATE', detail: `no pending round for ${nameOf(KeId, this.#method)}` });
    }
    this.#ke ??= additionalKeHooks.createInitiatorKe(this.#method); // fresh per round, never reused (B.3)
    return [{ type: PayloadType.KE, method: this.#method, data: this.#ke.publicData() } satisfies KePayload];
  }

  processResponse(ctx: TaskContext, res: InboundMessage, req: SentRequest): TaskResult {
    const error = firstErrorNotify(res.payloads);
    if (error) throw new PeerNotifyError(error, 'IKE_INTERMEDIATE');
    const ke = required<KePayload>(res.payloads, PayloadType.KE, 'KEr');
    const ours = this.#ke;
    if (!ours) throw new GkmError('GKM_IKE_INVALID_STATE', { field: 'IKE_INTERMEDIATE', detail: 'response before request' });
    if (ke.method !== this.#method) {
      throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'KEr', detail: `method ${nameOf(KeId, ke.method)}, round is ${nameOf(KeId, this.#method)}` });
    }
    this.#ke = undefined;
    const secret = ours.complete(ke.data); // GKM_CRYPTO_INVALID_KE on a wrong length / bad ciphertext size
    completeIntermediateExchange(ctx.sa, { requestForm: req.plainForm(), responseForm: res.plainForm(), messageId: req.messageId, secret });
    ctx.queue(nextInitiatorStep(this.#config, ctx.sa), { front: true });
    return 'done';
  }

  dispose(): void {
    this.#ke?.dispose();
    this.#ke = undefined;
  }
}

// --- responder ----------------------------------------------------------------------------

/** The round's KE answer, or undefined for an IKE_INTERMEDIATE without a pending round. */
function answerRound(sa: IkeSa, payloads: readonly Payload[]): KeResponse | undefined {
  const method = nextAdditionalKe(sa);
  const ke = single<KePayload>(payloads, PayloadType.KE);
  if (method === undefined) {
    if (ke) throw syntax('KE payload, but no additional key exchange is pending');
    return undefined;
  }
  if (!ke) throw syntax(`KE payload for ${nameOf(KeId, method)} missing`);
  // RFC 9370 §2.2.2: a KE of another method than the round's is INVALID_SYNTAX.
  if (ke.method !== method) throw syntax(`KE method ${nameOf(KeId, ke.method)}, round ${sa.additionalKeRounds + 1} is ${nameOf(KeId, method)}`);
  return respondKe(method, ke.data); // length / ML-KEM modulus check: GKM_CRYPTO_INVALID_KE -> INVALID_SYNTAX
}

export const ikeIntermediateResponder: ResponderHandler = {
  exchangeType: ExchangeType.IKE_INTERMEDIATE,
  phases: ['keyed'],
  handle(ctx: TaskContext, req: InboundMessage): ResponseSpec {
    const sa = ctx.sa;
    // RFC 9242 §3: only the original initiator sends it, only when both announced support.
    if (sa.role !== 'responder' || !sa.extensions.intermediate) throw syntax('IKE_INTERMEDIATE was not negotiated');
    const reply = answerRound(sa, req.payloads);
    const requestForm = req.plainForm();
    const messageId = req.header.messageId;
    const payloads: Payload[] = reply ? [{ type: PayloadType.KE, method: reply.method, data: reply.publicData } satisfies KePayload] : [];
    return {
      payloads,
      // keys(n-1) protected the response; only now may keys(n) take over (digest §H item 8).
      afterSend: (sent) => completeIntermediateExchange(sa, { requestForm, responseForm: sent.plainForm(), messageId, secret: reply?.sharedSecret }),
    };
  },
};
