/** Per-packet results of the native addon (mirrors native/esp-burst/src/esp.h `Status`). */
import { GkmError } from '../../../ikev2/errors.ts';

export const NativeStatus = {
  OK: 0,
  /** Verified, Next Header 59: discard silently (RFC 4303 §2.6). */
  DUMMY: 1,
  /** Rejected before the native call. */
  SKIP: -1,
  MALFORMED: -2,
  NO_SA: -3,
  AUTH_FAILED: -4,
  BAD_PADDING: -5,
  EXHAUSTED: -6,
  NO_ROOM: -7,
  CRYPTO_ERROR: -8,
  /** The anti-replay check failed (RFC 4303 §3.4.3). */
  REPLAY: -9,
  /** Fast path (engine.ts) only from here on. GKM_IP_MALFORMED. */
  IP_MALFORMED: -10,
  /** Selectors (RFC 4301 §5.2) or preserved addresses (RFC 5374) do not match. */
  POLICY: -11,
  /** No SA for the packet: not counted on any SA. */
  NO_SA_FOUND: -12,
  /** ESP shorter than its 8-byte header: not counted on any SA. */
  SHORT: -13,
  /** The SA's mode runs in TypeScript (BEET). */
  SLOW: -14,
  /** ESP done; TypeScript rebuilds the transport packet (an outer header the fast path leaves to it). */
  PAYLOAD: 2,
} as const;

export type NativeStatusCode = (typeof NativeStatus)[keyof typeof NativeStatus];

/** The ICV verified (the anti-replay window may advance). */
export const verified = (s: number): boolean =>
  s === NativeStatus.OK || s === NativeStatus.DUMMY || s === NativeStatus.BAD_PADDING;

/** The typed error the userspace provider would raise for the same packet. */
export function statusError(status: number, spi: number, seq?: number): GkmError {
  switch (status) {
    case NativeStatus.MALFORMED:
      return new GkmError('GKM_ESP_MALFORMED', { field: 'esp', detail: 'length or alignment' });
    case NativeStatus.NO_SA:
      return new GkmError('GKM_ESP_NO_SA', { field: 'esp.spi' });
    case NativeStatus.AUTH_FAILED:
      return new GkmError('GKM_ESP_AUTH_FAILED', { field: 'esp.icv' });
    case NativeStatus.BAD_PADDING:
      return new GkmError('GKM_ESP_BAD_PADDING', { field: 'esp.trailer' });
    case NativeStatus.EXHAUSTED:
      return new GkmError('GKM_ESP_SEQ_EXHAUSTED', { field: 'esp.seq', detail: `SPI ${spi}` });
    case NativeStatus.REPLAY:
      return new GkmError('GKM_ESP_REPLAY', { field: 'esp.seq', detail: String(seq) });
    case NativeStatus.IP_MALFORMED:
      return new GkmError('GKM_IP_MALFORMED', { field: 'ip', detail: 'header, length or fragment' });
    case NativeStatus.POLICY:
      return new GkmError('GKM_ESP_POLICY_MISMATCH', { field: 'selectors', detail: `SPI ${spi}` });
    case NativeStatus.NO_SA_FOUND:
      return new GkmError('GKM_ESP_NO_SA', { field: 'sad', detail: spi === 0 ? 'no outbound SA matches' : `SPI ${spi}` });
    case NativeStatus.SHORT:
      return new GkmError('GKM_ESP_MALFORMED', { field: 'esp', detail: 'shorter than the header' });
    default:
      return new GkmError('GKM_CRYPTO_INTERNAL', { field: 'native', detail: `status ${status}` });
  }
}
