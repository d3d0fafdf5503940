/**
 * The GCKS process (`gcks start`, `npm start`): store, groups and registration on UDP.
 *
 *   config ─▶ master key ─▶ store (migrations, key check) ─▶ sample group (first start)
 *          ─▶ IkeNode (UDP 848, 500, 4500; RFC 9838 §2.1.1) ─▶ IKE engine with the GCKS's
 *             IKE_SA_INIT policy (KWA, optional ML-KEM) and the GSA_AUTH/GSA_REGISTRATION
 *             responders (src/gcks/registration)
 *
 * Master key on a fresh machine: with no key configured (GCKS_MASTER_KEY_FILE,
 * GCKS_MASTER_KEY, masterKeyFile) the GCKS uses `master.key` beside the database; it
 * generates that file (0600, with a loud warning) only when the database does not exist
 * yet, so a key can never be invented for a database holding secrets.
 */
import { generateKeyPairSync, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { keyPairPool } from '../ikev2/crypto/keypair-pool.ts';
import { KeyLogWriter } from '../ikev2/keylog/writer.ts';
import { IkeNode } from '../ikev2/node.ts';
import { IdType, Port } from '../ikev2/registry/misc.ts';
import type { EngineOptions } from '../ikev2/sa/config.ts';
import { endpointText, type Scheduler } from '../ikev2/sa/types.ts';
import { endpointKey, type SocketConfig } from '../ikev2/transport/index.ts';
import { generateMasterKeyFile, loadMasterKey, MASTER_KEY_ENV, MASTER_KEY_FILE_ENV, openStore, type MasterKeySource, type Store } from '../store/index.ts';
import type { GcksConfig } from './config/config.ts';
import type { Logger } from './config/logger.ts';
import { ensureSampleGroup, type SampleGroupResult } from './groups/index.ts';
import { EventLoopAffinity } from './cpu-affinity.ts';
import { MemoryReclaimer, type MemoryReclaimOptions } from './memory-reclaim.ts';
import { gcksInitConfig } from './registration/ike-policy.ts';
import { GsaExchanges, type GcksIdentity } from './registration/gsa-exchanges.ts';
import { Registrar, type MembershipRekeySink } from './registration/registrar.ts';
import { RegistrationSessions } from './registration/sessions.ts';

export const DEFAULT_GCKS_IDENTITY = { type: IdType.ID_KEY_ID, data: Buffer.from('gcks') } as const;
/** Close a registration's IKE SA this long after its last GSA_AUTH/GSA_REGISTRATION. */
export const DEFAULT_LINGER_MS = 60_000;
export const GENERATED_MASTER_KEY_FILE = 'master.key';
export const SIGNATURE_KEY_FILE = 'gcks-signature.key';

export interface GcksServiceOptions {
  readonly config: GcksConfig;
  readonly log: Logger;
  /** Where GCKS_MASTER_KEY(_FILE) are read (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly identity?: GcksIdentity['id'];
  readonly lingerMs?: number;
  /** Group commit window of registrations (ms; 0: one event-loop turn), src/gcks/registration/group-commit.ts. */
  readonly commitWindowMs?: number;
  /** UDP ports that are NAT-T sockets (non-ESP marker); default 4500. */
  readonly nattPorts?: readonly number[];
  readonly engineOptions?: Partial<EngineOptions>;
  readonly scheduler?: Scheduler;
  readonly treeDegree?: number;
  readonly rekeySink?: MembershipRekeySink;
  /** Memory given back once idle after a burst (src/gcks/memory-reclaim.ts); false: never. */
  readonly memoryReclaim?: MemoryReclaimOptions | false;
  /** X25519 secrets and IKE SA keys derived ahead on the key-pair pool's worker (default true; GKM_DERIVE_AHEAD=0/1 overrides). */
  readonly deriveAhead?: boolean;
  /** WAL checkpoints on a thread of their own (default true; src/store/checkpointer.ts). */
  readonly backgroundCheckpoints?: boolean;
}

export interface FirstStartInfo {
  /** The master key file generated on this start, if any. */
  readonly masterKeyGenerated: string | null;
  readonly sampleGroup: SampleGroupResult | null;
}

/** The master key per the module comment; `generated` names a file made just now. */
export function resolveMasterKey(config: GcksConfig, env: NodeJS.ProcessEnv, log: Logger): MasterKeySource & { readonly generated: string | null } {
  const configured = config.masterKeyFile ?? env[MASTER_KEY_FILE_ENV] ?? env[MASTER_KEY_ENV];
  if (configured || config.db.path === ':memory:') return { ...loadMasterKey({ file: config.masterKeyFile ?? undefined, env }), generated: null };
  const beside = join(dirname(config.db.path), GENERATED_MASTER_KEY_FILE);
  if (existsSync(beside)) {
    log.warn({ file: beside }, 'using the master key file beside the database; keep a copy apart from it (set GCKS_MASTER_KEY_FILE)');
    return { ...loadMasterKey({ file: beside, env: {} }), generated: null };
  }
  if (existsSync(config.db.path)) return { ...loadMasterKey({ env }), generated: null }; // no key: GKM_STORE_MASTER_KEY_MISSING
  generateMasterKeyFile(beside);
  log.warn(
    { file: beside },
    '*** FIRST START: generated a new master key beside the database. It encrypts every secret in the database: ' +
      'back it up and keep it apart from the database (then point GCKS_MASTER_KEY_FILE at it). Without it the stored secrets are lost. ***',
  );
  return { ...loadMasterKey({ file: beside, env: {} }), generated: beside };
}

/** The GCKS's own signature key, for members that authenticate with public keys (Ed25519, 0600 PKCS#8 PEM). */
function loadSignatureKey(store: Store, log: Logger): KeyObject {
  if (store.path === ':memory:') return generateKeyPairSync('ed25519').privateKey;
  const file = join(dirname(store.path), SIGNATURE_KEY_FILE);
  if (existsSync(file)) return createPrivateKey(readFileSync(file));
  const key = generateKeyPairSync('ed25519').privateKey;
  writeFileSync(file, key.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  log.info({ file }, 'generated the GCKS signature key (GSA_AUTH towards members with public keys)');
  return key;
}

/** Listening sockets: every address × port; NAT-T ports get the non-ESP marker (RFC 3948). */
export function listenSockets(config: GcksConfig, nattPorts: readonly number[] = [Port.NAT_T]): SocketConfig[] {
  return config.listen.addresses.flatMap((address) => config.listen.ports.map((port): SocketConfig => ({ address, port, kind: nattPorts.includes(port) ? 'natt' : 'ike' })));
}

/** config.eventLoopCpu: the event loop on its CPU, other threads (also later ones) on the rest. */
function pinEventLoop(cpu: number, log: Logger): EventLoopAffinity {
  const affinity = EventLoopAffinity.apply(cpu, { onError: (tid, detail) => log.warn({ thread: tid, detail }, 'could not move a thread off the event loop\'s CPU') });
  log.info({ eventLoopCpu: cpu, otherThreads: affinity.plan.helpers }, 'event-loop thread pinned');
  return affinity;
}

export class GcksService {
  readonly store: Store;
  readonly registrar: Registrar;
  readonly node: IkeNode;
  readonly firstStart: FirstStartInfo;
  readonly memoryReclaimer: MemoryReclaimer | undefined;
  /** config.eventLoopCpu applied (src/gcks/cpu-affinity.ts). */
  readonly affinity: EventLoopAffinity | undefined;
  readonly #log: Logger;
  #stopped = false;

  private constructor(store: Store, registrar: Registrar, node: IkeNode, firstStart: FirstStartInfo, log: Logger, memoryReclaimer: MemoryReclaimer | undefined, affinity: EventLoopAffinity | undefined) {
    this.affinity = affinity;
    this.store = store;
    this.registrar = registrar;
    this.node = node;
    this.firstStart = firstStart;
    this.#log = log;
    this.memoryReclaimer = memoryReclaimer;
    memoryReclaimer?.start();
  }

  static async start(o: GcksServiceOptions): Promise<GcksService> {
    const { config, log } = o;
    const master = resolveMasterKey(config, o.env ?? process.env, log);
    for (const w of master.warnings) log.warn({}, w);
    const store = openStore({
      path: config.db.path,
      masterKey: master.key,
      busyTimeoutMs: config.db.busyTimeoutMs,
      // WAL checkpoints off the event loop (src/store/checkpointer.ts, docs/decisions.md).
      ...(o.backgroundCheckpoints !== false ? { backgroundCheckpoints: { warn: (m: string) => log.warn({}, m) } } : {}),
    });
    master.key.fill(0);
    let affinity: EventLoopAffinity | undefined;
    try {
      affinity = config.eventLoopCpu === null ? undefined : pinEventLoop(config.eventLoopCpu, log);
      log.info({ db: store.path, created: store.created, schemaVersion: store.schemaVersion, masterKey: undefined, masterKeyOrigin: master.origin }, 'store open');
      const sampleGroup = config.sampleGroup ? ensureSampleGroup(store) : null;
      const identity: GcksIdentity = { id: o.identity ?? DEFAULT_GCKS_IDENTITY, signatureKey: loadSignatureKey(store, log) };
      const registrar = new Registrar({ store, log, ...(o.rekeySink ? { rekeySink: o.rekeySink } : {}), ...(o.treeDegree ? { treeDegree: o.treeDegree } : {}), ...(o.commitWindowMs !== undefined ? { commit: { windowMs: o.commitWindowMs } } : {}) });
      const exchanges = new GsaExchanges({ store, registrar, sessions: new RegistrationSessions(o.lingerMs ?? DEFAULT_LINGER_MS), identity, log });
      const keyLog = config.keylogDir ? new KeyLogWriter(config.keylogDir, (m) => log.warn({ dir: config.keylogDir }, m)) : undefined;
      const node = await IkeNode.open({
        // Registration bursts (many GMs at once) must not overflow the sockets: the transport's default 4 MiB buffers.
        transport: { sockets: listenSockets(config, o.nattPorts) },
        engine: {
          responder: { init: gcksInitConfig(), resolvePeer: () => undefined }, // IKE_AUTH is not offered: GSA_AUTH only
          ...(keyLog ? { keyLog } : {}),
          ...(o.scheduler ? { scheduler: o.scheduler } : {}),
          options: { livenessIntervalMs: 0, coalesceSends: true, ...o.engineOptions }, // coalesceSends: as the member daemon
        },
        onUnroutable: (remote, local) => log.error({ remote: endpointText(remote), local: endpointText(local) }, 'no socket for the local endpoint; datagram dropped'),
        onTransportError: (e) => log.warn({ operation: e.operation, local: endpointKey(e.local), error: String(e.error) }, 'transport error'),
      });
      exchanges.attach(node.engine);
      node.engine.events.on('error', (e) => log.debug({ ike: e.ikeSaId, code: e.code, notify: e.notifyName }, e.message));
      log.info({ sockets: node.sockets, identity: identity.id.data.toString('latin1') }, 'GCKS listening');
      // Registration is bound by this thread: X25519 secrets and IKE SA keys are computed on the
      // key-pair pool's worker while each IKE_SA_INIT reply travels (docs/decisions.md).
      keyPairPool()?.useDeriveAhead(o.deriveAhead ?? true);
      const reclaimer = o.memoryReclaim === false ? undefined : new MemoryReclaimer(log, o.memoryReclaim ?? {});
      return new GcksService(store, registrar, node, { masterKeyGenerated: master.generated, sampleGroup }, log, reclaimer, affinity);
    } catch (e) {
      affinity?.stop();
      store.close();
      throw e;
    }
  }

  get sockets(): string[] {
    return this.node.sockets;
  }

  /** Close the sockets, then the database. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.memoryReclaimer?.stop();
    this.affinity?.stop();
    await this.node.close();
    await new Promise((resolve) => setImmediate(resolve)); // let a pending group commit finish
    this.store.close();
    this.#log.info({}, 'GCKS stopped');
  }
}
