/**
 * The member's unicast IKE daemon: one UDP transport, one IKE engine, the connections of a
 * configuration file, and what runs around them.
 *
 *   IkeNode (src/ikev2/node.ts): transport ⇄ engine, with the real local address of each datagram
 *   engine events ──▶ MemberEvent stream, initiation retries, follow-up Child SAs, log
 *   control socket ──▶ list / initiate / rekey / terminate
 *
 * The engine owns the IKE SA's path (including the float to 4500) and the SA lifetimes
 * (rekey and expiry, from the configuration): the daemon maps the endpoints it names to
 * sockets and passes the lifetimes on. Child SAs go to the datapath when one is given.
 */
import { EventEmitter } from 'node:events';
import { DatapathNode, type DatapathNodeCounters } from '../datapath/io/node.ts';
import type { PlaintextPort } from '../datapath/io/plaintext.ts';
import type { OffloadProvider } from '../datapath/provider.ts';
import { KeyLogWriter } from '../ikev2/keylog/writer.ts';
import { childSummary, spiValueHex, type ChildSa } from '../ikev2/sa/child-sa.ts';
import type { EngineOptions } from '../ikev2/sa/config.ts';
import type { IkeEngine } from '../ikev2/sa/engine.ts';
import type { IkeEvent } from '../ikev2/sa/events.ts';
import { endpointText, realScheduler, type Endpoint, type Scheduler } from '../ikev2/sa/types.ts';
import { IkeNode, type SocketPaths } from '../ikev2/node.ts';
import { endpointKey, type AddressPort, type IkeTransport } from '../ikev2/transport/index.ts';
import type { LoadedConfig, LoadedConnection } from './config/load.ts';
import type { ChildSaSettings } from './config/model.ts';
import { ControlError, type ControlCommand, type SaKind } from './control/protocol.ts';
import { ControlServer } from './control/server.ts';
import { DatapathSink } from './datapath-sink.ts';
import { memberEvent, selectorText, stamp, type MemberEvent } from './events.ts';
import { silentLogger, type Logger } from './logger.ts';
import { describeEvent } from './describe.ts';
import { initiationPorts, planSockets } from './paths.ts';
import { childConfig, peerConfig, responderPolicy } from './peers.ts';

export interface IkeDaemonOptions {
  readonly config: LoadedConfig;
  readonly logger?: Logger;
  /** Write Wireshark key logs and keys.json here (live keys: debugging only). */
  readonly keyLogDir?: string;
  /** Install Child SAs in this datapath provider and feed it ESP-in-UDP. */
  readonly datapath?: OffloadProvider;
  /**
   * The datapath's plaintext side (a UDP tap, a TUN device): packets read there are sent
   * through the Child SAs their selectors match, decrypted ones are written there.
   */
  readonly plaintext?: PlaintextPort;
  /** Inner packets the datapath decrypted, when there is no `plaintext` (default: dropped). */
  readonly onInnerPacket?: (packet: Buffer) => void;
  /** Listen for control requests on this unix socket path. */
  readonly controlPath?: string;
  readonly engineOptions?: Partial<EngineOptions>;
  readonly scheduler?: Scheduler;
  /** Initiate the connections whose children say `start_action = start` (default true). */
  readonly autoStart?: boolean;
  /** Receives every event from the first (`ready`) on. */
  readonly onEvent?: (e: MemberEvent) => void;
}

export interface InitiateResult {
  readonly ikeSaId: string;
  readonly events: readonly MemberEvent[];
}

export interface SaListing {
  readonly connections: readonly { readonly name: string; readonly localAddrs: readonly string[]; readonly remoteAddrs: readonly string[]; readonly localPort: number; readonly remotePort: number; readonly children: readonly string[] }[];
  readonly ikeSas: readonly Record<string, unknown>[];
  /** The datapath's packet counters, when there is one. */
  readonly datapath?: DatapathNodeCounters;
}

type DaemonEvents = { event: [MemberEvent] };

/** Initiation attempts in flight: keyingtries and the children created after IKE_AUTH. */
interface Initiation {
  readonly conn: LoadedConnection;
  readonly firstChild: ChildSaSettings | undefined;
  readonly attempt: number;
  established: boolean;
}

const RETRY_MAX_S = 60;

