/**
 * Security Association payload (RFC 7296 §3.3), also G-IKEv2's SAg (RFC 9838 §4.3):
 * one or more Proposal substructures (§3.3.1)
 * `Last(1) | RESERVED(1) | Proposal Length(2) | Proposal Num(1) | Protocol ID(1) |
 * SPI Size(1) | Num Transforms(1) | SPI | Transforms`.
 * Last Substruc is 2 on every proposal but the final one, which has 0.
 *
 * Proposal numbers: the first is 1 and each next one is the same or one more. RFC 7296
 * wants "one more" for IKE/Child SA offers, RFC 9838 §4.3 groups SAg proposals by equal
 * numbers; the codec accepts both and the SA negotiation enforces the stricter rule
 * (docs/decisions.md, "SA payload"). A lone proposal (a responder's choice) keeps the
 * number of the accepted one, so it may have any non-zero number.
 */
import { GkmError } from '../../errors.ts';
import { ProtocolId } from '../../registry/misc.ts';
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';
import type { Reader } from '../reader.ts';
import { decodeTransforms, encodeTransforms, type Transform } from '../sub/transform.ts';
import type { Writer } from '../writer.ts';

export interface Proposal {
  /** Proposal Num (1..255). */
  readonly number: number;
  readonly protocolId: number;
  /** Empty when SPI Size is 0 (IKE_SA_INIT, SAg). */
  readonly spi: Buffer;
  /** At least one; same type = alternatives (OR), different types = all of (AND). */
  readonly transforms: readonly Transform[];
}

export interface SaPayload {
  readonly type: typeof PayloadType.SA;
  readonly critical?: boolean;
  readonly proposals: readonly Proposal[];
}

const MORE = 2;
const LAST = 0;
/** Last, RESERVED, Proposal Length, then the 4 octets Num/Protocol/SPI Size/Num Transforms. */
const PROPOSAL_HEADER = 8;
const MAX_TRANSFORMS = 255;

/**
 * SPI sizes RFC 7296 §3.3.1 allows: IKE 0 (IKE_SA_INIT) or 8 (rekey), AH/ESP 4; 0 also for
 * AH/ESP because SAg proposals carry no SPI (RFC 9838 §4.3). Other protocols: any size.
 */
const SPI_SIZES: Readonly<Record<number, readonly number[]>> = {
  [ProtocolId.IKE]: [0, 8],
  [ProtocolId.AH]: [0, 4],
  [ProtocolId.ESP]: [0, 4],
};

interface Problem {
  readonly code: 'GKM_WIRE_BAD_VALUE' | 'GKM_WIRE_BAD_LENGTH' | 'GKM_WIRE_BAD_COUNT';
  readonly field: string;
  readonly detail: string;
}

/**
 * The rules a proposal header must follow, shared by decode (INVALID_SYNTAX) and encode.
 * `alone`: the SA holds this one proposal, as a responder's answer does, which carries the
 * number of the proposal it accepted (RFC 7296 §3.3.1), so any non-zero number.
 */
function proposalProblem(
  previousNumber: number | undefined,
  number: number,
  protocolId: number,
  spiSize: number,
  numTransforms: number,
  alone: boolean,
): Problem | undefined {
  const first = alone ? number !== 0 : number === 1;
  if (previousNumber === undefined ? !first : number !== previousNumber && number !== previousNumber + 1) {
    const expected = previousNumber === undefined ? (alone ? '1-255' : '1') : `${previousNumber} or ${previousNumber + 1}`;
    return { code: 'GKM_WIRE_BAD_VALUE', field: 'number', detail: `${number}, expected ${expected}` };
  }
  const sizes = SPI_SIZES[protocolId];
  if (sizes && !sizes.includes(spiSize)) {
    return { code: 'GKM_WIRE_BAD_LENGTH', field: 'spiSize', detail: `${spiSize} for protocol ${protocolId}, expected ${sizes.join(' or ')}` };
  }
  if (numTransforms === 0) return { code: 'GKM_WIRE_BAD_COUNT', field: 'numTransforms', detail: 'proposal without transforms' };
  return undefined;
}

