/**
 * Typical G-IKEv2 messages, built with the real codecs, for the codec benchmark and as the
 * seed corpus of the fuzzer. Random-looking fields (SPIs, nonces, keys, signatures) come
 * from a seeded PRNG so every run encodes the same bytes.
 */
import { createSkCipher, type IvSource, type SkCipher } from '../../src/ikev2/crypto/cipher.ts';
import { protectMessage } from '../../src/ikev2/crypto/encrypted-message.ts';
import { GroupKeyBagAttr, GsaAttr, GwpAttr, MemberKeyBagAttr } from '../../src/ikev2/registry/group.ts';
import { AuthMethod, IdType, ProtocolId, TsType } from '../../src/ikev2/registry/misc.ts';
import { EncrId, GcauthId, KeId, KwaId, PrfId, SnId, TransformAttr, TransformType } from '../../src/ikev2/registry/transform.ts';
import { ExchangeType, HeaderFlag } from '../../src/ikev2/registry/exchange.ts';
import { NotifyType } from '../../src/ikev2/registry/notify.ts';
import { PayloadType } from '../../src/ikev2/registry/payload.ts';
import { tlvAttr, tvAttr, u32Data, type Attribute } from '../../src/ikev2/wire/attributes.ts';
import type { IkeHeader } from '../../src/ikev2/wire/header.ts';
import type { IkeMessage } from '../../src/ikev2/wire/message.ts';
import { encodeChain, type Payload } from '../../src/ikev2/wire/payload.ts';
import { buildProposal, notify } from '../../src/ikev2/wire/payloads/index.ts';
import type { GroupPolicy, GsaPayload, GsaPolicy } from '../../src/ikev2/wire/payloads/gsa.ts';
import type { KdPayload, KeyBag } from '../../src/ikev2/wire/payloads/kd.ts';
import type { AddressRangeSelector } from '../../src/ikev2/wire/sub/traffic-selector.ts';
import { Prng } from './prng.ts';

/** Ed25519 AlgorithmIdentifier (RFC 8410), DER. */
const ED25519_ALG_ID = Buffer.from('300506032b6570', 'hex');
/** AES-GCM-16-256 SK_e: 32-octet key + 4-octet salt (RFC 5282). */
const GCM_256_KEY_MATERIAL = 36;

/** A KW_5649 output for `keyLength` octets of key: 8 + 8·⌈n/8⌉ (RFC 5649). */
const kw5649Length = (keyLength: number): number => 8 + 8 * Math.ceil(keyLength / 8);

/** Wrapped key (RFC 9838 §4.5.4): Key ID | KWK ID | Encrypted Key (random stand-in). */
function wrappedKey(rng: Prng, keyId: number, kwkId: number, keyLength: number): Buffer {
  return Buffer.concat([u32Data(keyId), u32Data(kwkId), rng.bytes(kw5649Length(keyLength))]);
}

function ipv4Range(from: string, to: string, ipProtocol = 0, startPort = 0, endPort = 0xffff): AddressRangeSelector {
  const addr = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
  return { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol, startPort, endPort, startAddress: addr(from), endAddress: addr(to) };
}

function saInitRequest(rng: Prng, keMethod: number, keLength: number): IkeMessage {
  const header: IkeHeader = {
    spiI: rng.bytes(8),
    spiR: Buffer.alloc(8),
    exchangeType: ExchangeType.IKE_SA_INIT,
    flags: HeaderFlag.INITIATOR,
    messageId: 0,
  };
  const proposal = buildProposal({
    protocolId: ProtocolId.IKE,
    encr: { id: EncrId.AES_GCM_16, keyLength: 256 },
    prf: PrfId.HMAC_SHA2_256,
    ke: keMethod,
    kwa: KwaId.KW_5649_256,
  });
  return {
    header,
    payloads: [
      { type: PayloadType.SA, proposals: [proposal] },
      { type: PayloadType.KE, method: keMethod, data: rng.bytes(keLength) },
      { type: PayloadType.NONCE, nonce: rng.bytes(32) },
      notify(NotifyType.NAT_DETECTION_SOURCE_IP, rng.bytes(20)),
      notify(NotifyType.NAT_DETECTION_DESTINATION_IP, rng.bytes(20)),
      notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED),
    ],
  };
}