export class IkeDaemon {
  readonly engine: IkeEngine;
  readonly events = new EventEmitter<DaemonEvents>();
  readonly #transport: IkeTransport;
  readonly #paths: SocketPaths;
  readonly #conns: ReadonlyMap<string, LoadedConnection>;
  readonly #log: Logger;
  readonly #scheduler: Scheduler;
  readonly #sink: DatapathSink | undefined;
  readonly #datapath: DatapathNode | undefined;
  readonly #initiations = new Map<string, Initiation>();
  #control: ControlServer | undefined;
  #stopping = false;

  private constructor(o: IkeDaemonOptions, node: IkeNode, datapath: Datapath | undefined) {
    this.#log = o.logger ?? silentLogger;
    this.#scheduler = o.scheduler ?? realScheduler;
    this.engine = node.engine;
    this.#transport = node.transport;
    this.#paths = node.paths;
    this.#conns = new Map(o.config.connections.map((c) => [c.name, c]));
    this.#sink = datapath?.sink;
    this.#datapath = datapath?.node;
    if (o.onEvent) this.events.on('event', o.onEvent);
    this.engine.events.on('*', (e) => this.#onEngineEvent(e));
    const dp = datapath?.node;
    if (dp) {
      // RFC 3948 §2.1: ESP in UDP on our NAT-T sockets, with the real local address.
      node.transport.setEspHandler((packet, remote, local) => {
        this.#paths.endpoints(remote, local).then(
          (ends) => dp.espHandler(packet, { address: ends.remote.ip, port: ends.remote.port }, { address: ends.local.ip, port: ends.local.port }),
          (e: unknown) => this.#log.debug({ error: (e as Error).message }, 'ESP packet dropped'),
        );
      });
    }
  }

  /** Binds the sockets, starts the engine, the control socket and the `start` connections. */
  static async start(o: IkeDaemonOptions): Promise<IkeDaemon> {
    const log = o.logger ?? silentLogger;
    for (const w of o.config.warnings) log.warn({}, w);
    const datapath = o.datapath && openDatapath(o.datapath, o, log);
    const sink = datapath?.sink;
    const keyLog = o.keyLogDir === undefined ? undefined : new KeyLogWriter(o.keyLogDir, (m) => log.warn({ dir: o.keyLogDir }, m));
    const node = await IkeNode.open({
      transport: { sockets: planSockets(o.config.connections) },
      engine: {
        ...(o.scheduler ? { scheduler: o.scheduler } : {}),
        ...(sink ? { childSaSink: sink } : {}),
        ...(keyLog ? { keyLog } : {}),
        responder: responderPolicy(o.config.connections),
        // coalesceSends: answers built in one event-loop turn leave together at its end (fewer
        // wake-ups at the peers; docs/performance.md, issue 3).
        options: { livenessIntervalMs: livenessInterval(o.config.connections, log), coalesceSends: true, ...o.engineOptions },
      },
      onUnroutable: (remote, local) => log.error({ local: endpointText(local), remote: endpointText(remote) }, 'no socket bound for the local endpoint; datagram dropped'),
      onTransportError: (e) => log.warn({ operation: e.operation, local: endpointKey(e.local), error: String(e.error) }, 'transport error'),
    });
    datapath?.attach(node);
    const daemon = new IkeDaemon(o, node, datapath);
    try {
      if (o.controlPath !== undefined) daemon.#control = await ControlServer.listen(o.controlPath, (c) => daemon.handle(c));
    } catch (e) {
      await datapath?.node.close();
      await node.close();
      throw e;
    }
    const sockets = daemon.sockets;
    daemon.#emit(stamp({ event: 'ready' as const, sockets, ...(o.controlPath ? { control: o.controlPath } : {}), connections: [...daemon.#conns.keys()] }));
    log.info({ sockets, control: o.controlPath }, `ready: ${daemon.#conns.size} connection(s)`);
    if (o.autoStart ?? true) daemon.#startConnections();
    return daemon;
  }

  /** The bound sockets (`kind@address:port`), e.g. to learn ephemeral ports. */
  get sockets(): readonly string[] {
    return this.#transport.sockets().map((s) => `${s.kind}@${endpointKey(s.local)}`);
  }

  get controlPath(): string | undefined {
    return this.#control?.path;
  }

  // --- operations (control socket, tests, embedding) -------------------------------------

