/**
 * What a GM holds for one group, in memory only (RFC 9838 §2.3-§2.6, §3.3; digest §1, §9):
 * the policy, the Rekey SA (key, working key path, AUTH_KEY, Message ID state), the
 * Data-Security SAs and their place in the SA database, and their lifetimes.
 *
 * Every key download goes through one path, `apply()`:
 *   registration   replaces all state of the group (§2.3: "a successful registration
 *                  replaces all state"); everything held before is removed and wiped
 *   update         (GSA_REKEY / GSA_INBAND_REKEY, via a rekey receiver) adds new SAs and a
 *                  new Rekey SA; the SAs they replace are removed after DTD (§2.6)
 *
 * Lifetimes (GSA_KEY_LIFETIME, seconds): an SA is removed and wiped at its hard lifetime;
 * at the soft lifetime of the earliest one (lifetime × softFraction, minus up to
 * lifetime × jitterFraction at random) the owner is told to re-register, unless a newer
 * download has arrived by then (the timer is re-armed on every apply). The Rekey SA's
 * Message IDs follow rekey-message-ids.ts.
 */
import { wipe } from '../../ikev2/crypto/zeroize.ts';
import type { EspSaKeyRecord } from '../../ikev2/keylog/wireshark.ts';
import { IntegId } from '../../ikev2/registry/transform.ts';
import type { Scheduler, Timer } from '../../ikev2/sa/types.ts';
import { groupSaKeyLayout } from '../../ikev2/wire/group-policy.ts';
import { isAddressRange } from '../../ikev2/wire/sub/traffic-selector.ts';
import { wipeRegistration, type AcceptedRegistration, type GroupDataSa, type GroupRekeySa } from './accept.ts';
import { RekeyMessageIds } from './rekey-message-ids.ts';
import type { GroupRole, GroupSaDatabase, GroupSaRef } from './sa-database.ts';
import { modeOf } from './summary.ts';

export interface LifetimePolicy {
  /** Soft lifetime as a fraction of GSA_KEY_LIFETIME (RFC 4301 §4.4.2.1). */
  readonly softFraction: number;
  /** Up to this fraction of the lifetime earlier, at random, so GMs do not re-register at once. */
  readonly jitterFraction: number;
}

export const DEFAULT_LIFETIME_POLICY: LifetimePolicy = { softFraction: 0.9, jitterFraction: 0.05 };

export interface GroupStateDeps {
  readonly name: string;
  readonly scheduler: Scheduler;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  readonly role: GroupRole;
  readonly lifetimes?: LifetimePolicy;
  readonly saDatabase?: GroupSaDatabase;
  readonly keyLog?: { recordEspSa(r: EspSaKeyRecord): void };
  readonly onSoftLifetime: () => void;
  readonly onExpired: (what: 'data-security-sa' | 'rekey-sa', spi: string) => void;
}

/** A key download as the group applies it. */
export type GroupKeyDownload =
  | { readonly kind: 'registration'; readonly registration: AcceptedRegistration }
  | {
      readonly kind: 'update';
      readonly rekeySa?: GroupRekeySa;
      readonly dataSecurity: readonly GroupDataSa[];
      /** SPIs (hex) of SAs the download replaces or deletes. */
      readonly retire: readonly string[];
    };

interface HeldSa {
  readonly sa: GroupDataSa;
  readonly ref: GroupSaRef | undefined;
  readonly expiry: Timer | undefined;
  readonly softAt: number | undefined;
}

export class GroupState {
  readonly #deps: GroupStateDeps;
  readonly #lifetimes: LifetimePolicy;
  #registration: AcceptedRegistration | undefined;
  #sas: HeldSa[] = [];
  #rekeyIds: RekeyMessageIds | undefined;
  #rekeySpi: string | undefined;
  #rekeyExpiry: Timer | undefined;
  #rekeySoftAt: number | undefined;
  #soft: Timer | undefined;

