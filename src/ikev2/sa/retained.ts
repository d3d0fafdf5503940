/**
 * Bytes an IKE SA keeps for its lifetime (SPIs, nonces, the IKE_SA_INIT messages AUTH signs)
 * are copied into one allocation of their own. Node serves small Buffer.from / allocUnsafe /
 * concat results from a shared 8 KiB pool, and one long-lived slice keeps its whole slab
 * alive: with many SAs that pinned ~12 KB per SA (docs/performance.md, "IKE SA establishment").
 */
export function retained(...parts: readonly Uint8Array[]): Buffer[] {
  const own = Buffer.allocUnsafeSlow(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  return parts.map((p) => {
    own.set(p, at);
    return own.subarray(at, (at += p.length));
  });
}
