/**
 * Notify payload (RFC 7296 §3.10): Protocol ID(1) | SPI Size(1) | Notify Type(2) | SPI | data.
 * Typed access to the data of individual notify types lives in notify-data.ts.
 */
import { PayloadType } from '../../registry/payload.ts';
import type { PayloadCodec } from '../payload.ts';

export interface NotifyPayload {
  readonly type: typeof PayloadType.NOTIFY;
  readonly critical?: boolean;
  readonly protocolId: number;
  /** Empty when SPI Size is 0. */
  readonly spi: Buffer;
  readonly notifyType: number;
  readonly data: Buffer;
}

export const notifyCodec: PayloadCodec<NotifyPayload> = {
  type: PayloadType.NOTIFY,
  name: 'N',
  decode(r) {
    const protocolId = r.u8('protocolId');
    const spiSize = r.u8('spiSize');
    const notifyType = r.u16('notifyType');
    const spi = r.bytes(spiSize, 'spi');
    return { type: PayloadType.NOTIFY, protocolId, spi, notifyType, data: r.rest() };
  },
  encode(w, p) {
    w.u8(p.protocolId, 'N.protocolId').u8(p.spi.length, 'N.spiSize').u16(p.notifyType, 'N.notifyType');
    w.bytes(p.spi).bytes(p.data);
  },
};

/** Convenience constructor for a notify without SPI. */
export function notify(notifyType: number, data: Buffer = Buffer.alloc(0), protocolId = 0, spi: Buffer = Buffer.alloc(0)): NotifyPayload {
  return { type: PayloadType.NOTIFY, protocolId, spi, notifyType, data };
}
