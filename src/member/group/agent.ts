/**
 * `gkm-member join` as a library: an IkeNode (UDP transport + IKE engine, src/ikev2/node.ts)
 * and a GroupMember for one GCKS, with the member's event mapping (../events.ts), the key
 * log and the datapath's SA database when one is given.
 *
 * Sockets: IKE to the GCKS goes from one local port (ephemeral by default). A plain IKE
 * port (500, 848) also gets a NAT-T socket on 4500, which the engine floats to when it
 * detects a NAT towards a GCKS on 500. Any other local port frames IKE with the 'auto'
 * rule: the non-ESP marker only when neither side uses a plain port, so an unprivileged
 * GM talks to a GCKS on 848 or 500 unmarked, and to one on high ports with the marker.
 * (The unicast daemon's socket plan, paths.ts, would bind a marked NAT-T socket there.)
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { OffloadProvider } from '../../datapath/provider.ts';
import { KeyLogWriter } from '../../ikev2/keylog/writer.ts';
import { Port } from '../../ikev2/registry/misc.ts';
import { KwaId } from '../../ikev2/registry/transform.ts';
import type { EngineOptions, PeerConfig } from '../../ikev2/sa/config.ts';
import type { IkeEngine } from '../../ikev2/sa/engine.ts';
import { IkeNode } from '../../ikev2/node.ts';
import type { Identity } from '../../ikev2/sa/identity.ts';
import { endpointText, realScheduler, type Endpoint, type Scheduler } from '../../ikev2/sa/types.ts';
import { DEFAULT_PLAIN_PORTS, type SocketConfig } from '../../ikev2/transport/index.ts';
import type { ProposalSpec } from '../../ikev2/wire/payloads/index.ts';
import { DEFAULT_PROPOSALS, parseProposal } from '../config/proposals.ts';
import { memberEvent, stamp, type MemberEvent } from '../events.ts';
import { describeEvent } from '../describe.ts';
import { silentLogger, type Logger } from '../logger.ts';
import { describeGroupEvent, type GroupEvent } from './events.ts';
import { GroupMember, type GroupTiming } from './member.ts';
import { ProviderSaDatabase, type GroupRole } from './sa-database.ts';

export type JoinEvent = MemberEvent | GroupEvent;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface JoinAgentOptions {
  readonly gcks: HostPort;
  /** Local address and port (default: any address, an ephemeral port). */
  readonly local?: { readonly address?: string; readonly port: number };
  readonly groups: readonly Identity[];
  readonly id: Identity;
  readonly psk: Buffer;
  /** The identity the GCKS must prove (default: any). */
  readonly gcksId?: Identity;
  readonly role: GroupRole;
  readonly senderIds?: number;
  /** IKE proposals without KWA (it is added); default the member's defaults. */
  readonly ikeProposals?: readonly ProposalSpec[];
  readonly keyLogDir?: string;
  /** Install Data-Security SAs in this provider's SA database. */
  readonly datapath?: OffloadProvider;
  readonly logger?: Logger;
  readonly onEvent?: (e: JoinEvent) => void;
  /** Every group was refused for good. */
  readonly onFatal?: () => void;
  readonly scheduler?: Scheduler;
  readonly engineOptions?: Partial<EngineOptions>;
  readonly timing?: Partial<GroupTiming>;
}

/** Every KWA we implement, strongest first (RFC 9838 §2.2: the IKE proposal negotiates one). */
export const MEMBER_KWAS = [KwaId.KW_5649_256, KwaId.KW_5649_192, KwaId.KW_5649_128, KwaId.KW_ARX];

/** The member's default IKE proposals (config/proposals.ts), each also offering the KWAs. */
export function joinIkeProposals(base?: readonly ProposalSpec[]): ProposalSpec[] {
  const specs = base ?? DEFAULT_PROPOSALS.ike.map((text) => parseProposal(text, 'ike', () => undefined)!);
  return specs.map((s) => ({ ...s, kwa: MEMBER_KWAS }));
}

const isPlain = (port: number): boolean => DEFAULT_PLAIN_PORTS.includes(port);

export function joinSockets(address: string, port: number): SocketConfig[] {
  return isPlain(port) ? [{ address, port, kind: 'ike' }, { address, port: Port.NAT_T, kind: 'natt' }] : [{ address, port, kind: 'ike', marker: 'auto' }];
}

