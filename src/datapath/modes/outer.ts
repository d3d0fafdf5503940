/** Outer headers shared by the tunnel and BEET modes, and outer views for input. */
import type { Address } from '../address.ts';
import { Proto, writeIpv4, writeIpv6, type IpInfo } from './ip.ts';
import type { OuterView } from './types.ts';

/** Fields copied into an outer header from the inner one (RFC 4301 §5.1.2.1: TOS/DSCP, DF). */
export interface OuterFields {
  readonly src: Address;
  readonly dst: Address;
  readonly tos: number;
  readonly ttl: number;
  /** IPv4 flags | fragment offset for an IPv4 outer header. */
  readonly fragment: number;
  /** IPv4 Identification; null: allocate one. */
  readonly id: number | null;
  readonly flowLabel: number;
}

export const IPV4_DF = 0x4000;

export function outerHeaderLength(dst: Address): number {
  return dst.length === 4 ? 20 : 40;
}

/** Sequential IPv4 Identification for outer headers we originate. */
export class Ipv4Ids {
  private next = 1;
  take(): number {
    const id = this.next;
    this.next = (this.next + 1) & 0xffff;
    return id;
  }
}

/** Writes an outer header at 0 of `buf`, which holds headroom + ESP; protocol ESP. */
export function writeOuter(buf: Buffer, f: OuterFields, ids: Ipv4Ids): void {
  if (f.dst.length === 4) {
    writeIpv4(buf, 0, {
      tos: f.tos,
      totalLength: buf.length,
      id: f.id ?? ids.take(),
      fragment: f.fragment,
      ttl: f.ttl,
      protocol: Proto.ESP,
      src: f.src,
      dst: f.dst,
    });
  } else {
    writeIpv6(buf, 0, {
      trafficClass: f.tos,
      flowLabel: f.flowLabel,
      payloadLength: buf.length - 40,
      nextHeader: Proto.ESP,
      hopLimit: f.ttl,
      src: f.src,
      dst: f.dst,
    });
  }
}

/** The outer view of a raw IP packet carrying ESP at `info.payloadOffset`. */
export function outerOfPacket(packet: Buffer, info: IpInfo): OuterView {
  return {
    version: info.version,
    src: info.src,
    dst: info.dst,
    tos: info.tos,
    ttl: info.ttl,
    id: info.id,
    fragment: info.fragment,
    flowLabel: info.flowLabel,
    header: packet.subarray(0, info.payloadOffset),
    protocolField: info.protocolField,
  };
}

/** The outer view of ESP received over UDP (RFC 3948): only the addresses are known. */
export function outerOfAddresses(src: Address, dst: Address, ttl = 64): OuterView {
  return {
    version: dst.length === 4 ? 4 : 6,
    src,
    dst,
    tos: 0,
    ttl,
    id: 0,
    fragment: 0,
    flowLabel: 0,
    header: null,
    protocolField: dst.length === 4 ? 9 : 6,
  };
}
