/**
 * One traffic selector (RFC 7296 §3.13.1), shared by TSi/TSr and G-IKEv2 GSA policies
 * (RFC 9838 §4.4.2): `TS Type(1) | IP Protocol(1) | Selector Length(2) | Start Port(2) |
 * End Port(2) | Starting Address | Ending Address`. Address ranges must have the exact
 * selector length for their family (16 for IPv4, 40 for IPv6). Other TS types (e.g.
 * TS_SECLABEL, RFC 9478) are kept as opaque bodies bounded by Selector Length.
 */
import { TsType } from '../../registry/misc.ts';
import type { Reader } from '../reader.ts';
import type { Writer } from '../writer.ts';

export interface AddressRangeSelector {
  readonly tsType: typeof TsType.TS_IPV4_ADDR_RANGE | typeof TsType.TS_IPV6_ADDR_RANGE;
  /** 0 = any. */
  readonly ipProtocol: number;
  readonly startPort: number;
  readonly endPort: number;
  readonly startAddress: Buffer;
  readonly endAddress: Buffer;
}

export interface OpaqueSelector {
  readonly tsType: number;
  /** Everything after the 4-byte TS header (type, one octet, selector length). */
  readonly body: Buffer;
  /** The octet after TS Type (IP Protocol ID for ranges, reserved for others). */
  readonly octet1: number;
}

export type TrafficSelector = AddressRangeSelector | OpaqueSelector;

export function isAddressRange(ts: TrafficSelector): ts is AddressRangeSelector {
  return ts.tsType === TsType.TS_IPV4_ADDR_RANGE || ts.tsType === TsType.TS_IPV6_ADDR_RANGE;
}

const addrLen = (tsType: number): number => (tsType === TsType.TS_IPV4_ADDR_RANGE ? 4 : 16);

const itemName = (field: string, index: number | undefined): string => (index === undefined ? field : `${field}[${index}]`);

/** One selector, named `field` (or `field[index]` in errors). */
export function decodeTrafficSelector(r: Reader, field: string, index?: number): TrafficSelector {
  const tsType = r.u8(field, index, 'type');
  const octet1 = r.u8(field, index, 'ipProtocol');
  const selLen = r.u16(field, index, 'selectorLength');
  if (selLen < 4) r.fail('GKM_WIRE_BAD_LENGTH', `${itemName(field, index)}.selectorLength`, `${selLen} < 4`);
  const body = index === undefined ? r.sub(selLen - 4, field) : r.item(selLen - 4, field, index);
  if (tsType !== TsType.TS_IPV4_ADDR_RANGE && tsType !== TsType.TS_IPV6_ADDR_RANGE) {
    return { tsType, octet1, body: body.rest() };
  }
  const n = addrLen(tsType);
  if (selLen !== 8 + 2 * n) r.fail('GKM_WIRE_BAD_LENGTH', `${itemName(field, index)}.selectorLength`, `${selLen} != ${8 + 2 * n}`);
  const startPort = body.u16('startPort');
  const endPort = body.u16('endPort');
  const startAddress = body.bytes(n, 'startAddress');
  const endAddress = body.bytes(n, 'endAddress');
  return { tsType, ipProtocol: octet1, startPort, endPort, startAddress, endAddress };
}

export function encodeTrafficSelector(w: Writer, ts: TrafficSelector): void {
  const start = w.length;
  if (isAddressRange(ts)) {
    const n = addrLen(ts.tsType);
    if (ts.startAddress.length !== n || ts.endAddress.length !== n) w.u8(-1, 'TS address length');
    w.u8(ts.tsType).u8(ts.ipProtocol, 'TS.ipProtocol');
    const lenAt = w.reserveU16();
    w.u16(ts.startPort, 'TS.startPort').u16(ts.endPort, 'TS.endPort').bytes(ts.startAddress).bytes(ts.endAddress);
    w.patchU16(lenAt, w.length - start);
  } else {
    w.u8(ts.tsType, 'TS.type').u8(ts.octet1, 'TS.octet1');
    const lenAt = w.reserveU16();
    w.bytes(ts.body);
    w.patchU16(lenAt, w.length - start, 'TS.selectorLength');
  }
}
