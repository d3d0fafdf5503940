/**
 * BEET mode (draft-nikander-esp-beet-mode; Linux xfrm4/6 beet): transport-like on the wire,
 * the SA binds the inner address pair, and the receiver rebuilds the inner header from the
 * SA's inner addresses and the outer TTL/TOS. IPv4 options travel behind a pseudo-header
 * `nexthdr | hdrlen = optlen/8 | padlen = 4 - (optlen & 4) | reserved`, NOP padding, then
 * the options; the ESP next header is then 94 (BEETPH).
 */
import { GkmError } from '../../ikev2/errors.ts';
import type { Address } from '../address.ts';
import type { EspPayload } from '../esp/receiver.ts';
import type { EspSender } from '../esp/sender.ts';
import { parseIp, Proto, writeIpv4, writeIpv6, type IpInfo } from './ip.ts';
import { Ipv4Ids, outerHeaderLength, writeOuter } from './outer.ts';
import type { EspFrame, InnerPacket, ModeHandler, OuterView } from './types.ts';

export interface BeetAddresses {
  /** Outer (wire) addresses of the SA. */
  readonly outer: { readonly src: Address; readonly dst: Address };
  /** Inner addresses bound to the SA (the selector): restored on input. */
  readonly inner: { readonly src: Address; readonly dst: Address };
}

const IPOPT_NOP = 1;
const PH_LENGTH = 4;
const PH_MAX = 8;

const malformed = (field: string, detail: string): GkmError => new GkmError('GKM_ESP_MALFORMED', { field, detail });

export class BeetMode implements ModeHandler {
  readonly mode = 'beet' as const;
  readonly tfcSafe = false;
  private readonly ids = new Ipv4Ids();

  constructor(private readonly addrs: BeetAddresses) {
    const { outer, inner } = addrs;
    if (outer.src.length !== outer.dst.length || inner.src.length !== inner.dst.length) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'beet', detail: 'address pair of mixed families' });
    }
  }

  output(inner: Buffer, info: IpInfo, sender: EspSender): EspFrame {
    if (info.src.length !== this.addrs.inner.src.length) {
      throw new GkmError('GKM_ESP_POLICY_MISMATCH', { field: 'beet', detail: 'inner family differs from the SA' });
    }
    const hl = outerHeaderLength(this.addrs.outer.dst);
    const optLen = info.version === 4 ? info.headerLength - 20 : 0;
    // IPv6 inner: everything after the fixed header travels inside ESP (docs/decisions.md).
    const bodyStart = info.version === 4 ? info.headerLength : 40;
    const body = inner.subarray(bodyStart, info.length);
    const firstNh = info.version === 4 ? info.protocol : inner[6]!;
    let buf: Buffer;
    if (optLen === 0) {
      buf = sender.encapsulate(body, firstNh, hl);
    } else {
      const padLen = PH_LENGTH - (optLen & 4);
      const payload = Buffer.allocUnsafe(PH_LENGTH + padLen + optLen + body.length);
      payload[0] = firstNh;
      payload[1] = optLen >>> 3;
      payload[2] = padLen;
      payload[3] = 0;
      payload.fill(IPOPT_NOP, PH_LENGTH, PH_LENGTH + padLen);
      inner.copy(payload, PH_LENGTH + padLen, 20, info.headerLength);
      body.copy(payload, PH_LENGTH + padLen + optLen);
      buf = sender.encapsulate(payload, Proto.BEETPH, hl);
    }
    const { src, dst } = this.addrs.outer;
    writeOuter(buf, { src, dst, tos: info.tos, ttl: info.ttl, fragment: info.fragment, id: info.version === 4 && hl === 20 ? info.id : null, flowLabel: info.flowLabel }, this.ids);
    return { packet: buf, espOffset: hl, src, dst };
  }

  input(esp: EspPayload, outer: OuterView): InnerPacket {
    const { src, dst } = this.addrs.inner;
    let nh = esp.nextHeader;
    let body = esp.payload;
    let options: Buffer | undefined;
    if (nh === Proto.BEETPH) {
      if (src.length !== 4) throw malformed('beet.pseudoHeader', 'only for IPv4 inner headers');
      if (body.length < PH_LENGTH) throw malformed('beet.pseudoHeader', 'truncated');
      const padLen = body[2]!;
      const phLen = PH_LENGTH + padLen;
      const optLen = body[1]! * 8 + (PH_MAX - phLen);
      // Linux xfrm4_remove_beet_encap: optlen < 0, not a multiple of 4 or > 250 is invalid;
      // an IPv4 header holds 40 bytes of options at most.
      if (optLen <= 0 || (optLen & 3) !== 0 || optLen > 40 || padLen !== PH_LENGTH - (optLen & 4)) {
        throw malformed('beet.pseudoHeader', `options length ${optLen}, pad ${padLen}`);
      }
      if (body.length < phLen + optLen) throw malformed('beet.pseudoHeader', 'options truncated');
      for (let i = PH_LENGTH; i < phLen; i++) if (body[i] !== IPOPT_NOP) throw malformed('beet.pseudoHeader', 'padding is not NOP');
      nh = body[0]!;
      if (nh === Proto.BEETPH) throw malformed('beet.pseudoHeader', 'nested');
      options = body.subarray(phLen, phLen + optLen);
      body = body.subarray(phLen + optLen);
    }
    if (src.length === 4) {
      const hl = 20 + (options?.length ?? 0);
      const buf = Buffer.allocUnsafe(hl + body.length);
      const v4 = outer.version === 4;
      writeIpv4(buf, 0, { tos: outer.tos, totalLength: buf.length, id: v4 ? outer.id : 0, fragment: v4 ? outer.fragment : 0, ttl: outer.ttl, protocol: nh, src, dst, ...(options ? { options } : {}) });
      body.copy(buf, hl);
      return { packet: buf, info: parseIp(buf, true) };
    }
    const buf = Buffer.allocUnsafe(40 + body.length);
    writeIpv6(buf, 0, { trafficClass: outer.tos, flowLabel: outer.flowLabel, payloadLength: body.length, nextHeader: nh, hopLimit: outer.ttl, src, dst });
    body.copy(buf, 40);
    return { packet: buf, info: parseIp(buf, true) };
  }
}
