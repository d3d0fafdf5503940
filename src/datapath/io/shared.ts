/**
 * Reference-counted resources opened asynchronously (sockets shared by several SAs: all
 * SAs of a group on one port share the receiving socket; rollover adds an SA before the
 * old one goes). Concurrent acquisitions of one key share a single open.
 */
export class Shared<T> {
  private readonly items = new Map<string, { value: Promise<T>; refs: number }>();

  constructor(private readonly closeItem: (item: T) => Promise<void>) {}

  async acquire(key: string, open: () => Promise<T>): Promise<T> {
    let e = this.items.get(key);
    if (e === undefined) {
      e = { value: open(), refs: 0 };
      this.items.set(key, e);
    }
    e.refs++;
    try {
      return await e.value;
    } catch (err) {
      if (--e.refs === 0 && this.items.get(key) === e) this.items.delete(key);
      throw err;
    }
  }

  async release(key: string): Promise<void> {
    const e = this.items.get(key);
    if (e === undefined) return;
    if (--e.refs > 0) return;
    this.items.delete(key);
    await this.closeItem(await e.value);
  }

  /** Opened items (awaits pending opens; failed ones are skipped). */
  async values(): Promise<T[]> {
    const settled = await Promise.allSettled([...this.items.values()].map((e) => e.value));
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  async closeAll(): Promise<void> {
    const all = await this.values();
    this.items.clear();
    await Promise.all(all.map((v) => this.closeItem(v)));
  }
}
