/**
 * Shared fixtures for the key tests: policy templates, a deterministic RandomSource, IKE SA
 * channels, GSA payloads as the GCKS would send them, a KD round trip through the wire
 * codec, and a simulated GM (MemberGroupKeys) per member.
 */
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import type { RandomSource } from '../../../src/gcks/keys/random.ts';
import type { GroupKeys, GroupRekeyMessage, IkeSaKeyChannel, MembershipRekey, RegistrationKeys } from '../../../src/gcks/keys/group-keys.ts';
import { getKeyWrap } from '../../../src/ikev2/crypto/keywrap.ts';
import { GsaAttr } from '../../../src/ikev2/registry/group.ts';
import { ProtocolId } from '../../../src/ikev2/registry/misc.ts';
import { PayloadType } from '../../../src/ikev2/registry/payload.ts';
import { EncrId, GcauthId, IntegId, KwaId, SnId, TransformAttr, TransformType } from '../../../src/ikev2/registry/transform.ts';
import { tlvAttr, tvAttr, u32Data } from '../../../src/ikev2/wire/attributes.ts';
import { buildGroupWidePolicy, type GroupExchangeContext } from '../../../src/ikev2/wire/group-attributes.ts';
import { decodePayloadChain, encodeChain } from '../../../src/ikev2/wire/payload.ts';
import type { GroupPolicy, GsaPayload, GsaPolicy } from '../../../src/ikev2/wire/payloads/gsa.ts';
import type { KdPayload } from '../../../src/ikev2/wire/payloads/kd.ts';
import type { GsaPolicyTemplate } from '../../../src/gcks/keys/group-sa-keys.ts';
import { MemberGroupKeys, type KeyDownloadOutcome } from '../../../src/member/keys/member-group-keys.ts';
import { anyV4, ED25519_ALG_ID, SPKI, transform, v4 } from '../../ikev2/wire/group-fixtures.ts';

export { SPKI };

/** Deterministic "random" octets: SHAKE-256 over a seed and a counter. */
export function seededRandom(seed: string): RandomSource {
  let n = 0;
  return (len) => createHash('shake256', { outputLength: len }).update(`${seed}/${n++}`).digest();
}

const lifetime = (s: number) => tlvAttr(GsaAttr.GSA_KEY_LIFETIME, u32Data(s));

/** Rekey SA: AES-GCM-16-256, KW_5649_256 (or `kwaId`), signatures with Ed25519. */
export function kekTemplate(kwaId: number = KwaId.KW_5649_256): GsaPolicyTemplate {
  return {
    protocolId: ProtocolId.GIKE_UPDATE,
    source: v4('c0000201', 17, 848),
    destination: v4('ef010164', 17, 848),
    transforms: [
      transform(TransformType.ENCR, EncrId.AES_GCM_16, [tvAttr(TransformAttr.KEY_LENGTH, 256)]),
      transform(TransformType.KWA, kwaId),
      transform(TransformType.GCAUTH, GcauthId.DIGITAL_SIGNATURE, [tlvAttr(TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER, ED25519_ALG_ID)]),
    ],
    attributes: [lifetime(86400)],
  };
}

/** ESP, AES-GCM-16-256, multi-sender (SN 2), to 239.1.1.`n`: a counter mode. */
export function gcmTemplate(n = 1): GsaPolicyTemplate {
  return {
    protocolId: ProtocolId.ESP,
    source: anyV4,
    destination: v4(`ef0101${n.toString(16).padStart(2, '0')}`),
    transforms: [transform(TransformType.ENCR, EncrId.AES_GCM_16, [tvAttr(TransformAttr.KEY_LENGTH, 256)]), transform(TransformType.SN, SnId.UNSPECIFIED32)],
    attributes: [lifetime(3600)],
  };
}

/** ESP, AES-CBC-128 + HMAC-SHA2-256-128, single sender (SN 0): not a counter mode. */
export function cbcTemplate(): GsaPolicyTemplate {
  return {
    protocolId: ProtocolId.ESP,
    source: v4('c0000207'),
    destination: v4('ef020202'),
    transforms: [
      transform(TransformType.ENCR, EncrId.AES_CBC, [tvAttr(TransformAttr.KEY_LENGTH, 128)]),
      transform(TransformType.INTEG, IntegId.HMAC_SHA2_256_128),
      transform(TransformType.SN, SnId.SEQ32),
    ],
    attributes: [lifetime(3600)],
  };
}

/** An IKE SA's key-wrap channel with a GSK_w of its own. */
export function ikeSa(random: RandomSource, kwaId: number = KwaId.KW_5649_256): IkeSaKeyChannel {
  return { kwaId, gskW: random(getKeyWrap(kwaId).keyLength) };
}

