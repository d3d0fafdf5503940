/** Reverse lookup for the code-point tables: value -> name, or `UNKNOWN(n)`. */
export type CodeTable = Readonly<Record<string, number>>;

const reverseCache = new WeakMap<CodeTable, Map<number, string>>();

export function nameOf(table: CodeTable, value: number): string {
  let rev = reverseCache.get(table);
  if (!rev) {
    rev = new Map();
    for (const [k, v] of Object.entries(table)) if (!rev.has(v)) rev.set(v, k);
    reverseCache.set(table, rev);
  }
  return rev.get(value) ?? `UNKNOWN(${value})`;
}

export function isKnown(table: CodeTable, value: number): boolean {
  nameOf(table, value);
  return reverseCache.get(table)!.has(value);
}
