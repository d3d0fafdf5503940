/**
 * NAT detection (RFC 7296 §2.23): NAT_DETECTION_SOURCE_IP / _DESTINATION_IP carry
 * SHA-1(SPIi | SPIr | IP | Port); SPIr is zero in the request. A source hash that does not
 * match the packet's source means the sender is behind a NAT; a destination hash that does
 * not match our address means we are.
 */
import { NotifyType } from '../registry/notify.ts';
import type { NotifyPayload } from '../wire/payloads/index.ts';
import { NotifyData, natDetectionHash } from '../wire/payloads/index.ts';
import type { Endpoint } from './types.ts';

export interface NatState {
  /** Our side is behind a NAT (the peer saw another address than ours). */
  readonly local: boolean;
  /** The peer is behind a NAT. */
  readonly remote: boolean;
}

/** The two NAT-D notifies of a message from `local` to `remote`. */
export function natDetectionNotifies(spiI: Buffer, spiR: Buffer, local: Endpoint, remote: Endpoint): NotifyPayload[] {
  return [
    NotifyData.NAT_DETECTION_SOURCE_IP.build(natDetectionHash(spiI, spiR, local.ip, local.port)),
    NotifyData.NAT_DETECTION_DESTINATION_IP.build(natDetectionHash(spiI, spiR, remote.ip, remote.port)),
  ];
}

/**
 * NAT state from a received message's notifies (`remote` = its source, `local` = where it
 * arrived), or undefined when the peer sent no NAT-D (no NAT-T support). Several source
 * notifies are allowed (multi-homed senders): any match means "no NAT" (RFC 7296 §2.23).
 */
export function detectNat(notifies: readonly NotifyPayload[], spiI: Buffer, spiR: Buffer, local: Endpoint, remote: Endpoint): NatState | undefined {
  const src = notifies.filter((n) => n.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP).map((n) => NotifyData.NAT_DETECTION_SOURCE_IP.parse(n));
  const dst = notifies.filter((n) => n.notifyType === NotifyType.NAT_DETECTION_DESTINATION_IP).map((n) => NotifyData.NAT_DETECTION_DESTINATION_IP.parse(n));
  if (src.length === 0 || dst.length === 0) return undefined;
  const remoteHash = natDetectionHash(spiI, spiR, remote.ip, remote.port);
  const localHash = natDetectionHash(spiI, spiR, local.ip, local.port);
  return natState(!dst.some((h) => h.equals(localHash)), !src.some((h) => h.equals(remoteHash)));
}

/** The four possible states, shared by every SA. */
const NAT_STATES: readonly NatState[] = [false, true].flatMap((local) => [false, true].map((remote) => Object.freeze({ local, remote })));

export const natState = (local: boolean, remote: boolean): NatState => NAT_STATES[(local ? 2 : 0) + (remote ? 1 : 0)]!;
