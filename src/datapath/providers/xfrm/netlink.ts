/**
 * Netlink framing (include/uapi/linux/netlink.h, RFC 3549): struct nlmsghdr, struct nlattr
 * with 4-byte alignment, and the kernel's acks (struct nlmsgerr + extended-ack attributes).
 * Every read of a reply is bounds-checked: replies are parsed, never trusted.
 */
import { constants, endianness } from 'node:os';
import type { Address } from '../../address.ts';
import {
  NLA_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from './uapi.ts';

const LE = endianness() === 'LE';
const align4 = (n: number): number => (n + 3) & ~3;

/** A fixed-size C struct being filled: host-order integers, network-order `__be` fields. */
export class Struct {
  readonly buf: Buffer;

  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }

  u8(off: number, v: number): this {
    this.buf.writeUInt8(v, off);
    return this;
  }

  u16(off: number, v: number): this {
    if (LE) this.buf.writeUInt16LE(v, off);
    else this.buf.writeUInt16BE(v, off);
    return this;
  }

  u32(off: number, v: number): this {
    if (LE) this.buf.writeUInt32LE(v >>> 0, off);
    else this.buf.writeUInt32BE(v >>> 0, off);
    return this;
  }

  u64(off: number, v: bigint): this {
    if (LE) this.buf.writeBigUInt64LE(v, off);
    else this.buf.writeBigUInt64BE(v, off);
    return this;
  }

  be16(off: number, v: number): this {
    this.buf.writeUInt16BE(v, off);
    return this;
  }

  be32(off: number, v: number): this {
    this.buf.writeUInt32BE(v >>> 0, off);
    return this;
  }

  /** xfrm_address_t: IPv4 in the first 4 bytes (a4), IPv6 in all 16. */
  addr(off: number, a: Address): this {
    a.copy(this.buf, off);
    return this;
  }

  bytes(off: number, b: Uint8Array): this {
    this.buf.set(b, off);
    return this;
  }
}

/** Host-order readers for replies. */
export const read = {
  u16: (b: Buffer, off: number): number => (LE ? b.readUInt16LE(off) : b.readUInt16BE(off)),
  u32: (b: Buffer, off: number): number => (LE ? b.readUInt32LE(off) : b.readUInt32BE(off)),
  i32: (b: Buffer, off: number): number => (LE ? b.readInt32LE(off) : b.readInt32BE(off)),
  u64: (b: Buffer, off: number): bigint => (LE ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off)),
};

/** struct nlattr + payload, padded to 4 (NLA_ALIGN). */
export function attr(type: number, data: Uint8Array): Buffer {
  const out = Buffer.alloc(align4(NLA_HDRLEN + data.length));
  new Struct(NLA_HDRLEN).u16(0, NLA_HDRLEN + data.length).u16(2, type).buf.copy(out, 0);
  out.set(data, NLA_HDRLEN);
  return out;
}

export const u8Attr = (type: number, v: number): Buffer => attr(type, Uint8Array.of(v));
export const u32Attr = (type: number, v: number): Buffer => attr(type, new Struct(4).u32(0, v).buf);

/** One request: struct nlmsghdr (pid 0: the kernel assigns the port) + body parts. */
export function nlmsg(type: number, flags: number, seq: number, parts: readonly Uint8Array[]): Buffer {
  const length = parts.reduce((n, p) => n + align4(p.length), NLMSG_HDRLEN);
  const hdr = new Struct(NLMSG_HDRLEN).u32(0, length).u16(4, type).u16(6, flags).u32(8, seq).u32(12, 0);
  const out = Buffer.alloc(length);
  hdr.buf.copy(out, 0);
  let at = NLMSG_HDRLEN;
  for (const p of parts) {
    out.set(p, at);
    at += align4(p.length);
  }
  return out;
}

export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  /** Bytes after the header, up to nlmsg_len. */
  readonly payload: Buffer;
}

export class NetlinkParseError extends Error {
  override readonly name = 'NetlinkParseError';
}

/** Splits a reply into messages; throws NetlinkParseError on a bad length. */
export function parseMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  for (let off = 0; off < buf.length; ) {
    if (buf.length - off < NLMSG_HDRLEN) throw new NetlinkParseError(`${buf.length - off} trailing byte(s)`);
    const len = read.u32(buf, off);
    if (len < NLMSG_HDRLEN || len > buf.length - off) throw new NetlinkParseError(`nlmsg_len ${len} at ${off}`);
    out.push({
      type: read.u16(buf, off + 4),
      flags: read.u16(buf, off + 6),
      seq: read.u32(buf, off + 8),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attributes from `start` to the end of `buf`, by type (the last one of a type wins). */
export function parseAttrs(buf: Buffer, start: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = start; off + NLA_HDRLEN <= buf.length; ) {
    const len = read.u16(buf, off);
    if (len < NLA_HDRLEN || len > buf.length - off) throw new NetlinkParseError(`nla_len ${len} at ${off}`);
    out.set(read.u16(buf, off + 2) & 0x3fff, buf.subarray(off + NLA_HDRLEN, off + len)); // drop NLA_F_NESTED/BYTEORDER
    off += align4(len);
  }
  return out;
}

export interface NlAck {
  /** errno (positive), 0 for success. */
  readonly errno: number;
  /** Symbolic name, e.g. 'EINVAL'. */
  readonly code: string;
  /** The kernel's extended-ack text, if any. */
  readonly message?: string;
  /** Offset in our request of the attribute the kernel blamed. */
  readonly offset?: number;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));
export const errnoName = (n: number): string => (n === 0 ? 'OK' : (ERRNO_NAMES.get(n) ?? `errno ${n}`));

/** struct nlmsgerr { int error; struct nlmsghdr msg; } + NLMSGERR_ATTR_* when NLM_F_ACK_TLVS. */
export function parseAck(m: NlMessage): NlAck {
  if (m.type !== NLMSG_ERROR || m.payload.length < 4 + NLMSG_HDRLEN) throw new NetlinkParseError('not an ack');
  const errno = -read.i32(m.payload, 0) | 0; // nlmsgerr.error is -errno (| 0: no -0)
  const echoed = (m.flags & NLM_F_CAPPED) !== 0 || errno === 0 ? NLMSG_HDRLEN : read.u32(m.payload, 4);
  const tlvStart = 4 + align4(Math.min(Math.max(echoed, NLMSG_HDRLEN), m.payload.length - 4));
  const attrs = (m.flags & NLM_F_ACK_TLVS) !== 0 ? parseAttrs(m.payload, tlvStart) : new Map<number, Buffer>();
  const msg = attrs.get(NLMSGERR_ATTR_MSG);
  const offs = attrs.get(NLMSGERR_ATTR_OFFS);
  return {
    errno,
    code: errnoName(errno),
    ...(msg ? { message: msg.toString('utf8').replace(/\0.*$/s, '') } : {}),
    ...(offs && offs.length >= 4 ? { offset: read.u32(offs, 0) } : {}),
  };
}
