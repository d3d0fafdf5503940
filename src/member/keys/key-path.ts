/**
 * The GM's key-path algorithm (RFC 9838 §3.3, digest §5), which works the same whatever key
 * management the GCKS uses (plain GSK_w, LKH, …):
 *
 * For each SA_KEY in turn, resolve its KWK ID:
 *   0              → GSK_w of the SA the message arrived on;
 *   a WKP key      → that key;
 *   otherwise      → a WRAP_KEY of this message with that Key ID, whose own KWK ID is
 *                    resolved the same way (recursively).
 * The first SA_KEY that resolves and unwraps (integrity and exact length) wins; the
 * WRAP_KEYs used, nearest the SA key first, are the new Key Path, and the key that
 * decrypted the last of them is its anchor (GSK_w or a WKP key). Nothing resolves: the GM
 * is excluded. A KW failure or a wrong length makes that path unusable; others are tried.
 */
import { getKeyWrap } from '../../ikev2/crypto/keywrap.ts';
import { wipe } from '../../ikev2/crypto/zeroize.ts';
import type { WrappedKey } from '../../ikev2/wire/group-attributes.ts';
import { tryUnwrapKey, type UnwrapFailure } from './unwrap.ts';
import type { HeldKey, KeyPathAnchor, WorkingKeyPath } from './working-key-path.ts';

/** The SA a KD arrived over. */
export interface CarryingSa {
  readonly kwaId: number;
  /** Its default KWK. */
  readonly gskW: Buffer;
}

export interface KeyFailure {
  readonly keyId: number;
  readonly kwkId: number;
  readonly reason: UnwrapFailure;
}

export interface ResolvedSaKey {
  readonly keymat: Buffer;
  /** WRAP_KEYs used, nearest the SA key first (keys bound to the carrying SA's KWA). */
  readonly newPath: readonly HeldKey[];
  readonly anchor: KeyPathAnchor;
}

export interface SaKeyResolution {
  /** null: no SA_KEY could be resolved (the GM is excluded). */
  readonly resolved: ResolvedSaKey | null;
  /** Unwraps that failed on the way (integrity or length). */
  readonly failures: readonly KeyFailure[];
}

export interface SaKeyInput {
  /** SA_KEYs of one Group Key Bag, in message order. */
  readonly saKeys: readonly WrappedKey[];
  /** KEYMAT length of the SA (groupSaKeyMaterialLength). */
  readonly expectedLength: number;
  readonly carrier: CarryingSa;
  readonly wkp: WorkingKeyPath;
  /** WRAP_KEYs of the message's Member Key Bag. */
  readonly wrapKeys: readonly WrappedKey[];
}

interface Reached {
  readonly key: Buffer;
  readonly kwaId: number;
  readonly path: readonly HeldKey[];
  readonly anchor: KeyPathAnchor;
}

export function resolveSaKey(input: SaKeyInput): SaKeyResolution {
  const { carrier, wkp, wrapKeys } = input;
  const kwkLength = getKeyWrap(carrier.kwaId).keyLength; // WRAP_KEY size = KWA key size (§3.1)
  const failures: KeyFailure[] = [];
  const unwrapped: Buffer[] = [];
  /** KWK ID → how it was reached; null while in progress (cycle guard) or unreachable. */
  const memo = new Map<number, Reached | null>();

  const reach = (kwkId: number): Reached | null => {
    if (kwkId === 0) return { key: carrier.gskW, kwaId: carrier.kwaId, path: [], anchor: { kind: 'gsk_w' } };
    const i = wkp.indexOf(kwkId);
    if (i >= 0) {
      const held = wkp.at(i)!;
      return { key: held.key, kwaId: held.kwaId, path: [], anchor: { kind: 'wkp', index: i } };
    }
    if (memo.has(kwkId)) return memo.get(kwkId)!;
    memo.set(kwkId, null);
    for (const w of wrapKeys) {
      if (w.keyId !== kwkId) continue;
      const under = reach(w.kwkId);
      if (!under) continue;
      const key = tryUnwrapKey(under.kwaId, under.key, w.encryptedKey, kwkLength);
      if (typeof key === 'string') {
        failures.push({ keyId: w.keyId, kwkId: w.kwkId, reason: key });
        continue;
      }
      unwrapped.push(key);
      const held: HeldKey = { keyId: kwkId, key, kwaId: carrier.kwaId };
      const r: Reached = { key, kwaId: carrier.kwaId, path: [held, ...under.path], anchor: under.anchor };
      memo.set(kwkId, r);
      return r;
    }
    return null;
  };

  for (const sa of input.saKeys) {
    const r = reach(sa.kwkId);
    if (!r) continue;
    const keymat = tryUnwrapKey(r.kwaId, r.key, sa.encryptedKey, input.expectedLength);
    if (typeof keymat === 'string') {
      failures.push({ keyId: sa.keyId, kwkId: sa.kwkId, reason: keymat });
      continue;
    }
    const used = new Set(r.path.map((h) => h.key));
    wipe(...unwrapped.filter((k) => !used.has(k)));
    return { resolved: { keymat, newPath: r.path, anchor: r.anchor }, failures };
  }
  wipe(...unwrapped);
  return { resolved: null, failures };
}
