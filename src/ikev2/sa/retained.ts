/**
 * Bytes an IKE SA keeps for its lifetime (SPIs, nonces, the IKE_SA_INIT messages AUTH signs)
 * are copied into one allocation of their own. Node serves small Buffer.from / allocUnsafe /
 * concat results from a shared 8 KiB pool, and one long-lived slice keeps its whole slab
 * alive: with many SAs that pinned ~12 KB per SA (docs/performance.md, "IKE SA establishment").
 */
export function retained(...parts: readonly Uint8Array[]): Buffer[] {
  const own = retainedWhole(...parts);
  let at = 0;
  return parts.map((p) => own.subarray(at, (at += p.length)));
}

/** The concatenation of `parts` in one allocation of its own, as one Buffer (no view per part). */
export function retainedWhole(...parts: readonly Uint8Array[]): Buffer {
  const own = Buffer.allocUnsafeSlow(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    own.set(p, at);
    at += p.length;
  }
  return own;
}

/**
 * Octets an IKE SA keeps but rarely reads (its SPIs, the peer's identity, the cached last
 * response), as a one-byte string: one character per octet (latin1). A string lives on the
 * JS heap: no Buffer view (96 B), no ArrayBuffer (88 B) and no malloc'd backing store with
 * its bookkeeping per SA, and nothing long-lived left between the short-lived allocations
 * of the allocator's arenas. Never for keys: a string cannot be wiped.
 */
export function latin1Of(...parts: readonly Uint8Array[]): string {
  if (parts.length === 1) return Buffer.from(parts[0]!.buffer, parts[0]!.byteOffset, parts[0]!.byteLength).toString('latin1');
  return Buffer.concat(parts).toString('latin1');
}

/** Octets [from, to) of a latin1Of() string, in a new (short-lived, possibly pooled) Buffer. */
export function latin1Bytes(s: string, from = 0, to = s.length): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  for (let i = from; i < to; i++) out[i - from] = s.charCodeAt(i);
  return out;
}

/** Whether `b` equals octets [from, from + b.length) of a latin1Of() string. */
export function latin1Equals(s: string, from: number, b: Uint8Array): boolean {
  if (from + b.length > s.length) return false;
  for (let i = 0; i < b.length; i++) if (s.charCodeAt(from + i) !== b[i]) return false;
  return true;
}
