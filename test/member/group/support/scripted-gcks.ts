/**
 * A scripted GCKS for the member's tests: the IKE engine as responder with GSA_AUTH and
 * GSA_REGISTRATION handlers (RFC 9838 §2.3) that answer from a table of groups, producing
 * GSA and KD with the wire builders (group-attributes.ts) and keys wrapped under the IKE
 * SA's GSK_w. Every answer can be replaced or tampered with per test (error notifies,
 * malformed GSA/KD), and every key sent is recorded so tests can look for it in output.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { getKeyWrap } from '../../../../src/ikev2/crypto/keywrap.ts';
import { gskW } from '../../../../src/ikev2/crypto/keys.ts';
import { publicKeyToSpki } from '../../../../src/ikev2/crypto/spki.ts';
import { signatureAlgorithmIdentifier } from '../../../../src/ikev2/crypto/sig.ts';
import { GsaAttr } from '../../../../src/ikev2/registry/group.ts';
import { ExchangeType } from '../../../../src/ikev2/registry/exchange.ts';
import { IdType, ProtocolId, TsType } from '../../../../src/ikev2/registry/misc.ts';
import { NotifyType } from '../../../../src/ikev2/registry/notify.ts';
import { PayloadType } from '../../../../src/ikev2/registry/payload.ts';
import { EncrId, GcauthId, IntegId, KeId, KwaId, PrfId, SnId, TransformAttr, TransformType } from '../../../../src/ikev2/registry/transform.ts';
import { localAuthPayloads, verifyPeerAuth } from '../../../../src/ikev2/sa/auth.ts';
import { DEFAULT_SIGNATURE_HASHES, type PeerConfig, type ResponderPolicy } from '../../../../src/ikev2/sa/config.ts';
import { Id, idPayload, identityOf, identityText } from '../../../../src/ikev2/sa/identity.ts';
import type { IkeSa } from '../../../../src/ikev2/sa/ike-sa.ts';
import { findNotify, required } from '../../../../src/ikev2/sa/messages.ts';
import type { InboundMessage, ResponderHandler, TaskContext } from '../../../../src/ikev2/sa/task.ts';
import { tlvAttr, tvAttr, u32Data, type Attribute } from '../../../../src/ikev2/wire/attributes.ts';
import { buildGroupKeyBag, buildGroupWidePolicy, buildMemberKeyBag, registrationContext, type WrappedKey } from '../../../../src/ikev2/wire/group-attributes.ts';
import { groupSaKeyMaterialLength, usesCounterMode } from '../../../../src/ikev2/wire/group-policy.ts';
import type { Payload } from '../../../../src/ikev2/wire/payload.ts';
import { notify, NotifyData, type AuthPayload, type GroupPolicy, type GsaPayload, type GsaPolicy, type IdgPayload, type IdiPayload, type KdPayload, type KeyBag, type ProposalSpec } from '../../../../src/ikev2/wire/payloads/index.ts';
import type { Transform } from '../../../../src/ikev2/wire/sub/transform.ts';
import type { TrafficSelector } from '../../../../src/ikev2/wire/sub/traffic-selector.ts';

export const GCKS_PSK = Buffer.from('sample-member-psk-0123456789abcdef', 'utf8');
export const GCKS_ID = Id.fqdn('gcks.example');
export const MEMBER_ID = Id.keyId('member-1');

const t = (transformType: number, transformId: number, attributes: readonly Attribute[] = []): Transform => ({ transformType, transformId, attributes });
const v4 = (a: string, ipProtocol = 0, port?: number): TrafficSelector => {
  const b = Buffer.from(a.split('.').map(Number));
  return { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol, startPort: port ?? 0, endPort: port ?? 0xffff, startAddress: b, endAddress: b };
};
export const ANY_V4: TrafficSelector = { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 0, startPort: 0, endPort: 0xffff, startAddress: Buffer.alloc(4), endAddress: Buffer.alloc(4, 0xff) };
const lifetime = (s: number): Attribute => tlvAttr(GsaAttr.GSA_KEY_LIFETIME, u32Data(s));

export type PolicyTemplate = Omit<GsaPolicy, 'spi'>;

/** The GCKS's rekey signing key (Ed25519). */
export const SIGNING = generateKeyPairSync('ed25519');
export const AUTH_KEY_SPKI = publicKeyToSpki(SIGNING.publicKey);

