/**
 * A test group member built from the IKE engine: GSA_AUTH as the authentication exchange
 * (PeerConfig.authTask), GSA_REGISTRATION for more groups and for leaving, and the GM key
 * handling of src/member/keys (MemberGroupKeys: unwrap, working key path, length checks).
 * Written from RFC 9838 §2.3 independently of the member agent, so it cross-checks the GCKS.
 */
import { gskW } from '../../../../src/ikev2/crypto/keys.ts';
import { getKeyWrap } from '../../../../src/ikev2/crypto/keywrap.ts';
import { ExchangeType, KeId, KwaId, NotifyType, PayloadType, PrfId, ProtocolId, EncrId, SnId, TransformType, GcauthId } from '../../../../src/ikev2/registry/index.ts';
import { isErrorNotify } from '../../../../src/ikev2/registry/notify.ts';
import { localAuthPayloads, verifyPeerAuth } from '../../../../src/ikev2/sa/auth.ts';
import { DEFAULT_SIGNATURE_HASHES, type LocalAuth, type PeerAuth, type PeerConfig } from '../../../../src/ikev2/sa/config.ts';
import { idPayload, identityOf, type Identity } from '../../../../src/ikev2/sa/identity.ts';
import type { IkeSa } from '../../../../src/ikev2/sa/ike-sa.ts';
import type { InboundMessage, InitiatorTask, TaskContext, TaskResult } from '../../../../src/ikev2/sa/task.ts';
import { buildProposal, notify, NotifyData, type AuthPayload, type CertPayload, type IdrPayload, type Payload, type ProposalSpec } from '../../../../src/ikev2/wire/index.ts';
import type { GsaPayload } from '../../../../src/ikev2/wire/payloads/gsa.ts';
import type { KdPayload } from '../../../../src/ikev2/wire/payloads/kd.ts';
import { MemberGroupKeys, type KeyDownloadOutcome } from '../../../../src/member/keys/member-group-keys.ts';

export interface GroupAsk {
  /** IDg as KEY_ID text. */
  readonly group: string;
  /** SAg proposals (Proposal Num given in each spec); absent = no SAg. */
  readonly sag?: readonly ProposalSpec[];
  /** N(GROUP_SENDER) count; absent = receiver only. Raw data overrides (malformed tests). */
  readonly groupSender?: number;
  readonly groupSenderData?: Buffer;
}

/** What a registration exchange ended with. */
export type Outcome =
  | { readonly kind: 'registered'; readonly group: string; readonly gsa: GsaPayload; readonly kd: KdPayload; readonly keys: MemberGroupKeys; readonly result: KeyDownloadOutcome; readonly transportMode: boolean; readonly payloads: readonly Payload[] }
  | { readonly kind: 'refused'; readonly group: string; readonly notify: number; readonly payloads: readonly Payload[] }
  | { readonly kind: 'left'; readonly group: string; readonly payloads: readonly Payload[] };

const find = <T extends Payload>(p: readonly Payload[], type: number): T | undefined => p.find((x) => x.type === type) as T | undefined;

/** SAg a GM supporting AES-GCM-16-256 ESP, the sample Rekey SA and KW_5649_256 would send. */
export const SAG_GCM_256: readonly ProposalSpec[] = [
  { number: 1, protocolId: ProtocolId.GIKE_UPDATE, encr: { id: EncrId.AES_GCM_16, keyLength: 256 }, kwa: [KwaId.KW_5649_256, KwaId.KW_5649_128], gcauth: [GcauthId.DIGITAL_SIGNATURE, GcauthId.IMPLICIT] },
  { number: 1, protocolId: ProtocolId.ESP, encr: [{ id: EncrId.AES_GCM_16, keyLength: 256 }, { id: EncrId.AES_GCM_16, keyLength: 128 }], sn: [SnId.UNSPECIFIED32, SnId.SEQ32] },
];

function groupPayloads(ask: GroupAsk): Payload[] {
  const out: Payload[] = [{ type: PayloadType.IDg, idType: 11, data: Buffer.from(ask.group) }];
  if (ask.sag) out.push({ type: PayloadType.SA, proposals: ask.sag.map((s) => buildProposal(s)) });
  if (ask.groupSenderData) out.push(notify(NotifyType.GROUP_SENDER, ask.groupSenderData));
  else if (ask.groupSender !== undefined) out.push(NotifyData.GROUP_SENDER.build(ask.groupSender));
  return out;
}

const channelOf = (sa: IkeSa): { kwaId: number; gskW: Buffer } => {
  const { suite, prf, keys } = sa.requireCrypto();
  const kwaId = suite.kwaId!;
  return { kwaId, gskW: gskW(prf, keys.skD, getKeyWrap(kwaId).keyLength) };
};

/** The reply's GSA/KD run through the GM's key handling (every key unwrapped and checked). */
function outcomeOf(sa: IkeSa, ask: GroupAsk, p: readonly Payload[]): Outcome {
  const gsa = find<GsaPayload>(p, PayloadType.GSA);
  const kd = find<KdPayload>(p, PayloadType.KD);
  if (!gsa || !kd) {
    const n = p.find((x) => x.type === PayloadType.NOTIFY && isErrorNotify(x.notifyType));
    if (!n || n.type !== PayloadType.NOTIFY) throw new Error(`reply without GSA/KD or error notify: ${p.map((x) => x.type).join(',')}`);
    return { kind: 'refused', group: ask.group, notify: n.notifyType, payloads: p };
  }
  const keys = new MemberGroupKeys(ask.groupSender === undefined && !ask.groupSenderData ? {} : { groupSender: ask.groupSender ?? 1 });
  const result = keys.processRegistration(gsa, kd, channelOf(sa));
  const transportMode = p.some((x) => x.type === PayloadType.NOTIFY && x.notifyType === NotifyType.USE_TRANSPORT_MODE);
  return { kind: 'registered', group: ask.group, gsa, kd, keys, result, transportMode, payloads: p };
}

