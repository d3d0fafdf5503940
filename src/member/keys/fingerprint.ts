/**
 * What the member prints about keys: a fingerprint, never the key. The fingerprint is the
 * first 8 octets of SHA-256 over the key, in hex, always with a label saying which key it is
 * (e.g. "ESP SA 0x1a2b3c4d", "Rekey SA 0102…", "WRAP_KEY 7"), so that two sides of a test
 * (GCKS key log, member) can be compared without exposing key bytes.
 */
import { createHash } from 'node:crypto';

export const FINGERPRINT_OCTETS = 8;

export interface KeyFingerprint {
  readonly label: string;
  /** Hex of SHA-256(key)[0..8]. */
  readonly sha256: string;
}

export function keyFingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest().subarray(0, FINGERPRINT_OCTETS).toString('hex');
}

export function fingerprintOf(label: string, key: Uint8Array): KeyFingerprint {
  return { label, sha256: keyFingerprint(key) };
}
