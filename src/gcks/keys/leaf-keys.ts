/**
 * LKH leaf keys derived from a per-group secret and the leaf's Key ID (docs/decisions.md,
 * "LKH leaf keys derived from a sealed group secret and the leaf's Key ID"):
 *
 *   leaf key = first L octets of HMAC-SHA-256(secret, "gkm-ikev2 LKH leaf" | Key ID as uint32)
 *
 * L is the KWA key size (16, 24 or 32 octets). A leaf key is a KWK only its member and the
 * GCKS hold (RFC 9838 §3.2, Appendix A); HMAC-SHA-256 is a PRF, so a member that holds its
 * own leaf key learns nothing about another's, and Key IDs are never reused within a group
 * (key-ids.ts), so no two leaves get the same key. The secret is 32 random octets, sealed in
 * the store like every other key (group_secrets); the GCKS then stores a leaf's place, not
 * its key.
 */
import { getPrf } from '../../ikev2/crypto/prf.ts';
import { wipe } from '../../ikev2/crypto/zeroize.ts';
import { GkmError } from '../../ikev2/errors.ts';
import { PrfId } from '../../ikev2/registry/transform.ts';
import type { LeafKeySource } from './key-tree.ts';

/** Size of a group's leaf-key secret. */
export const LEAF_SECRET_LENGTH = 32;

const LABEL = Buffer.from('gkm-ikev2 LKH leaf', 'latin1');

/** The leaf keys of the group whose secret is `secret` (kept by reference: wipe it when the group goes). */
export function derivedLeafKeys(secret: Buffer): LeafKeySource {
  if (secret.length !== LEAF_SECRET_LENGTH) throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'leaf-key secret', detail: `${secret.length} octets, not ${LEAF_SECRET_LENGTH}` });
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  return (keyId, length) => {
    if (!Number.isInteger(keyId) || keyId < 1 || keyId > 0xffffffff) throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'leaf Key ID', detail: String(keyId) });
    if (length < 1 || length > prf.outputLength) throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'leaf key length', detail: String(length) });
    const id = Buffer.allocUnsafe(4);
    id.writeUInt32BE(keyId, 0);
    const out = prf.compute(secret, [LABEL, id]);
    if (length === out.length) return out;
    const key = Buffer.allocUnsafeSlow(length); // an allocation of its own (not the shared pool)
    out.copy(key, 0, 0, length);
    wipe(out);
    return key;
  };
}
