/** Outer headers shared by the tunnel and BEET modes, and outer views for input. */
import type { Address } from '../address.ts';
import { GkmError } from '../../ikev2/errors.ts';
import { ipChecksum, Proto, type IpInfo } from './ip.ts';
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
  writeOuterHeader(buf, f.src, f.dst, f.tos, f.ttl, f.fragment, f.id, f.flowLabel, ids);
}

const PROTO_ESP = Proto.ESP;

/**
 * writeOuter with positional fields: the per-packet form (no field objects, byte loops
 * rather than Buffer#copy for the addresses). Same bytes and errors as writeIpv4/writeIpv6.
 */
export function writeOuterHeader(
  buf: Buffer,
  src: Address,
  dst: Address,
  tos: number,
  ttl: number,
  fragment: number,
  id: number | null,
  flowLabel: number,
  ids: Ipv4Ids,
): void {
  const len = buf.length;
  if (dst.length === 4) {
    const ident = id ?? ids.take(); // taken before the length check, as writeOuter always did
    if (len > 0xffff) throw new GkmError('GKM_IP_MALFORMED', { field: 'ipv4.totalLength', detail: `${len} exceeds 65535` });
    buf[0] = 0x45;
    buf[1] = tos;
    buf[2] = len >>> 8;
    buf[3] = len & 0xff;
    buf[4] = ident >>> 8;
    buf[5] = ident & 0xff;
    buf[6] = fragment >>> 8;
    buf[7] = fragment & 0xff;
    buf[8] = ttl;
    buf[9] = PROTO_ESP;
    buf[10] = 0;
    buf[11] = 0;
    for (let i = 0; i < 4; i++) {
      buf[12 + i] = src[i]!;
      buf[16 + i] = dst[i]!;
    }
    const sum = ipChecksum(buf, 0, 20);
    buf[10] = sum >>> 8;
    buf[11] = sum & 0xff;
  } else {
    const pl = len - 40;
    if (pl > 0xffff) throw new GkmError('GKM_IP_MALFORMED', { field: 'ipv6.payloadLength', detail: `${pl} exceeds 65535` });
    buf.writeUInt32BE(((6 << 28) | (tos << 20) | (flowLabel & 0xfffff)) >>> 0, 0);
    buf[4] = pl >>> 8;
    buf[5] = pl & 0xff;
    buf[6] = PROTO_ESP;
    buf[7] = ttl;
    for (let i = 0; i < 16; i++) {
      buf[8 + i] = src[i]!;
      buf[24 + i] = dst[i]!;
    }
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
