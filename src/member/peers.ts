/**
 * Loaded connections → the engine's PeerConfig (one per IKE SA: `dynamic` selectors and the
 * default identity depend on the addresses in use) and the responder policy that picks a
 * connection for an incoming IKE_AUTH by the peer's identity and addresses.
 */
import type { ChildConfig, LifetimeConfig, PeerConfig, ResponderPolicy } from '../ikev2/sa/config.ts';
import { Id, sameIdentity } from '../ikev2/sa/identity.ts';
import type { Endpoint } from '../ikev2/sa/types.ts';
import type { ProposalSpec } from '../ikev2/wire/payloads/index.ts';
import { remoteAddressMatcher } from './config/addresses.ts';
import type { LoadedConnection } from './config/load.ts';
import type { ChildSaSettings, ConnectionSettings } from './config/model.ts';
import { resolveTrafficSelector } from './config/traffic-selectors.ts';

/**
 * swanctl lifetimes → the engine's: rekey at `rekey_time` minus up to `rand_time`, delete at
 * the hard lifetime. rekey_time = 0 means neither (strongSwan: no rekeying).
 */
function lifetime(rekeyTime: number, hardTime: number, randTime: number): { lifetime?: LifetimeConfig } {
  if (rekeyTime <= 0) return {};
  const hard = Math.max(hardTime, rekeyTime);
  return { lifetime: { lifetimeMs: hard * 1000, rekeyMarginMs: (hard - rekeyTime) * 1000, jitterMs: randTime * 1000 } };
}

/** Child SA: hard at `life_time`. */
const childLifetime = (c: ChildSaSettings): { lifetime?: LifetimeConfig } => lifetime(c.rekeyTime, c.lifeTime, c.randTime);

/** IKE SA: hard at `rekey_time + over_time`. */
function ikeLifetime(c: ConnectionSettings): { ikeLifetime?: LifetimeConfig } {
  const l = lifetime(c.rekeyTime, c.rekeyTime + c.overTime, c.randTime).lifetime;
  return l ? { ikeLifetime: l } : {};
}

/**
 * A Child SA's configuration. Its ESP proposals keep their KE (PFS for CREATE_CHILD_SA); the
 * engine leaves KE out in IKE_AUTH (RFC 7296 §1.2). With `per_resource = N` the engine makes
 * the fallback SA and N per-resource SAs (RFC 9611), and accepts at most N from a peer.
 */
export function childConfig(child: ChildSaSettings, local: Endpoint, remote: Endpoint): ChildConfig {
  return {
    name: child.name,
    proposals: child.espProposals,
    localTs: child.localTs.map((ts) => resolveTrafficSelector(ts, local.ip)),
    remoteTs: child.remoteTs.map((ts) => resolveTrafficSelector(ts, remote.ip)),
    mode: child.mode,
    ...childLifetime(child),
    ...(child.perResource > 0 ? { perResource: child.perResource, perResourceCap: child.perResource } : {}),
  };
}

/**
 * The engine's view of `conn` for an IKE SA between `local` and `remote`. `firstChild`
 * names the Child SA created in IKE_AUTH (initiator); the responder gets all children.
 */
export function peerConfig(conn: LoadedConnection, local: Endpoint, remote: Endpoint, firstChild?: string): PeerConfig {
  const ordered = firstChild === undefined ? conn.children : [...conn.children.filter((c) => c.name === firstChild), ...conn.children.filter((c) => c.name !== firstChild)];
  return {
    name: conn.name,
    proposals: conn.proposals,
    fragmentation: conn.fragmentation,
    localId: conn.localIdentity ?? Id.ip(local.ip),
    ...(conn.remote.id ? { remoteId: conn.remote.id } : {}),
    localAuth: conn.localAuth,
    remoteAuth: conn.remoteAuth,
    children: ordered.map((c) => childConfig(c, local, remote)),
    optimizedRekey: conn.optimizedRekey,
    ...ikeLifetime(conn),
  };
}

const unique = (specs: readonly ProposalSpec[]): ProposalSpec[] => {
  const seen = new Set<string>();
  return specs.filter((s) => {
    const key = JSON.stringify(s);
    return !seen.has(key) && (seen.add(key), true);
  });
};

/** Responder PeerConfigs a policy keeps (connections × address pairs in use). */
export const RESPONDER_CONFIGS_MAX = 4096;

/**
 * IKE_SA_INIT comes before any identity, so it accepts the proposals of every connection;
 * IKE_AUTH then picks the connection: the peer's address must be in `remote_addrs`, ours in
 * `local_addrs`, and its identity must be `remote.id` (an exact match beats %any).
 */
export function responderPolicy(connections: readonly LoadedConnection[]): ResponderPolicy {
  const candidates = connections.map((conn) => ({ conn, remoteOk: remoteAddressMatcher(conn.remoteAddrs) }));
  const built = new Map<LoadedConnection, Map<string, PeerConfig>>();
  let size = 0;
  /**
   * A responder PeerConfig depends only on the connection and the two IP addresses (`dynamic`
   * selectors, the default identity): built once per (connection, local IP, remote IP) and
   * returned again, instead of per IKE_AUTH. Bounded: cleared when RESPONDER_CONFIGS_MAX are held.
   */
  const peerConfigFor = (conn: LoadedConnection, local: Endpoint, remote: Endpoint): PeerConfig => {
    let byAddress = built.get(conn);
    if (byAddress === undefined) built.set(conn, (byAddress = new Map()));
    const key = `${local.ip}|${remote.ip}`;
    let config = byAddress.get(key);
    if (config === undefined) {
      if (size >= RESPONDER_CONFIGS_MAX) {
        for (const m of built.values()) m.clear();
        size = 0;
      }
      config = peerConfig(conn, local, remote);
      byAddress.set(key, config);
      size++;
    }
    return config;
  };
  return {
    init: {
      proposals: unique(connections.flatMap((c) => c.proposals)),
      fragmentation: connections.some((c) => c.fragmentation),
    },
    resolvePeer({ id, remote, local }) {
      let fallback: LoadedConnection | undefined;
      for (const { conn, remoteOk } of candidates) {
        if (!remoteOk(remote.ip) || (conn.localAddrs.length > 0 && !conn.localAddrs.includes(local.ip))) continue;
        if (conn.remote.id === undefined) fallback ??= conn;
        else if (sameIdentity(conn.remote.id, id)) return peerConfigFor(conn, local, remote);
      }
      return fallback && peerConfigFor(fallback, local, remote);
    },
  };
}
