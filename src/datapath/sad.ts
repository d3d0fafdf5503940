/**
 * Security Association Database (RFC 4301 §4.4.2) for group and unicast SAs.
 *
 * - Inbound lookup is longest match (RFC 5374 §3.3, RFC 4301 §4.1): SPI+dst+src, then
 *   SPI+dst, then SPI alone; so GCKS-chosen group SPIs may equal local unicast SPIs.
 * - Outbound selection is by traffic selector, newest active SA first: during a rollover
 *   (RFC 5374 §4.2.1, RFC 9838 §2.6) the new SA is added ahead of the old one, senders
 *   switch to it once it is active (after ATD) and the old one is removed after DTD.
 * - Per-SA counters and soft/hard lifetimes by time, bytes and packets (RFC 4301 §4.4.2.1).
 *
 * The payload `T` is whatever the provider attaches (the userspace ESP state, a kernel
 * handle...), so the database knows nothing about how packets are processed.
 */
import { GkmError, type ErrorCode } from '../ikev2/errors.ts';
import { sameAddress, type Address } from './address.ts';
import { matchesAny, type Flow, type TrafficSelector } from './selector.ts';

export type SaDirection = 'in' | 'out';

export interface LifetimeLimits {
  readonly seconds?: number;
  readonly bytes?: number;
  readonly packets?: number;
}

export interface SaLifetime {
  readonly soft?: LifetimeLimits;
  readonly hard?: LifetimeLimits;
}

export interface SaCounters {
  packets: number;
  /** Payload bytes (inner packet or transport payload) processed. */
  bytes: number;
  replayDrops: number;
  authFailures: number;
  /** Malformed packets and bad padding on this SA. */
  malformed: number;
  /** Packets outside the SA's traffic selectors after decryption (RFC 4301 §5.2). */
  policyDrops: number;
  /** Dummy packets (next header 59) sent or silently discarded. */
  dummies: number;
}

export interface SadEntryInit<T> {
  readonly direction: SaDirection;
  readonly spi: number;
  /** Inbound key: destination (the group or local address) and, optionally, the source. */
  readonly dst?: Address;
  readonly src?: Address;
  readonly selectors?: readonly TrafficSelector[];
  readonly lifetime?: SaLifetime;
  /** Outbound: not selected before this clock time (ms), e.g. now + ATD. */
  readonly activateAt?: number;
  readonly sa: T;
}

export type LookupScope = 'spi' | 'spi-dst' | 'spi-dst-src';

export interface LifetimeEvent<T> {
  readonly entry: SadEntry<T>;
  readonly kind: 'soft' | 'hard';
  readonly reason: 'seconds' | 'bytes' | 'packets';
}

export interface SadOptions<T> {
  /** Milliseconds; Date.now by default. */
  readonly clock?: () => number;
  readonly onLifetime?: (event: LifetimeEvent<T>) => void;
}

const bad = (field: string, detail: string): GkmError => new GkmError('GKM_ESP_BAD_CONFIG', { field, detail });

function checkLimits(l: LifetimeLimits | undefined, field: string): void {
  for (const [k, v] of Object.entries(l ?? {})) {
    if (typeof v !== 'number' || !(v > 0)) throw bad(`${field}.${k}`, String(v));
  }
}

export class SadEntry<T> {
  readonly id: number;
  readonly direction: SaDirection;
  readonly spi: number;
  readonly dst: Address | undefined;
  readonly src: Address | undefined;
  readonly scope: LookupScope;
  readonly selectors: readonly TrafficSelector[] | undefined;
  readonly lifetime: SaLifetime;
  readonly sa: T;
  readonly addedAt: number;
  activateAt: number;
  /** Removal deadline (DTD); Infinity while not retired. */
  removeAt = Infinity;
  expired = false;
  softFired = false;
  readonly counters: SaCounters = {
    packets: 0,
    bytes: 0,
    replayDrops: 0,
    authFailures: 0,
    malformed: 0,
    policyDrops: 0,
    dummies: 0,
  };
  /** Earliest clock time at which a time lifetime fires. */
  nextTimeEvent: number;