export function rekeySaTemplate(o: { lifetime?: number; initialMessageId?: number; kwaId?: number; gcauth?: 'implicit' | 'signature' } = {}): PolicyTemplate {
  const gcauth =
    o.gcauth === 'implicit'
      ? t(TransformType.GCAUTH, GcauthId.IMPLICIT)
      : t(TransformType.GCAUTH, GcauthId.DIGITAL_SIGNATURE, [tlvAttr(TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER, signatureAlgorithmIdentifier('ed25519'))]);
  return {
    protocolId: ProtocolId.GIKE_UPDATE,
    source: v4('10.0.0.2', 17, 848),
    destination: v4('239.192.0.100', 17, 848),
    transforms: [t(TransformType.ENCR, EncrId.AES_GCM_16, [tvAttr(TransformAttr.KEY_LENGTH, 256)]), t(TransformType.KWA, o.kwaId ?? KwaId.KW_5649_256), gcauth],
    attributes: [lifetime(o.lifetime ?? 86400), ...(o.initialMessageId ? [tlvAttr(GsaAttr.GSA_INITIAL_MESSAGE_ID, u32Data(o.initialMessageId))] : [])],
  };
}

/** ESP AES-GCM-16-256, several senders (SN 2), to 239.192.0.`n`: a counter mode. */
export function gcmTemplate(n = 1, o: { lifetime?: number } = {}): PolicyTemplate {
  return {
    protocolId: ProtocolId.ESP,
    source: ANY_V4,
    destination: v4(`239.192.0.${n}`, 17),
    transforms: [t(TransformType.ENCR, EncrId.AES_GCM_16, [tvAttr(TransformAttr.KEY_LENGTH, 256)]), t(TransformType.SN, SnId.UNSPECIFIED32)],
    attributes: [lifetime(o.lifetime ?? 3600)],
  };
}

/** ESP AES-CBC-128 + HMAC-SHA2-256-128, one sender (SN 0): not a counter mode. */
export function cbcTemplate(n = 2, o: { lifetime?: number } = {}): PolicyTemplate {
  return {
    protocolId: ProtocolId.ESP,
    source: v4('192.0.2.7'),
    destination: v4(`239.192.1.${n}`),
    transforms: [t(TransformType.ENCR, EncrId.AES_CBC, [tvAttr(TransformAttr.KEY_LENGTH, 128)]), t(TransformType.INTEG, IntegId.HMAC_SHA2_256_128), t(TransformType.SN, SnId.SEQ32)],
    attributes: [lifetime(o.lifetime ?? 3600)],
  };
}

export interface GroupDef {
  readonly rekeySa?: PolicyTemplate;
  readonly dataSecurity: readonly PolicyTemplate[];
  readonly activationDelay?: number;
  readonly deactivationDelay?: number;
  readonly senderIdBits?: number;
  readonly maxSenderIds?: number;
  readonly transportMode?: boolean;
  /** Answer with this error notify instead (the IKE SA stays up). */
  readonly refuse?: number;
}

/** What the GCKS sent in one reply: policies with SPIs and the keys in clear, for assertions. */
export interface SentRegistration {
  readonly group: string;
  readonly exchange: 'GSA_AUTH' | 'GSA_REGISTRATION';
  readonly policies: readonly GsaPolicy[];
  readonly keymats: ReadonlyMap<string, Buffer>;
  readonly senderIds: readonly number[];
  readonly requestedSenders: number | undefined;
  readonly sag: boolean;
  readonly payloads: Payload[];
}

