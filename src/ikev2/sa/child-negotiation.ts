/**
 * Child SA negotiation inside IKE_AUTH (RFC 7296 §1.2, §2.9) and CREATE_CHILD_SA (§1.3.1):
 * the initiator's offer {SA, TSi, TSr, [N(USE_TRANSPORT_MODE)]}, the responder's selection
 * with TS narrowing, and the initiator's check of the answer. KE/ADDKE transforms take part
 * only in CREATE_CHILD_SA (`withKe`); in IKE_AUTH they are left out on both sides (§1.2).
 */
import { GkmError } from '../errors.ts';
import { NotifyType } from '../registry/notify.ts';
import { PayloadType } from '../registry/payload.ts';
import { ProtocolId } from '../registry/misc.ts';
import { TransformType } from '../registry/transform.ts';
import type { Payload } from '../wire/payload.ts';
import type { NotifyPayload, Proposal, SaPayload, TsiPayload, TsrPayload } from '../wire/payloads/index.ts';
import { NotifyData } from '../wire/payloads/index.ts';
import { childKeySizes } from '../crypto/keys.ts';
import type { NegotiatedChild } from './child-sa.ts';
import { childSuiteOf } from './child-sa.ts';
import type { ChildConfig } from './config.ts';
import { checkChosenProposal, numberedProposals, selectProposal, withoutKeyExchanges } from './proposals.ts';
import { narrow, withinProposed } from './traffic-selectors.ts';

const CHILD_SPI_SIZE = 4;

export interface ChildOffer {
  readonly config: ChildConfig;
  readonly inboundSpi: Buffer;
  readonly proposals: readonly Proposal[];
  readonly payloads: Payload[];
}

export interface ChildKeOptions {
  /** CREATE_CHILD_SA: KE/ADDKE transforms are negotiated (PFS, RFC 9370). Default false. */
  readonly withKe?: boolean;
  /** Responder: the KE method of KEi, preferred among the offered ones. */
  readonly preferKe?: number;
}

const ourProposals = (config: ChildConfig, opts: ChildKeOptions, spi?: Buffer): Proposal[] => {
  const numbered = numberedProposals(config.proposals, spi);
  return opts.withKe ? numbered : numbered.map(withoutKeyExchanges);
};

export function offerChild(config: ChildConfig, inboundSpi: Buffer, opts: ChildKeOptions = {}): ChildOffer {
  const proposals = ourProposals(config, opts, inboundSpi);
  const payloads: Payload[] = [];
  if (config.mode === 'transport') payloads.push(NotifyData.USE_TRANSPORT_MODE.build());
  payloads.push(
    { type: PayloadType.SA, proposals } satisfies SaPayload,
    { type: PayloadType.TSi, selectors: config.localTs } satisfies TsiPayload,
    { type: PayloadType.TSr, selectors: config.remoteTs } satisfies TsrPayload,
  );
  return { config, inboundSpi, proposals, payloads };
}

const find = <T extends Payload>(payloads: readonly Payload[], type: number): T | undefined => payloads.find((p) => p.type === type) as T | undefined;
const hasNotify = (payloads: readonly Payload[], type: number): boolean =>
  payloads.some((p) => p.type === PayloadType.NOTIFY && p.notifyType === type);

/** The child part of a request: SA, TSi, TSr all present, or none of them (childless). */
export function childRequestParts(payloads: readonly Payload[]): { sa: SaPayload; tsi: TsiPayload; tsr: TsrPayload } | undefined {
  const sa = find<SaPayload>(payloads, PayloadType.SA);
  const tsi = find<TsiPayload>(payloads, PayloadType.TSi);
  const tsr = find<TsrPayload>(payloads, PayloadType.TSr);
  if (!sa && !tsi && !tsr) return undefined;
  if (!sa || !tsi || !tsr) throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'SA/TSi/TSr', detail: 'incomplete Child SA request' });
  return { sa, tsi, tsr };
}

export interface ChildAcceptance {
  /** SA, TSi, TSr, [USE_TRANSPORT_MODE] for the response. */
  readonly payloads: Payload[];
  readonly child: NegotiatedChild;
}

/**
 * Responder: the first configured child whose selectors intersect the request and whose
 * proposals match. Throws GKM_IKE_TS_UNACCEPTABLE or GKM_IKE_NO_PROPOSAL_CHOSEN (answered
 * as a notify; the IKE SA stays up, RFC 7296 §2.21.2).
 */
