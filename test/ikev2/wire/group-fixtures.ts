/**
 * Constructed G-IKEv2 examples shared by the GSA/KD tests: the digest's §2 ESP policy and
 * group key bag, a Rekey SA policy, a GW policy and a Member Key Bag, each as bytes and as
 * the decoded structure.
 */
import { ProtocolId, TsType } from '../../../src/ikev2/registry/misc.ts';
import { EncrId, GcauthId, KwaId, SnId, TransformAttr, TransformType } from '../../../src/ikev2/registry/transform.ts';
import { GsaAttr, GwpAttr, MemberKeyBagAttr } from '../../../src/ikev2/registry/group.ts';
import { tlvAttr, tvAttr, u32Data, type Attribute } from '../../../src/ikev2/wire/attributes.ts';
import type { GroupWidePolicy, GsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import type { MemberKeyBag } from '../../../src/ikev2/wire/payloads/kd.ts';
import type { Transform } from '../../../src/ikev2/wire/sub/transform.ts';
import { hex } from './payload-helpers.ts';


/** Digest §2: ESP TEK policy, AES-GCM-16-256, multi-sender, to 239.1.1.1 (SPI 11223344). */
export const ESP_POLICY_HEX = `
  03 04 00 44 11 22 33 44
  07 00 00 10 0000 ffff 00000000 ffffffff
  07 00 00 10 0000 ffff ef010101 ef010101
  03 00 00 0c 01 00 00 14 80 0e 01 00
  00 00 00 08 05 00 00 02
  00 01 00 04 00 00 0e 10`;

export const anyV4 = { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 0, startPort: 0, endPort: 0xffff, startAddress: hex('00000000'), endAddress: hex('ffffffff') };
export const v4 = (addr: string, ipProtocol = 0, port?: number) => ({
  tsType: TsType.TS_IPV4_ADDR_RANGE,
  ipProtocol,
  startPort: port ?? 0,
  endPort: port ?? 0xffff,
  startAddress: hex(addr),
  endAddress: hex(addr),
});
export const transform = (transformType: number, transformId: number, attributes: readonly Attribute[] = []): Transform => ({ transformType, transformId, attributes });

export const ESP_POLICY: GsaPolicy = {
  protocolId: ProtocolId.ESP,
  spi: hex('11223344'),
  source: anyV4,
  destination: v4('ef010101'),
  transforms: [transform(TransformType.ENCR, EncrId.AES_GCM_16, [tvAttr(TransformAttr.KEY_LENGTH, 256)]), transform(TransformType.SN, SnId.UNSPECIFIED32)],
  attributes: [tlvAttr(GsaAttr.GSA_KEY_LIFETIME, u32Data(3600))],
};

export const KEK_SPI = hex('0102030405060708 a1a2a3a4a5a6a7a8');
export const NEXT_KEK_SPI = hex('1112131415161718 b1b2b3b4b5b6b7b8');
export const ED25519_ALG_ID = hex('300506032b6570');

/** Rekey SA policy: 16-octet SPI, UDP 848 from 192.0.2.1 to 239.1.1.100, GCM-256, KW_5649_256, signatures. */
export const KEK_POLICY_HEX = `
  06 10 00 7f ${KEK_SPI.toString('hex')}
  07 11 00 10 0350 0350 c0000201 c0000201
  07 11 00 10 0350 0350 ef010164 ef010164
  03 00 00 0c 01 00 00 14 80 0e 01 00
  03 00 00 08 0d 00 00 03
  00 00 00 13 0e 00 00 02 00 12 00 07 300506032b6570
  00 01 00 04 00 01 51 80
  00 02 00 04 00 00 00 05
  00 03 00 10 ${NEXT_KEK_SPI.toString('hex')}`;

export const KEK_POLICY: GsaPolicy = {
  protocolId: ProtocolId.GIKE_UPDATE,
  spi: KEK_SPI,
  source: v4('c0000201', 17, 848),
  destination: v4('ef010164', 17, 848),
  transforms: [
    transform(TransformType.ENCR, EncrId.AES_GCM_16, [tvAttr(TransformAttr.KEY_LENGTH, 256)]),
    transform(TransformType.KWA, KwaId.KW_5649_256),
    transform(TransformType.GCAUTH, GcauthId.DIGITAL_SIGNATURE, [tlvAttr(TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER, ED25519_ALG_ID)]),
  ],
  attributes: [tlvAttr(GsaAttr.GSA_KEY_LIFETIME, u32Data(86400)), tlvAttr(GsaAttr.GSA_INITIAL_MESSAGE_ID, u32Data(5)), tlvAttr(GsaAttr.GSA_NEXT_SPI, NEXT_KEK_SPI)],
};

/** GW policy: ATD 5 s, DTD 10 s, 8 Sender-ID bits (all TV). */
export const GW_POLICY_HEX = '00 00 00 10 80 01 00 05 80 02 00 0a 80 03 00 08';
export const GW_POLICY: GroupWidePolicy = { protocolId: ProtocolId.NONE, attributes: [tvAttr(GwpAttr.GWP_ATD, 5), tvAttr(GwpAttr.GWP_DTD, 10), tvAttr(GwpAttr.GWP_SENDER_ID_BITS, 8)] };

export const KW48 = Buffer.alloc(48, 0xc3);
/** Digest §2: group key bag for the ESP SA; 36 octets of keying material under KW_5649 → 48. */
export const ESP_BAG_HEX = `03 04 00 44 11 22 33 44  00 01 00 38  00000000 00000000 ${KW48.toString('hex')}`;

export const WRAP40 = (b: number) => Buffer.alloc(40, b); // a 32-octet KWK under KW_5649
export const SPKI = Buffer.concat([hex('302a300506032b6570032100'), Buffer.alloc(32, 0x5a)]);
/** Member Key Bag: WRAP_KEYs (1,3) and (3,0), AUTH_KEY (Ed25519 SPKI), GM_SENDER_ID 7. */
export const MEMBER_BAG_HEX = `
  00 00 00 a4
  00 01 00 30 00000001 00000003 ${WRAP40(0xa1).toString('hex')}
  00 01 00 30 00000003 00000000 ${WRAP40(0xa3).toString('hex')}
  00 02 00 2c ${SPKI.toString('hex')}
  00 03 00 04 00000007`;

export const wrapped = (keyId: number, kwkId: number, enc: Buffer): Buffer => Buffer.concat([u32Data(keyId), u32Data(kwkId), enc]);
export const MEMBER_BAG: MemberKeyBag = {
  protocolId: ProtocolId.NONE,
  attributes: [
    tlvAttr(MemberKeyBagAttr.WRAP_KEY, wrapped(1, 3, WRAP40(0xa1))),
    tlvAttr(MemberKeyBagAttr.WRAP_KEY, wrapped(3, 0, WRAP40(0xa3))),
    tlvAttr(MemberKeyBagAttr.AUTH_KEY, SPKI),
    tlvAttr(MemberKeyBagAttr.GM_SENDER_ID, u32Data(7)),
  ],
};