  constructor(deps: GroupStateDeps) {
    this.#deps = deps;
    this.#lifetimes = deps.lifetimes ?? DEFAULT_LIFETIME_POLICY;
  }

  get registration(): AcceptedRegistration | undefined {
    return this.#registration;
  }

  get dataSecuritySas(): readonly GroupDataSa[] {
    return this.#sas.map((h) => h.sa);
  }

  /** Replay state of the current Rekey SA (absent for in-band groups). */
  get rekeyMessageIds(): RekeyMessageIds | undefined {
    return this.#rekeyIds;
  }

  /** Scheduler time of the next soft-lifetime re-registration, if any. */
  get softDeadline(): number | undefined {
    const all = [...this.#sas.map((h) => h.softAt), this.#rekeySoftAt].filter((t): t is number => t !== undefined);
    return all.length ? Math.min(...all) : undefined;
  }

  /** Applies a key download; returns how many Data-Security SAs went to the SA database. */
  apply(d: GroupKeyDownload): number {
    if (d.kind === 'registration') {
      const seen = this.#rekeySeen();
      this.clear();
      this.#registration = d.registration;
      const rekey = d.registration.rekeySa;
      if (rekey) this.#setRekeySa(rekey, seen);
      const installed = d.registration.dataSecurity.map((sa) => this.#hold(sa, d.registration));
      this.#armSoft();
      return installed.filter(Boolean).length;
    }
    const reg = this.#registration;
    if (!reg) throw new Error(`group ${this.#deps.name}: an update needs a registration first`);
    const dtdMs = reg.groupWide.deactivationDelay * 1000;
    for (const spi of d.retire) this.#retireAfter(spi, dtdMs);
    if (d.rekeySa) this.#setRekeySa(d.rekeySa, this.#rekeySeen());
    const installed = d.dataSecurity.map((sa) => this.#hold(sa, reg));
    this.#armSoft();
    return installed.filter(Boolean).length;
  }

  /** Forgets everything: SAs out of the SA database, every key wiped, timers stopped. */
  clear(): void {
    this.#soft?.cancel();
    this.#soft = undefined;
    this.#rekeyExpiry?.cancel();
    this.#rekeyExpiry = undefined;
    this.#rekeySoftAt = undefined;
    this.#rekeyIds = undefined;
    this.#rekeySpi = undefined;
    for (const h of this.#sas.splice(0)) this.#drop(h);
    if (this.#registration) wipeRegistration(this.#registration);
    this.#registration = undefined;
  }

  // --- internals ---------------------------------------------------------------------------

  #lifetimeMs(seconds: number | undefined): { hardMs: number; softMs: number } | undefined {
    if (seconds === undefined) return undefined;
    const hardMs = seconds * 1000;
    const { softFraction, jitterFraction } = this.#lifetimes;
    return { hardMs, softMs: Math.max(0, hardMs * softFraction - hardMs * jitterFraction * this.#deps.random()) };
  }

  /** The current Rekey SA's SPI and Message ID state, carried over when the same SA comes again. */
  #rekeySeen(): { readonly spi: string; readonly ids: RekeyMessageIds } | undefined {
    return this.#rekeySpi !== undefined && this.#rekeyIds ? { spi: this.#rekeySpi, ids: this.#rekeyIds } : undefined;
  }

  /**
   * A Rekey SA (new, or the current one again at re-registration). Its GSA_INITIAL_MESSAGE_ID
   * starts the Message ID state of a new SA; for the same SA it applies only when not stale (§1).
   */
  #setRekeySa(sa: GroupRekeySa, seen: { readonly spi: string; readonly ids: RekeyMessageIds } | undefined): void {
    const spi = sa.policy.spi.toString('hex');
    const initial = sa.attributes.initialMessageId ?? 0;
    if (seen && seen.spi === spi) {
      seen.ids.applyInitial(initial);
      this.#rekeyIds = seen.ids;
    } else {
      this.#rekeyIds = new RekeyMessageIds(initial);
    }
    this.#rekeySpi = spi;
    this.#rekeyExpiry?.cancel();
    const life = this.#lifetimeMs(sa.attributes.keyLifetime);
    const now = this.#deps.scheduler.now();
    this.#rekeySoftAt = life && now + life.softMs;
    this.#rekeyExpiry = life && this.#deps.scheduler.setTimer(life.hardMs, () => this.#deps.onExpired('rekey-sa', sa.policy.spi.toString('hex')));
  }

  /** Keeps one Data-Security SA: SA database (directions per role), key log, hard lifetime. */
  #hold(sa: GroupDataSa, reg: AcceptedRegistration): boolean {
    const ref = this.#deps.saDatabase?.install({
      group: this.#deps.name,
      sa,
      mode: modeOf(reg),
      role: this.#deps.role,
      ...(reg.groupWide.senderIdBits !== undefined ? { senderIdBits: reg.groupWide.senderIdBits } : {}),
      ...(reg.senderIds[0] !== undefined ? { senderId: reg.senderIds[0] } : {}),
      activationDelayMs: reg.groupWide.activationDelay * 1000,
    });
    this.#recordKeys(sa);
    const life = this.#lifetimeMs(sa.attributes.keyLifetime);
    const spi = sa.policy.spi.toString('hex');
    const expiry = life && this.#deps.scheduler.setTimer(life.hardMs, () => this.#expire(spi));
    this.#sas.push({ sa, ref, expiry, softAt: life && this.#deps.scheduler.now() + life.softMs });
    return ref !== undefined;
  }

  #expire(spi: string): void {
    const h = this.#sas.find((x) => x.sa.policy.spi.toString('hex') === spi);
    if (!h) return;
    this.#sas.splice(this.#sas.indexOf(h), 1);
    this.#drop(h);
    this.#deps.onExpired('data-security-sa', spi);
  }