export function acceptChild(configs: readonly ChildConfig[], request: readonly Payload[], allocateSpi: () => Buffer, opts: ChildKeOptions = {}): ChildAcceptance {
  const parts = childRequestParts(request);
  if (!parts) throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'SA', detail: 'no Child SA requested' });
  const transport = hasNotify(request, NotifyType.USE_TRANSPORT_MODE);
  let tsMatched = false;
  for (const config of configs) {
    // The peer's TSi is our remote side, its TSr our local side.
    const remoteTs = narrow(parts.tsi.selectors, config.remoteTs);
    const localTs = narrow(parts.tsr.selectors, config.localTs);
    if (remoteTs.length === 0 || localTs.length === 0) continue;
    tsMatched = true;
    let chosen: Proposal;
    try {
      const prefer = opts.preferKe === undefined ? undefined : new Map([[TransformType.KE, opts.preferKe]]);
      chosen = selectProposal(parts.sa.proposals, ourProposals(config, opts), { protocolId: ProtocolId.ESP, ...(prefer ? { prefer } : {}) });
    } catch {
      continue;
    }
    const outboundSpi = chosen.spi;
    if (outboundSpi.length !== CHILD_SPI_SIZE || outboundSpi.readUInt32BE() < 256) {
      throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: 'SA.spi', detail: 'ESP SPI must be 4 octets and not 0-255' });
    }
    childKeySizes(childSuiteOf(chosen)); // refuses suites we cannot key
    const inboundSpi = allocateSpi();
    const mode = transport && config.mode === 'transport' ? 'transport' : 'tunnel';
    const answer: Proposal = { ...chosen, spi: inboundSpi };
    const payloads: Payload[] = [];
    if (mode === 'transport') payloads.push(NotifyData.USE_TRANSPORT_MODE.build());
    payloads.push(
      { type: PayloadType.SA, proposals: [answer] } satisfies SaPayload,
      { type: PayloadType.TSi, selectors: remoteTs } satisfies TsiPayload,
      { type: PayloadType.TSr, selectors: localTs } satisfies TsrPayload,
    );
    return {
      payloads,
      child: { name: config.name, protocolId: ProtocolId.ESP, mode, proposal: answer, inboundSpi, outboundSpi, localTs, remoteTs },
    };
  }
  throw new GkmError(tsMatched ? 'GKM_IKE_NO_PROPOSAL_CHOSEN' : 'GKM_IKE_TS_UNACCEPTABLE', { field: 'Child SA' });
}

/** Initiator: checks the responder's SA/TS answer against our offer. Throws GKM_IKE_BAD_RESPONSE. */
export function completeChild(offer: ChildOffer, response: readonly Payload[], opts: ChildKeOptions = {}): NegotiatedChild {
  const parts = childRequestParts(response);
  if (!parts) throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'SA', detail: 'no Child SA in the response' });
  const chosen = checkChosenProposal(parts.sa.proposals, offer.proposals, CHILD_SPI_SIZE);
  if (!opts.withKe && chosen.transforms.some((t) => t.transformType === TransformType.KE)) {
    throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'SA', detail: 'KE transform in an IKE_AUTH Child SA' });
  }
  if (chosen.spi.readUInt32BE() < 256) throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'SA.spi', detail: 'reserved ESP SPI' });
  if (!withinProposed(parts.tsi.selectors, offer.config.localTs) || !withinProposed(parts.tsr.selectors, offer.config.remoteTs)) {
    throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'TSi/TSr', detail: 'selectors outside what we proposed' });
  }
  const mode = hasNotify(response, NotifyType.USE_TRANSPORT_MODE) ? 'transport' : 'tunnel';
  if (mode === 'transport' && offer.config.mode !== 'transport') {
    throw new GkmError('GKM_IKE_BAD_RESPONSE', { field: 'N(USE_TRANSPORT_MODE)', detail: 'transport mode was not requested' });
  }
  return {
    name: offer.config.name,
    protocolId: ProtocolId.ESP,
    mode,
    proposal: chosen,
    inboundSpi: offer.inboundSpi,
    outboundSpi: chosen.spi,
    localTs: parts.tsi.selectors,
    remoteTs: parts.tsr.selectors,
  };
}

/** Child SA error notifies a response may carry instead of SA/TS (RFC 7296 §1.2). */
export function childErrorNotify(payloads: readonly Payload[]): NotifyPayload | undefined {
  return payloads.find((p): p is NotifyPayload => p.type === PayloadType.NOTIFY && p.notifyType < 16384 && p.notifyType !== NotifyType.AUTHENTICATION_FAILED);
}