  /** Starts an IKE SA for `connName` (with `childName`, else its first child, in IKE_AUTH). */
  async initiate(connName: string, childName?: string): Promise<string> {
    const conn = this.#conns.get(connName);
    if (!conn) throw new ControlError('NOT_FOUND', `no connection ${connName}`);
    const first = childName === undefined ? (conn.children.find((c) => c.startAction === 'start') ?? conn.children[0]) : conn.children.find((c) => c.name === childName);
    if (childName !== undefined && !first) throw new ControlError('NOT_FOUND', `connection ${connName} has no child ${childName}`);
    return this.#initiate({ conn, firstChild: first, attempt: 1, established: false });
  }

  /** initiate(), then waits for ike_up (and the Child SA outcome) or the IKE SA's failure. */
  async initiateAndWait(connName: string, childName?: string, timeoutMs = 30_000): Promise<InitiateResult> {
    const id = await this.initiate(connName, childName);
    const events: MemberEvent[] = [];
    return new Promise<InitiateResult>((resolve, reject) => {
      const done = (f: () => void): void => {
        off();
        clearTimeout(timer);
        f();
      };
      const off = this.#on((e) => {
        if (!('ikeSaId' in e && e.ikeSaId === id) && !(e.event === 'ike_up' && e.ike.id === id)) return;
        events.push(e);
        // The Child SA of IKE_AUTH is reported in the same tick as ike_up.
        if (e.event === 'ike_up') setImmediate(() => done(() => resolve({ ikeSaId: id, events })));
        if (e.event === 'deleted' && e.what === 'ike') {
          const why = events.flatMap((x) => (x.event === 'error' ? [x.notifyName ?? x.message] : [])).join('; ');
          done(() => reject(new ControlError('FAILED', `IKE SA ${id} of ${connName} failed (${e.reason})${why ? `: ${why}` : ''}`)));
        }
      });
      const timer = setTimeout(() => done(() => reject(new ControlError('TIMEOUT', `IKE SA ${id} of ${connName} not up after ${timeoutMs} ms`))), timeoutMs);
    });
  }

  list(): SaListing {
    const now = this.#scheduler.now();
    const secs = (ms: number): number => Math.round(ms / 1000);
    return {
      connections: [...this.#conns.values()].map((c) => ({ name: c.name, localAddrs: c.localAddrs, remoteAddrs: c.remoteAddrs, localPort: c.localPort, remotePort: c.remotePort, children: c.children.map((ch) => ch.name) })),
      ikeSas: this.engine.list().map((sa) => ({
        ...this.engine.summary(sa),
        conn: this.#conn(sa.id),
        state: sa.phase,
        ageSeconds: secs(now - sa.createdAt),
        idleSeconds: secs(now - sa.lastInbound),
        children: [...sa.children.values()].map((c) => this.#childListing(c, now)),
      })),
      ...(this.#datapath ? { datapath: this.#datapath.stats().node } : {}),
    };
  }

  rekey(what: SaKind, ref: string): { rekeying: string[] } {
    if (what === 'ike') {
      const ids = this.#ikeSas(ref);
      for (const id of ids) this.engine.rekeyIkeSa(id);
      return { rekeying: ids };
    }
    const children = this.#childSas(ref);
    for (const { ike, spi } of children) this.engine.rekeyChildSa(ike, spi);
    return { rekeying: children.map((c) => c.spi) };
  }

  terminate(what: SaKind, ref: string): { terminating: string[] } {
    if (what === 'ike') {
      const ids = this.#ikeSas(ref);
      for (const id of ids) this.engine.deleteIkeSa(id);
      return { terminating: ids };
    }
    const children = this.#childSas(ref);
    for (const { ike, spi } of children) this.engine.deleteChildSa(ike, spi);
    return { terminating: children.map((c) => c.spi) };
  }

  /** The control socket's dispatcher. */
  handle(c: ControlCommand): unknown {
    switch (c.cmd) {
      case 'list':
        return this.list();
      case 'initiate':
        return c.wait ? this.initiateAndWait(c.conn, c.child, c.timeoutMs) : this.initiate(c.conn, c.child).then((ikeSaId) => ({ ikeSaId }));
      case 'rekey':
        return this.rekey(c.what, c.sa);
      case 'terminate':
        return this.terminate(c.what, c.sa);
    }
  }

  /** Deletes every IKE SA (waiting up to `graceMs` for the peers), then closes everything. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#control?.close();
    await this.#deleteAll(graceMs);
    await this.#datapath?.close();
    await this.#transport.close();
    this.#emit(stamp({ event: 'stopped' as const }));
    this.#log.info({}, 'stopped');
  }

  // --- internals ---------------------------------------------------------------------------

  /** Deletes every IKE SA; resolves when all are gone or after `graceMs`. */
  #deleteAll(graceMs: number): Promise<void> {
    for (const sa of this.engine.list()) this.#quietly(() => this.engine.deleteIkeSa(sa.id));
    if (this.engine.list().length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        off();
        clearTimeout(timer);
        resolve();
      };
      const off = this.engine.events.on('deleted', () => {
        if (this.engine.list().length === 0) finish();
      });
      const timer = setTimeout(finish, graceMs);
    });
  }

  #startConnections(): void {
    for (const conn of this.#conns.values()) {
      const first = conn.children.find((c) => c.startAction === 'start');
      if (first) void this.#initiate({ conn, firstChild: first, attempt: 1, established: false }).catch((e: unknown) => this.#log.error({ conn: conn.name, error: (e as Error).message }, 'initiation failed'));
    }
  }

  async #initiate(i: Initiation): Promise<string> {
    const { conn } = i;
    const { localPort, remote } = initiationPorts(conn);
    if (remote === undefined) throw new ControlError('FAILED', `connection ${conn.name} has no literal address in remote_addrs to initiate to`);
    const local: Endpoint = { ip: await this.#paths.localFor(conn.localAddrs, remote), port: localPort };
    const remoteEp: Endpoint = { ip: remote, port: conn.remotePort };
    const sa = this.engine.initiate(peerConfig(conn, local, remoteEp, i.firstChild?.name), remoteEp, local);
    this.#initiations.set(sa.id, i);
    this.#log.info({ conn: conn.name, ike: sa.id, local: endpointText(local), remote: endpointText(remoteEp), attempt: i.attempt }, `initiating ${conn.name}`);
    return sa.id;
  }

  #on(fn: (e: MemberEvent) => void): () => void {
    this.events.on('event', fn);
    return () => this.events.off('event', fn);
  }

  #emit(e: MemberEvent): void {
    this.events.emit('event', e);
  }

  /** The connection of an IKE SA: its PeerConfig's name (no map per SA). */
  #conn(ikeSaId: string): string | undefined {
    return this.engine.get(ikeSaId)?.config?.name;
  }

  #onEngineEvent(e: IkeEvent): void {
    // The member event and its text only when someone reads them (a listener, a logger).
    const wanted = this.#log !== silentLogger || this.events.listenerCount('event') > 0;
    // An IKE SA's `deleted` comes once the engine dropped it: the event names its connection.
    const gone = e.type === 'deleted' && e.what === 'ike' ? e.name : undefined;
    const me = wanted ? memberEvent(e, { conn: (id) => this.#conn(id) ?? gone, selectors: (id, spi) => this.engine.get(id)?.children.get(spi) }) : undefined;
    this.#track(e);
    if (me) {
      const level = me.event === 'error' ? 'warn' : 'info';
      this.#log[level]({ event: me.event, ...('ikeSaId' in me ? { ike: me.ikeSaId } : {}) }, describeEvent(me));
      this.#emit(me);
    }
  }

  /** Retries and follow-up Child SAs from the engine's events. */
  #track(e: IkeEvent): void {
    switch (e.type) {
      case 'ike_up': {
        const init = this.#initiations.get(e.ike.id);
        if (init) {
          init.established = true;
          this.#createFollowUpChildren(e.ike.id, init);
        }
        return;
      }
      case 'deleted':
        if (e.what === 'ike') this.#retry(e.ikeSaId, e.reason);
        return;
      case 'error':
        return;
    }
  }

  /** keyingtries: an initiation that failed before ike_up starts again, with back-off. */
  #retry(ikeSaId: string, reason: string): void {
    const i = this.#initiations.get(ikeSaId);
    this.#initiations.delete(ikeSaId);
    if (!i || i.established || this.#stopping || reason === 'auth-failed' || reason === 'local') return;
    const tries = i.conn.keyingtries;
    if (tries !== 0 && i.attempt >= tries) {
      this.#log.warn({ conn: i.conn.name, attempts: i.attempt }, `giving up on ${i.conn.name} after ${i.attempt} attempt(s)`);
      return;
    }
    const delayS = Math.min(RETRY_MAX_S, 2 ** (i.attempt - 1));
    this.#scheduler.setTimer(delayS * 1000, () => {
      if (this.#stopping) return;
      void this.#initiate({ ...i, attempt: i.attempt + 1, established: false }).catch((e: unknown) => this.#log.error({ conn: i.conn.name, error: (e as Error).message }, 'initiation failed'));
    });
  }

  /** After IKE_AUTH: the other `start` children, by CREATE_CHILD_SA (per-resource SAs are the engine's). */
  #createFollowUpChildren(ikeSaId: string, i: Initiation): void {
    const sa = this.engine.get(ikeSaId);
    if (!sa) return;
    try {
      for (const c of i.conn.children) {
        if (c.startAction === 'start' && c !== i.firstChild) this.engine.createChildSa(ikeSaId, childConfig(c, sa.local, sa.remote));
      }
    } catch (e) {
      // We run inside the engine's event dispatch, which swallows listener errors: log them.
      this.#log.error({ conn: i.conn.name, ike: ikeSaId, error: (e as Error).message }, 'further Child SAs not requested');
    }
  }

  #childListing(c: ChildSa, now: number): Record<string, unknown> {
    const since = c.installedAt; // the engine's scheduler is ours
    const counters = this.#sink?.counters(c.inboundSpiValue);
    return {
      ...childSummary(c),
      state: c.state,
      localTs: c.localTs.map(selectorText),
      remoteTs: c.remoteTs.map(selectorText),
      ...(since === undefined ? {} : { ageSeconds: Math.round((now - since) / 1000) }),
      ...(counters ? { counters } : {}),
    };
  }

  /** IKE SAs by id, or all of a connection by its name. */
  #ikeSas(ref: string): string[] {
    if (this.engine.get(ref)) return [ref];
    const ids = this.engine.list().filter((sa) => this.#conn(sa.id) === ref).map((sa) => sa.id);
    if (ids.length === 0) throw new ControlError('NOT_FOUND', `no IKE SA ${ref}`);
    return ids;
  }

  /** Child SAs by inbound or outbound SPI (hex), or all of a child name. */
  #childSas(ref: string): { ike: string; spi: string }[] {
    const out: { ike: string; spi: string }[] = [];
    const want = ref.toLowerCase();
    for (const sa of this.engine.list()) {
      for (const [spi, c] of sa.children) {
        if (spi === want || spiValueHex(c.outboundSpiValue) === want || c.name === ref) out.push({ ike: sa.id, spi });
      }
    }
    if (out.length === 0) throw new ControlError('NOT_FOUND', `no Child SA ${ref}`);
    return out;
  }

  /** For SAs that may be gone already (shutdown). */
  #quietly(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.#log.debug({ error: (e as Error).message }, 'SA already gone');
    }
  }
}