  constructor(id: number, init: SadEntryInit<T>, now: number) {
    if (!Number.isInteger(init.spi) || init.spi < 1 || init.spi > 0xffff_ffff) throw bad('spi', String(init.spi));
    if (init.src !== undefined && init.dst === undefined) throw bad('src', 'a source needs a destination');
    checkLimits(init.lifetime?.soft, 'lifetime.soft');
    checkLimits(init.lifetime?.hard, 'lifetime.hard');
    this.id = id;
    this.direction = init.direction;
    this.spi = init.spi;
    this.dst = init.dst;
    this.src = init.src;
    this.scope = init.src !== undefined ? 'spi-dst-src' : init.dst !== undefined ? 'spi-dst' : 'spi';
    this.selectors = init.selectors;
    this.lifetime = init.lifetime ?? {};
    this.sa = init.sa;
    this.addedAt = now;
    this.activateAt = init.activateAt ?? now;
    this.nextTimeEvent = this.timeDeadline();
  }

  private timeDeadline(): number {
    const soft = this.softFired ? undefined : this.lifetime.soft?.seconds;
    const hard = this.lifetime.hard?.seconds;
    return this.addedAt + Math.min(soft ?? Infinity, hard ?? Infinity) * 1000;
  }

  /** Usable now: not expired, not past its removal deadline. */
  live(now: number): boolean {
    return !this.expired && now < this.removeAt;
  }

  /** Counts a dropped packet by its error code. */
  countError(code: ErrorCode): void {
    const c = this.counters;
    if (code === 'GKM_ESP_REPLAY') c.replayDrops++;
    else if (code === 'GKM_ESP_AUTH_FAILED') c.authFailures++;
    else if (code === 'GKM_ESP_POLICY_MISMATCH') c.policyDrops++;
    else if (code === 'GKM_ESP_MALFORMED' || code === 'GKM_ESP_BAD_PADDING' || code === 'GKM_IP_MALFORMED') c.malformed++;
  }

  /** Lifetime events due at `now` for the current counters (fires each kind once). */
  dueEvents(now: number): Array<Omit<LifetimeEvent<T>, 'entry'>> {
    const out: Array<Omit<LifetimeEvent<T>, 'entry'>> = [];
    const reached = (l: LifetimeLimits | undefined): LifetimeEvent<T>['reason'] | null => {
      if (l === undefined) return null;
      if (l.packets !== undefined && this.counters.packets >= l.packets) return 'packets';
      if (l.bytes !== undefined && this.counters.bytes >= l.bytes) return 'bytes';
      if (l.seconds !== undefined && now >= this.addedAt + l.seconds * 1000) return 'seconds';
      return null;
    };
    if (!this.softFired) {
      const r = reached(this.lifetime.soft);
      if (r !== null) {
        this.softFired = true;
        out.push({ kind: 'soft', reason: r });
      }
    }
    const h = reached(this.lifetime.hard);
    if (h !== null) {
      this.expired = true;
      out.push({ kind: 'hard', reason: h });
    }
    this.nextTimeEvent = this.timeDeadline();
    return out;
  }
}

export class Sad<T> {
  private nextId = 1;
  private readonly byId = new Map<number, SadEntry<T>>();
  /** Inbound entries by SPI (usually one, a few during rollover or SPI collisions). */
  private readonly inbound = new Map<number, Array<SadEntry<T>>>();
  /** Outbound entries, newest first. */
  private outbound: Array<SadEntry<T>> = [];
  readonly clock: () => number;
  private readonly onLifetime: ((e: LifetimeEvent<T>) => void) | undefined;

  constructor(opts: SadOptions<T> = {}) {
    this.clock = opts.clock ?? Date.now;
    this.onLifetime = opts.onLifetime;
  }

  get size(): number {
    return this.byId.size;
  }

  entries(): IterableIterator<SadEntry<T>> {
    return this.byId.values();
  }

  get(id: number): SadEntry<T> | undefined {
    return this.byId.get(id);
  }

  add(init: SadEntryInit<T>): SadEntry<T> {
    const entry = new SadEntry(this.nextId, init, this.clock());
    if (entry.direction === 'in') {
      const list = this.inbound.get(entry.spi) ?? [];
      for (const e of list) {
        if (e.scope === entry.scope && sameOpt(e.dst, entry.dst) && sameOpt(e.src, entry.src)) {
          throw bad('spi', `inbound SA ${entry.spi} with the same lookup key exists`);
        }
      }
      list.push(entry);
      this.inbound.set(entry.spi, list);
    } else {
      this.outbound = [entry, ...this.outbound];
    }
    this.nextId++;
    this.byId.set(entry.id, entry);
    return entry;
  }

