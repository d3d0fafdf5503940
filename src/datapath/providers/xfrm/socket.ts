/**
 * Requests to the kernel's XFRM netlink family. Node has no AF_NETLINK sockets, so the
 * bytes built in messages.ts go out through the native addon (socket(AF_NETLINK, SOCK_RAW,
 * NETLINK_XFRM) + sendto/recv, optionally inside a network namespace): the kernel parses
 * exactly what we built, which generating `ip xfrm` commands would not show.
 */
import { loadNativeAddon, type NativeAddon } from '../native/addon.ts';
import { NLMSG_ERROR } from './uapi.ts';
import { parseAck, parseAttrs, parseMessages, type NlAck, type NlMessage } from './netlink.ts';

/** Moves one request to the kernel and returns the raw replies (tests inject their own). */
export type XfrmTransport = (request: Buffer) => Buffer;

export interface XfrmReply {
  readonly ack: NlAck;
  /** Data messages before the ack (e.g. the XFRM_MSG_NEWSA answering a GETSA). */
  readonly messages: readonly NlMessage[];
}

export interface XfrmSocketOptions {
  /** Network namespace to act in (e.g. /run/netns/NAME); default: this process's. */
  readonly netns?: string | null;
  readonly timeoutMs?: number;
  readonly transport?: XfrmTransport;
  readonly addon?: NativeAddon;
}

export class XfrmSocket {
  private seq = (Date.now() >>> 0) & 0x7fff_ffff;
  private readonly transport: XfrmTransport;

  constructor(opts: XfrmSocketOptions = {}) {
    if (opts.transport) {
      this.transport = opts.transport;
    } else {
      const addon = opts.addon ?? loadNativeAddon('xfrm');
      const ns = opts.netns ?? null;
      const timeout = opts.timeoutMs ?? 2000;
      this.transport = (request) => addon.xfrmRequest(ns, request, timeout);
    }
  }

  /** Sequence number for the next request (nlmsg_seq). */
  nextSeq(): number {
    this.seq = (this.seq + 1) & 0x7fff_ffff;
    return this.seq;
  }

  /** Sends one request built with `build(seq)`; returns the ack and any data messages. */
  request(build: (seq: number) => Buffer): XfrmReply {
    const seq = this.nextSeq();
    const replies = parseMessages(this.transport(build(seq))).filter((m) => m.seq === seq);
    const ackMsg = replies.find((m) => m.type === NLMSG_ERROR);
    if (ackMsg === undefined) throw new Error(`no netlink ack for request ${seq}`);
    return { ack: parseAck(ackMsg), messages: replies.filter((m) => m.type !== NLMSG_ERROR) };
  }
}

/** Attributes of an XFRM data message whose fixed struct is `fixed` bytes long. */
export const messageAttrs = (m: NlMessage, fixed: number): Map<number, Buffer> => parseAttrs(m.payload, fixed);

