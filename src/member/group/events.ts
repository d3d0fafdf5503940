/**
 * The group events of `gkm-member join` (one JSON object per line with --json, next to the
 * IKE SA's own events of ../events.ts). Names, SPIs, algorithm names and key fingerprints
 * only: no event carries a key.
 */
import type { KeyFingerprint } from '../keys/fingerprint.ts';
import type { GroupErrorCode } from './errors.ts';
import type { PolicySummary } from './summary.ts';

type Stamped<T> = T & { readonly time: string };

export type RegistrationReason = 'join' | 'soft-lifetime' | 'excluded' | 'retry' | 'rekey-sa-expired';

export type GroupEventBody =
  | { readonly event: 'registering'; readonly group: string; readonly gcks: string; readonly exchange: 'GSA_AUTH' | 'GSA_REGISTRATION'; readonly reason: RegistrationReason }
  | {
      readonly event: 'registered';
      readonly group: string;
      readonly gcks: string;
      readonly ikeSaId: string;
      readonly policy: PolicySummary;
      /** Labelled SHA-256 prefixes of every key held for the group (keys/fingerprint.ts). */
      readonly fingerprints: readonly KeyFingerprint[];
      /** Data-Security SAs handed to the datapath's SA database (0 without one). */
      readonly installed: number;
      /** When the GM re-registers unless replacements arrive first (soft lifetime). */
      readonly reregisterInSeconds?: number;
    }
  | { readonly event: 'expired'; readonly group: string; readonly what: 'data-security-sa' | 'rekey-sa'; readonly spi: string }
  | { readonly event: 'excluded'; readonly group: string; readonly reason: string; readonly reregisterInSeconds: number }
  | { readonly event: 'left'; readonly group: string; readonly gcks: string; readonly told: boolean }
  | {
      readonly event: 'error';
      readonly group: string;
      readonly gcks: string;
      readonly code: GroupErrorCode;
      readonly notify?: number;
      readonly notifyName?: string;
      readonly message: string;
      /** No retry: the group is unknown, not authorized, or its policy unusable. */
      readonly fatal: boolean;
      readonly retryInSeconds?: number;
    };

export type GroupEvent = Stamped<GroupEventBody>;

export type GroupEventName = GroupEvent['event'];

/** One-line descriptions for the log. */
export function describeGroupEvent(e: GroupEvent): string {
  switch (e.event) {
    case 'registering':
      return `registering with ${e.gcks} for ${e.group} (${e.exchange}, ${e.reason})`;
    case 'registered': {
      const p = e.policy;
      const sas = p.dataSecuritySas.map((s) => `${s.protocol.toUpperCase()} 0x${s.spi} ${Object.values(s.algorithms).join(' ')} ${s.destination} ${s.mode}`);
      const kek = p.rekeySa ? `, Rekey SA ${p.rekeySa.spi} to ${p.rekeySa.destination}` : '';
      const ids = p.senderIds.length ? `, Sender-IDs ${p.senderIds.join(',')}/${p.senderIdBits} bits` : '';
      return `registered in ${e.group} at ${e.gcks}: ${sas.join('; ') || 'no Data-Security SA'}${kek}${ids}`;
    }
    case 'expired':
      return `${e.what} ${e.spi} of ${e.group} expired`;
    case 'excluded':
      return `excluded from ${e.group} (${e.reason}); re-registering in ${e.reregisterInSeconds}s`;
    case 'left':
      return `left ${e.group}${e.told ? '' : ' (the GCKS was not told: no IKE SA)'}`;
    case 'error':
      return `${e.group}: ${e.code}${e.notifyName ? ` (${e.notifyName} ${e.notify})` : ''}: ${e.message}${e.fatal ? ' [fatal]' : e.retryInSeconds !== undefined ? `; retry in ${e.retryInSeconds}s` : ''}`;
  }
}

export const stampGroupEvent = (e: GroupEventBody): GroupEvent => ({ ...e, time: new Date().toISOString() });
