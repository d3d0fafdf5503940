/**
 * Transport mode (RFC 4303 §3.1.1): ESP goes between the IP header (IPv6: after Hop-by-Hop,
 * Routing and Fragment headers) and the upper layer; the header is kept and re-pointed.
 */
import { GkmError } from '../../ikev2/errors.ts';
import type { EspPayload } from '../esp/receiver.ts';
import type { EspSender } from '../esp/sender.ts';
import { fixLengths, isIpv4Fragment, parseIp, Proto, writeIpv4, writeIpv6, type IpInfo } from './ip.ts';
import type { EspFrame, InnerPacket, ModeHandler, OuterView } from './types.ts';

export class TransportMode implements ModeHandler {
  readonly mode = 'transport' as const;
  readonly tfcSafe = false;

  output(inner: Buffer, info: IpInfo, sender: EspSender): EspFrame {
    // ESP is applied before fragmentation (RFC 4301 §7): a fragment cannot be protected here.
    if (isIpv4Fragment(info)) throw new GkmError('GKM_IP_MALFORMED', { field: 'ipv4.fragment', detail: 'fragment in transport mode' });
    const hl = info.payloadOffset;
    const buf = sender.encapsulate(inner.subarray(hl, info.length), info.protocol, hl);
    inner.copy(buf, 0, 0, hl);
    buf[info.protocolField] = Proto.ESP;
    fixLengths(buf, info.version, info.headerLength);
    const a = info.version === 4 ? 12 : 8;
    const n = info.src.length;
    return { packet: buf, espOffset: hl, src: buf.subarray(a, a + n), dst: buf.subarray(a + n, a + 2 * n) };
  }

  input(esp: EspPayload, outer: OuterView): InnerPacket {
    const header = outer.header ?? synthesize(outer);
    const buf = Buffer.allocUnsafe(header.length + esp.payload.length);
    header.copy(buf, 0);
    esp.payload.copy(buf, header.length);
    buf[outer.protocolField] = esp.nextHeader;
    fixLengths(buf, outer.version, outer.version === 4 ? header.length : 40);
    return { packet: buf, info: parseIp(buf, true) };
  }
}

/** A plain header for ESP that arrived over UDP (no IP header was seen). */
function synthesize(o: OuterView): Buffer {
  const h = Buffer.alloc(o.version === 4 ? 20 : 40);
  if (o.version === 4) {
    writeIpv4(h, 0, { tos: o.tos, totalLength: 20, id: o.id, fragment: 0, ttl: o.ttl, protocol: Proto.ESP, src: o.src, dst: o.dst });
  } else {
    writeIpv6(h, 0, { trafficClass: o.tos, flowLabel: o.flowLabel, payloadLength: 0, nextHeader: Proto.ESP, hopLimit: o.ttl, src: o.src, dst: o.dst });
  }
  return h;
}