/** IKE_SA_INIT request: SA (one IKE proposal with KWA), KE X25519, Nonce, NAT-D ×2, fragmentation. */
export const saInitX25519 = (rng: Prng): IkeMessage => saInitRequest(rng, KeId.CURVE25519, 32);
/** The same with an ML-KEM-768 encapsulation key (1184 octets) in KE. */
export const saInitMlKem768 = (rng: Prng): IkeMessage => saInitRequest(rng, KeId.ML_KEM_768, 1184);

/**
 * Inner payloads of an IKE_AUTH request as a responder under strongSwan's load-tester gets
 * them: IDi (FQDN), AUTH (PSK, HMAC-SHA2-256), N(INITIAL_CONTACT), SA (one ESP proposal:
 * AES-GCM-16-128, 32-bit SN, SPI), TSi and TSr (one IPv4 range each).
 */
export function ikeAuthRequestInner(rng: Prng): Payload[] {
  const esp = buildProposal({ protocolId: ProtocolId.ESP, spi: rng.bytes(4), encr: { id: EncrId.AES_GCM_16, keyLength: 128 }, sn: SnId.SEQ32 });
  return [
    { type: PayloadType.IDi, idType: IdType.ID_FQDN, data: Buffer.from('load-tester.example.org') },
    { type: PayloadType.AUTH, method: AuthMethod.PSK, data: rng.bytes(32) },
    notify(NotifyType.INITIAL_CONTACT),
    { type: PayloadType.SA, proposals: [esp] },
    { type: PayloadType.TSi, selectors: [ipv4Range('10.0.0.1', '10.0.0.1')] },
    { type: PayloadType.TSr, selectors: [ipv4Range('0.0.0.0', '255.255.255.255')] },
  ];
}

const transform = (transformType: number, transformId: number, attributes: Attribute[] = []) => ({ transformType, transformId, attributes });
const gcm256 = () => transform(TransformType.ENCR, EncrId.AES_GCM_16, [tvAttr(TransformAttr.KEY_LENGTH, 256)]);

/** GSA: KEK (Rekey SA) policy, two TEK (ESP) policies, GW policy. */
function gsaPayload(rng: Prng, kekSpi: Buffer, tekSpis: readonly Buffer[]): GsaPayload {
  const gcks = ipv4Range('192.0.2.1', '192.0.2.1', 17, 848, 848);
  const kek: GsaPolicy = {
    protocolId: ProtocolId.GIKE_UPDATE,
    spi: kekSpi,
    source: gcks,
    destination: ipv4Range('239.1.1.100', '239.1.1.100', 17, 848, 848),
    transforms: [
      gcm256(),
      transform(TransformType.KWA, KwaId.KW_5649_256),
      transform(TransformType.GCAUTH, GcauthId.DIGITAL_SIGNATURE, [tlvAttr(TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER, ED25519_ALG_ID)]),
    ],
    attributes: [tlvAttr(GsaAttr.GSA_KEY_LIFETIME, u32Data(86400)), tlvAttr(GsaAttr.GSA_INITIAL_MESSAGE_ID, u32Data(1))],
  };
  const teks: GsaPolicy[] = tekSpis.map((spi, i) => ({
    protocolId: ProtocolId.ESP,
    spi,
    source: ipv4Range('0.0.0.0', '255.255.255.255'),
    destination: ipv4Range(`239.1.1.${i + 1}`, `239.1.1.${i + 1}`),
    transforms: [gcm256(), transform(TransformType.SN, SnId.UNSPECIFIED32)],
    attributes: [tlvAttr(GsaAttr.GSA_KEY_LIFETIME, u32Data(3600 + rng.int(60)))],
  }));
  const gw: GroupPolicy = { protocolId: ProtocolId.NONE, attributes: [tvAttr(GwpAttr.GWP_ATD, 30), tvAttr(GwpAttr.GWP_DTD, 60)] };
  return { type: PayloadType.GSA, policies: [kek, ...teks, gw] };
}

/**
 * KD: a Group Key Bag per SA (SA_KEY: Rekey SA GSK_e | GSK_w = 36 + 32 octets, ESP key 36
 * octets, KW_5649_256) and a Member Key Bag with a key path of three WRAP_KEYs
 * (32-octet KWKs) and the AUTH_KEY that verifies GSA_REKEY signatures.
 */
