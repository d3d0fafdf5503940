/**
 * XFRM netlink messages, byte for byte from include/uapi/linux/xfrm.h: NEWSA / DELSA / GETSA,
 * NEWPOLICY / DELPOLICY / GETPOLICY and NEWAE (sequence-number sync). Defaults follow
 * iproute2 (`ip xfrm`), so the tests can compare against what it sends: limits XFRM_INF,
 * template algorithm masks ~0, a replay window up to 255 in xfrm_usersa_info and larger
 * windows or ESN in a header-only XFRMA_REPLAY_ESN_VAL.
 */
import type { Address } from '../../address.ts';
import { attr, nlmsg, read, Struct, u32Attr, u8Attr } from './netlink.ts';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_ESP,
  NLM_F_ACK,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  Size,
  UDP_ENCAP_ESPINUDP,
  UsersaInfo,
  XFRM_AE_RVAL,
  XFRM_INF,
  XFRM_OFFLOAD_INBOUND,
  XFRM_OFFLOAD_IPV6,
  XFRM_OFFLOAD_PACKET,
  XFRM_POLICY_ALLOW,
  XFRM_POLICY_BLOCK,
  XFRM_STATE_ESN,
  Xfrma,
  XfrmMode,
  XfrmMsg,
  XfrmPolicyDir,
  XfrmSaDir,
  type XfrmModeName,
} from './uapi.ts';

export const familyOf = (a: Address): number => (a.length === 16 ? AF_INET6 : AF_INET);

/** struct xfrm_selector; absent fields are "any". */
export interface XfrmSelector {
  readonly src: Address;
  readonly dst: Address;
  readonly srcPrefix: number;
  readonly dstPrefix: number;
  /** IP protocol, 0 = any. */
  readonly proto?: number;
  readonly sport?: number;
  readonly sportMask?: number;
  readonly dport?: number;
  readonly dportMask?: number;
  readonly ifindex?: number;
}

/** struct xfrm_lifetime_cfg; absent limits are XFRM_INF, absent times 0 (none). */
export interface XfrmLifetime {
  readonly softBytes?: bigint;
  readonly hardBytes?: bigint;
  readonly softPackets?: bigint;
  readonly hardPackets?: bigint;
  readonly softAddSeconds?: bigint;
  readonly hardAddSeconds?: bigint;
  readonly softUseSeconds?: bigint;
  readonly hardUseSeconds?: bigint;
}

/** Linux AEAD names for ESP (crypto/ templates; F.5). */
export type XfrmAeadName = 'rfc4106(gcm(aes))' | 'rfc7539esp(chacha20,poly1305)' | 'rfc4543(gcm(aes))';

/** struct xfrm_algo_aead: key includes the 4-byte salt. */
export interface XfrmAead {
  readonly name: XfrmAeadName;
  readonly key: Buffer;
  readonly icvBits: number;
}

/** struct xfrm_user_offload: device, crypto or packet offload (F.5). */
export interface XfrmOffload {
  readonly ifindex: number;
  readonly packet: boolean;
}

/** struct xfrm_replay_state_esn fields (bitmap left to the kernel on NEWSA). */
export interface XfrmReplayEsn {
  readonly window: number;
  readonly oseq?: number;
  readonly oseqHi?: number;
  readonly seq?: number;
  readonly seqHi?: number;
}

export interface XfrmSaId {
  readonly src: Address;
  readonly dst: Address;
  readonly spi: number;
}

/** One ESP SA (xfrm_usersa_info + attributes). */
export interface XfrmSa extends XfrmSaId {
  readonly reqid: number;
  readonly mode: XfrmModeName;
  readonly aead: XfrmAead;
  /** BEET: the inner address pair; transport/tunnel: usually absent (any). */
  readonly selector?: XfrmSelector;
  /** Anti-replay window (inbound); 0 = off. */
  readonly replayWindow?: number;
  readonly esn?: boolean;
  /** Outbound: last sequence number sent (sync after rekey/migration). */
  readonly oseq?: number;
  /** XFRMA_SA_EXTRA_FLAGS (XFRM_SA_XFLAG_*). */
  readonly extraFlags?: number;
  /** ESP in UDP (RFC 3948): espinudp with these ports. */
  readonly encap?: { readonly sport: number; readonly dport: number; readonly oa?: Address };
  readonly offload?: XfrmOffload;
  /** XFRMA_SA_DIR (Linux 6.10+). */
  readonly dir?: 'in' | 'out';
  readonly ifId?: number;
  /** TFC padding (RFC 4303 §2.7): XFRMA_TFCPAD. */
  readonly tfcPad?: number;
  readonly lifetime?: XfrmLifetime;
}

