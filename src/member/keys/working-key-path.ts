/**
 * The GM's Working Key Path of one group (RFC 9838 §3.3, digest §5): the KWKs it holds,
 * ordered from the key nearest the SA keys down to its personal key (e.g. 1→3→7), with
 * GSK_w of the carrying SA implicitly after the last one.
 *
 * A KWK stays bound to the KWA of the SA it arrived over, also when used later on another
 * SA (RFC 9838 §3.1), so each key keeps its KWA.
 */
import { wipe } from '../../ikev2/crypto/zeroize.ts';
import { fingerprintOf, type KeyFingerprint } from './fingerprint.ts';

export interface HeldKey {
  readonly keyId: number;
  readonly key: Buffer;
  readonly kwaId: number;
}

/** Where a new Key Path ends: at GSK_w of the carrying SA, or at a key of the WKP (its index). */
export type KeyPathAnchor = { readonly kind: 'gsk_w' } | { readonly kind: 'wkp'; readonly index: number };

export class WorkingKeyPath {
  #keys: HeldKey[] = [];

  get length(): number {
    return this.#keys.length;
  }

  /** Key IDs, nearest the SA keys first. */
  get keyIds(): number[] {
    return this.#keys.map((k) => k.keyId);
  }

  indexOf(keyId: number): number {
    return this.#keys.findIndex((k) => k.keyId === keyId);
  }

  at(index: number): HeldKey | undefined {
    return this.#keys[index];
  }

  /**
   * Apply a new Key Path (the WRAP_KEYs used to reach an SA key, nearest the SA key first):
   *  - empty: nothing changes;
   *  - ending at GSK_w: it becomes the WKP (registration: the GM's initial path);
   *  - ending at WKP key X: it replaces the part of the WKP before X.
   * Replaced keys are wiped. Returns whether the WKP changed.
   */
  update(newPath: readonly HeldKey[], anchor: KeyPathAnchor): boolean {
    if (newPath.length === 0) return false;
    const keepFrom = anchor.kind === 'gsk_w' ? this.#keys.length : anchor.index;
    const dropped = this.#keys.slice(0, keepFrom);
    this.#keys = [...newPath, ...this.#keys.slice(keepFrom)];
    const kept = new Set(this.#keys.map((k) => k.key));
    wipe(...dropped.filter((k) => !kept.has(k.key)).map((k) => k.key));
    return true;
  }

  /** Forget (and wipe) every key: exclusion, or a new registration. */
  clear(): void {
    wipe(...this.#keys.map((k) => k.key));
    this.#keys = [];
  }

  fingerprints(): KeyFingerprint[] {
    return this.#keys.map((k) => fingerprintOf(`WRAP_KEY ${k.keyId}`, k.key));
  }
}
