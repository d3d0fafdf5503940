/**
 * Scripted IKEv2 / G-IKEv2 sessions built with the real codec and crypto suite, for tests
 * and benchmarks that need genuine, correctly keyed messages before the exchange engine
 * exists: IKE_SA_INIT (with KWA), then IKE_AUTH (PSK, one ESP Child SA) or GSA_AUTH
 * (PSK, IDg/SAg/GROUP_SENDER -> GSA + KD with keys wrapped under GSK_w).
 */
import { randomBytes } from 'node:crypto';
import { ikeKeySizes, deriveInitialIkeKeys, gskW, pskAuth, signedOctets, type IkeSaKeys } from '../../src/ikev2/crypto/keys.ts';
import { getPrf } from '../../src/ikev2/crypto/prf.ts';
import { createIvSource, createSkCipher, type SkCipher } from '../../src/ikev2/crypto/cipher.ts';
import { createInitiatorKe, respondKe } from '../../src/ikev2/crypto/ke.ts';
import { getKeyWrap } from '../../src/ikev2/crypto/keywrap.ts';
import { protectMessage } from '../../src/ikev2/crypto/encrypted-message.ts';
import { encrKeyMaterialLength } from '../../src/ikev2/crypto/algorithms.ts';
import type { IkeSaKeyRecord } from '../../src/ikev2/keylog/index.ts';
import {
  AuthMethod,
  EncrId,
  ExchangeType,
  HeaderFlag,
  IdType,
  KeId,
  KwaId,
  NotifyType,
  PayloadType,
  PrfId,
  ProtocolId,
  SnId,
  TsType,
  GsaAttr,
  GroupKeyBagAttr,
  GwpAttr,
  MemberKeyBagAttr,
  TransformAttr,
  TransformType,
  IntegId,
} from '../../src/ikev2/registry/index.ts';
import { encodeMessage, notify, payloadBody, tlvAttr, tvAttr, u32Data, type IkeHeader, type Payload } from '../../src/ikev2/wire/index.ts';
import { buildProposal } from '../../src/ikev2/wire/payloads/proposal.ts';
import { natDetectionHash } from '../../src/ikev2/wire/payloads/notify-data.ts';
import { encodeWrappedKey } from '../../src/ikev2/wire/group-attributes.ts';
import type { GsaPolicy, GroupWidePolicy } from '../../src/ikev2/wire/payloads/gsa.ts';
import type { AddressRangeSelector } from '../../src/ikev2/wire/sub/traffic-selector.ts';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

export interface Datagram {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  /** The IKE message (without non-ESP marker). */
  readonly message: Buffer;
}

export interface ScriptedSession {
  readonly datagrams: Datagram[];
  readonly keys: IkeSaKeys;
  readonly keyRecord: IkeSaKeyRecord;
  readonly cipherI: SkCipher;
  readonly cipherR: SkCipher;
  /** The inner payloads of each SK message, in order. */
  readonly innerPayloads: Payload[][];
}

export interface SessionOptions {
  readonly initiator?: Endpoint;
  readonly responder?: Endpoint;
  readonly psk?: Buffer;
  readonly keMethod?: number;
  readonly keyLengthBits?: 128 | 256;
}

const tsRange = (start: string, end: string, ipProtocol = 0, startPort = 0, endPort = 0xffff): AddressRangeSelector => ({
  tsType: TsType.TS_IPV4_ADDR_RANGE,
  ipProtocol,
  startPort,
  endPort,
  startAddress: Buffer.from(start.split('.').map(Number)),
  endAddress: Buffer.from(end.split('.').map(Number)),
});

const idPayload = <T extends typeof PayloadType.IDi | typeof PayloadType.IDr | typeof PayloadType.IDg>(type: T, idType: number, data: Buffer) => ({
  type,
  idType,
  data,
});