export class GsaAuthTask implements InitiatorTask {
  readonly name = 'GSA_AUTH';
  readonly exchangeType = ExchangeType.GSA_AUTH;
  readonly phases = ['keyed'] as const;
  readonly critical = true;
  constructor(
    private readonly config: PeerConfig,
    private readonly ask: GroupAsk,
    private readonly done: (o: Outcome | Error) => void,
  ) {}

  buildRequest(ctx: TaskContext): Payload[] {
    const idi = idPayload(PayloadType.IDi, this.config.localId);
    const { certs, auth } = localAuthPayloads(ctx.sa, this.config.localAuth, 'initiator', idi);
    return [idi, ...certs, auth, ...groupPayloads(this.ask)];
  }

  processResponse(ctx: TaskContext, res: InboundMessage): TaskResult {
    const p = res.payloads;
    const idr = find<IdrPayload>(p, PayloadType.IDr);
    const auth = find<AuthPayload>(p, PayloadType.AUTH);
    if (!idr || !auth) {
      const n = p.find((x) => x.type === PayloadType.NOTIFY);
      this.done(Object.assign(new Error(`GSA_AUTH failed: notify ${n?.type === PayloadType.NOTIFY ? n.notifyType : 'none'}`), { notify: n?.type === PayloadType.NOTIFY ? n.notifyType : undefined }));
      ctx.close('auth-failed');
      return 'done';
    }
    const certs = p.filter((x): x is CertPayload => x.type === PayloadType.CERT);
    verifyPeerAuth(ctx.sa, this.config.remoteAuth, 'responder', { id: idr, auth, certs, acceptedHashes: DEFAULT_SIGNATURE_HASHES, at: new Date() });
    ctx.establish({ config: this.config, localId: this.config.localId, remoteId: identityOf(idr) });
    try {
      this.done(outcomeOf(ctx.sa, this.ask, p));
    } catch (e) {
      this.done(e as Error);
    }
    return 'done';
  }

  dispose(): void {
    this.done(new Error('GSA_AUTH did not complete'));
  }
}

export class GsaRegistrationTask implements InitiatorTask {
  readonly name = 'GSA_REGISTRATION';
  readonly exchangeType = ExchangeType.GSA_REGISTRATION;
  readonly phases = ['established'] as const;
  readonly critical = false;
  constructor(
    private readonly ask: GroupAsk & { readonly leave?: number },
    private readonly done: (o: Outcome | Error) => void,
  ) {}

  buildRequest(): Payload[] {
    if (this.ask.leave !== undefined) return [{ type: PayloadType.IDg, idType: 11, data: Buffer.from(this.ask.group) }, notify(this.ask.leave)];
    return groupPayloads(this.ask);
  }

  processResponse(ctx: TaskContext, res: InboundMessage): TaskResult {
    try {
      this.done(this.ask.leave !== undefined ? { kind: 'left', group: this.ask.group, payloads: res.payloads } : outcomeOf(ctx.sa, this.ask, res.payloads));
    } catch (e) {
      this.done(e as Error);
    }
    return 'done';
  }

  dispose(): void {
    this.done(new Error('GSA_REGISTRATION did not complete'));
  }
}

export interface GmIdentity {
  readonly id: Identity;
  readonly localAuth: LocalAuth;
  readonly remoteAuth: PeerAuth;
}

/** IKE proposal with KWA (RFC 9838 §2.2); `mlkem` adds an RFC 9370 round (IKE_INTERMEDIATE). */
export function gmIkeProposal(opts: { readonly kwa?: number | number[]; readonly mlkem?: boolean; readonly ke?: number } = {}): ProposalSpec {
  return {
    protocolId: ProtocolId.IKE,
    encr: { id: EncrId.AES_GCM_16, keyLength: 256 },
    prf: PrfId.HMAC_SHA2_256,
    ke: opts.ke ?? KeId.CURVE25519,
    ...(opts.kwa === undefined ? { kwa: KwaId.KW_5649_256 } : opts.kwa === 0 ? {} : { kwa: opts.kwa }),
    ...(opts.mlkem ? { addke: [KeId.ML_KEM_768] } : {}),
  };
}

/** A GM's PeerConfig whose authentication exchange is GSA_AUTH for `ask`. */
export function gmConfig(who: GmIdentity, ask: GroupAsk, done: (o: Outcome | Error) => void, proposal: ProposalSpec = gmIkeProposal(), extra: Partial<PeerConfig> = {}): PeerConfig {
  const config: PeerConfig = {
    name: 'gcks',
    proposals: [proposal],
    localId: who.id,
    localAuth: who.localAuth,
    remoteAuth: who.remoteAuth,
    children: [],
    authTask: () => new GsaAuthTask(config, ask, once(done)),
    ...extra,
  };
  return config;
}

/** Only the first report counts (dispose() after a result is a no-op). */
export function once<T>(f: (v: T) => void): (v: T) => void {
  let called = false;
  return (v) => {
    if (called) return;
    called = true;
    f(v);
  };
}

export const TransformTypes = TransformType;
