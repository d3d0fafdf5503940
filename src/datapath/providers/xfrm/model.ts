/**
 * From the provider seam's SaConfig to XFRM states and policies (F.5): addresses per mode,
 * the Linux AEAD name, replay/ESN, encapsulation, offload, selectors as prefixes.
 */
import { GkmError } from '../../../ikev2/errors.ts';
import { SnId } from '../../../ikev2/registry/transform.ts';
import type { Address } from '../../address.ts';
import { espSuite } from '../../esp/suite.ts';
import type { SaConfig } from '../../provider.ts';
import type { TrafficSelector, AddressRange } from '../../selector.ts';
import type { XfrmAeadName, XfrmOffload, XfrmPolicy, XfrmSa, XfrmSelector } from './messages.ts';
import { XFRM_SA_XFLAG_OSEQ_MAY_WRAP, type XfrmModeName } from './uapi.ts';

export interface XfrmSaOptions {
  readonly reqid: number;
  readonly offload?: XfrmOffload;
  readonly ifId?: number;
  /** Send XFRMA_SA_DIR (Linux 6.10+). */
  readonly saDir?: boolean;
}

const bad = (field: string, detail: string): GkmError => new GkmError('GKM_ESP_BAD_CONFIG', { field, detail });

/** The Linux crypto template for an ESP suite (F.5). */
export function aeadName(c: Pick<SaConfig, 'algorithms'>): XfrmAeadName {
  const s = espSuite(c.algorithms);
  if (s.kind === 'gmac') return 'rfc4543(gcm(aes))';
  if (s.kind === 'aead') return s.cipher === 'chacha20-poly1305' ? 'rfc7539esp(chacha20,poly1305)' : 'rfc4106(gcm(aes))';
  throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: 'esp.algorithms', detail: `${s.cipher}: the xfrm provider carries AEAD/GMAC suites` });
}

/** Outer (SA) addresses and XFRM mode for a mode config. */
function endpoints(c: SaConfig): { src: Address; dst: Address; mode: XfrmModeName; selector?: XfrmSelector } {
  const m = c.mode;
  switch (m.mode) {
    case 'tunnel':
      return { src: m.src, dst: m.dst, mode: 'tunnel' };
    case 'beet':
      // The SA binds the inner pair as its selector (x->sel) and the outer pair as its id.
      return { src: m.outer.src, dst: m.outer.dst, mode: 'beet', selector: hostSelector(m.inner.src, m.inner.dst) };
    case 'transport':
    case 'tunnel-preserve':
      // No address-preserving XFRM mode: a group SA is a tunnel between the sender and the group.
      if (c.src === undefined || c.dst === undefined) throw bad('src/dst', `xfrm ${m.mode} SAs need both addresses`);
      return { src: c.src, dst: c.dst, mode: m.mode === 'transport' ? 'transport' : 'tunnel' };
  }
}

const hostSelector = (src: Address, dst: Address): XfrmSelector => ({ src, dst, srcPrefix: src.length * 8, dstPrefix: dst.length * 8 });