/** IKE_SA_INIT request and response (RFC 7296 §1.2) negotiating AES-GCM-16, PRF-HMAC-SHA2-256, KE and KWA. */
function ikeSaInit(opts: Required<SessionOptions>, withKwa: boolean) {
  const spiI = randomBytes(8);
  const spiR = randomBytes(8);
  const ni = randomBytes(32);
  const nr = randomBytes(32);
  const spec = {
    protocolId: ProtocolId.IKE,
    encr: { id: EncrId.AES_GCM_16, keyLength: opts.keyLengthBits },
    prf: PrfId.HMAC_SHA2_256,
    ke: opts.keMethod,
    ...(withKwa ? { kwa: KwaId.KW_5649_256 } : {}),
  };
  const ke = createInitiatorKe(opts.keMethod);
  const natd = (sI: Buffer, sR: Buffer, from: Endpoint, to: Endpoint) => [
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, natDetectionHash(sI, sR, from.ip, from.port)),
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natDetectionHash(sI, sR, to.ip, to.port)),
  ];
  const reqHeader: IkeHeader = { spiI, spiR: Buffer.alloc(8), exchangeType: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.INITIATOR, messageId: 0 };
  const request = encodeMessage({
    header: reqHeader,
    payloads: [
      { type: PayloadType.SA, proposals: [buildProposal(spec)] },
      { type: PayloadType.KE, method: opts.keMethod, data: ke.publicData() },
      { type: PayloadType.NONCE, nonce: ni },
      ...natd(spiI, Buffer.alloc(8), opts.initiator, opts.responder),
      notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED),
    ],
  });
  const reply = respondKe(opts.keMethod, ke.publicData());
  const response = encodeMessage({
    header: { spiI, spiR, exchangeType: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.RESPONSE, messageId: 0 },
    payloads: [
      { type: PayloadType.SA, proposals: [buildProposal(spec)] },
      { type: PayloadType.KE, method: opts.keMethod, data: reply.publicData },
      { type: PayloadType.NONCE, nonce: nr },
      ...natd(spiI, spiR, opts.responder, opts.initiator),
      notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED),
    ],
  });
  const secret = ke.complete(reply.publicData);
  const prf = getPrf(PrfId.HMAC_SHA2_256);
  const suite = { encrId: EncrId.AES_GCM_16, keyLengthBits: opts.keyLengthBits };
  const keys = deriveInitialIkeKeys(prf, ni, nr, secret, spiI, spiR, ikeKeySizes(prf, suite));
  const cipherI = createSkCipher(suite, keys.skEi);
  const cipherR = createSkCipher(suite, keys.skEr);
  const keyRecord: IkeSaKeyRecord = {
    spiI,
    spiR,
    encrId: EncrId.AES_GCM_16,
    encrKeyBits: opts.keyLengthBits,
    integId: IntegId.NONE,
    prfId: PrfId.HMAC_SHA2_256,
    keMethods: [opts.keMethod],
    ...(withKwa ? { kwaId: KwaId.KW_5649_256 } : {}),
    ...keys,
  };
  return { spiI, spiR, ni, nr, request, response, prf, keys, cipherI, cipherR, keyRecord };
}

function defaults(o: SessionOptions): Required<SessionOptions> {
  return {
    initiator: o.initiator ?? { ip: '127.0.0.2', port: 500 },
    responder: o.responder ?? { ip: '127.0.0.1', port: 500 },
    psk: o.psk ?? Buffer.from('correct horse battery staple'),
    keMethod: o.keMethod ?? KeId.CURVE25519,
    keyLengthBits: o.keyLengthBits ?? 256,
  };
}

/** AUTH payloads of both sides for a PSK exchange (RFC 7296 §2.15). */
function pskAuthPayloads(init: ReturnType<typeof ikeSaInit>, psk: Buffer, idI: Payload, idR: Payload) {
  const octetsI = signedOctets(init.request, init.nr, init.prf, init.keys.skPi, payloadBody(idI));
  const octetsR = signedOctets(init.response, init.ni, init.prf, init.keys.skPr, payloadBody(idR));
  return {
    authI: { type: PayloadType.AUTH, method: AuthMethod.PSK, data: pskAuth(init.prf, psk, octetsI) } as const,
    authR: { type: PayloadType.AUTH, method: AuthMethod.PSK, data: pskAuth(init.prf, psk, octetsR) } as const,
  };
}

