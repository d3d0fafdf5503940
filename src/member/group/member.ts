/**
 * The GM's registrations with one GCKS over one unicast IKE SA (RFC 9838 §1, §2.3, §11):
 *
 *   join(group)    GSA_AUTH when there is no IKE SA (PeerConfig.authTask), else
 *                  GSA_REGISTRATION over it; the reply is accepted (accept.ts) and applied
 *                  to the group's state (group-state.ts), or reported as an error event
 *   re-register    at the soft lifetime when no replacement arrived (with jitter), after
 *                  exclusion (no key path, Rekey SA expired) after a random delay of
 *                  seconds, after retryable failures (REGISTRATION_FAILED, malformed
 *                  replies, a lost IKE SA) with exponential back-off
 *   leave(group)   GSA_REGISTRATION {IDg, N(REGISTRATION_FAILED)} → {}, then the state is wiped
 *   stop()         leaves every group, then deletes the IKE SA
 *
 * IKE SA lifecycle (§1): the GCKS closes the IKE SA by convention once the GM holds the
 * Rekey SA policy; that is not an error and the groups keep their state. A group without a
 * Rekey SA (rekeyed in-band only) is excluded when the IKE SA goes away, and re-registers.
 * Fatal refusals (INVALID_GROUP_ID, AUTHORIZATION_FAILED, NO_PROPOSAL_CHOSEN, a policy this
 * GM cannot run, failed authentication) are not retried; `onFatal` fires once every
 * group has failed that way.
 */
import type { KeyLogSink } from '../../ikev2/sa/engine.ts';
import type { IkeEngine } from '../../ikev2/sa/engine.ts';
import type { PeerConfig } from '../../ikev2/sa/config.ts';
import { identityText, sameIdentity, type Identity } from '../../ikev2/sa/identity.ts';
import type { IkeSa } from '../../ikev2/sa/ike-sa.ts';
import { endpointText, type Endpoint, type Scheduler, type Timer } from '../../ikev2/sa/types.ts';
import type { Payload } from '../../ikev2/wire/payload.ts';
import { wipe } from '../../ikev2/crypto/zeroize.ts';
import { acceptRegistration } from './accept.ts';
import { GroupRegistrationError } from './errors.ts';
import { stampGroupEvent, type GroupEvent, type GroupEventBody, type RegistrationReason } from './events.ts';
import { GsaAuthTask, GsaLeaveTask, GsaRegistrationTask, ikeSaCarrier, type RegistrationSink } from './exchanges.ts';
import { GroupState, type LifetimePolicy } from './group-state.ts';
import { readRegistrationReply } from './reply.ts';
import type { GroupRequest } from './request.ts';
import type { GroupRole, GroupSaDatabase } from './sa-database.ts';
import { policySummary, registrationFingerprints } from './summary.ts';

export interface GroupTiming extends LifetimePolicy {
  /** Exclusion: re-register after a random delay in [min, max] ms ("of the order of seconds", §2.4.3). */
  readonly excludedDelayMs: readonly [number, number];
  /** Retryable failures: first retry after this, doubling up to retryMaxMs. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How long stop() waits for the GCKS to answer the leave and the Delete. */
  readonly stopGraceMs: number;
}

export const DEFAULT_GROUP_TIMING: GroupTiming = {
  softFraction: 0.9,
  jitterFraction: 0.05,
  excludedDelayMs: [1000, 10_000],
  retryBaseMs: 5000,
  retryMaxMs: 300_000,
  stopGraceMs: 3000,
};

export interface GroupMemberOptions {
  readonly engine: IkeEngine;
  readonly scheduler: Scheduler;
  /** The IKE SA's configuration (its proposals must offer KWA transforms); authTask is set here. */
  readonly peer: PeerConfig;
  readonly gcks: Endpoint;
  readonly local: Endpoint;
  readonly role: GroupRole;
  /** Sender-IDs to ask for (N(GROUP_SENDER)) when the role sends; default 1. */
  readonly senderIds?: number;
  readonly saDatabase?: GroupSaDatabase;
  readonly keyLog?: Pick<KeyLogSink, 'recordEspSa'>;
  readonly onEvent: (e: GroupEvent) => void;
  /** Every group failed fatally (nothing left to do). */
  readonly onFatal?: () => void;
  /** Uniform in [0, 1); Math.random by default. */
  readonly random?: () => number;
  readonly timing?: Partial<GroupTiming>;
}

