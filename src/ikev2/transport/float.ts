/**
 * Port float and peer-address tracking (RFC 7296 §2.23, RFC 3948, RFC 9838 §2.1.1), pure.
 * The engine asks; the transport sends where it is told.
 */
import { Port } from '../registry/misc.ts';
import { sameEndpoint, type AddressPort } from './endpoint.ts';
import { DEFAULT_PLAIN_PORTS, type SocketKind } from './framing.ts';
import type { NatDetectionResult } from './nat-detection.ts';

export interface PortPlan {
  /** Ports where IKE runs without the marker and from which we float (500, 848). */
  readonly plainPorts: readonly number[];
  /** The peer's NAT-T port we float to (4500). */
  readonly peerNattPort: number;
}

export const DEFAULT_PORT_PLAN: PortPlan = { plainPorts: DEFAULT_PLAIN_PORTS, peerNattPort: Port.NAT_T };

/**
 * Which local socket kind the first IKE_SA_INIT leaves from. strongSwan starts on its NAT-T
 * socket (so with the marker) when the destination port is not 500 (INTEROP.md; spec digest
 * §A.10); we treat 848 like 500 (RFC 9838 §2.1.1: plain IKE on 848).
 */
export function initialSocketKind(remotePort: number, plan: PortPlan = DEFAULT_PORT_PLAN): SocketKind {
  return plan.plainPorts.includes(remotePort) ? 'ike' : 'natt';
}

export interface FloatPolicy {
  /**
   * Float even without a NAT when the peer sent NAT-D notifies (strongSwan does so whenever
   * MOBIKE is enabled, its default, so that IKE_AUTH already runs on the final ports).
   * Default true.
   */
  readonly withoutNat?: boolean;
}

/**
 * Whether the initiator moves to NAT-T after the IKE_SA_INIT response (RFC 7296 §2.23:
 * after a NAT is detected; strongSwan ike_natd.c: also when both sides merely support
 * NAT-T). `nat` undefined = NAT-D notifies were not exchanged: never float.
 */
export function shouldFloat(nat: NatDetectionResult | undefined, policy: FloatPolicy = {}): boolean {
  if (nat === undefined) return false;
  return nat.natLocal || nat.natRemote || (policy.withoutNat ?? true);
}

export interface PathPorts {
  readonly localKind: SocketKind;
  readonly localPort: number;
  readonly remotePort: number;
}

/**
 * Where a path goes when it floats (strongSwan ike_sa.c float_ports): the remote port
 * becomes the peer's NAT-T port if either side used a plain port (500, or 848: "registration
 * moves there, also when it started on 848"), even if the response came from a NAT-mapped
 * port; otherwise it is kept (custom ports: strongSwan keeps them). The local side always
 * leaves from our NAT-T socket.
 */
export function floatPath(path: PathPorts, plan: PortPlan = DEFAULT_PORT_PLAN): { localKind: 'natt'; remotePort: number } {
  const fromPlain = plan.plainPorts.includes(path.remotePort) || plan.plainPorts.includes(path.localPort);
  return { localKind: 'natt', remotePort: fromPlain ? plan.peerNattPort : path.remotePort };
}

export interface PeerPath<L extends AddressPort = AddressPort, R extends AddressPort = AddressPort> {
  /** Our endpoint (the socket the traffic uses). */
  readonly local: L;
  /** The peer's endpoint. */
  readonly remote: R;
}

/** The first request after IKE_SA_INIT (IKE_AUTH, GSA_AUTH or IKE_INTERMEDIATE). */
const FLOAT_MESSAGE_ID = 1;

export interface ReceivedRequest<L extends AddressPort = AddressPort, R extends AddressPort = AddressPort> extends PeerPath<L, R> {
  /** The SK integrity check passed (RFC 7296 §2.23: "a validated packet"). */
  readonly integrityVerified: boolean;
  /** A new message (next expected Message ID), not a retransmission or a replay. */
  readonly fresh: boolean;
  /** Its Message ID: 1 is the first request after IKE_SA_INIT, the one that floats. */
  readonly messageId: number;
}

/**
 * Follow the address and port of the last authenticated request (RFC 7296 §2.23): only an
 * integrity-protected, new message may move the path. Our own endpoint follows always (the
 * socket the peer reaches us on). The peer's follows unless we are behind a NAT ("A host
 * behind a NAT SHOULD NOT do this type of dynamic address update"), except on Message ID 1:
 * that request carries the float to NAT-T, and strongSwan forces the update there
 * (task_manager_v2.c: `update_hosts(…, mid == 1)`). Responses still go to each request's
 * source (RFC 7296 §2.11).
 */
export function followPeer<L extends AddressPort, R extends AddressPort>(
  current: PeerPath<L, R>,
  received: ReceivedRequest<L, R>,
  nat: NatDetectionResult | undefined,
): PeerPath<L, R> & { changed: boolean } {
  if (!received.integrityVerified || !received.fresh) return { ...current, changed: false };
  const local = sameEndpoint(current.local, received.local) ? current.local : received.local;
  const mayMovePeer = nat?.natLocal !== true || received.messageId === FLOAT_MESSAGE_ID;
  const remote = !mayMovePeer || sameEndpoint(current.remote, received.remote) ? current.remote : received.remote;
  return { local, remote, changed: local !== current.local || remote !== current.remote };
}