function seal(init: ReturnType<typeof ikeSaInit>, exchangeType: number, messageId: number, response: boolean, inner: Payload[]): Buffer {
  const header: IkeHeader = {
    spiI: init.spiI,
    spiR: init.spiR,
    exchangeType,
    flags: response ? HeaderFlag.RESPONSE : HeaderFlag.INITIATOR,
    messageId,
  };
  const cipher = response ? init.cipherR : init.cipherI;
  return protectMessage(header, inner, cipher, createIvSource(cipher));
}

/** The four datagrams of IKE_SA_INIT + one protected exchange (MID 1), and the session record. */
function session(init: ReturnType<typeof ikeSaInit>, opts: Required<SessionOptions>, exchangeType: number, reqInner: Payload[], respInner: Payload[]): ScriptedSession {
  const i = opts.initiator;
  const r = opts.responder;
  return {
    datagrams: [
      { src: i, dst: r, message: init.request },
      { src: r, dst: i, message: init.response },
      { src: i, dst: r, message: seal(init, exchangeType, 1, false, reqInner) },
      { src: r, dst: i, message: seal(init, exchangeType, 1, true, respInner) },
    ],
    keys: init.keys,
    keyRecord: init.keyRecord,
    cipherI: init.cipherI,
    cipherR: init.cipherR,
    innerPayloads: [reqInner, respInner],
  };
}

/** IKE_SA_INIT + IKE_AUTH (PSK) creating one ESP Child SA with AES-GCM-16. */
export function scriptedIkeAuth(o: SessionOptions = {}): ScriptedSession {
  const opts = defaults(o);
  const init = ikeSaInit(opts, false);
  const idI = idPayload(PayloadType.IDi, IdType.ID_FQDN, Buffer.from('member.example'));
  const idR = idPayload(PayloadType.IDr, IdType.ID_FQDN, Buffer.from('gcks.example'));
  const { authI, authR } = pskAuthPayloads(init, opts.psk, idI, idR);
  const esp = (spi: Buffer) => ({
    type: PayloadType.SA,
    proposals: [buildProposal({ protocolId: ProtocolId.ESP, spi, encr: { id: EncrId.AES_GCM_16, keyLength: 128 }, sn: SnId.SEQ32 })],
  }) as const;
  const ts = [tsRange('10.1.0.0', '10.1.255.255')];
  const tsR = [tsRange('10.2.0.0', '10.2.255.255')];
  const reqInner: Payload[] = [
    idI,
    notify(NotifyType.INITIAL_CONTACT),
    idR,
    authI,
    esp(randomBytes(4)),
    { type: PayloadType.TSi, selectors: ts },
    { type: PayloadType.TSr, selectors: tsR },
  ];
  const respInner: Payload[] = [idR, authR, esp(randomBytes(4)), { type: PayloadType.TSi, selectors: ts }, { type: PayloadType.TSr, selectors: tsR }];
  return session(init, opts, ExchangeType.IKE_AUTH, reqInner, respInner);
}

