/**
 * The cipher x key-exchange matrix of issue 3's interop deliverable, and per-link traffic
 * selectors, shared by the strongSwan-to-strongSwan and our-engine-to-strongSwan tests.
 */
import type { LinkSpec } from '../../support/strongswan.ts';

export const CIPHERS = [
  { proposal: 'aes128gcm16', encr: 'AES_GCM_16', keysize: 128 },
  { proposal: 'aes256gcm16', encr: 'AES_GCM_16', keysize: 256 },
  { proposal: 'chacha20poly1305', encr: 'CHACHA20_POLY1305', keysize: undefined },
] as const;

export const GROUPS = [
  { proposal: 'x25519', name: 'CURVE_25519' },
  { proposal: 'ecp256', name: 'ECP_256' },
  { proposal: 'ecp384', name: 'ECP_384' },
] as const;

export const MATRIX = CIPHERS.flatMap((c) => GROUPS.map((g) => ({ cipher: c, group: g, name: `m-${c.proposal}-${g.proposal}` })));

/** Each link carries its own traffic selector (a UDP port), so policies never overlap. */
export const ts = (i: number): string[] => [`127.0.0.1/32[udp/${20000 + i}]`];
export const link = (i: number, l: Omit<LinkSpec, 'localTs' | 'remoteTs'>): LinkSpec => ({ ...l, localTs: ts(i), remoteTs: ts(i) });

/** The matrix as links, one per row: IKE proposal `cipher-prfsha256-group`, ESP `cipher`. */
export const matrixLinks = (): LinkSpec[] =>
  MATRIX.map((m, i) => link(i, { name: m.name, proposals: [`${m.cipher.proposal}-prfsha256-${m.group.proposal}`], espProposals: [m.cipher.proposal] }));