/** struct xfrm_user_tmpl */
export interface XfrmTemplate {
  readonly src: Address;
  readonly dst: Address;
  readonly reqid: number;
  readonly mode: XfrmModeName;
  /** 0: any SA with the reqid. */
  readonly spi?: number;
  readonly optional?: boolean;
}

export interface XfrmPolicyId {
  readonly selector: XfrmSelector;
  readonly dir: keyof typeof XfrmPolicyDir;
  readonly index?: number;
}

export interface XfrmPolicy extends XfrmPolicyId {
  readonly priority?: number;
  readonly action?: 'allow' | 'block';
  readonly templates: readonly XfrmTemplate[];
  /** Packet offload of the policy (F.5). */
  readonly offload?: XfrmOffload;
  readonly ifId?: number;
  readonly lifetime?: XfrmLifetime;
}

const ADD = NLM_F_REQUEST | NLM_F_ACK;

function selector(s: Struct, off: number, sel: XfrmSelector | undefined): void {
  if (sel === undefined) return; // all zero, family AF_UNSPEC: any
  s.addr(off, sel.dst)
    .addr(off + 16, sel.src)
    .be16(off + 32, sel.dport ?? 0)
    .be16(off + 34, sel.dportMask ?? (sel.dport ? 0xffff : 0))
    .be16(off + 36, sel.sport ?? 0)
    .be16(off + 38, sel.sportMask ?? (sel.sport ? 0xffff : 0))
    .u16(off + 40, familyOf(sel.dst))
    .u8(off + 42, sel.dstPrefix)
    .u8(off + 43, sel.srcPrefix)
    .u8(off + 44, sel.proto ?? 0)
    .u32(off + 48, sel.ifindex ?? 0);
}

function lifetime(s: Struct, off: number, l: XfrmLifetime = {}): void {
  const values = [
    l.softBytes ?? XFRM_INF,
    l.hardBytes ?? XFRM_INF,
    l.softPackets ?? XFRM_INF,
    l.hardPackets ?? XFRM_INF,
    l.softAddSeconds ?? 0n,
    l.hardAddSeconds ?? 0n,
    l.softUseSeconds ?? 0n,
    l.hardUseSeconds ?? 0n,
  ];
  values.forEach((v, i) => s.u64(off + 8 * i, v));
}

/** struct xfrm_algo_aead: alg_name[64], alg_key_len (bits), alg_icv_len (bits), key. */
export function aeadAttr(a: XfrmAead): Buffer {
  const s = new Struct(Size.algoAead + a.key.length);
  s.bytes(0, Buffer.from(a.name, 'latin1')).u32(64, a.key.length * 8).u32(68, a.icvBits).bytes(72, a.key);
  return attr(Xfrma.ALG_AEAD, s.buf);
}

/** struct xfrm_user_offload { int ifindex; __u8 flags; } with IPV6 / INBOUND / PACKET. */
export function offloadAttr(o: XfrmOffload, ipv6: boolean, inbound: boolean): Buffer {
  const flags = (ipv6 ? XFRM_OFFLOAD_IPV6 : 0) | (inbound ? XFRM_OFFLOAD_INBOUND : 0) | (o.packet ? XFRM_OFFLOAD_PACKET : 0);
  return attr(Xfrma.OFFLOAD_DEV, new Struct(Size.userOffload).u32(0, o.ifindex).u8(4, flags).buf);
}

/** struct xfrm_replay_state_esn; `bitmapWords` zero words appended (NEWAE needs the full size). */
export function replayEsnAttr(r: XfrmReplayEsn, bmpLen: number, bitmapWords = 0): Buffer {
  const s = new Struct(Size.replayStateEsn + 4 * bitmapWords);
  s.u32(0, bmpLen).u32(4, r.oseq ?? 0).u32(8, r.seq ?? 0).u32(12, r.oseqHi ?? 0).u32(16, r.seqHi ?? 0).u32(20, r.window);
  return attr(Xfrma.REPLAY_ESN_VAL, s.buf);
}

/** Bitmap words the kernel keeps for a window (bmp_len). */
export const bitmapWords = (window: number): number => Math.ceil(window / 32);

/** Whether the SA's replay state needs XFRMA_REPLAY_ESN_VAL (as iproute2 decides). */
export const needsEsnAttr = (sa: Pick<XfrmSa, 'esn' | 'replayWindow'>): boolean =>
  sa.esn === true || (sa.replayWindow ?? 0) > 255;

