/**
 * The header shared by G-IKEv2 group policies (GSA payload, RFC 9838 §4.4) and key bags
 * (KD payload, RFC 9838 §4.5):
 *
 *   Protocol(1) | SPI Size(1) | Length(2) | SPI | ...      Protocol != 0: one group SA
 *   Protocol(1)=0 | RESERVED(1) | Length(2) | ...          Protocol == 0: GW policy / Member Key Bag
 *
 * Length covers the whole substructure. The SPI size is fixed by the protocol (16 for
 * GIKE_UPDATE: the rekey IKE header's SPIi||SPIr; 4 for ESP and AH), and any other protocol
 * is refused. Substructures follow each other until the payload body ends.
 */
import { GkmError } from '../../errors.ts';
import { ProtocolId } from '../../registry/misc.ts';
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';

/** Protocols a group SA can have (RFC 9838 §4.4.2, §4.5.2). */
export type GroupSaProtocol = typeof ProtocolId.GIKE_UPDATE | typeof ProtocolId.ESP | typeof ProtocolId.AH;

const SPI_SIZE: ReadonlyMap<number, number> = new Map([
  [ProtocolId.GIKE_UPDATE, 16],
  [ProtocolId.ESP, 4],
  [ProtocolId.AH, 4],
]);

export const isGroupSaProtocol = (p: number): p is GroupSaProtocol => SPI_SIZE.has(p);

/** SPI size of a group SA protocol, or undefined for any other protocol. */
export function groupSpiSize(protocolId: number): number | undefined {
  return SPI_SIZE.get(protocolId);
}

const HEADER = 4;

/**
 * Why an SPI of this protocol is unusable, or null when it is fine: wrong size, zero
 * (RFC 4303 §2.1 / RFC 4302 §2.4 reserve SPI 0), or for GIKE_UPDATE a zero Initiator SPI
 * half (it becomes the IKE header SPIi, which RFC 7296 §3.1 requires non-zero).
 */
export function groupSpiProblem(protocolId: number, spi: Uint8Array): { code: 'GKM_WIRE_BAD_LENGTH' | 'GKM_WIRE_BAD_VALUE'; detail: string } | null {
  const size = groupSpiSize(protocolId);
  if (size === undefined) return { code: 'GKM_WIRE_BAD_VALUE', detail: `protocol ${protocolId} is not GIKE_UPDATE, ESP or AH` };
  if (spi.length !== size) return { code: 'GKM_WIRE_BAD_LENGTH', detail: `SPI size ${spi.length}, protocol ${protocolId} needs ${size}` };
  if (allZero(spi, protocolId === ProtocolId.GIKE_UPDATE ? 8 : spi.length)) return { code: 'GKM_WIRE_BAD_VALUE', detail: 'zero SPI' };
  return null;
}

function allZero(b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[i] !== 0) return false;
  return true;
}

/** The SPI of protocol 0 substructures (GW policy, Member Key Bag). */
export const NO_SPI: Buffer = Buffer.alloc(0);

export interface GroupSubstructureHead {
  /** 0 for a GW policy / Member Key Bag, else the group SA's protocol. */
  readonly protocolId: number;
  /** Empty when protocolId is 0. */
  readonly spi: Buffer;
  /** Bounded to the rest of the substructure after the SPI; the caller must consume it. */
  readonly body: Reader;
}

/**
 * Decode substructures until `r` is exhausted; none at all is GKM_WIRE_BAD_COUNT. `what`
 * names them in errors ("policy", "bag").
 */
export function decodeGroupSubstructures<T>(r: Reader, what: string, decodeOne: (head: GroupSubstructureHead, index: number) => T): T[] {
  const out: T[] = [];
  if (r.remaining === 0) r.fail('GKM_WIRE_BAD_COUNT', what, 'none present');
  do {
    const i = out.length;
    const protocolId = r.u8(what, i, 'protocol');
    const spiSize = r.u8(what, i, 'spiSize'); // RESERVED when protocol is 0: ignored on receipt
    const length = r.u16(what, i, 'length');
    if (length < HEADER) r.fail('GKM_WIRE_BAD_LENGTH', `${what}[${i}].length`, `${length} < ${HEADER}`);
    const body = r.item(length - HEADER, what, i);
    let spi = NO_SPI;
    if (protocolId !== ProtocolId.NONE) {
      const size = groupSpiSize(protocolId);
      if (size === undefined) r.fail('GKM_WIRE_BAD_VALUE', `${what}[${i}].protocol`, `${protocolId} is not 0, GIKE_UPDATE, ESP or AH`);
      if (spiSize !== size) r.fail('GKM_WIRE_BAD_LENGTH', `${what}[${i}].spiSize`, `${spiSize} != ${size} for protocol ${protocolId}`);
      spi = body.bytes(spiSize, 'spi');
      const problem = groupSpiProblem(protocolId, spi);
      if (problem) r.fail(problem.code, `${what}[${i}].spi`, problem.detail);
    }
    out.push(decodeOne({ protocolId, spi, body }, i));
    body.end();
  } while (r.remaining > 0);
  return out;
}

/**
 * Write one substructure's header and SPI (`what[index]` names it in errors, e.g.
 * `GSA.policy[0]`); the caller writes the body, then `endGroupSubstructure` patches Length.
 */
export function beginGroupSubstructure(w: Writer, protocolId: number, spi: Buffer, what: string, index: number): number {
  if (protocolId !== ProtocolId.NONE) {
    const problem = groupSpiProblem(protocolId, spi);
    if (problem) throw new GkmError('GKM_WIRE_ENCODE', { field: `${what}[${index}].spi`, detail: problem.detail });
  } else if (spi.length !== 0) {
    throw new GkmError('GKM_WIRE_ENCODE', { field: `${what}[${index}].spi`, detail: 'protocol 0 has no SPI' });
  }
  const start = w.length;
  if (!Number.isInteger(protocolId) || protocolId < 0 || protocolId > 0xff) w.u8(protocolId, `${what}[${index}].protocol`);
  w.u8(protocolId).u8(spi.length);
  w.reserveU16();
  w.bytes(spi);
  return start;
}

/** Patch the Length of the substructure `beginGroupSubstructure` started at `start`. */
export function endGroupSubstructure(w: Writer, start: number, what: string, index: number): void {
  const length = w.length - start;
  w.patchU16(start + 2, length, length > 0xffff ? `${what}[${index}].length` : 'length');
}
