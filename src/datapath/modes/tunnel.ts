/**
 * Tunnel mode (RFC 4303 §3.1.2): a new outer header around the whole inner packet, NH 4 or
 * 41. With address preservation (RFC 5374 §3.1, group SAs) the outer source and destination
 * are copied from the inner header, so multicast stays routable.
 */
import { GkmError } from '../../ikev2/errors.ts';
import { sameAddress, type Address } from '../address.ts';
import type { EspPayload } from '../esp/receiver.ts';
import type { EspSender } from '../esp/sender.ts';
import { parseIp, Proto, type IpInfo } from './ip.ts';
import { IPV4_DF, Ipv4Ids, writeOuterHeader } from './outer.ts';
import type { EspFrame, InnerPacket, ModeHandler, OuterView } from './types.ts';

export interface TunnelEndpoints {
  readonly src: Address;
  readonly dst: Address;
  /** Outer TTL / Hop Limit (default 64). */
  readonly ttl?: number;
}

const NH_IPV4 = Proto.IPV4;
const NH_IPV6 = Proto.IPV6;

export class TunnelMode implements ModeHandler {
  readonly mode: 'tunnel' | 'tunnel-preserve';
  readonly tfcSafe = true;
  private readonly ids = new Ipv4Ids();

  /** `endpoints` null: address preservation. */
  constructor(private readonly endpoints: TunnelEndpoints | null) {
    this.mode = endpoints === null ? 'tunnel-preserve' : 'tunnel';
    if (endpoints !== null && endpoints.src.length !== endpoints.dst.length) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'tunnel', detail: 'endpoints of different families' });
    }
  }

  output(inner: Buffer, info: IpInfo, sender: EspSender): EspFrame {
    const ep = this.endpoints;
    const v4 = info.version === 4;
    const src = ep === null ? info.src : ep.src;
    const dst = ep === null ? info.dst : ep.dst;
    const hl = dst.length === 4 ? 20 : 40;
    const payload = info.length === inner.length ? inner : inner.subarray(0, info.length);
    const buf = sender.encapsulate(payload, v4 ? NH_IPV4 : NH_IPV6, hl);
    writeOuterHeader(
      buf,
      src,
      dst,
      info.tos,
      // Preserved multicast keeps the inner TTL (its scope); a plain tunnel starts afresh.
      ep === null ? info.ttl : (ep.ttl ?? 64),
      v4 ? info.fragment & IPV4_DF : 0,
      null,
      info.flowLabel,
      this.ids,
    );
    // Fixed endpoints: the SA's own addresses (as BEET does); preserved: views into the packet.
    if (ep !== null) return { packet: buf, espOffset: hl, src, dst };
    const a = hl === 20 ? 12 : 8;
    const n = dst.length;
    return { packet: buf, espOffset: hl, src: buf.subarray(a, a + n), dst: buf.subarray(a + n, a + 2 * n) };
  }

  input(esp: EspPayload, outer: OuterView): InnerPacket {
    const nh = esp.nextHeader;
    if (nh !== Proto.IPV4 && nh !== Proto.IPV6) {
      throw new GkmError('GKM_ESP_MALFORMED', { field: 'esp.nextHeader', detail: `${nh} in tunnel mode` });
    }
    // TFC padding may follow the inner packet: its own length field delimits it.
    const info = parseIp(esp.payload, false);
    if (info.version !== (nh === Proto.IPV4 ? 4 : 6)) {
      throw new GkmError('GKM_ESP_MALFORMED', { field: 'esp.nextHeader', detail: `${nh} for IPv${info.version}` });
    }
    if (this.endpoints === null && !(sameAddress(info.src, outer.src) && sameAddress(info.dst, outer.dst))) {
      throw new GkmError('GKM_ESP_POLICY_MISMATCH', { field: 'tunnel-preserve', detail: 'outer and inner addresses differ' });
    }
    const p = esp.payload;
    return { packet: info.length === p.length ? p : p.subarray(0, info.length), info };
  }
}
