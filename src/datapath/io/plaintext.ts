/**
 * The plaintext side of a DatapathNode: where inner IP packets come from (to be protected)
 * and where decrypted ones go. Implementations: the UDP tap (tests, tools) and a TUN device
 * (gateways). Also the minimal IPv4/IPv6 + UDP codec the tap wraps datagrams with.
 */
import { GkmError } from '../../ikev2/errors.ts';
import type { Address } from '../address.ts';
import { isIpv4Fragment, parseIp, Proto, writeIpv4, writeIpv6 } from '../modes/ip.ts';

export interface PlaintextPort {
  /** Starts reading; every inner IP packet read from the plaintext side goes to `onPacket`. */
  start(onPacket: (packet: Buffer) => void): void;
  /** Writes one decrypted inner IP packet to the plaintext side. */
  write(packet: Buffer): void;
  close(): Promise<void>;
}

/** The inner IP/UDP header fields a wrapped datagram gets. */
export interface InnerUdpFlow {
  readonly src: Address;
  readonly dst: Address;
  readonly srcPort: number;
  readonly dstPort: number;
  /** TTL / Hop Limit; with address preservation it becomes the outer multicast scope too. */
  readonly ttl: number;
  readonly tos: number;
}

export interface UdpView {
  readonly src: Address;
  readonly dst: Address;
  readonly srcPort: number;
  readonly dstPort: number;
  /** View into the packet. */
  readonly payload: Buffer;
}

const UDP_HEADER = 8;
/** Largest UDP payload in one IPv4 packet (65535 - 20 - 8) and in one IPv6 packet (65535 - 8). */
export const MAX_UDP_PAYLOAD = { 4: 65507, 6: 65527 } as const;

const malformed = (field: string, detail: string): GkmError => new GkmError('GKM_IP_MALFORMED', { field, detail });

/** RFC 768 / RFC 8200 §8.1 checksum of the UDP datagram at `off`, with the pseudo-header. */
export function udpChecksum(pkt: Buffer, off: number, src: Address, dst: Address): number {
  const len = pkt.length - off;
  let sum = Proto.UDP + (len & 0xffff) + (len >>> 16);
  for (const a of [src, dst]) for (let i = 0; i < a.length; i += 2) sum += (a[i]! << 8) | a[i + 1]!;
  let i = off;
  for (; i + 1 < pkt.length; i += 2) sum += (pkt[i]! << 8) | pkt[i + 1]!;
  if (i < pkt.length) sum += pkt[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  const c = ~sum & 0xffff;
  return c === 0 ? 0xffff : c;
}

/**
 * Wraps a datagram payload into IPv4 or IPv6 + UDP. IPv4 leaves the UDP checksum 0 ("none",
 * RFC 768; the inner packet is integrity-protected by ESP anyway); IPv6 must carry one.
 */
export function wrapUdp(payload: Buffer, f: InnerUdpFlow, id = 0): Buffer {
  const v = f.dst.length === 4 ? 4 : 6;
  if (f.src.length !== f.dst.length) throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'inner', detail: 'mixed address families' });
  if (payload.length > MAX_UDP_PAYLOAD[v]) throw malformed('udp.length', `${payload.length} byte(s) of payload`);
  const hl = v === 4 ? 20 : 40;
  const pkt = Buffer.allocUnsafe(hl + UDP_HEADER + payload.length);
  if (v === 4) {
    writeIpv4(pkt, 0, { tos: f.tos, totalLength: pkt.length, id, fragment: 0, ttl: f.ttl, protocol: Proto.UDP, src: f.src, dst: f.dst });
  } else {
    writeIpv6(pkt, 0, { trafficClass: f.tos, flowLabel: 0, payloadLength: pkt.length - 40, nextHeader: Proto.UDP, hopLimit: f.ttl, src: f.src, dst: f.dst });
  }
  pkt.writeUInt16BE(f.srcPort, hl);
  pkt.writeUInt16BE(f.dstPort, hl + 2);
  pkt.writeUInt16BE(UDP_HEADER + payload.length, hl + 4);
  pkt.writeUInt16BE(0, hl + 6);
  payload.copy(pkt, hl + UDP_HEADER);
  if (v === 6) pkt.writeUInt16BE(udpChecksum(pkt, hl, f.src, f.dst), hl + 6);
  return pkt;
}

/** The UDP datagram inside an IP packet: strict lengths, no fragments, nothing but UDP. */
export function unwrapUdp(packet: Buffer): UdpView {
  const info = parseIp(packet, true);
  if (info.protocol !== Proto.UDP) throw malformed('ip.protocol', `${info.protocol} is not UDP`);
  if (isIpv4Fragment(info)) throw malformed('ipv4.fragment', 'fragmented UDP');
  const off = info.payloadOffset;
  if (off + UDP_HEADER > info.length) throw malformed('udp', 'shorter than its header');
  const udpLength = packet.readUInt16BE(off + 4);
  if (udpLength !== info.length - off) throw malformed('udp.length', `${udpLength} for ${info.length - off} byte(s)`);
  return {
    src: info.src,
    dst: info.dst,
    srcPort: packet.readUInt16BE(off),
    dstPort: packet.readUInt16BE(off + 2),
    payload: packet.subarray(off + UDP_HEADER, info.length),
  };
}
