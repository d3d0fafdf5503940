/**
 * A GCKS on the engine harness's in-memory network (fake clock): an in-memory or file
 * store, groups and members created through the data model, the registration responders,
 * and test GMs (./gm.ts) at their own addresses.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { pino } from 'pino';
import { createGroup, addMember, authorizeMember } from '../../../../src/gcks/groups/index.ts';
import { GsaExchanges, type GcksIdentity } from '../../../../src/gcks/registration/gsa-exchanges.ts';
import { gcksInitConfig } from '../../../../src/gcks/registration/ike-policy.ts';
import { Registrar } from '../../../../src/gcks/registration/registrar.ts';
import { RegistrationSessions } from '../../../../src/gcks/registration/sessions.ts';
import type { MembershipRekey } from '../../../../src/gcks/keys/index.ts';
import { publicKeyToSpki } from '../../../../src/ikev2/crypto/spki.ts';
import { IdType } from '../../../../src/ikev2/registry/index.ts';
import { Id, type Identity } from '../../../../src/ikev2/sa/identity.ts';
import type { ProposalSpec } from '../../../../src/ikev2/wire/index.ts';
import type { PeerConfig } from '../../../../src/ikev2/sa/config.ts';
import { openStore, type MemberRole, type Store } from '../../../../src/store/index.ts';
import { ep, FAST, World, type Peer } from '../../../ikev2/sa/support/harness.ts';
import { gmConfig, GsaRegistrationTask, once, type GmIdentity, type GroupAsk, type Outcome } from './gm.ts';

export const GCKS_IP = '10.9.0.1';
export const silentLog = pino({ level: 'silent' });

/** Multicast-rekey group: ESP AES-GCM-16-256 multi-sender (counter mode), Rekey SA with Ed25519, KW_5649_256. */
export function gcmPolicy(n = 1, over: { mode?: 'tunnel' | 'transport'; kwa?: string; auth?: unknown; senderIdBits?: number } = {}) {
  return {
    dataSecuritySas: [
      {
        name: `data-${n}`,
        mode: over.mode ?? 'tunnel',
        senders: 'multiple',
        encryption: { algorithm: 'aes-gcm-16', keyBits: 256 },
        destination: { address: `239.10.0.${n}`, protocol: 'udp' },
        lifetimeSeconds: 3600,
      },
    ],
    rekey: {
      method: 'multicast',
      sa: {
        destination: { address: `239.10.1.${n}`, port: 848 },
        encryption: { algorithm: 'aes-gcm-16', keyBits: 256 },
        keyWrap: over.kwa ?? 'kw-5649-256',
        authentication: over.auth ?? { method: 'signature', algorithm: 'ed25519' },
        lifetimeSeconds: 86400,
      },
    },
    groupWide: { activationTimeDelay: 2, deactivationTimeDelay: 4, senderIdBits: over.senderIdBits ?? 8 },
  };
}

/** Transport mode, AES-CBC-128 + HMAC-SHA2-256-128 single sender, implicit GCAUTH: no counter mode. */
export function cbcTransportPolicy() {
  return {
    dataSecuritySas: [
      {
        name: 'cbc',
        mode: 'transport',
        senders: 'single',
        encryption: { algorithm: 'aes-cbc', keyBits: 128 },
        integrity: 'hmac-sha2-256-128',
        sequenceNumbers: 'sequential-32',
        source: { address: '192.0.2.10' },
        destination: { address: '239.20.0.1' },
        lifetimeSeconds: 3600,
      },
    ],
    rekey: {
      method: 'multicast',
      sa: {
        destination: { address: '239.20.1.1', port: 848 },
        encryption: { algorithm: 'aes-cbc', keyBits: 128 },
        integrity: 'hmac-sha2-256-128',
        keyWrap: 'kw-5649-256',
        authentication: { method: 'implicit' },
        lifetimeSeconds: 86400,
      },
    },
    groupWide: { activationTimeDelay: 0, deactivationTimeDelay: 0 },
  };
}

/** Rekeyed in-band over the IKE SA (no Rekey SA, no key tree). */
export function inbandPolicy() {
  const p = gcmPolicy(9) as Record<string, unknown>;
  return { ...p, rekey: { method: 'inband' } };
}

export interface GcksTestOptions {
  readonly store?: Store;
  readonly lingerMs?: number;
  readonly treeDegree?: number;
}