type Status = 'registering' | 'registered' | 'idle' | 'failed' | 'left';

interface Group {
  readonly id: Identity;
  readonly name: string;
  readonly state: GroupState;
  status: Status;
  /** Consecutive retryable failures. */
  failures: number;
  timer: Timer | undefined;
}

export class GroupMember {
  readonly #o: GroupMemberOptions;
  readonly #timing: GroupTiming;
  readonly #random: () => number;
  readonly #groups: Group[] = [];
  readonly #gcksText: string;
  #ikeSaId: string | undefined;
  /** The engine's last error on our IKE SA, to explain a registration the SA took down. */
  #lastIkeError: string | undefined;
  #stopping = false;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(o: GroupMemberOptions) {
    this.#o = o;
    this.#timing = { ...DEFAULT_GROUP_TIMING, ...o.timing };
    this.#random = o.random ?? Math.random;
    this.#gcksText = endpointText(o.gcks);
    this.#unsubscribe.push(
      o.engine.events.on('deleted', (e) => {
        if (e.what === 'ike' && e.ikeSaId === this.#ikeSaId) this.#onIkeSaGone();
      }),
      o.engine.events.on('error', (e) => {
        if (e.ikeSaId !== undefined && e.ikeSaId === this.#ikeSaId) this.#lastIkeError = `${e.code}${e.notifyName ? ` (${e.notifyName})` : ''}: ${e.message}`;
      }),
      o.engine.events.on('rekeyed', (e) => {
        if (e.what === 'ike' && e.old === this.#ikeSaId) this.#ikeSaId = e.new;
      }),
    );
  }

  /** The IKE SA in use (any phase), if any. */
  get ikeSaId(): string | undefined {
    return this.#ikeSaId;
  }

  /** The state of a group joined here. */
  group(id: Identity): GroupState | undefined {
    return this.#find(id)?.state;
  }

  status(id: Identity): Status | undefined {
    return this.#find(id)?.status;
  }

  join(id: Identity): void {
    if (this.#stopping) throw new Error('stopping');
    let g = this.#find(id);
    if (!g) {
      const name = identityText(id);
      const ref: { g?: Group } = {};
      const state = new GroupState({
        name,
        scheduler: this.#o.scheduler,
        random: this.#random,
        role: this.#o.role,
        lifetimes: this.#timing,
        ...(this.#o.saDatabase ? { saDatabase: this.#o.saDatabase } : {}),
        ...(this.#o.keyLog ? { keyLog: this.#o.keyLog } : {}),
        onSoftLifetime: () => this.#register(ref.g!, 'soft-lifetime'),
        onExpired: (what, spi) => this.#onExpired(ref.g!, what, spi),
      });
      g = { id, name, state, status: 'idle', failures: 0, timer: undefined };
      ref.g = g;
      this.#groups.push(g);
    }
    this.#register(g, 'join');
  }

  /** Leaves one group: tells the GCKS when an IKE SA is up, then wipes the group's state. */
  async leave(id: Identity): Promise<void> {
    const g = this.#find(id);
    if (!g) return;
    await this.#leave(g);
  }

  /** Leaves every group, deletes the IKE SA, stops all timers. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await Promise.all(this.#groups.filter((g) => g.status !== 'left').map((g) => this.#leave(g)));
    const sa = this.#ikeSaId && this.#o.engine.get(this.#ikeSaId);
    if (sa && sa.isOpen) await this.#deleteIkeSa(sa.id);
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  // --- registration ------------------------------------------------------------------------

  #request(g: Group): GroupRequest {
    const sender = this.#o.role !== 'receiver';
    return { group: g.id, ...(sender ? { senderIds: this.#o.senderIds ?? 1 } : {}) };
  }

  /** The IKE SA to register over: established, or still being set up (tasks wait for it). */
  #usableIkeSa(): IkeSa | undefined {
    const sa = this.#ikeSaId === undefined ? undefined : this.#o.engine.get(this.#ikeSaId);
    return sa && sa.isOpen && sa.phase !== 'deleting' ? sa : undefined;
  }

  #register(g: Group, reason: RegistrationReason): void {
    if (this.#stopping || g.status === 'registering' || g.status === 'failed' || g.status === 'left') return;
    g.timer?.cancel();
    g.timer = undefined;
    g.status = 'registering';
    const sink: RegistrationSink = {
      reply: (sa, payloads) => this.#onReply(g, sa, payloads),
      // After the engine has finished with the SA (its error event comes after the task's dispose).
      failed: (e) => queueMicrotask(() => this.#onFailure(g, e)),
    };
    const sa = this.#usableIkeSa();
    const request = this.#request(g);
    this.#emit({ event: 'registering', group: g.name, gcks: this.#gcksText, exchange: sa ? 'GSA_REGISTRATION' : 'GSA_AUTH', reason });
    if (sa) {
      this.#o.engine.queueTask(sa.id, new GsaRegistrationTask(request, sink));
      return;
    }
    const peer = this.#o.peer;
    const config: PeerConfig = { ...peer, children: [], authTask: () => new GsaAuthTask(peer, request, sink) };
    try {
      this.#lastIkeError = undefined;
      this.#ikeSaId = this.#o.engine.initiate(config, this.#o.gcks, this.#o.local).id;
    } catch (e) {
      this.#onFailure(g, new GroupRegistrationError('GKM_GROUP_IKE_SA', `cannot start an IKE SA: ${(e as Error).message}`, { cause: e }));
    }
  }

  #onReply(g: Group, sa: IkeSa, payloads: readonly Payload[]): void {
    let carrier: ReturnType<typeof ikeSaCarrier> | undefined;
    try {
      const reply = readRegistrationReply(payloads);
      carrier = ikeSaCarrier(sa);
      const accepted = acceptRegistration(reply, carrier, this.#o.role === 'receiver' ? {} : { groupSender: this.#o.senderIds ?? 1 });
      if (this.#stopping || g.status !== 'registering') {
        g.state.clear();
        return;
      }
      const installed = g.state.apply({ kind: 'registration', registration: accepted });
      g.status = 'registered';
      g.failures = 0;
      const soft = g.state.softDeadline;
      this.#emit({
        event: 'registered',
        group: g.name,
        gcks: this.#gcksText,
        ikeSaId: sa.id,
        policy: policySummary(accepted),
        fingerprints: registrationFingerprints(accepted),
        installed,
        ...(soft !== undefined ? { reregisterInSeconds: Math.round((soft - this.#o.scheduler.now()) / 1000) } : {}),
      });
    } catch (e) {
      const err = e instanceof GroupRegistrationError ? e : new GroupRegistrationError('GKM_GROUP_BAD_REPLY', (e as Error).message, { cause: e });
      if (err.code === 'GKM_GROUP_UNSUPPORTED' && sa.isOpen) this.#o.engine.queueTask(sa.id, new GsaLeaveTask(g.id, 'reject-policy', () => undefined));
      this.#onFailure(g, err);
    } finally {
      if (carrier) wipe(carrier.gskW);
    }
  }

  #onFailure(g: Group, error: GroupRegistrationError): void {
    if (g.status !== 'registering') return;
    const e = error.code === 'GKM_GROUP_IKE_SA' && this.#lastIkeError ? new GroupRegistrationError(error.code, `${error.message} (${this.#lastIkeError})`, { ...(error.notify !== undefined ? { notify: error.notify } : {}), cause: error }) : error;
    // A group that still holds a registration keeps it (until its lifetimes run out).
    g.status = g.state.registration ? 'registered' : 'idle';
    const base = { event: 'error' as const, group: g.name, gcks: this.#gcksText, code: e.code, ...(e.notify !== undefined ? { notify: e.notify, notifyName: e.notifyName! } : {}), message: e.message };
    if (e.fatal || this.#stopping) {
      if (e.fatal) {
        g.status = 'failed';
        g.state.clear();
      }
      this.#emit({ ...base, fatal: e.fatal });
      if (this.#groups.every((x) => x.status === 'failed')) this.#o.onFatal?.();
      return;
    }
    g.failures++;
    const delay = Math.min(this.#timing.retryMaxMs, this.#timing.retryBaseMs * 2 ** (g.failures - 1)) * (1 + 0.1 * this.#random());
    this.#emit({ ...base, fatal: false, retryInSeconds: Math.round(delay / 1000) });
    this.#later(g, delay, 'retry');
  }

  #later(g: Group, ms: number, reason: RegistrationReason): void {
    g.timer?.cancel();
    g.timer = this.#o.scheduler.setTimer(ms, () => {
      g.timer = undefined;
      this.#register(g, reason);
    });
  }

  /** Excluded (§3.3, §11): state wiped, re-registration after a random delay of seconds. */
  #exclude(g: Group, reason: string): void {
    g.state.clear();
    if (g.status === 'registered') g.status = 'idle';
    const [min, max] = this.#timing.excludedDelayMs;
    const delay = min + (max - min) * this.#random();
    this.#emit({ event: 'excluded', group: g.name, reason, reregisterInSeconds: Math.round(delay / 1000) });
    this.#later(g, delay, 'excluded');
  }

  #onExpired(g: Group, what: 'data-security-sa' | 'rekey-sa', spi: string): void {
    this.#emit({ event: 'expired', group: g.name, what, spi });
    if (what === 'rekey-sa') this.#exclude(g, 'the Rekey SA reached its hard lifetime');
  }

  #onIkeSaGone(): void {
    this.#ikeSaId = undefined;
    if (this.#stopping) return;
    // No Rekey SA policy ever arrived for these groups: they are excluded (§1).
    for (const g of this.#groups) {
      if (g.status === 'registered' && !g.state.registration?.rekeySa) this.#exclude(g, 'the IKE SA closed and the group has no Rekey SA');
    }
  }

  // --- leaving -------------------------------------------------------------------------------

  async #leave(g: Group): Promise<void> {
    g.timer?.cancel();
    g.timer = undefined;
    const wasMember = g.status === 'registered' || g.status === 'registering';
    g.status = 'left';
    const sa = this.#usableIkeSa();
    let told = false;
    if (wasMember && sa?.phase === 'established') {
      told = await new Promise<boolean>((resolve) => {
        const timer = this.#o.scheduler.setTimer(this.#timing.stopGraceMs, () => resolve(false));
        this.#o.engine.queueTask(sa.id, new GsaLeaveTask(g.id, 'leave', (answered) => (timer.cancel(), resolve(answered))));
      });
    }
    g.state.clear();
    if (wasMember) this.#emit({ event: 'left', group: g.name, gcks: this.#gcksText, told });
  }

  #deleteIkeSa(id: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#o.scheduler.setTimer(this.#timing.stopGraceMs, () => (off(), resolve()));
      const off = this.#o.engine.events.on('deleted', (e) => {
        if (e.what === 'ike' && e.ikeSaId === id) {
          timer.cancel();
          off();
          resolve();
        }
      });
      try {
        this.#o.engine.deleteIkeSa(id);
      } catch {
        timer.cancel();
        off();
        resolve();
      }
    });
  }

  #find(id: Identity): Group | undefined {
    return this.#groups.find((g) => sameIdentity(g.id, id));
  }

  #emit(e: GroupEventBody): void {
    this.#o.onEvent(stampGroupEvent(e));
  }
}
