/**
 * Traffic Selector payloads TSi (44) / TSr (45) (RFC 7296 §3.13):
 * `Number of TSs(1) | RESERVED(3) | Traffic Selectors`. The count is at least 1 and must
 * match the selectors present exactly.
 */
import { GkmError } from '../../errors.ts';
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';
import { decodeTrafficSelector, encodeTrafficSelector, type TrafficSelector } from '../sub/traffic-selector.ts';

type TsPayloadType = typeof PayloadType.TSi | typeof PayloadType.TSr;

export interface TsPayload<T extends TsPayloadType = TsPayloadType> {
  readonly type: T;
  readonly critical?: boolean;
  /** 1..255 selectors. */
  readonly selectors: readonly TrafficSelector[];
}

const MAX_SELECTORS = 255;

function tsCodec<T extends TsPayloadType>(type: T, name: string): PayloadCodec<TsPayload<T>> {
  return {
    type,
    name,
    decode(r) {
      const count = r.u8('numTs');
      r.skip(3, 'reserved');
      if (count === 0) r.fail('GKM_WIRE_BAD_COUNT', 'numTs', 'no traffic selector');
      const selectors: TrafficSelector[] = [];
      for (let i = 0; i < count; i++) selectors.push(decodeTrafficSelector(r, 'ts', i));
      if (r.remaining > 0) r.fail('GKM_WIRE_BAD_COUNT', 'numTs', `${count} selector(s), then ${r.remaining} more byte(s)`);
      return { type, selectors };
    },
    encode(w, p) {
      const count = p.selectors.length;
      if (count === 0 || count > MAX_SELECTORS) {
        throw new GkmError('GKM_WIRE_ENCODE', { field: `${name}.numTs`, detail: `${count} not in 1..${MAX_SELECTORS}` });
      }
      w.u8(count).zeros(3);
      for (const ts of p.selectors) encodeTrafficSelector(w, ts);
    },
  };
}

export type TsiPayload = TsPayload<typeof PayloadType.TSi>;
export type TsrPayload = TsPayload<typeof PayloadType.TSr>;

export const tsiCodec = tsCodec(PayloadType.TSi, 'TSi');
export const tsrCodec = tsCodec(PayloadType.TSr, 'TSr');