/** XFRM_MSG_NEWSA: struct xfrm_usersa_info + attributes. */
export function newSa(sa: XfrmSa, seq: number): Buffer {
  const v6 = sa.dst.length === 16;
  const window = sa.replayWindow ?? 0;
  const esnAttr = needsEsnAttr(sa);
  const s = new Struct(Size.usersaInfo);
  selector(s, UsersaInfo.sel, sa.selector);
  s.addr(UsersaInfo.idDaddr, sa.dst).be32(UsersaInfo.idSpi, sa.spi).u8(UsersaInfo.idProto, IPPROTO_ESP).addr(UsersaInfo.saddr, sa.src);
  lifetime(s, UsersaInfo.lft, sa.lifetime);
  s.u32(UsersaInfo.reqid, sa.reqid)
    .u16(UsersaInfo.family, familyOf(sa.dst))
    .u8(UsersaInfo.mode, XfrmMode[sa.mode])
    .u8(UsersaInfo.replayWindow, esnAttr ? 0 : window) // with the ESN attribute the kernel wants 0 here
    .u8(UsersaInfo.flags, sa.esn ? XFRM_STATE_ESN : 0);
  const parts: Buffer[] = [s.buf, aeadAttr(sa.aead)];
  if (sa.encap) {
    const e = new Struct(Size.encapTmpl).u16(0, UDP_ENCAP_ESPINUDP).be16(2, sa.encap.sport).be16(4, sa.encap.dport);
    if (sa.encap.oa) e.addr(8, sa.encap.oa);
    parts.push(attr(Xfrma.ENCAP, e.buf));
  }
  if (sa.offload) parts.push(offloadAttr(sa.offload, v6, sa.dir === 'in'));
  if (esnAttr) {
    const o = sa.oseq ?? 0;
    parts.push(replayEsnAttr({ window, oseq: o >>> 0, oseqHi: Math.floor(o / 0x1_0000_0000) }, bitmapWords(window)));
  } else if ((sa.oseq ?? 0) > 0) {
    parts.push(attr(Xfrma.REPLAY_VAL, new Struct(Size.replayState).u32(0, sa.oseq!).buf));
  }
  if (sa.ifId !== undefined) parts.push(u32Attr(Xfrma.IF_ID, sa.ifId));
  if (sa.extraFlags) parts.push(u32Attr(Xfrma.SA_EXTRA_FLAGS, sa.extraFlags));
  if (sa.tfcPad) parts.push(u32Attr(Xfrma.TFCPAD, sa.tfcPad));
  if (sa.dir) parts.push(u8Attr(Xfrma.SA_DIR, XfrmSaDir[sa.dir]));
  return nlmsg(XfrmMsg.NEWSA, ADD, seq, parts);
}

/** struct xfrm_usersa_id + XFRMA_SRCADDR: the lookup key of DELSA / GETSA. */
function saId(id: XfrmSaId): Buffer[] {
  const s = new Struct(Size.usersaId).addr(0, id.dst).be32(16, id.spi).u16(20, familyOf(id.dst)).u8(22, IPPROTO_ESP);
  return [s.buf, attr(Xfrma.SRCADDR, new Struct(Size.address).addr(0, id.src).buf)];
}

export const delSa = (id: XfrmSaId, seq: number): Buffer => nlmsg(XfrmMsg.DELSA, ADD, seq, saId(id));
/** GETSA; the kernel answers with an XFRM_MSG_NEWSA message, then the ack. */
export const getSa = (id: XfrmSaId, seq: number): Buffer => nlmsg(XfrmMsg.GETSA, ADD, seq, saId(id));

/**
 * XFRM_MSG_NEWAE: replay/sequence state of an installed SA (RFC 6311-style sync). The kernel
 * wants NLM_F_REPLACE and the representation the SA was installed with: an ESN attribute of
 * exactly bmp_len words (`bmpLen`), or the legacy struct xfrm_replay_state (`bmpLen` null).
 */
export function newAe(id: XfrmSaId, reqid: number, replay: XfrmReplayEsn, bmpLen: number | null, seq: number): Buffer {
  const s = new Struct(Size.aeventId).addr(0, id.dst).be32(16, id.spi).u16(20, familyOf(id.dst)).u8(22, IPPROTO_ESP);
  s.addr(24, id.src).u32(40, XFRM_AE_RVAL).u32(44, reqid);
  const value =
    bmpLen === null
      ? attr(Xfrma.REPLAY_VAL, new Struct(Size.replayState).u32(0, replay.oseq ?? 0).u32(4, replay.seq ?? 0).buf)
      : replayEsnAttr(replay, bmpLen, bmpLen);
  return nlmsg(XfrmMsg.NEWAE, ADD | NLM_F_REPLACE, seq, [s.buf, value]);
}