function decodeProposal(r: Reader, index: number, previousNumber: number | undefined): { proposal: Proposal; last: boolean } {
  const lastFlag = r.u8('proposal', index, 'last');
  if (lastFlag !== MORE && lastFlag !== LAST) r.fail('GKM_WIRE_BAD_VALUE', `proposal[${index}].last`, `${lastFlag}, expected ${MORE} or ${LAST}`);
  r.skip(1, 'proposal', index, 'reserved');
  const length = r.u16('proposal', index, 'length');
  if (length < PROPOSAL_HEADER) r.fail('GKM_WIRE_BAD_LENGTH', `proposal[${index}].length`, `${length} < ${PROPOSAL_HEADER}`);
  const body = r.item(length - 4, 'proposal', index);
  const number = body.u8('number');
  const protocolId = body.u8('protocolId');
  const spiSize = body.u8('spiSize');
  const numTransforms = body.u8('numTransforms');
  const problem = proposalProblem(previousNumber, number, protocolId, spiSize, numTransforms, previousNumber === undefined && lastFlag === LAST);
  if (problem) body.fail(problem.code, problem.field, problem.detail);
  const spi = body.bytes(spiSize, 'spi');
  const transforms = decodeTransforms(body, 'transform', numTransforms);
  // RFC 7296 §3.3.1: Proposal Length covers exactly the header, SPI and transforms.
  if (body.remaining > 0) body.fail('GKM_WIRE_BAD_LENGTH', 'length', `${body.remaining} byte(s) after the last transform`);
  return { proposal: { number, protocolId, spi, transforms }, last: lastFlag === LAST };
}

export const saCodec: PayloadCodec<SaPayload> = {
  type: PayloadType.SA,
  name: 'SA',
  decode(r) {
    if (r.remaining === 0) r.fail('GKM_WIRE_BAD_COUNT', 'proposals', 'SA payload without proposals');
    const proposals: Proposal[] = [];
    for (;;) {
      const index = proposals.length;
      const { proposal, last } = decodeProposal(r, index, proposals[index - 1]?.number);
      proposals.push(proposal);
      if (last !== (r.remaining === 0)) {
        r.fail('GKM_WIRE_BAD_VALUE', `proposal[${index}].last`, last ? `marked last but ${r.remaining} byte(s) follow` : 'marked "more" but nothing follows');
      }
      if (last) return { type: PayloadType.SA, proposals };
    }
  },
  encode(w, p) {
    encodeProposals(w, p.proposals);
  },
};

function encodeProposals(w: Writer, proposals: readonly Proposal[]): void {
  if (proposals.length === 0) throw new GkmError('GKM_WIRE_ENCODE', { field: 'SA.proposals', detail: 'no proposal' });
  for (let i = 0; i < proposals.length; i++) {
    const prop = proposals[i]!;
    const count = prop.transforms.length;
    const problem =
      count > MAX_TRANSFORMS
        ? { field: 'numTransforms', detail: `${count} > ${MAX_TRANSFORMS}` }
        : proposalProblem(proposals[i - 1]?.number, prop.number, prop.protocolId, prop.spi.length, count, proposals.length === 1);
    if (problem) throw new GkmError('GKM_WIRE_ENCODE', { field: `SA.proposal[${i}].${problem.field}`, detail: problem.detail });
    if (!isOctet(prop.number) || !isOctet(prop.protocolId) || !isOctet(prop.spi.length)) {
      // Names built only here: the first field out of range throws GKM_WIRE_ENCODE.
      const f = `SA.proposal[${i}]`;
      w.u8(prop.number, `${f}.number`).u8(prop.protocolId, `${f}.protocolId`).u8(prop.spi.length, `${f}.spiSize`);
    }
    const start = w.length;
    w.u8(i === proposals.length - 1 ? LAST : MORE).u8(0);
    const lenAt = w.reserveU16();
    w.u8(prop.number).u8(prop.protocolId).u8(prop.spi.length);
    w.u8(count).bytes(prop.spi);
    encodeTransforms(w, prop.transforms);
    const length = w.length - start;
    w.patchU16(lenAt, length, length > 0xffff ? `SA.proposal[${i}].length` : 'length');
  }
}

const isOctet = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xff;
