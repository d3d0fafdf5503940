/** Sets of items grouped by tree depth, giving a shallowest item in O(max depth). */
export class DepthBuckets<T> {
  readonly #byDepth = new Map<number, Set<T>>();

  add(depth: number, item: T): void {
    let s = this.#byDepth.get(depth);
    if (!s) this.#byDepth.set(depth, (s = new Set()));
    s.add(item);
  }

  delete(depth: number, item: T): void {
    const s = this.#byDepth.get(depth);
    if (!s?.delete(item)) return;
    if (s.size === 0) this.#byDepth.delete(depth);
  }

  /** The first-added item of the smallest depth. */
  shallowest(): { readonly depth: number; readonly item: T } | undefined {
    let best: number | undefined;
    for (const d of this.#byDepth.keys()) if (best === undefined || d < best) best = d;
    if (best === undefined) return undefined;
    const item = this.#byDepth.get(best)!.values().next().value as T;
    return { depth: best, item };
  }
}