  #retireAfter(spi: string, ms: number): void {
    this.#deps.scheduler.setTimer(ms, () => {
      const h = this.#sas.find((x) => x.sa.policy.spi.toString('hex') === spi);
      if (!h) return;
      this.#sas.splice(this.#sas.indexOf(h), 1);
      this.#drop(h);
    });
  }

  #drop(h: HeldSa): void {
    h.expiry?.cancel();
    if (h.ref) this.#deps.saDatabase?.remove(h.ref);
    wipe(h.sa.keymat);
  }

  #armSoft(): void {
    this.#soft?.cancel();
    const at = this.softDeadline;
    this.#soft = at === undefined ? undefined : this.#deps.scheduler.setTimer(Math.max(0, at - this.#deps.scheduler.now()), () => this.#deps.onSoftLifetime());
  }

  /** --keylog: group SAs as Wireshark esp_sa lines, any source ('*'), to the group address. */
  #recordKeys(sa: GroupDataSa): void {
    const log = this.#deps.keyLog;
    const dst = sa.policy.destination;
    if (!log || !isAddressRange(dst)) return;
    const layout = groupSaKeyLayout(sa.policy);
    const address = dst.startAddress.length === 4 ? [...dst.startAddress].join('.') : ipv6Text(dst.startAddress);
    log.recordEspSa({
      family: dst.startAddress.length === 4 ? 'IPv4' : 'IPv6',
      src: '*',
      dst: address,
      spi: sa.policy.spi.readUInt32BE(),
      encrId: sa.suite.encrId ?? 0,
      ...(sa.suite.keyLengthBits ? { encrKeyBits: sa.suite.keyLengthBits } : {}),
      integId: sa.suite.integId ?? IntegId.NONE,
      encKey: Buffer.from(sa.keymat.subarray(0, layout.encr)),
      integKey: Buffer.from(sa.keymat.subarray(layout.encr, layout.encr + layout.integ)),
    });
  }
}

function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}