export interface ReplyParts {
  gsa: GsaPayload;
  kd: KdPayload;
  notifies: Payload[];
}

/** Changes a well-formed reply before it is sent (malformed-reply tests). */
export type Tamper = (parts: ReplyParts, sent: { keymats: Map<string, Buffer>; carrier: { kwaId: number; gskW: Buffer } }) => Payload[] | void;

export const GCKS_IKE_PROPOSALS: readonly ProposalSpec[] = [
  { protocolId: ProtocolId.IKE, encr: { id: EncrId.AES_GCM_16, keyLength: 256 }, prf: PrfId.HMAC_SHA2_256, ke: KeId.CURVE25519, kwa: KwaId.KW_5649_256 },
];

export class ScriptedGcks {
  readonly groups = new Map<string, GroupDef>();
  readonly sent: SentRegistration[] = [];
  readonly leaves: { group: string; notify: number }[] = [];
  /** Every key material sent (keymat, GSK_w): none may show up in the member's output. */
  readonly secrets: Buffer[] = [];
  tamper: Tamper | undefined;
  /** Answer GSA_AUTH without AUTH with this notify (e.g. AUTHENTICATION_FAILED). */
  rejectAuth: number | undefined;
  /** The next Sender-ID granted (a per-group counter on a real GCKS; one counter here). */
  nextSenderId = 0;

  constructor(
    readonly psk: Buffer = GCKS_PSK,
    readonly proposals: readonly ProposalSpec[] = GCKS_IKE_PROPOSALS,
  ) {}

  peer(): PeerConfig {
    return { name: 'gm', proposals: this.proposals, localId: GCKS_ID, localAuth: { method: 'psk', psk: this.psk }, remoteAuth: { method: 'psk', psk: this.psk }, children: [] };
  }

  responderPolicy(): ResponderPolicy {
    return { init: { proposals: this.proposals }, resolvePeer: () => this.peer() };
  }