export class GcksWorld {
  readonly world = new World();
  readonly store: Store;
  readonly registrar: Registrar;
  readonly gcks: Peer;
  readonly identity: GcksIdentity;
  readonly rekeys: { groupId: number; rekey: MembershipRekey }[] = [];
  #nextIp = 1;

  constructor(opts: GcksTestOptions = {}) {
    this.store = opts.store ?? openStore({ path: ':memory:', masterKey: randomBytes(32) });
    this.identity = { id: Id.keyId('gcks'), signatureKey: generateKeyPairSync('ed25519').privateKey };
    this.registrar = new Registrar({ store: this.store, log: silentLog, rekeySink: { membershipRekey: (groupId, rekey) => this.rekeys.push({ groupId, rekey }) }, ...(opts.treeDegree ? { treeDegree: opts.treeDegree } : {}) });
    const exchanges = new GsaExchanges({ store: this.store, registrar: this.registrar, sessions: new RegistrationSessions(opts.lingerMs ?? 0), identity: this.identity, log: silentLog });
    this.gcks = this.world.engine(GCKS_IP, { responder: { init: gcksInitConfig(), resolvePeer: () => undefined }, options: FAST });
    exchanges.attach(this.gcks.engine);
  }

  group(name: string, policy: unknown, memberCap: number | null = null): number {
    return createGroup(this.store, { name, identity: { idType: IdType.ID_KEY_ID, data: Buffer.from(name) }, memberCap, policy }, 'test').group.id;
  }

  /** A PSK member authorized for `groups`. */
  pskMember(name: string, groups: readonly number[], role: MemberRole = 'both', maxSenderIds = 4, psk = randomBytes(32)): GmIdentity & { memberId: number } {
    const id = Id.keyId(name);
    const m = addMember(this.store, { identity: { idType: id.type, data: id.data }, credential: { kind: 'psk', psk } }, 'test');
    for (const g of groups) authorizeMember(this.store, g, m.id, { role, maxSenderIds: role === 'receiver' ? 0 : maxSenderIds }, 'test');
    return { memberId: m.id, id, localAuth: { method: 'psk', psk }, remoteAuth: { method: 'psk', psk } };
  }

  /** A member with an Ed25519 key (RFC 7427 AUTH, raw public keys both ways). */
  keyMember(name: string, groups: readonly number[]): GmIdentity & { memberId: number; key: KeyObject } {
    const key = generateKeyPairSync('ed25519').privateKey;
    const id: Identity = Id.keyId(name);
    const m = addMember(this.store, { identity: { idType: id.type, data: id.data }, credential: { kind: 'public-key', spki: publicKeyToSpki(key) } }, 'test');
    for (const g of groups) authorizeMember(this.store, g, m.id, { role: 'receiver', maxSenderIds: 0 }, 'test');
    const gcksPublic = { method: 'signature' as const, publicKeys: [this.identity.signatureKey!] };
    return { memberId: m.id, key, id, localAuth: { method: 'signature', privateKey: key }, remoteAuth: gcksPublic };
  }

  /** A GM engine at its own address; `register` runs IKE_SA_INIT + GSA_AUTH. */
  gm(who: GmIdentity): TestGm {
    const n = this.#nextIp++;
    const peer = this.world.engine(`10.9.${1 + (n >> 8)}.${n & 255}`, { options: FAST });
    return new TestGm(this, peer, who);
  }
}

export class TestGm {
  saId: string | undefined;
  constructor(
    readonly w: GcksWorld,
    readonly peer: Peer,
    readonly who: GmIdentity,
  ) {}

  async register(ask: GroupAsk, proposal?: ProposalSpec, extra: Partial<PeerConfig> = {}): Promise<Outcome> {
    let out: Outcome | Error | undefined;
    const config = gmConfig(this.who, ask, (o) => (out = o), proposal, extra);
    this.saId = this.peer.engine.initiate(config, ep(GCKS_IP), ep(this.peer.ip)).id;
    await this.w.world.advance();
    if (out === undefined) throw new Error('GSA_AUTH got no answer');
    if (out instanceof Error) throw out;
    return out;
  }

  async registration(ask: GroupAsk & { readonly leave?: number }): Promise<Outcome> {
    let out: Outcome | Error | undefined;
    this.peer.engine.queueTask(this.saId!, new GsaRegistrationTask(ask, once((o) => (out = o))));
    await this.w.world.advance();
    if (out === undefined) throw new Error('GSA_REGISTRATION got no answer');
    if (out instanceof Error) throw out;
    return out;
  }

  get sa() {
    return this.saId === undefined ? undefined : this.peer.engine.get(this.saId);
  }
}
