/**
 * Which UDP sockets a member binds, and the mapping between the engine's endpoints
 * ({ip, port} of an IKE SA) and the transport's sockets.
 *
 * Per local address of a connection: with a plain IKE port (500, 848) an 'ike' socket on it
 * plus a 'natt' socket on 4500 (the engine floats IKE SAs there: `ike-sa-init.ts`); with any
 * other port one 'natt' socket (the non-ESP marker always, ESP-in-UDP accepted), which is
 * what strongSwan does when neither side uses 500.
 *
 * NAT detection hashes our address: a datagram's local address must be the one the peer
 * sent to. Connections with specific `local_addrs` bind those; `%any` binds wildcards, and
 * the local address of a datagram is then the kernel's source address towards its sender
 * (a connected UDP socket tells it; dgram cannot read the destination of a datagram).
 */
import { isIP } from 'node:net';
import { Port } from '../ikev2/registry/misc.ts';
import { DEFAULT_PLAIN_PORTS, endpointKey, initialSocketKind, type SocketConfig } from '../ikev2/transport/index.ts';
import type { ConnectionSettings } from './config/model.ts';
import { initiationTarget } from './config/addresses.ts';

const WILDCARD = { 4: '0.0.0.0', 6: '::' } as const;
const isWildcard = (address: string): boolean => address === WILDCARD[4] || address === WILDCARD[6];
const isPlain = (port: number): boolean => DEFAULT_PLAIN_PORTS.includes(port);
const familyOf = (ip: string): 4 | 6 => (isIP(ip) === 6 ? 6 : 4);

/** The addresses a connection listens on: its `local_addrs`, or wildcards for the families it may use. */
function listenAddresses(c: ConnectionSettings): string[] {
  if (c.localAddrs.length > 0) return [...c.localAddrs];
  const literal = c.remoteAddrs.map((a) => a.split(/[/-]/)[0]!.trim()).filter((a) => isIP(a) !== 0);
  const families = literal.length > 0 ? new Set(literal.map(familyOf)) : new Set<4 | 6>([4, 6]);
  return [...families].map((f) => WILDCARD[f]);
}

/** The sockets for all connections, without duplicates; a wildcard absorbs specific addresses on its port. */
export function planSockets(connections: readonly ConnectionSettings[]): SocketConfig[] {
  const wanted = new Map<string, SocketConfig>();
  for (const c of connections) {
    for (const address of listenAddresses(c)) {
      const ports: [number, SocketConfig['kind']][] = isPlain(c.localPort) ? [[c.localPort, 'ike'], [Port.NAT_T, 'natt']] : [[c.localPort, 'natt']];
      for (const [port, kind] of ports) wanted.set(endpointKey({ address, port }), { address, port, kind });
    }
  }
  const all = [...wanted.values()];
  const covered = (s: SocketConfig): boolean => !isWildcard(s.address) && all.some((w) => isWildcard(w.address) && w.port === s.port && familyOf(w.address) === familyOf(s.address));
  return all.filter((s) => !covered(s));
}

/** Where an initiation leaves from: strongSwan starts on its NAT-T socket unless the peer's port is plain. */
export function initiationPorts(c: ConnectionSettings): { localPort: number; remote: string | undefined } {
  const natt = initialSocketKind(c.remotePort) === 'natt' && isPlain(c.localPort);
  return { localPort: natt ? Port.NAT_T : c.localPort, remote: initiationTarget(c.remoteAddrs) };
}

// Engine endpoints ⇄ transport sockets: shared with the GCKS, so it lives in src/ikev2/node.ts.
export { routeSource, SocketPaths } from '../ikev2/node.ts';
