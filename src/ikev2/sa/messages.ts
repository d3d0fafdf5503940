/** Small helpers over payload lists (notifies, single payloads, error notifies). */
import { GkmError, isGkmError } from '../errors.ts';
import { isErrorNotify, NotifyType } from '../registry/notify.ts';
import { nameOf } from '../registry/names.ts';
import { PayloadType } from '../registry/payload.ts';
import type { Payload } from '../wire/payload.ts';
import type { NotifyPayload } from '../wire/payloads/index.ts';
import { notify } from '../wire/payloads/index.ts';

export const notifiesOf = (payloads: readonly Payload[]): NotifyPayload[] =>
  payloads.filter((p): p is NotifyPayload => p.type === PayloadType.NOTIFY);

export const findNotify = (payloads: readonly Payload[], notifyType: number): NotifyPayload | undefined =>
  notifiesOf(payloads).find((n) => n.notifyType === notifyType);

export const hasNotify = (payloads: readonly Payload[], notifyType: number): boolean => findNotify(payloads, notifyType) !== undefined;

/** The first error notify (type < 16384, RFC 7296 §3.10.1). */
export const firstErrorNotify = (payloads: readonly Payload[]): NotifyPayload | undefined =>
  notifiesOf(payloads).find((n) => isErrorNotify(n.notifyType));

/** The one payload of `type`; INVALID_SYNTAX when it appears more than once. */
export function single<T extends Payload>(payloads: readonly Payload[], type: number): T | undefined {
  const found = payloads.filter((p) => p.type === type);
  if (found.length > 1) throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: `payload type ${type}`, detail: 'more than once' });
  return found[0] as T | undefined;
}

/** Like single(), but the payload must be there. */
export function required<T extends Payload>(payloads: readonly Payload[], type: number, name: string): T {
  const p = single<T>(payloads, type);
  if (!p) throw new GkmError('GKM_IKE_INVALID_SYNTAX', { field: name, detail: 'missing' });
  return p;
}

/** The notify that answers `e` on the wire, or undefined when it is not to be answered. */
export function errorNotifyFor(e: unknown): NotifyPayload | undefined {
  if (!isGkmError(e) || e.notify === null) return undefined;
  return notify(e.notify, e.notifyData ? Buffer.from(e.notifyData) : Buffer.alloc(0));
}

/** The peer answered with an error notify (RFC 7296 §2.21): the exchange failed. */
export class PeerNotifyError extends GkmError {
  readonly peerNotify: number;
  constructor(n: NotifyPayload, exchange: string) {
    super('GKM_IKE_PEER_ERROR', { field: exchange, detail: nameOf(NotifyType, n.notifyType) });
    this.peerNotify = n.notifyType;
  }
}