/** HOST:PORT, [v6]:PORT. */
export function parseHostPort(text: string, what: string): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`${what} must be HOST:PORT or [IPv6]:PORT, got ${JSON.stringify(text)}`);
  return { host: m[1]!, port };
}

export class JoinAgent {
  readonly member: GroupMember;
  readonly #node: IkeNode;
  readonly #log: Logger;
  readonly #emit: (e: JoinEvent) => void;
  #stopped = false;

  private constructor(o: JoinAgentOptions, node: IkeNode, keyLog: KeyLogWriter | undefined, gcks: Endpoint, local: Endpoint, scheduler: Scheduler) {
    this.#log = o.logger ?? silentLogger;
    this.#node = node;
    this.#emit = (e) => {
      this.#log[e.event === 'error' ? 'warn' : 'info']({ event: e.event }, 'group' in e ? describeGroupEvent(e) : describeEvent(e));
      o.onEvent?.(e);
    };
    node.engine.events.on('*', (e) => this.#emit(memberEvent(e, { conn: () => 'gcks', selectors: () => undefined })));
    const peer: PeerConfig = {
      name: 'gcks',
      proposals: joinIkeProposals(o.ikeProposals),
      localId: o.id,
      ...(o.gcksId ? { remoteId: o.gcksId } : {}),
      localAuth: { method: 'psk', psk: o.psk },
      remoteAuth: { method: 'psk', psk: o.psk },
      children: [],
    };
    this.member = new GroupMember({
      engine: node.engine,
      scheduler,
      peer,
      gcks,
      local,
      role: o.role,
      ...(o.senderIds !== undefined ? { senderIds: o.senderIds } : {}),
      ...(o.datapath ? { saDatabase: new ProviderSaDatabase(o.datapath) } : {}),
      ...(keyLog ? { keyLog } : {}),
      onEvent: (e) => this.#emit(e),
      ...(o.onFatal ? { onFatal: o.onFatal } : {}),
      ...(o.timing ? { timing: o.timing } : {}),
    });
  }

  get engine(): IkeEngine {
    return this.#node.engine;
  }

  /** Resolves the GCKS, binds the socket(s), and starts registering for every group. */
  static async start(o: JoinAgentOptions): Promise<JoinAgent> {
    const log = o.logger ?? silentLogger;
    const gcksIp = isIP(o.gcks.host) ? o.gcks.host : (await lookup(o.gcks.host)).address;
    const bindAddress = o.local?.address ?? (isIP(gcksIp) === 6 ? '::' : '0.0.0.0');
    const scheduler = o.scheduler ?? realScheduler;
    const keyLog = o.keyLogDir === undefined ? undefined : new KeyLogWriter(o.keyLogDir, (m) => log.warn({ dir: o.keyLogDir }, m));
    const node = await IkeNode.open({
      transport: { sockets: joinSockets(bindAddress, o.local?.port ?? 0) },
      engine: { scheduler, ...(keyLog ? { keyLog } : {}), options: { livenessIntervalMs: 30_000, ...o.engineOptions } },
      onUnroutable: (remote, local) => log.error({ remote: endpointText(remote), local: endpointText(local) }, 'no socket for the local endpoint; datagram dropped'),
      onTransportError: (e) => log.warn({ operation: e.operation, error: String(e.error) }, 'transport error'),
    });
    try {
      const localIp = o.local?.address ?? (await node.paths.sourceFor(gcksIp));
      const port = node.transport.sockets()[0]!.local.port;
      const agent = new JoinAgent(o, node, keyLog, { ip: gcksIp, port: o.gcks.port }, { ip: localIp, port }, scheduler);
      agent.#emit(stamp({ event: 'ready' as const, sockets: node.sockets, connections: ['gcks'] }));
      for (const g of o.groups) agent.member.join(g);
      return agent;
    } catch (e) {
      await node.close();
      throw e;
    }
  }

  get sockets(): string[] {
    return this.#node.sockets;
  }

  /** Leaves every group (GSA_REGISTRATION with REGISTRATION_FAILED), deletes the IKE SA, closes. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.member.stop();
    await this.#node.close();
    this.#emit(stamp({ event: 'stopped' as const }));
  }
}
