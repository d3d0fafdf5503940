/**
 * Public values whose X25519 / X448 shared secret is all zero, whatever our private key
 * (RFC 7748 §6: such a secret MUST be rejected). A clamped scalar is a multiple of the
 * cofactor, so the result is zero exactly for the points of small order on the curve and its
 * twist, in any encoding the function accepts:
 *
 *   X25519  u = 0, 1, p-1 and the two u-coordinates of the points of order 8, plus the
 *           non-canonical p and p+1 (the only values in [p, 2^255) that reduce to a
 *           small-order u); bit 255 is ignored on input (RFC 7748 §5), so it is masked here
 *   X448    u = 0, 1, p-1, p, p+1 (no order-8 points: the cofactor is 4)
 *
 * Knowing them lets a responder refuse such a KE at once (INVALID_SYNTAX in the IKE_SA_INIT
 * reply) while the shared secret itself is computed later, off the event loop
 * (keypair-pool.ts derive ahead). test/ikev2/crypto/xdh-low-order.test.ts checks every entry
 * against the native X25519/X448 and recomputes the order-8 points.
 */
import type { XdhCurveName } from './ke-dh.ts';

/** Little-endian, as in the KE payload. */
const X25519_LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0
  '0100000000000000000000000000000000000000000000000000000000000000', // 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1
].map((h) => Buffer.from(h, 'hex'));

/** p = 2^448 - 2^224 - 1, little-endian: 28 octets 0xff, 0xfe, 27 octets 0xff. */
const x448 = (low: number): Buffer => {
  const b = Buffer.alloc(56, 0xff);
  b[0] = low;
  b[28] = 0xfe;
  return b;
};
const X448_LOW_ORDER = [Buffer.alloc(56), Buffer.concat([Buffer.of(1), Buffer.alloc(55)]), x448(0xfe), x448(0xff), (() => {
  const b = Buffer.alloc(56, 0xff); // p + 1 = 2^448 - 2^224
  b.fill(0, 0, 28);
  return b;
})()];

/** Every public value with an all-zero shared secret (for tests). */
export function lowOrderValues(curve: XdhCurveName): readonly Buffer[] {
  return curve === 'x25519' ? X25519_LOW_ORDER : X448_LOW_ORDER;
}

/** Whether `u` (a public value of the curve's length) gives an all-zero shared secret. */
export function isLowOrder(curve: XdhCurveName, u: Buffer): boolean {
  const list = curve === 'x25519' ? X25519_LOW_ORDER : X448_LOW_ORDER;
  const last = u.length - 1;
  const lastMask = curve === 'x25519' ? 0x7f : 0xff;
  for (const bad of list) {
    if (bad.length !== u.length || (u[last]! & lastMask) !== bad[last]) continue;
    if (u.compare(bad, 0, last, 0, last) === 0) return true;
  }
  return false;
}
