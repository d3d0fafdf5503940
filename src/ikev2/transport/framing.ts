/**
 * Datagram framing on IKE ports (pure functions): the non-ESP marker (RFC 3948 §2.2,
 * RFC 7296 §2.23), NAT keepalives (RFC 3948 §2.3) and ESP-in-UDP (RFC 3948 §2.1).
 */
import { ExchangeType, HeaderFlag, IKE_HEADER_LENGTH } from '../registry/exchange.ts';
import { Port } from '../registry/misc.ts';
import { classifyNatTDatagram, MAX_MESSAGE_LENGTH, NON_ESP_MARKER } from '../wire/message.ts';
import type { AddressFamily } from './endpoint.ts';

/** 'ike': plain IKE (500, 848 style). 'natt': NAT-T (4500 style), also carries ESP-in-UDP and keepalives. */
export type SocketKind = 'ike' | 'natt';

/**
 * When IKE messages on a socket carry the non-ESP marker:
 * - 'always' / 'never';
 * - 'auto': when neither our port nor the peer's is a plain IKE port (500, 848). This is
 *   strongSwan's rule (receiver.c: "if neither source nor destination port is 500 we assume
 *   an IKE packet with Non-ESP marker or an ESP packet"), widened to 848 for RFC 9838 §2.1.1.
 */
export type MarkerMode = 'always' | 'never' | 'auto';

/** Ports where IKE runs without the marker: 500 (RFC 7296 §2) and 848 (RFC 9838 §2.1.1). */
export const DEFAULT_PLAIN_PORTS: readonly number[] = [Port.IKE, Port.GDOI];

/** Marker default for a socket: 500/848 never, 4500 always; other ports by kind ('natt' always, 'ike' auto). */
export function defaultMarkerMode(kind: SocketKind, port: number): MarkerMode {
  if (port === Port.NAT_T) return 'always';
  if (port === Port.IKE || port === Port.GDOI) return 'never';
  return kind === 'natt' ? 'always' : 'auto';
}

export function usesMarker(mode: MarkerMode, localPort: number, remotePort: number, plainPorts: readonly number[] = DEFAULT_PLAIN_PORTS): boolean {
  if (mode !== 'auto') return mode === 'always';
  return !plainPorts.includes(localPort) && !plainPorts.includes(remotePort);
}

export type DropReason =
  /** An IKE message shorter than its header, ESP shorter than SPI + sequence number, or 1-3 stray octets. */
  | 'tooShort'
  /** Longer than the configured IKE maximum (at most 65535). */
  | 'tooLong'
  /** ESP (non-zero first word) on a socket that is not of kind 'natt'. */
  | 'espNotAccepted'
  /** ESP while no ESP handler is registered. */
  | 'noEspHandler'
  /** IKE while no IKE handler is registered. */
  | 'noIkeHandler'
  /** Refused by the admission (rate limiting) hook. */
  | 'rateLimited';

export const DROP_REASONS: readonly DropReason[] = ['tooShort', 'tooLong', 'espNotAccepted', 'noEspHandler', 'noIkeHandler', 'rateLimited'];

export type Inbound =
  | { readonly type: 'ike'; readonly message: Buffer }
  | { readonly type: 'keepalive' }
  | { readonly type: 'esp'; readonly packet: Buffer }
  | { readonly type: 'drop'; readonly reason: DropReason };

export interface InboundRules {
  /** Whether this path uses the non-ESP marker (see `usesMarker`). */
  readonly marked: boolean;
  /** Whether ESP-in-UDP is accepted here (sockets of kind 'natt'). */
  readonly acceptEsp: boolean;
  /** Largest IKE message accepted, marker excluded (28..65535). */
  readonly maxIkeLength: number;
}

const drop = (reason: DropReason): Inbound => ({ type: 'drop', reason });

/**
 * What a received datagram is, without allocating (the receive path's per-datagram work):
 * 'ike' (the message starts after the marker when `rules.marked`), 'keepalive', 'esp',
 * or the reason it is dropped.
 */
export function inboundKind(datagram: Buffer, rules: InboundRules): 'ike' | 'keepalive' | 'esp' | DropReason {
  if (datagram.length > MAX_MESSAGE_LENGTH) return 'tooLong';
  let length = datagram.length;
  if (rules.marked) {
    switch (classifyNatTDatagram(datagram)) {
      case 'keepalive':
        return 'keepalive';
      case 'esp':
        return rules.acceptEsp ? 'esp' : 'espNotAccepted';
      case 'invalid': // every invalid case is a length problem: < 4 octets, short IKE or short ESP
        return 'tooShort';
      case 'ike':
        length -= NON_ESP_MARKER.length;
    }
  }
  if (length < IKE_HEADER_LENGTH) return 'tooShort';
  if (length > rules.maxIkeLength) return 'tooLong';
  return 'ike';
}

/** The IKE message of a datagram `inboundKind` called 'ike': a view without the marker, if any. */
export const ikeMessageOf = (datagram: Buffer, marked: boolean): Buffer => (marked ? datagram.subarray(NON_ESP_MARKER.length) : datagram);

/** What a received datagram is. The IKE message is a view into `datagram`, marker removed. */
export function classifyInbound(datagram: Buffer, rules: InboundRules): Inbound {
  const kind = inboundKind(datagram, rules);
  switch (kind) {
    case 'ike':
      return { type: 'ike', message: ikeMessageOf(datagram, rules.marked) };
    case 'keepalive':
      return { type: 'keepalive' };
    case 'esp':
      return { type: 'esp', packet: datagram };
    default:
      return drop(kind);
  }
}

/**
 * What to hand to the socket for one outgoing IKE message: the message itself, or the
 * marker and the message as a scatter list (no copy). dgram wraps a lone Buffer in a list
 * of its own and copies a list it is given, so a lone Buffer is the cheaper call.
 */
export const frameIke = (message: Buffer, marked: boolean): Buffer | Buffer[] => (marked ? [NON_ESP_MARKER, message] : message);

/** NAT keepalive: one octet 0xFF, never marked (RFC 3948 §2.3). */
export const NAT_KEEPALIVE = Buffer.from([0xff]);

/**
 * An unauthenticated IKE_SA_INIT request (responder SPI zero, R flag clear): what an
 * admission hook usually limits. Reads the header only; `message` is marker-free.
 */
export function isIkeSaInitRequest(message: Buffer): boolean {
  if (message.length < IKE_HEADER_LENGTH) return false;
  return (
    message[18] === ExchangeType.IKE_SA_INIT &&
    ((message[19] ?? 0) & HeaderFlag.RESPONSE) === 0 &&
    message.readBigUInt64BE(8) === 0n
  );
}

/** IP + UDP header sizes. */
const IP_HEADER = { IPv4: 20, IPv6: 40 } as const satisfies Record<AddressFamily, number>;
const UDP_HEADER = 8;

/**
 * Largest IKE message (marker excluded) that fits an IP packet of `ipPacketSize` on this
 * path: what the RFC 7383 fragmenter should aim for. The default 1280 is strongSwan's
 * fragment size for both families (spec digest §A.11; RFC 7383 §2.5.1 suggests 576 for IPv4
 * when the path MTU is unknown).
 */
export function ikeMessageBudget(family: AddressFamily, marked: boolean, ipPacketSize = 1280): number {
  return ipPacketSize - IP_HEADER[family] - UDP_HEADER - (marked ? NON_ESP_MARKER.length : 0);
}