/** xfrm_usersa_info and attributes for one direction of an SA. */
export function saFromConfig(c: SaConfig, o: XfrmSaOptions): XfrmSa {
  if ((c.senderIdBits ?? 0) !== 0) throw bad('senderIdBits', 'the kernel has no RFC 6054 Sender-ID IVs');
  const suite = espSuite(c.algorithms);
  const name = aeadName(c);
  const ep = endpoints(c);
  if (ep.src.length !== ep.dst.length) throw bad('addresses', 'mixed families');
  const sn = c.sn ?? SnId.SEQ32;
  const esn = sn === SnId.ESN64;
  const inbound = c.direction === 'in';
  const wanted = c.replay?.size ?? 64;
  // SN value 2: no replay check inbound, wrapping sequence numbers outbound.
  const window = !inbound || sn === SnId.UNSPECIFIED32 ? 0 : wanted;
  if (inbound && esn && window === 0) throw bad('replay.size', 'the kernel needs a window for ESN');
  return {
    src: ep.src,
    dst: ep.dst,
    spi: c.spi,
    reqid: o.reqid,
    mode: ep.mode,
    aead: { name, key: c.keys.encr, icvBits: suite.icvLength * 8 },
    ...(ep.selector ? { selector: ep.selector } : {}),
    replayWindow: window,
    esn,
    ...(!inbound && (c.seqStart ?? 1) > 1 ? { oseq: c.seqStart! - 1 } : {}),
    ...(!inbound && sn === SnId.UNSPECIFIED32 ? { extraFlags: XFRM_SA_XFLAG_OSEQ_MAY_WRAP } : {}),
    ...(c.encap ? { encap: c.encap } : {}),
    ...(o.offload ? { offload: o.offload } : {}),
    ...(o.saDir === false ? {} : { dir: c.direction }),
    ...(o.ifId !== undefined ? { ifId: o.ifId } : {}),
    ...(c.tfcPadTo ? { tfcPad: c.tfcPadTo } : {}),
    ...(c.lifetime ? { lifetime: lifetimeOf(c) } : {}),
  };
}

function lifetimeOf(c: SaConfig): NonNullable<XfrmSa['lifetime']> {
  const big = (v: number | undefined): bigint | undefined => (v === undefined ? undefined : BigInt(Math.ceil(v)));
  const { soft = {}, hard = {} } = c.lifetime ?? {};
  const out: Record<string, bigint | undefined> = {
    softBytes: big(soft.bytes),
    hardBytes: big(hard.bytes),
    softPackets: big(soft.packets),
    hardPackets: big(hard.packets),
    softAddSeconds: big(soft.seconds),
    hardAddSeconds: big(hard.seconds),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** An address range as a prefix, or throws: XFRM selectors are prefixes. */
export function rangePrefix(r: AddressRange): { addr: Address; len: number } {
  const bits = r.start.length * 8;
  for (let len = 0; len <= bits; len++) {
    let ok = true;
    for (let i = 0; i < r.start.length && ok; i++) {
      const keep = Math.max(0, Math.min(8, len - i * 8));
      const mask = (0xff << (8 - keep)) & 0xff;
      ok = (r.start[i]! & ~mask & 0xff) === 0 && r.end[i] === ((r.start[i]! | ~mask) & 0xff);
    }
    if (ok) return { addr: r.start, len };
  }
  throw bad('selectors', 'xfrm selectors must be address prefixes');
}

/** A port range as port/mask: any, or one port. */
function portMask(r: readonly [number, number] | undefined): { port: number; mask: number } {
  if (r === undefined || (r[0] === 0 && r[1] === 0xffff)) return { port: 0, mask: 0 };
  if (r[0] === r[1]) return { port: r[0], mask: 0xffff };
  throw bad('selectors', 'xfrm selectors take one port or any');
}

export function xfrmSelector(ts: TrafficSelector): XfrmSelector {
  const src = rangePrefix(ts.src);
  const dst = rangePrefix(ts.dst);
  const sp = portMask(ts.srcPorts);
  const dp = portMask(ts.dstPorts);
  return {
    src: src.addr,
    dst: dst.addr,
    srcPrefix: src.len,
    dstPrefix: dst.len,
    proto: ts.protocol ?? 0,
    sport: sp.port,
    sportMask: sp.mask,
    dport: dp.port,
    dportMask: dp.mask,
  };
}

/** One policy per selector, each pointing at the SA by reqid (packet offload: the policy too). */
export function policiesFor(c: SaConfig, sa: XfrmSa): XfrmPolicy[] {
  return (c.selectors ?? []).map((ts) => ({
    selector: xfrmSelector(ts),
    dir: c.direction,
    templates: [{ src: sa.src, dst: sa.dst, reqid: sa.reqid, mode: sa.mode }],
    ...(sa.offload?.packet ? { offload: sa.offload } : {}),
    ...(sa.ifId !== undefined ? { ifId: sa.ifId } : {}),
  }));
}
