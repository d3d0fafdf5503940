/** Delete payload (RFC 7296 §3.11): Protocol ID(1) | SPI Size(1) | Num SPIs(2) | SPIs. */
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';

export interface DeletePayload {
  readonly type: typeof PayloadType.DELETE;
  readonly critical?: boolean;
  readonly protocolId: number;
  readonly spiSize: number;
  readonly spis: readonly Buffer[];
}

export const deleteCodec: PayloadCodec<DeletePayload> = {
  type: PayloadType.DELETE,
  name: 'D',
  decode(r) {
    const protocolId = r.u8('protocolId');
    const spiSize = r.u8('spiSize');
    const count = r.u16('numSpis');
    if (spiSize === 0 ? count !== 0 || r.remaining !== 0 : r.remaining !== spiSize * count) {
      r.fail('GKM_WIRE_BAD_COUNT', 'numSpis', `${count} SPI(s) of ${spiSize} byte(s) vs ${r.remaining} byte(s)`);
    }
    const spis: Buffer[] = [];
    for (let i = 0; i < count; i++) spis.push(r.bytes(spiSize, `spi[${i}]`));
    return { type: PayloadType.DELETE, protocolId, spiSize, spis };
  },
  encode(w, p) {
    w.u8(p.protocolId, 'D.protocolId').u8(p.spiSize, 'D.spiSize').u16(p.spis.length, 'D.numSpis');
    for (const s of p.spis) {
      if (s.length !== p.spiSize) w.u8(-1, 'D.spi length');
      w.bytes(s);
    }
  },
};
