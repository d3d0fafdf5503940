/**
 * A GM (GroupMember on an IKE engine) and the scripted GCKS on the engine test harness's
 * in-memory network with a fake clock (test/ikev2/sa/support/harness.ts).
 */
import { KwaId } from '../../../../src/ikev2/registry/transform.ts';
import { EncrId, KeId, PrfId, ProtocolId } from '../../../../src/ikev2/registry/index.ts';
import type { PeerConfig } from '../../../../src/ikev2/sa/config.ts';
import type { GroupEvent } from '../../../../src/member/group/events.ts';
import { GroupMember, type GroupMemberOptions } from '../../../../src/member/group/member.ts';
import type { GroupRole, GroupSaDatabase, GroupSaInstall, GroupSaRef } from '../../../../src/member/group/sa-database.ts';
import { directionsFor } from '../../../../src/member/group/sa-database.ts';
import { ep, World, type Peer } from '../../../ikev2/sa/support/harness.ts';
import { GCKS_ID, GCKS_PSK, MEMBER_ID, ScriptedGcks } from './scripted-gcks.ts';

export const MEMBER_PROPOSALS: PeerConfig['proposals'] = [
  { protocolId: ProtocolId.IKE, encr: [{ id: EncrId.AES_GCM_16, keyLength: 256 }], prf: PrfId.HMAC_SHA2_256, ke: KeId.CURVE25519, kwa: [KwaId.KW_5649_256, KwaId.KW_5649_128] },
];

export function memberPeer(over: Partial<PeerConfig> = {}): PeerConfig {
  return {
    name: 'gcks',
    proposals: MEMBER_PROPOSALS,
    localId: MEMBER_ID,
    remoteId: GCKS_ID,
    localAuth: { method: 'psk', psk: GCKS_PSK },
    remoteAuth: { method: 'psk', psk: GCKS_PSK },
    children: [],
    ...over,
  };
}

/** An SA database that records what is installed and removed. */
export class RecordingSaDatabase implements GroupSaDatabase {
  readonly installed: GroupSaInstall[] = [];
  readonly removed: GroupSaRef[] = [];
  install(sa: GroupSaInstall): GroupSaRef {
    this.installed.push(sa);
    return { spi: sa.sa.policy.spi.readUInt32BE(), directions: directionsFor(sa.role) };
  }
  remove(ref: GroupSaRef): void {
    this.removed.push(ref);
  }
  get live(): number {
    return this.installed.length - this.removed.length;
  }
}

export interface GroupWorld {
  readonly world: World;
  readonly gcks: ScriptedGcks;
  readonly gcksPeer: Peer;
  readonly gmPeer: Peer;
  readonly member: GroupMember;
  readonly events: GroupEvent[];
  readonly db: RecordingSaDatabase;
  of<T extends GroupEvent['event']>(name: T): Extract<GroupEvent, { event: T }>[];
}

export function groupWorld(o: { role?: GroupRole; senderIds?: number; peer?: Partial<PeerConfig>; gcks?: ScriptedGcks; member?: Partial<GroupMemberOptions> } = {}): GroupWorld {
  const world = new World();
  const gcks = o.gcks ?? new ScriptedGcks();
  const gcksPeer = world.engine('10.0.0.2', { responder: gcks.responderPolicy(), options: { livenessIntervalMs: 0 } });
  for (const h of gcks.handlers()) gcksPeer.engine.registerResponder(h);
  const gmPeer = world.engine('10.0.0.1', { options: { livenessIntervalMs: 0 } });
  const events: GroupEvent[] = [];
  const db = new RecordingSaDatabase();
  let seed = 0;
  const member = new GroupMember({
    engine: gmPeer.engine,
    scheduler: world.clock,
    peer: memberPeer(o.peer),
    gcks: ep('10.0.0.2', 848),
    local: ep('10.0.0.1', 848),
    role: o.role ?? 'receiver',
    ...(o.senderIds !== undefined ? { senderIds: o.senderIds } : {}),
    saDatabase: db,
    onEvent: (e) => events.push(e),
    random: () => ((seed = (seed * 7 + 3) % 11) / 11),
    ...o.member,
  });
  const of = <T extends GroupEvent['event']>(name: T) => events.filter((e): e is Extract<GroupEvent, { event: T }> => e.event === name);
  return { world, gcks, gcksPeer, gmPeer, member, events, db, of };
}