/** GCAUTH appears only at registration (RFC 9838 §4.4.2.1.1): the policy as sent in rekeys. */
export const withoutGcauth = (p: GsaPolicy): GsaPolicy => ({ ...p, transforms: p.transforms.filter((t) => t.transformType !== TransformType.GCAUTH) });

/** The GSA payload carrying these policies in `context` (plus a GW policy for Sender-ID bits). */
export function gsaFor(context: GroupExchangeContext, rekeySa: GsaPolicy | undefined, dataSecurity: readonly GsaPolicy[], senderIdBits?: number): GsaPayload {
  const registration = context === 'registration' || context === 'registration-inband';
  const policies: GroupPolicy[] = [...(rekeySa ? [registration ? rekeySa : withoutGcauth(rekeySa)] : []), ...dataSecurity];
  if (senderIdBits !== undefined) policies.push(buildGroupWidePolicy({ senderIdBits }, context));
  return { type: PayloadType.GSA, policies };
}

const received = new WeakMap<KdPayload, KdPayload>();

/** A KD payload encoded and decoded again, as a GM receives it (once per payload: multicast). */
export function overTheWire(kd: KdPayload): KdPayload {
  let back = received.get(kd);
  if (!back) {
    const { first, bytes } = encodeChain([kd]);
    back = decodePayloadChain(first, bytes).payloads[0] as KdPayload;
    assert.deepEqual(back, kd);
    received.set(kd, back);
  }
  return back;
}

/** A simulated group member: its IKE SA and its key state. */
export class SimulatedGm {
  readonly keys: MemberGroupKeys;
  constructor(
    readonly name: string,
    readonly ike: IkeSaKeyChannel,
    groupSender?: number,
  ) {
    this.keys = new MemberGroupKeys(groupSender === undefined ? {} : { groupSender });
  }

  register(reg: RegistrationKeys, context: GroupExchangeContext = 'registration', senderIdBits?: number): KeyDownloadOutcome {
    return this.keys.processRegistration(gsaFor(context, reg.rekeySa, reg.dataSecurity, senderIdBits), overTheWire(reg.kd), this.ike);
  }

  rekey(msg: GroupRekeyMessage): KeyDownloadOutcome {
    return this.keys.processRekey(gsaFor('rekey', msg.rekeySa, msg.dataSecurity), overTheWire(msg.kd));
  }
}

/**
 * A GroupKeys instance and one SimulatedGm per member, delivering every message to the GMs
 * that would receive it (registration replies to the registering GM, GSA_REKEYs to all
 * current and evicted GMs, which must then fail).
 */
export class SimulatedGroup {
  readonly gms = new Map<string, SimulatedGm>();
  readonly evicted = new Map<string, SimulatedGm>();
  constructor(
    readonly group: GroupKeys,
    readonly random: RandomSource,
  ) {}

  register(member: string): SimulatedGm {
    const gm = new SimulatedGm(member, ikeSa(this.random));
    const reg = this.group.register({ member, ikeSa: gm.ike, authKey: SPKI });
    if (reg.precedingRekey) this.deliver(reg.precedingRekey);
    const out = gm.register(reg);
    assert.equal(out.excluded, false, `${member} registers`);
    this.gms.set(member, gm);
    return gm;
  }

  evict(member: string): void {
    const forced = this.group.evict(member);
    if (forced) this.deliver(forced);
    this.evicted.set(member, this.gms.get(member)!);
    this.gms.delete(member);
  }

  commit(): MembershipRekey | null {
    const r = this.group.commit();
    if (r) this.deliver(r);
    return r;
  }

  /** Both messages of a membership rekey, in order, to everyone listening. */
  deliver(r: MembershipRekey): void {
    for (const msg of [r.membership, r.dataSecurity]) {
      if (!msg) continue;
      for (const gm of [...this.gms.values(), ...this.evicted.values()]) {
        if (gm.keys.rekeySa?.gskW.equals(msg.channel.gskW)) this.lastOutcome.set(gm.name, gm.rekey(msg));
      }
    }
  }

  readonly lastOutcome = new Map<string, KeyDownloadOutcome>();

  /** Every current GM holds the group's Rekey SA and TEKs; no evicted one does. */
  check(): void {
    const kek = this.group.rekeySa!.keymat;
    for (const [m, gm] of this.gms) assert.deepEqual(gm.keys.rekeySa?.keymat, kek, `${m} holds the Rekey SA`);
    for (const [m, gm] of this.evicted) assert.ok(!gm.keys.rekeySa?.keymat.equals(kek), `${m} (evicted) does not`);
  }
}