/** A G-IKEv2 registration: IKE_SA_INIT (KWA KW_5649_256) + GSA_AUTH answered with GSA and KD. */
export function scriptedGsaAuth(o: SessionOptions = {}): ScriptedSession & { readonly teks: Buffer[]; readonly kek: Buffer } {
  const opts = defaults(o);
  const init = ikeSaInit(opts, true);
  const idI = idPayload(PayloadType.IDi, IdType.ID_KEY_ID, Buffer.from('gm-0001'));
  const idR = idPayload(PayloadType.IDr, IdType.ID_FQDN, Buffer.from('gcks.example'));
  const { authI, authR } = pskAuthPayloads(init, opts.psk, idI, idR);
  const kw = getKeyWrap(KwaId.KW_5649_256);
  const wrapKey = gskW(init.prf, init.keys.skD, kw.keyLength);

  // SAg (RFC 9838 §4.3): what the GM supports, SPI size 0.
  const sag: Payload = {
    type: PayloadType.SA,
    proposals: [
      buildProposal({ protocolId: ProtocolId.GIKE_UPDATE, encr: { id: EncrId.AES_GCM_16, keyLength: 256 }, kwa: KwaId.KW_5649_256 }),
      buildProposal({ protocolId: ProtocolId.ESP, encr: { id: EncrId.AES_GCM_16, keyLength: 256 }, sn: SnId.UNSPECIFIED32 }),
    ],
  };
  const reqInner: Payload[] = [
    idI,
    idR,
    authI,
    idPayload(PayloadType.IDg, IdType.ID_KEY_ID, Buffer.from('group-1')),
    sag,
    notify(NotifyType.GROUP_SENDER, u32Data(2)),
  ];

  const kekSpi = randomBytes(16);
  const tekSpis = [randomBytes(4), randomBytes(4)];
  const gcmKey = (bits: number) => ({ transformType: TransformType.ENCR, transformId: EncrId.AES_GCM_16, attributes: [tvAttr(TransformAttr.KEY_LENGTH, bits)] });
  const kekPolicy: GsaPolicy = {
    protocolId: ProtocolId.GIKE_UPDATE,
    spi: kekSpi,
    source: tsRange('127.0.0.1', '127.0.0.1', 17, 848, 848),
    destination: tsRange('239.192.0.1', '239.192.0.1', 17, 848, 848),
    transforms: [
      gcmKey(256),
      { transformType: TransformType.KWA, transformId: KwaId.KW_5649_256, attributes: [] },
      { transformType: TransformType.GCAUTH, transformId: 1, attributes: [] },
    ],
    attributes: [tlvAttr(GsaAttr.GSA_KEY_LIFETIME, u32Data(86400))],
  };
  const tekPolicy = (spi: Buffer, group: string): GsaPolicy => ({
    protocolId: ProtocolId.ESP,
    spi,
    source: tsRange('0.0.0.0', '255.255.255.255'),
    destination: tsRange(group, group),
    transforms: [gcmKey(256), { transformType: TransformType.SN, transformId: SnId.UNSPECIFIED32, attributes: [] }],
    attributes: [tlvAttr(GsaAttr.GSA_KEY_LIFETIME, u32Data(3600))],
  });
  const gwPolicy: GroupWidePolicy = {
    protocolId: ProtocolId.NONE,
    attributes: [tvAttr(GwpAttr.GWP_ATD, 5), tvAttr(GwpAttr.GWP_DTD, 10), tvAttr(GwpAttr.GWP_SENDER_ID_BITS, 8)],
  };
  // Keying material: Rekey SA = GSK_e | GSK_a | GSK_w (AEAD: GSK_a empty); TEKs = key | salt.
  const kek = randomBytes(encrKeyMaterialLength(EncrId.AES_GCM_16, 256) + kw.keyLength);
  const teks = tekSpis.map(() => randomBytes(encrKeyMaterialLength(EncrId.AES_GCM_16, 256, true)));
  const saKey = (material: Buffer) => tlvAttr(GroupKeyBagAttr.SA_KEY, encodeWrappedKey({ keyId: 0, kwkId: 0, encryptedKey: kw.wrap(wrapKey, material) }));
  const leafKey = randomBytes(32);
  const kd: Payload = {
    type: PayloadType.KD,
    bags: [
      { protocolId: ProtocolId.GIKE_UPDATE, spi: kekSpi, attributes: [saKey(kek)] },
      ...tekSpis.map((spi, i) => ({ protocolId: ProtocolId.ESP, spi, attributes: [saKey(teks[i]!)] })),
      {
        protocolId: ProtocolId.NONE,
        attributes: [
          tlvAttr(MemberKeyBagAttr.WRAP_KEY, encodeWrappedKey({ keyId: 7, kwkId: 0, encryptedKey: kw.wrap(wrapKey, leafKey) })),
          tlvAttr(MemberKeyBagAttr.GM_SENDER_ID, u32Data(1)),
          tlvAttr(MemberKeyBagAttr.GM_SENDER_ID, u32Data(2)),
        ],
      },
    ],
  };
  const respInner: Payload[] = [
    idR,
    authR,
    { type: PayloadType.GSA, policies: [kekPolicy, tekPolicy(tekSpis[0]!, '239.192.1.1'), tekPolicy(tekSpis[1]!, '239.192.1.2'), gwPolicy] },
    kd,
  ];
  return { ...session(init, opts, ExchangeType.GSA_AUTH, reqInner, respInner), teks, kek };
}