  handlers(): ResponderHandler[] {
    const gsaAuth: ResponderHandler = {
      exchangeType: ExchangeType.GSA_AUTH,
      phases: ['keyed'],
      handle: (ctx, req) => {
        const p = req.payloads;
        if (this.rejectAuth !== undefined) return { payloads: [notify(this.rejectAuth)], afterSend: () => ctx.close('auth-failed') };
        const idi = required<IdiPayload>(p, PayloadType.IDi, 'IDi');
        const config = this.peer();
        verifyPeerAuth(ctx.sa, config.remoteAuth, 'initiator', { id: idi, auth: required<AuthPayload>(p, PayloadType.AUTH, 'AUTH'), certs: [], acceptedHashes: DEFAULT_SIGNATURE_HASHES, at: new Date() });
        ctx.establish({ config, localId: config.localId, remoteId: identityOf(idi) });
        const idr = idPayload(PayloadType.IDr, config.localId);
        const auth = localAuthPayloads(ctx.sa, config.localAuth, 'responder', idr).auth;
        return { payloads: [idr, auth, ...this.#answer(ctx, req, 'GSA_AUTH')] };
      },
    };
    const gsaRegistration: ResponderHandler = {
      exchangeType: ExchangeType.GSA_REGISTRATION,
      phases: ['established'],
      handle: (ctx, req) => {
        const idg = required<IdgPayload>(req.payloads, PayloadType.IDg, 'IDg');
        for (const n of [NotifyType.REGISTRATION_FAILED, NotifyType.NO_PROPOSAL_CHOSEN]) {
          if (findNotify(req.payloads, n)) {
            this.leaves.push({ group: identityText(identityOf(idg)), notify: n });
            return { payloads: [] };
          }
        }
        return { payloads: this.#answer(ctx, req, 'GSA_REGISTRATION') };
      },
    };
    return [gsaAuth, gsaRegistration];
  }

  /** The reply to a registration for the IDg of `req`. */
  #answer(ctx: TaskContext, req: InboundMessage, exchange: 'GSA_AUTH' | 'GSA_REGISTRATION'): Payload[] {
    const idg = required<IdgPayload>(req.payloads, PayloadType.IDg, 'IDg');
    const name = identityText(identityOf(idg));
    const def = this.groups.get(name);
    if (!def) return [NotifyData.INVALID_GROUP_ID.build()];
    if (def.refuse !== undefined) return [notify(def.refuse)];
    const senderNotify = findNotify(req.payloads, NotifyType.GROUP_SENDER);
    const requested = senderNotify ? Math.max(1, NotifyData.GROUP_SENDER.parse(senderNotify)) : undefined;
    const carrier = carrierOf(ctx.sa);
    this.secrets.push(carrier.gskW);
    const policies: GsaPolicy[] = [
      ...(def.rekeySa ? [{ ...def.rekeySa, spi: randomBytes(16) }] : []),
      ...def.dataSecurity.map((tpl) => ({ ...tpl, spi: randomBytes(4) })),
    ];
    const context = registrationContext(policies);
    const counterMode = policies.some(usesCounterMode);
    const senderIds = requested !== undefined && counterMode ? Array.from({ length: Math.min(requested, def.maxSenderIds ?? 4) }, () => this.nextSenderId++) : [];
    const gw: GroupPolicy[] =
      def.activationDelay || def.deactivationDelay || senderIds.length
        ? [
            buildGroupWidePolicy(
              {
                ...(def.activationDelay ? { activationTimeDelay: def.activationDelay } : {}),
                ...(def.deactivationDelay ? { deactivationTimeDelay: def.deactivationDelay } : {}),
                ...(senderIds.length ? { senderIdBits: def.senderIdBits ?? 8 } : {}),
              },
              context,
            ),
          ]
        : [];
    const kw = getKeyWrap(carrier.kwaId);
    const keymats = new Map<string, Buffer>();
    const bags: KeyBag[] = policies.map((p) => {
      const keymat = randomBytes(groupSaKeyMaterialLength(p));
      keymats.set(p.spi.toString('hex'), keymat);
      this.secrets.push(keymat);
      const saKey: WrappedKey = { keyId: 0, kwkId: 0, encryptedKey: kw.wrap(carrier.gskW, keymat) };
      return buildGroupKeyBag(p.protocolId, p.spi, { saKeys: [saKey] }, context);
    });
    const signatures = def.rekeySa?.transforms.some((x) => x.transformType === TransformType.GCAUTH && x.transformId === GcauthId.DIGITAL_SIGNATURE);
    if (signatures || senderIds.length) bags.push(buildMemberKeyBag({ wrapKeys: [], senderIds, ...(signatures ? { authKey: AUTH_KEY_SPKI } : {}) }, context));
    const parts: ReplyParts = {
      gsa: { type: PayloadType.GSA, policies: [...policies, ...gw] },
      kd: { type: PayloadType.KD, bags },
      notifies: def.transportMode ? [NotifyData.USE_TRANSPORT_MODE.build()] : [],
    };
    const payloads = this.tamper?.(parts, { keymats, carrier }) ?? [parts.gsa, parts.kd, ...parts.notifies];
    this.sent.push({ group: name, exchange, policies, keymats, senderIds, requestedSenders: requested, sag: req.payloads.some((p) => p.type === PayloadType.SA), payloads });
    return payloads;
  }
}

export function carrierOf(sa: IkeSa): { kwaId: number; gskW: Buffer } {
  const { suite, prf, keys } = sa.requireCrypto();
  const kwaId = suite.kwaId!;
  return { kwaId, gskW: gskW(prf, keys.skD, getKeyWrap(kwaId).keyLength) };
}

export const keyIdGroup = (name: string) => ({ type: IdType.ID_KEY_ID, data: Buffer.from(name) });