  remove(entry: SadEntry<T>): boolean {
    if (this.byId.get(entry.id) !== entry) return false;
    this.byId.delete(entry.id);
    if (entry.direction === 'in') {
      const list = (this.inbound.get(entry.spi) ?? []).filter((e) => e !== entry);
      if (list.length === 0) this.inbound.delete(entry.spi);
      else this.inbound.set(entry.spi, list);
    } else {
      this.outbound = this.outbound.filter((e) => e !== entry);
    }
    return true;
  }

  /** Schedules removal after `afterMs` (DTD; RFC 5374 §4.2.1), whatever the lifetime. */
  retire(entry: SadEntry<T>, afterMs: number): void {
    entry.removeAt = Math.min(entry.removeAt, this.clock() + Math.max(0, afterMs));
  }

  /**
   * Rollover: installs `next` ahead of `old`. Outbound, `next` is used after `atdMs`;
   * `old` is removed after `dtdMs` (RFC 9838 §2.6: absent ATD/DTD mean 0).
   */
  rollover(old: SadEntry<T>, next: SadEntryInit<T>, delays: { atdMs?: number; dtdMs?: number } = {}): SadEntry<T> {
    const now = this.clock();
    const entry = this.add(next.direction === 'out' ? { ...next, activateAt: now + (delays.atdMs ?? 0) } : next);
    this.retire(old, delays.dtdMs ?? 0);
    return entry;
  }

  /** RFC 5374 longest-match inbound lookup. */
  lookupInbound(spi: number, dst: Address, src: Address): SadEntry<T> | undefined {
    const list = this.inbound.get(spi);
    if (list === undefined) return undefined;
    let best: SadEntry<T> | undefined;
    let bestRank = 0;
    for (const e of list) {
      let rank = 0;
      if (e.scope === 'spi') rank = 1;
      else if (sameAddress(e.dst!, dst)) rank = e.scope === 'spi-dst' ? 2 : sameAddress(e.src!, src) ? 3 : 0;
      if (rank > bestRank && e.live(e.removeAt === Infinity ? 0 : this.clock())) {
        best = e;
        bestRank = rank;
      }
    }
    return best;
  }

  /** Newest active outbound SA whose selectors match the flow. */
  selectOutbound(flow: Flow): SadEntry<T> | undefined {
    const now = this.clock();
    for (const e of this.outbound) {
      if (e.activateAt <= now && e.live(now) && matchesAny(e.selectors, flow)) return e;
    }
    return undefined;
  }

  /**
   * selectOutbound for the flow `flowOf(a, b)`, derived only if an active SA has selectors
   * (the per-packet path: no flow object while every candidate matches all traffic).
   */
  selectOutboundBy<A, B>(flowOf: (a: A, b: B) => Flow, a: A, b: B): SadEntry<T> | undefined {
    const now = this.clock();
    const list = this.outbound;
    let flow: Flow | undefined;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (!(e.activateAt <= now && e.live(now))) continue;
      if (e.selectors === undefined) return e;
      if (matchesAny(e.selectors, (flow ??= flowOf(a, b)))) return e;
    }
    return undefined;
  }

  /**
   * Counts one processed packet and fires lifetime events. Returns false when the SA hit
   * its hard lifetime (it is then removed; this packet is still the last one it handles).
   */
  account(entry: SadEntry<T>, bytes: number): boolean {
    const c = entry.counters;
    c.packets++;
    c.bytes += bytes;
    const l = entry.lifetime;
    const due =
      (l.soft !== undefined && !entry.softFired && limitHit(l.soft, c)) ||
      (l.hard !== undefined && limitHit(l.hard, c)) ||
      (entry.nextTimeEvent !== Infinity && this.clock() >= entry.nextTimeEvent);
    if (due) this.fire(entry);
    return !entry.expired;
  }

  /** Time-driven housekeeping: lifetimes by seconds, and SAs past their DTD. */
  sweep(): void {
    const now = this.clock();
    for (const e of [...this.byId.values()]) {
      if (now >= e.removeAt) this.remove(e);
      else if (now >= e.nextTimeEvent) this.fire(e);
    }
  }

  private fire(entry: SadEntry<T>): void {
    for (const ev of entry.dueEvents(this.clock())) {
      if (ev.kind === 'hard') this.remove(entry);
      this.onLifetime?.({ entry, ...ev });
    }
  }
}

function limitHit(l: LifetimeLimits, c: SaCounters): boolean {
  return (l.packets !== undefined && c.packets >= l.packets) || (l.bytes !== undefined && c.bytes >= l.bytes);
}

function sameOpt(a: Address | undefined, b: Address | undefined): boolean {
  return a === undefined || b === undefined ? a === b : sameAddress(a, b);
}
