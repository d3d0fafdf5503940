/**
 * Test harness for the IKE SA engine: a fake clock, an in-memory network that delivers
 * datagrams between engines by IP (with hooks to drop, tamper or NAT them), a recording
 * Child SA sink, and ready-made PSK configurations.
 */
import { IkeEngine, type EngineDeps, type KeyLogSink } from '../../../../src/ikev2/sa/engine.ts';
import type { IkeSaKeyRecord } from '../../../../src/ikev2/keylog/index.ts';
import type { ChildSaSink, InstalledChildSa } from '../../../../src/ikev2/sa/child-sa.ts';
import type { ChildConfig, EngineOptions, PeerConfig, ResponderPolicy } from '../../../../src/ikev2/sa/config.ts';
import type { IkeEvent } from '../../../../src/ikev2/sa/events.ts';
import type { IkeSa, InitRecord, IntAuthState } from '../../../../src/ikev2/sa/ike-sa.ts';
import type { IkeSaKeys } from '../../../../src/ikev2/crypto/keys.ts';
import { Id } from '../../../../src/ikev2/sa/identity.ts';
import type { DatagramSender, Endpoint, Scheduler, Timer } from '../../../../src/ikev2/sa/types.ts';
import { EncrId, KeId, PrfId, ProtocolId, SnId, TsType } from '../../../../src/ikev2/registry/index.ts';
import type { ProposalSpec } from '../../../../src/ikev2/wire/payloads/index.ts';
import type { AddressRangeSelector } from '../../../../src/ikev2/wire/sub/traffic-selector.ts';

export class FakeClock implements Scheduler {
  #now = 0;
  #seq = 0;
  readonly #timers: { at: number; seq: number; fn: () => void; live: boolean }[] = [];

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const t = { at: this.#now + delayMs, seq: this.#seq++, fn, live: true };
    this.#timers.push(t);
    return { cancel: () => (t.live = false) };
  }

  /** The next live timer due at or before `until`, removed from the list. */
  takeDue(until: number): { at: number; fn: () => void } | undefined {
    let best = -1;
    this.#timers.forEach((t, i) => {
      if (!t.live || t.at > until) return;
      const b = this.#timers[best];
      if (best < 0 || t.at < b!.at || (t.at === b!.at && t.seq < b!.seq)) best = i;
    });
    if (best < 0) return undefined;
    const [t] = this.#timers.splice(best, 1);
    return t;
  }

  set(now: number): void {
    this.#now = now;
  }

  get pendingTimers(): number {
    return this.#timers.filter((t) => t.live).length;
  }
}

export interface Packet {
  readonly datagram: Buffer;
  readonly from: Endpoint;
  readonly to: Endpoint;
}

export class InMemoryNet {
  readonly #engines = new Map<string, IkeEngine>();
  readonly queue: Packet[] = [];
  /** Every packet sent, in order. */
  readonly sent: Packet[] = [];
  /** Return false to drop a packet (loss), or a replacement packet. */
  filter: ((p: Packet) => Packet | false) | undefined;

  attach(ip: string, engine: IkeEngine): void {
    this.#engines.set(ip, engine);
  }

  sender(): DatagramSender {
    return {
      send: (datagram, remote, local) => {
        const p = { datagram: Buffer.from(datagram), from: local, to: remote };
        this.sent.push(p);
        this.queue.push(p);
      },
    };
  }

  /** Injects a datagram as if received by the engine at `to`. */
  inject(p: Packet): void {
    this.queue.push(p);
  }

  async flush(): Promise<void> {
    for (let guard = 0; this.queue.length > 0; guard++) {
      if (guard > 10_000) throw new Error('network does not settle');
      const raw = this.queue.shift()!;
      const p = this.filter ? this.filter(raw) : raw;
      if (p === false) continue;
      await this.#engines.get(p.to.ip)?.receive(Buffer.from(p.datagram), p.from, p.to);
    }
  }
}

export class RecordingSink implements ChildSaSink {
  readonly installed: InstalledChildSa[] = [];
  readonly removed: { ikeSaId: string; inboundSpi: number; outboundSpi: number }[] = [];
  install(sa: InstalledChildSa): void {
    this.installed.push(sa);
  }
  remove(ref: { ikeSaId: string; inboundSpi: number; outboundSpi: number }): void {
    this.removed.push(ref);
  }
}

export class World {
  readonly clock = new FakeClock();
  readonly net = new InMemoryNet();

  engine(ip: string, deps: Omit<EngineDeps, 'sender' | 'scheduler'> = {}): Peer {
    const sink = new RecordingSink();
    const events: IkeEvent[] = [];
    const ikeKeys: IkeSaKeyRecord[] = [];
    const keyLog: KeyLogSink = { recordIkeSa: (r) => void ikeKeys.push(r), recordEspSa: () => undefined };
    const engine = new IkeEngine({ childSaSink: sink, keyLog, ...deps, sender: this.net.sender(), scheduler: this.clock });
    engine.events.on('*', (e) => events.push(e));
    const auth = new Map<string, AuthState>();
    engine.events.on('ike_up', (e) => {
      const sa = engine.get(e.ike.id);
      if (sa) auth.set(sa.id, authStateOf(sa));
    });
    this.net.attach(ip, engine);
    return { engine, sink, events, ip, auth, ikeKeys };
  }

  /** Delivers everything in flight, firing timers due up to `ms` from now in order. */
  async advance(ms = 0): Promise<void> {
    const until = this.clock.now() + ms;
    await this.net.flush();
    for (let t = this.clock.takeDue(until); t; t = this.clock.takeDue(until)) {
      this.clock.set(Math.max(this.clock.now(), t.at));
      t.fn();
      await this.net.flush();
    }
    this.clock.set(until);
  }
}

