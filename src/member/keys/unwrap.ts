/**
 * Unwrapping one received key (RFC 9838 §4.5.4, digest §12 item 7): the KWA's integrity
 * check must pass and the result must have exactly the expected length (an SA's KEYMAT
 * length for SA_KEY, the KWA key size for WRAP_KEY). Either failure makes that key path
 * unusable; a wrong-length result is wiped before the error is raised.
 */
import { getKeyWrap } from '../../ikev2/crypto/keywrap.ts';
import { wipe } from '../../ikev2/crypto/zeroize.ts';
import { GkmError, isGkmError } from '../../ikev2/errors.ts';

export type UnwrapFailure = 'unwrap-failed' | 'bad-length';

/** Throws GKM_CRYPTO_KEY_UNWRAP_FAILED (integrity, or a KWK of the wrong size) or GKM_KEYS_BAD_KEY_LENGTH. */
export function unwrapKey(kwaId: number, kwk: Uint8Array, encryptedKey: Uint8Array, expectedLength: number, field = 'wrappedKey'): Buffer {
  const kw = getKeyWrap(kwaId);
  if (kwk.length !== kw.keyLength) throw new GkmError('GKM_CRYPTO_KEY_UNWRAP_FAILED', { field });
  const key = kw.unwrap(kwk, encryptedKey);
  if (key.length !== expectedLength) {
    const got = key.length;
    wipe(key);
    throw new GkmError('GKM_KEYS_BAD_KEY_LENGTH', { field, detail: `${got} octet(s), expected ${expectedLength}` });
  }
  return key;
}

/** unwrapKey, with the two path failures as values instead of exceptions. */
export function tryUnwrapKey(kwaId: number, kwk: Uint8Array, encryptedKey: Uint8Array, expectedLength: number): Buffer | UnwrapFailure {
  try {
    return unwrapKey(kwaId, kwk, encryptedKey, expectedLength);
  } catch (e) {
    if (isGkmError(e, 'GKM_KEYS_BAD_KEY_LENGTH')) return 'bad-length';
    if (isGkmError(e, 'GKM_CRYPTO_KEY_UNWRAP_FAILED')) return 'unwrap-failed';
    throw e;
  }
}
