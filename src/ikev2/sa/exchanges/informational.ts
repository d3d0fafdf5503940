/**
 * INFORMATIONAL (RFC 7296 §1.4, §1.4.1, §2.4):
 * - Delete the IKE SA: {D(IKE)} answered by {}; both sides drop it and its Child SAs.
 * - Delete Child SAs: {D(ESP, our inbound SPIs)} answered by {D(ESP, the peer's inbound SPIs
 *   of the same pairs)}; an SA both sides delete at once is left out of the response.
 * - Liveness: {} answered by {}; the engine queues it after a quiet period.
 */
import { ExchangeType } from '../../registry/exchange.ts';
import { ProtocolId } from '../../registry/misc.ts';
import { nameOf } from '../../registry/names.ts';
import { NotifyType } from '../../registry/notify.ts';
import { PayloadType } from '../../registry/payload.ts';
import type { Payload } from '../../wire/payload.ts';
import type { DeletePayload } from '../../wire/payloads/index.ts';
import type { ChildSa } from '../child-sa.ts';
import type { CloseReason } from '../events.ts';
import { firstErrorNotify } from '../messages.ts';
import type { InboundMessage, InitiatorTask, ResponderHandler, ResponseSpec, TaskContext, TaskResult } from '../task.ts';

const CHILD_SPI_SIZE = 4;

const deleteIke = (): DeletePayload => ({ type: PayloadType.DELETE, protocolId: ProtocolId.IKE, spiSize: 0, spis: [] });
const deleteChildren = (protocolId: number, spis: readonly Buffer[]): DeletePayload => ({ type: PayloadType.DELETE, protocolId, spiSize: CHILD_SPI_SIZE, spis });

/** Deletes this IKE SA; the SA is in `deleting` while the request is out. */
export class DeleteIkeSaTask implements InitiatorTask {
  readonly name = 'DELETE_IKE_SA';
  readonly exchangeType = ExchangeType.INFORMATIONAL;
  readonly phases = ['deleting'] as const;
  readonly critical = true;

  buildRequest(): Payload[] {
    return [deleteIke()];
  }

  processResponse(ctx: TaskContext): TaskResult {
    ctx.close('local');
    return 'done';
  }
}

/** Deletes Child SAs (one protocol per task); they stay installed until the answer. */
export class DeleteChildSasTask implements InitiatorTask {
  readonly name = 'DELETE_CHILD_SA';
  readonly exchangeType = ExchangeType.INFORMATIONAL;
  readonly phases = ['established'] as const;
  readonly critical = false;

  constructor(
    private readonly children: readonly ChildSa[],
    /** Inbound SPIs of SAs we never installed but the peer may have (refused IKE_AUTH child). */
    private readonly extraSpis: readonly Buffer[] = [],
    /** Reported in the `deleted` events: 'rekeyed' after a rekey, 'expired' at the hard lifetime. */
    private readonly reason: CloseReason = 'local',
  ) {}

  buildRequest(): Payload[] {
    const spis = [...this.children.map((c) => c.inboundSpi), ...this.extraSpis];
    return [deleteChildren(this.children[0]?.protocolId ?? ProtocolId.ESP, spis)];
  }

  processResponse(ctx: TaskContext): TaskResult {
    for (const c of this.children) if (ctx.sa.children.has(c.inboundSpi.toString('hex'))) ctx.removeChild(c, this.reason);
    return 'done';
  }
}

/** Empty INFORMATIONAL: any authenticated answer proves the peer alive (RFC 7296 §2.4). */
export class LivenessTask implements InitiatorTask {
  readonly name = 'LIVENESS';
  readonly exchangeType = ExchangeType.INFORMATIONAL;
  readonly phases = ['established'] as const;
  readonly critical = false;

  buildRequest(): Payload[] {
    return [];
  }

  processResponse(): TaskResult {
    return 'done';
  }
}

function findChildByOutbound(ctx: TaskContext, spi: Buffer): ChildSa | undefined {
  for (const c of ctx.sa.children.values()) if (c.outboundSpi.equals(spi)) return c;
  return undefined;
}

export const informationalResponder: ResponderHandler = {
  exchangeType: ExchangeType.INFORMATIONAL,
  phases: ['established', 'deleting'],
  handle(ctx: TaskContext, req: InboundMessage): ResponseSpec {
    const deletes = req.payloads.filter((p): p is DeletePayload => p.type === PayloadType.DELETE);
    if (deletes.some((d) => d.protocolId === ProtocolId.IKE)) return { payloads: [], afterSend: () => ctx.close('peer') };
    const error = firstErrorNotify(req.payloads);
    if (error?.notifyType === NotifyType.AUTHENTICATION_FAILED) {
      return { payloads: [], afterSend: () => ctx.close('auth-failed') };
    }
    if (error) {
      ctx.emit({ type: 'error', ikeSaId: ctx.sa.id, code: 'GKM_IKE_PEER_ERROR', notify: error.notifyType, notifyName: nameOf(NotifyType, error.notifyType), message: 'error notify in INFORMATIONAL' });
    }
    const payloads: Payload[] = [];
    for (const d of deletes) {
      if (d.protocolId !== ProtocolId.ESP && d.protocolId !== ProtocolId.AH) continue;
      if (d.spiSize !== CHILD_SPI_SIZE) continue;
      const ours: Buffer[] = [];
      for (const spi of d.spis) {
        const child = findChildByOutbound(ctx, spi);
        if (!child || child.protocolId !== d.protocolId) continue; // unknown SPI: nothing to do (§1.4.1)
        if (child.state !== 'deleting') ours.push(child.inboundSpi); // simultaneous delete: leave it out
        ctx.removeChild(child, 'peer');
      }
      if (ours.length > 0) payloads.push(deleteChildren(d.protocolId, ours));
    }
    return { payloads };
  },
};