export interface Peer {
  readonly engine: IkeEngine;
  readonly sink: RecordingSink;
  readonly events: IkeEvent[];
  readonly ip: string;
  /** What only authentication needed, as it was at ike_up (the engine forgets it afterwards). */
  readonly auth: Map<string, AuthState>;
  /** IKE SA keys as the key log received them (unless the test passed its own keyLog). */
  readonly ikeKeys: IkeSaKeyRecord[];
}

export interface AuthState {
  readonly init: InitRecord | undefined;
  readonly intAuth: IntAuthState | undefined;
  readonly intAuthValue: Buffer | undefined;
  /** A copy: SK_pi/SK_pr are wiped once authentication is over. */
  readonly keys: IkeSaKeys | undefined;
}

function authStateOf(sa: IkeSa): AuthState {
  const keys = sa.crypto?.keys;
  const copy = keys && (Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, Buffer.from(v as Buffer)])) as unknown as IkeSaKeys);
  let init: InitRecord | undefined;
  try {
    init = sa.requireInit();
  } catch {
    init = undefined; // a rekeyed IKE SA has none
  }
  return { init, intAuth: sa.intAuth && { ...sa.intAuth }, intAuthValue: sa.intAuthValue(), keys: copy };
}

/** The authentication state `peer` recorded for `sa` at ike_up. */
export function authAt(peer: Peer, sa: IkeSa): AuthState {
  const a = peer.auth.get(sa.id);
  if (!a) throw new Error(`no ike_up recorded for ${sa.id}`);
  return a;
}

export const eventsOf = <T extends IkeEvent['type']>(p: Peer, type: T): Extract<IkeEvent, { type: T }>[] =>
  p.events.filter((e): e is Extract<IkeEvent, { type: T }> => e.type === type);

export const ep = (ip: string, port = 500): Endpoint => ({ ip, port });

export const v4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
export function range(start: string, end: string, ipProtocol = 0, startPort = 0, endPort = 65535): AddressRangeSelector {
  return { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol, startPort, endPort, startAddress: v4(start), endAddress: v4(end) };
}

export const ike = (encr: ProposalSpec['encr'], ke: number | number[] = KeId.CURVE25519, prf: number | number[] = PrfId.HMAC_SHA2_256, extra: Partial<ProposalSpec> = {}): ProposalSpec => ({
  protocolId: ProtocolId.IKE,
  encr,
  prf,
  ke,
  ...extra,
});
export const esp = (encr: ProposalSpec['encr'] = { id: EncrId.AES_GCM_16, keyLength: 128 }, extra: Partial<ProposalSpec> = {}): ProposalSpec => ({
  protocolId: ProtocolId.ESP,
  encr,
  sn: SnId.SEQ32,
  ...extra,
});

export const AES128GCM = ike({ id: EncrId.AES_GCM_16, keyLength: 128 });

export const PSK = Buffer.from('a shared secret of decent length');

export function child(over: Partial<ChildConfig> = {}): ChildConfig {
  return {
    name: 'net',
    proposals: [esp()],
    localTs: [range('10.1.0.0', '10.1.255.255')],
    remoteTs: [range('10.2.0.0', '10.2.255.255')],
    ...over,
  };
}

/** The same child from the responder's side (local/remote swapped). */
export const mirror = (c: ChildConfig): ChildConfig => ({ ...c, localTs: c.remoteTs, remoteTs: c.localTs });

export function pskInitiator(over: Partial<PeerConfig> = {}): PeerConfig {
  return {
    name: 'to-gw',
    proposals: [AES128GCM],
    localId: Id.fqdn('member.example'),
    remoteId: Id.fqdn('gw.example'),
    localAuth: { method: 'psk', psk: PSK },
    remoteAuth: { method: 'psk', psk: PSK },
    children: [child()],
    ...over,
  };
}

export function pskResponder(over: Partial<PeerConfig> = {}, init: Partial<ResponderPolicy['init']> = {}): ResponderPolicy {
  const peer: PeerConfig = {
    name: 'from-member',
    proposals: [AES128GCM],
    localId: Id.fqdn('gw.example'),
    remoteId: Id.fqdn('member.example'),
    localAuth: { method: 'psk', psk: PSK },
    remoteAuth: { method: 'psk', psk: PSK },
    children: [mirror(child())],
    ...over,
  };
  return {
    init: { proposals: peer.proposals, ...init },
    resolvePeer: ({ id }) => (peer.remoteId === undefined || (peer.remoteId.type === id.type && peer.remoteId.data.equals(id.data)) ? peer : undefined),
  };
}

export const FAST: Partial<EngineOptions> = { livenessIntervalMs: 0 };

/** Initiator at 10.0.0.1, responder at 10.0.0.2, both on port 500. */
export function pair(opts: { initiator?: Partial<PeerConfig>; responder?: Partial<PeerConfig>; responderInit?: Partial<ResponderPolicy['init']>; options?: Partial<EngineOptions>; responderOptions?: Partial<EngineOptions> } = {}) {
  const world = new World();
  const i = world.engine('10.0.0.1', { options: { ...FAST, ...opts.options } });
  const r = world.engine('10.0.0.2', { responder: pskResponder(opts.responder, opts.responderInit), options: { ...FAST, ...opts.options, ...opts.responderOptions } });
  const config = pskInitiator(opts.initiator);
  const start = () => i.engine.initiate(config, ep(r.ip), ep(i.ip));
  return { world, i, r, config, start };
}
