/**
 * Extended Sequence Numbers (RFC 4303 §2.2.1, Appendix A.2.1): only the low 32 bits
 * travel; the receiver infers the high half from its window top T = Th:Tl and size W.
 */
const TWO32 = 0x1_0000_0000;

/** Largest 64-bit sequence number the datapath handles (JS safe integer). */
export const MAX_SEQ64 = Number.MAX_SAFE_INTEGER;

/**
 * Seqh per RFC 4303 A.2.1. Returns -1 when the packet would lie below sequence
 * number 0 (Th = 0 and Seql in the "previous" subspace): it can only be a replay.
 */
export function inferSeqHi(seqLo: number, top: number, windowSize: number): number {
  const th = Math.floor(top / TWO32);
  const tl = top % TWO32;
  const w = windowSize;
  if (tl >= w - 1) {
    // Case A: window within one subspace.
    return seqLo >= tl - w + 1 ? th : th + 1;
  }
  // Case B: window spans two subspaces; bottom = Tl - W + 1 (mod 2^32).
  const bottom = tl - w + 1 + TWO32;
  return seqLo >= bottom ? th - 1 : th;
}

export function seq64(hi: number, lo: number): number {
  return hi * TWO32 + lo;
}
