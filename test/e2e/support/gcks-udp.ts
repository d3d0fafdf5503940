/**
 * The GCKS service and test GMs over real UDP on loopback: the service as `gcks start` runs
 * it (file database, master key from the environment, high or ephemeral ports), and GMs
 * that are IKE nodes of their own (src/ikev2/node.ts) running test/gcks/registration's
 * GSA_AUTH / GSA_REGISTRATION tasks.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type GcksConfig } from '../../../src/gcks/config/index.ts';
import { GcksService, type GcksServiceOptions } from '../../../src/gcks/service.ts';
import { IkeNode } from '../../../src/ikev2/node.ts';
import type { EngineOptions, PeerConfig } from '../../../src/ikev2/sa/config.ts';
import type { Endpoint } from '../../../src/ikev2/sa/types.ts';
import type { SocketConfig } from '../../../src/ikev2/transport/index.ts';
import type { ProposalSpec } from '../../../src/ikev2/wire/index.ts';
import { gmConfig, GsaRegistrationTask, once, type GmIdentity, type GroupAsk, type Outcome } from '../../gcks/registration/support/gm.ts';

export const silent = pino({ level: 'silent' });

export function gcksConfig(dir: string, over: Partial<GcksConfig> = {}): GcksConfig {
  return {
    ...DEFAULT_CONFIG,
    db: { path: join(dir, 'gcks.db'), busyTimeoutMs: 5000 },
    listen: { addresses: ['127.0.0.1'], ports: [0] },
    sampleGroup: false,
    log: { level: 'silent' },
    ...over,
  };
}

/** A GCKS service with a fresh master key given through the environment. */
export async function startGcks(dir: string, over: Partial<GcksConfig> = {}, opts: Partial<GcksServiceOptions> = {}, masterKey = randomBytes(32)): Promise<{ service: GcksService; masterKey: Buffer; endpoint: Endpoint }> {
  const service = await GcksService.start({ config: gcksConfig(dir, over), log: silent, env: { GCKS_MASTER_KEY: masterKey.toString('base64') }, ...opts });
  const s = service.node.transport.sockets()[0]!;
  return { service, masterKey, endpoint: { ip: s.local.address, port: s.local.port } };
}

const FAST: Partial<EngineOptions> = { livenessIntervalMs: 0, retransmit: { baseMs: 1000, factor: 1.5, tries: 5 } };

/** A GM: an IKE node on its own UDP socket(s). */
export class UdpGm {
  private constructor(readonly node: IkeNode) {}

  static async open(sockets: readonly SocketConfig[] = [{ address: '127.0.0.1', port: 0, kind: 'ike' }]): Promise<UdpGm> {
    return new UdpGm(await IkeNode.open({ transport: { sockets }, engine: { options: FAST } }));
  }

  get local(): Endpoint {
    const s = this.node.transport.sockets()[0]!;
    return { ip: s.local.address, port: s.local.port };
  }

  /** IKE_SA_INIT + GSA_AUTH; resolves with the outcome and the IKE SA's id. */
  register(gcks: Endpoint, who: GmIdentity, ask: GroupAsk, proposal?: ProposalSpec, extra: Partial<PeerConfig> = {}, local: Endpoint = this.local): Promise<{ outcome: Outcome; saId: string }> {
    return new Promise((resolve, reject) => {
      let saId = '';
      const config = gmConfig(who, ask, (o) => (o instanceof Error ? reject(o) : resolve({ outcome: o, saId })), proposal, extra);
      saId = this.node.engine.initiate(config, gcks, local).id;
    });
  }

  registration(saId: string, ask: GroupAsk & { readonly leave?: number }): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.node.engine.queueTask(saId, new GsaRegistrationTask(ask, once((o) => (o instanceof Error ? reject(o) : resolve(o)))));
    });
  }

  close(): Promise<void> {
    return this.node.close();
  }
}