function template(t: XfrmTemplate): Buffer {
  const s = new Struct(Size.userTmpl);
  s.addr(0, t.dst).be32(16, t.spi ?? 0).u8(20, IPPROTO_ESP).u16(24, familyOf(t.dst)).addr(28, t.src);
  s.u32(44, t.reqid).u8(48, XfrmMode[t.mode]).u8(50, t.optional ? 1 : 0);
  s.u32(52, 0xffff_ffff).u32(56, 0xffff_ffff).u32(60, 0xffff_ffff); // aalgos/ealgos/calgos: any
  return s.buf;
}

/** XFRM_MSG_NEWPOLICY: struct xfrm_userpolicy_info + XFRMA_TMPL (+ offload, if_id). */
export function newPolicy(p: XfrmPolicy, seq: number): Buffer {
  const s = new Struct(Size.userpolicyInfo);
  selector(s, 0, p.selector);
  lifetime(s, 56, p.lifetime);
  s.u32(152, p.priority ?? 0).u32(156, p.index ?? 0).u8(160, XfrmPolicyDir[p.dir]);
  s.u8(161, p.action === 'block' ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW);
  const parts: Buffer[] = [s.buf];
  if (p.templates.length > 0) parts.push(attr(Xfrma.TMPL, Buffer.concat(p.templates.map(template))));
  if (p.offload) parts.push(offloadAttr(p.offload, p.selector.dst.length === 16, p.dir === 'in'));
  if (p.ifId !== undefined) parts.push(u32Attr(Xfrma.IF_ID, p.ifId));
  return nlmsg(XfrmMsg.NEWPOLICY, ADD, seq, parts);
}

/** struct xfrm_userpolicy_id: the key of DELPOLICY / GETPOLICY. */
function policyId(p: XfrmPolicyId): Buffer {
  const s = new Struct(Size.userpolicyId);
  selector(s, 0, p.selector);
  return s.u32(56, p.index ?? 0).u8(60, XfrmPolicyDir[p.dir]).buf;
}

export const delPolicy = (p: XfrmPolicyId, seq: number): Buffer => nlmsg(XfrmMsg.DELPOLICY, ADD, seq, [policyId(p)]);
export const getPolicy = (p: XfrmPolicyId, seq: number): Buffer => nlmsg(XfrmMsg.GETPOLICY, ADD, seq, [policyId(p)]);

/** What GETSA tells about an SA's traffic and replay state. */
export interface XfrmSaState {
  readonly spi: number;
  readonly reqid: number;
  readonly mode: number;
  readonly bytes: bigint;
  readonly packets: bigint;
  readonly replayDrops: number;
  readonly integrityFailed: number;
  /** From XFRMA_REPLAY_ESN_VAL or XFRMA_REPLAY_VAL: last sent / highest received (64-bit). */
  readonly oseq: number;
  readonly seq: number;
  readonly replayWindow: number;
}

/** Parses the XFRM_MSG_NEWSA payload of a GETSA answer (bounds-checked). */
export function parseSaState(payload: Buffer, attrs: ReadonlyMap<number, Buffer>): XfrmSaState {
  if (payload.length < Size.usersaInfo) throw new RangeError(`xfrm_usersa_info needs ${Size.usersaInfo} bytes`);
  const esn = attrs.get(Xfrma.REPLAY_ESN_VAL);
  const legacy = attrs.get(Xfrma.REPLAY_VAL);
  let oseq = 0;
  let seq = 0;
  let window = payload[UsersaInfo.replayWindow]!;
  if (esn !== undefined && esn.length >= Size.replayStateEsn) {
    oseq = read.u32(esn, 12) * 0x1_0000_0000 + read.u32(esn, 4);
    seq = read.u32(esn, 16) * 0x1_0000_0000 + read.u32(esn, 8);
    window = read.u32(esn, 20);
  } else if (legacy !== undefined && legacy.length >= Size.replayState) {
    oseq = read.u32(legacy, 0);
    seq = read.u32(legacy, 4);
  }
  return {
    spi: payload.readUInt32BE(UsersaInfo.idSpi),
    reqid: read.u32(payload, UsersaInfo.reqid),
    mode: payload[UsersaInfo.mode]!,
    bytes: read.u64(payload, UsersaInfo.curlft),
    packets: read.u64(payload, UsersaInfo.curlft + 8),
    replayDrops: read.u32(payload, UsersaInfo.statsReplay),
    integrityFailed: read.u32(payload, UsersaInfo.statsIntegrityFailed),
    oseq,
    seq,
    replayWindow: window,
  };
}