/** The daemon's datapath: a node over the provider, fed by the engine through the sink. */
interface Datapath {
  readonly node: DatapathNode;
  readonly sink: DatapathSink;
  /** Binds ESP output and the sink's socket lookup to the IKE node, once it is open. */
  attach(ike: IkeNode): void;
}

function openDatapath(provider: OffloadProvider, o: IkeDaemonOptions, log: Logger): Datapath {
  let ike: IkeNode | undefined;
  const deliver = o.onInnerPacket;
  const plaintext: PlaintextPort | undefined = o.plaintext ?? (deliver && { start: () => undefined, write: deliver, close: async () => undefined });
  const node = new DatapathNode({
    provider,
    ...(plaintext ? { plaintext } : {}),
    // RFC 3948 §2.1: from our NAT-T socket, no marker.
    unicast: { sendEsp: (packet, remote, via) => ike?.transport.sendEsp(packet, remote, via) },
  });
  const sink = new DatapathSink(node, (local) => ike?.paths.via(local), (e) => log.error({ error: (e as Error).message }, 'Child SA not installed in the datapath'));
  return { node, sink, attach: (n) => void (ike = n) };
}

/** The engine's liveness interval: the shortest `dpd_delay` (it is engine-wide). */
function livenessInterval(conns: readonly LoadedConnection[], log: Logger): number {
  const delays = [...new Set(conns.map((c) => c.dpdDelay).filter((d) => d > 0))];
  if (delays.length > 1) log.warn({ dpdDelays: delays }, `dpd_delay differs between connections; using the shortest, ${Math.min(...delays)}s, for all`);
  return delays.length === 0 ? 0 : Math.min(...delays) * 1000;
}