function kdPayload(rng: Prng, kekSpi: Buffer, tekSpis: readonly Buffer[]): KdPayload {
  const saKey = (keyLength: number, kwkId: number): Attribute => tlvAttr(GroupKeyBagAttr.SA_KEY, wrappedKey(rng, 0, kwkId, keyLength));
  const bags: KeyBag[] = [
    { protocolId: ProtocolId.GIKE_UPDATE, spi: kekSpi, attributes: [saKey(GCM_256_KEY_MATERIAL + 32, 1)] },
    ...tekSpis.map((spi): KeyBag => ({ protocolId: ProtocolId.ESP, spi, attributes: [saKey(GCM_256_KEY_MATERIAL, 0)] })),
    {
      protocolId: ProtocolId.NONE,
      attributes: [
        tlvAttr(MemberKeyBagAttr.WRAP_KEY, wrappedKey(rng, 1, 3, 32)),
        tlvAttr(MemberKeyBagAttr.WRAP_KEY, wrappedKey(rng, 3, 7, 32)),
        tlvAttr(MemberKeyBagAttr.WRAP_KEY, wrappedKey(rng, 7, 0, 32)),
        // SubjectPublicKeyInfo of an Ed25519 key (RFC 8410): 12-octet prefix + 32-octet key.
        tlvAttr(MemberKeyBagAttr.AUTH_KEY, Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), rng.bytes(32)])),
      ],
    },
  ];
  return { type: PayloadType.KD, bags };
}

/** Inner payloads of a GSA_AUTH response: IDr, AUTH (RFC 7427 Ed25519), GSA, KD. */
export function gsaAuthResponseInner(rng: Prng): Payload[] {
  const kekSpi = Buffer.concat([Buffer.from([0x80]), rng.bytes(15)]);
  const tekSpis = [Buffer.concat([Buffer.from([0x10]), rng.bytes(3)]), Buffer.concat([Buffer.from([0x20]), rng.bytes(3)])];
  return [
    { type: PayloadType.IDr, idType: IdType.ID_FQDN, data: Buffer.from('gcks.example.net') },
    {
      type: PayloadType.AUTH,
      method: AuthMethod.DIGITAL_SIGNATURE,
      data: Buffer.concat([Buffer.from([ED25519_ALG_ID.length]), ED25519_ALG_ID, rng.bytes(64)]),
    },
    gsaPayload(rng, kekSpi, tekSpis),
    kdPayload(rng, kekSpi, tekSpis),
  ];
}

export function gsaAuthResponseHeader(rng: Prng): IkeHeader {
  return { spiI: rng.bytes(8), spiR: rng.bytes(8), exchangeType: ExchangeType.GSA_AUTH, flags: HeaderFlag.RESPONSE, messageId: 1 };
}

/** An AES-GCM-16-256 SK cipher with a key from `rng`. */
export function gcm256Cipher(rng: Prng): SkCipher {
  return createSkCipher({ encrId: EncrId.AES_GCM_16, keyLengthBits: 256 }, rng.bytes(GCM_256_KEY_MATERIAL));
}

/** Counter IVs from 1: deterministic, unique per key (createIvSource starts at random). */
export function counterIvs(): IvSource {
  let n = 0n;
  return {
    next() {
      const iv = Buffer.alloc(8);
      iv.writeBigUInt64BE(++n);
      return iv;
    },
  };
}

export interface GsaAuthResponse {
  readonly header: IkeHeader;
  readonly inner: Payload[];
  /** The inner chain as encoded, and its first payload type (SK's Next Payload). */
  readonly innerFirst: number;
  readonly innerBytes: Buffer;
  readonly cipher: SkCipher;
  /** HDR, SK{IDr, AUTH, GSA, KD}. */
  readonly raw: Buffer;
}

export function gsaAuthResponse(rng: Prng): GsaAuthResponse {
  const header = gsaAuthResponseHeader(rng);
  const inner = gsaAuthResponseInner(rng);
  const { first, bytes } = encodeChain(inner);
  const cipher = gcm256Cipher(rng);
  return { header, inner, innerFirst: first, innerBytes: bytes, cipher, raw: protectMessage(header, inner, cipher, counterIvs()) };
}
