/**
 * NAT detection (RFC 7296 §2.23), pure: build our NAT_DETECTION_*_IP data and judge the
 * peer's. Each hash is SHA-1(SPIi | SPIr | IP | port) over the SPIs of the message header
 * that carries it (SPIr zero in the IKE_SA_INIT request).
 */
import { randomBytes } from 'node:crypto';
import { NotifyType } from '../registry/notify.ts';
import { PayloadType } from '../registry/payload.ts';
import type { Payload } from '../wire/payload.ts';
import { natDetectionHash, NAT_DETECTION_HASH_SIZE } from '../wire/payloads/notify-data.ts';
import type { AddressPort } from './endpoint.ts';

export interface NatDetectionData {
  /** NAT_DETECTION_SOURCE_IP data; several when the sender does not know which address it uses. */
  readonly source: readonly Buffer[];
  /** NAT_DETECTION_DESTINATION_IP data. */
  readonly destination: readonly Buffer[];
}

export interface NatDetectionResult {
  /** We are behind a NAT: the peer's DESTINATION_IP hash does not match our address and port. */
  readonly natLocal: boolean;
  /** The peer is behind a NAT (or fakes one): no SOURCE_IP hash matches the packet's source. */
  readonly natRemote: boolean;
}

export interface OwnNatDetectionInput {
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  /** Our address and port as we send from them. */
  readonly source: AddressPort;
  /** The peer's address and port we send to. */
  readonly destination: AddressPort;
  /**
   * Send a random SOURCE_IP hash so the peer sees a NAT and both sides use UDP
   * encapsulation (strongSwan's `encap = yes`; what its kernel-libipsec needs).
   */
  readonly forceEncapsulation?: boolean;
}

/** The data of the two notifies we send. */
export function ownNatDetection(input: OwnNatDetectionInput): { source: Buffer; destination: Buffer } {
  const { spiI, spiR } = input;
  return {
    source: input.forceEncapsulation
      ? randomBytes(NAT_DETECTION_HASH_SIZE)
      : natDetectionHash(spiI, spiR, input.source.address, input.source.port),
    destination: natDetectionHash(spiI, spiR, input.destination.address, input.destination.port),
  };
}

/** The NAT_DETECTION_*_IP notify data found in a payload list (protocol ID and SPI are ignored, RFC 7296 §3.10). */
export function natDetectionData(payloads: readonly Payload[]): NatDetectionData {
  const source: Buffer[] = [];
  const destination: Buffer[] = [];
  for (const p of payloads) {
    if (p.type !== PayloadType.NOTIFY) continue;
    if (p.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP) source.push(p.data);
    else if (p.notifyType === NotifyType.NAT_DETECTION_DESTINATION_IP) destination.push(p.data);
  }
  return { source, destination };
}

export interface NatDetectionInput {
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly received: NatDetectionData;
  /** Source address and port of the packet that carried the notifies, as received. */
  readonly packetSource: AddressPort;
  /** Our address and port the packet was sent to. */
  readonly packetDestination: AddressPort;
}

/**
 * Judge the peer's NAT-D notifies. `undefined` when either type is missing: the peer does
 * not do NAT-T, so no float (strongSwan requires both, ike_natd.c). A hash of the wrong
 * size simply never matches.
 */
export function detectNat(input: NatDetectionInput): NatDetectionResult | undefined {
  const { spiI, spiR, received } = input;
  if (received.source.length === 0 || received.destination.length === 0) return undefined;
  const expectedSource = natDetectionHash(spiI, spiR, input.packetSource.address, input.packetSource.port);
  const expectedDestination = natDetectionHash(spiI, spiR, input.packetDestination.address, input.packetDestination.port);
  return {
    natRemote: !received.source.some((h) => h.equals(expectedSource)),
    natLocal: !received.destination.some((h) => h.equals(expectedDestination)),
  };
}

/** RFC 3948 §4 and RFC 7296 §2.23: only the side behind the NAT keeps the mapping open. */
export const keepaliveNeeded = (nat: NatDetectionResult | undefined): boolean => nat?.natLocal === true;
