/**
 * Rules on the transforms of GSA policies (RFC 9838 §4.4.2.1), the size of each group SA's
 * keying material (RFC 9838 §3.4, §3.5; digest §5), and the conditional presence rules of the
 * RFC 9838 §5 table that span several substructures (AUTH_KEY vs GCAUTH, Sender-IDs).
 *
 * Valid transforms, each mandatory one exactly once and each optional one at most once:
 *
 *   GIKE_UPDATE   ENCR, INTEG (absent or NONE iff ENCR is AEAD), GCAUTH (registration only), KWA
 *   ESP           ENCR, SN; INTEG optional
 *   AH            INTEG, SN
 *
 * Other transform types are refused (docs/decisions.md). Errors are GKM_WIRE_BAD_COUNT
 * (missing / repeated) and GKM_WIRE_BAD_VALUE (not allowed); unknown algorithm IDs pass here
 * and fail in the key-size helpers with GKM_CRYPTO_UNSUPPORTED.
 */
import { ENCR_TABLE, encrKeyMaterialLength, integKeyLength, isAead } from '../crypto/algorithms.ts';
import { getKeyWrap } from '../crypto/keywrap.ts';
import { GkmError } from '../errors.ts';
import { ProtocolId } from '../registry/misc.ts';
import { nameOf } from '../registry/names.ts';
import { EncrId, GcauthId, IntegId, SnId, TransformAttr, TransformType } from '../registry/transform.ts';
import type { Attribute } from './attributes.ts';
import { derSequenceProblem, isRegistrationContext, type GroupExchangeContext, type GroupWidePolicyAttributes, type MemberKeyBagAttributes } from './group-attributes.ts';
import { isGsaPolicy, type GroupPolicy, type GsaPolicy } from './payloads/gsa.ts';
import { isAddressRange, type TrafficSelector } from './sub/traffic-selector.ts';
import type { Transform } from './sub/transform.ts';

type WireCode = 'GKM_WIRE_BAD_COUNT' | 'GKM_WIRE_BAD_VALUE' | 'GKM_WIRE_BAD_LENGTH';
function fail(code: WireCode, field: string, detail: string): never {
  throw new GkmError(code, { field, detail });
}

/** The transforms of one GSA policy, by type. */
export interface GsaPolicySuite {
  readonly encrId?: number;
  /** ENCR Key Length attribute, bits. */
  readonly keyLengthBits?: number;
  readonly integId?: number;
  /** Sequence Numbers (transform type 5). */
  readonly snId?: number;
  readonly kwaId?: number;
  readonly gcauthId?: number;
  /** GCAUTH Digital Signature: the Signature Algorithm Identifier (DER AlgorithmIdentifier). */
  readonly signatureAlgorithm?: Buffer;
}

// ---------------------------------------------------------------------------------------------
// Transform attributes (RFC 7296 §3.3.5, §3.3.6: an attribute not understood rejects the transform)

interface TransformAttrRule {
  readonly type: number;
  readonly name: string;
  readonly form: 'tv' | 'tlv';
  /** Whether the attribute is required on / allowed on / forbidden on this transform. */
  readonly on: (t: Transform) => 'required' | 'allowed' | 'forbidden';
  readonly check?: (a: Attribute) => string | null;
}

const TRANSFORM_ATTR_RULES: readonly TransformAttrRule[] = [
  { type: TransformAttr.KEY_LENGTH, name: 'Key Length', form: 'tv', on: (t) => (t.transformType === TransformType.ENCR ? 'allowed' : 'forbidden') },
  {
    type: TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER,
    name: 'Signature Algorithm Identifier',
    form: 'tlv',
    // RFC 9838 §4.4.2.1.1: with GCAUTH Digital Signature, and only there.
    on: (t) => (t.transformType === TransformType.GCAUTH && t.transformId === GcauthId.DIGITAL_SIGNATURE ? 'required' : 'forbidden'),
    check: (a) => (a.tv ? null : derSequenceProblem(a.data)),
  },
];

function checkTransformAttributes(t: Transform, field: string): void {
  const seen = new Set<number>();
  t.attributes.forEach((a, i) => {
    const f = `${field}.attribute[${i}]`;
    const rule = TRANSFORM_ATTR_RULES.find((r) => r.type === a.type);
    if (!rule || rule.on(t) === 'forbidden') fail('GKM_WIRE_BAD_VALUE', `${f}.type`, `attribute ${a.type} not allowed on this transform`);
    if (a.tv !== (rule.form === 'tv')) fail('GKM_WIRE_BAD_VALUE', f, `${rule.name} must be ${rule.form.toUpperCase()}`);
    if (seen.has(a.type)) fail('GKM_WIRE_BAD_COUNT', f, `${rule.name} repeated`);
    seen.add(a.type);
    const bad = rule.check?.(a);
    if (bad) fail('GKM_WIRE_BAD_VALUE', f, `${rule.name}: ${bad}`);
  });
  for (const rule of TRANSFORM_ATTR_RULES) {
    if (rule.on(t) === 'required' && !seen.has(rule.type)) fail('GKM_WIRE_BAD_COUNT', field, `${rule.name} attribute missing`);
  }
}

// ---------------------------------------------------------------------------------------------
// Transform presence per protocol

type Need = 'mandatory' | 'optional';

/** RFC 9838 §4.4.2.1; types absent from a row are not allowed for that protocol. */
function transformRow(protocolId: number, context: GroupExchangeContext): ReadonlyMap<number, Need> {
  switch (protocolId) {
    case ProtocolId.GIKE_UPDATE: {
      // INTEG is "optional" here; whether it must be present depends on ENCR (checked below).
      const row: [number, Need][] = [
        [TransformType.ENCR, 'mandatory'],
        [TransformType.INTEG, 'optional'],
        [TransformType.KWA, 'mandatory'],
      ];
      // GCAUTH: the method never changes, so it is sent at registration only (§4.4.2.1.1).
      if (isRegistrationContext(context)) row.push([TransformType.GCAUTH, 'mandatory']);
      return new Map(row);
    }
    case ProtocolId.ESP:
      return new Map([
        [TransformType.ENCR, 'mandatory'],
        [TransformType.SN, 'mandatory'],
        [TransformType.INTEG, 'optional'],
      ]);
    case ProtocolId.AH:
      return new Map([
        [TransformType.INTEG, 'mandatory'],
        [TransformType.SN, 'mandatory'],
      ]);
    default:
      return fail('GKM_WIRE_BAD_VALUE', 'GSA.policy.protocol', `${protocolId}`);
  }
}

/** The policy's transforms by type, each at most once, with their attributes checked. */
function collectSuite(policy: GsaPolicy, field: string): GsaPolicySuite {
  const byType = new Map<number, Transform>();
  policy.transforms.forEach((t, i) => {
    const f = `${field}.transform[${i}]`;
    if (byType.has(t.transformType)) fail('GKM_WIRE_BAD_COUNT', f, `${nameOf(TransformType, t.transformType)} repeated`);
    byType.set(t.transformType, t);
    checkTransformAttributes(t, f);
  });
  const id = (type: number): number | undefined => byType.get(type)?.transformId;
  const attr = (type: number, attrType: number): Attribute | undefined => byType.get(type)?.attributes.find((a) => a.type === attrType);
  const keyLength = attr(TransformType.ENCR, TransformAttr.KEY_LENGTH);
  const sigAlg = attr(TransformType.GCAUTH, TransformAttr.SIGNATURE_ALGORITHM_IDENTIFIER);
  const suite: Record<string, number | Buffer | undefined> = {
    encrId: id(TransformType.ENCR),
    keyLengthBits: keyLength?.tv ? keyLength.value : undefined,
    integId: id(TransformType.INTEG),
    snId: id(TransformType.SN),
    kwaId: id(TransformType.KWA),
    gcauthId: id(TransformType.GCAUTH),
    signatureAlgorithm: sigAlg && !sigAlg.tv ? sigAlg.data : undefined,
  };
  for (const k of Object.keys(suite)) if (suite[k] === undefined) delete suite[k];
  return suite as GsaPolicySuite;
}

const IMPLICIT_IV: ReadonlySet<number> = new Set([EncrId.AES_CCM_8_IIV, EncrId.AES_GCM_16_IIV, EncrId.CHACHA20_POLY1305_IIV]);

const isMulticastAddress = (a: Buffer): boolean => (a.length === 4 ? a[0]! >= 224 && a[0]! <= 239 : a.length === 16 && a[0] === 0xff);

/** A selector that only covers multicast addresses (IPv4 224/4, IPv6 ff00::/8; both ranges are contiguous). */
export function isMulticastSelector(ts: TrafficSelector): boolean {
  return isAddressRange(ts) && isMulticastAddress(ts.startAddress) && isMulticastAddress(ts.endAddress);
}

/**
 * Check a GSA policy's transforms against RFC 9838 §4.4.2.1 for the exchange it came in, and
 * return them by type.
 */
export function validateGsaPolicyTransforms(policy: GsaPolicy, context: GroupExchangeContext, field = 'GSA.policy'): GsaPolicySuite {
  const suite = collectSuite(policy, field);
  const row = transformRow(policy.protocolId, context);
  policy.transforms.forEach((t, i) => {
    if (!row.has(t.transformType)) {
      const why = t.transformType === TransformType.GCAUTH ? ` (GCAUTH only at registration)` : '';
      fail('GKM_WIRE_BAD_VALUE', `${field}.transform[${i}]`, `${nameOf(TransformType, t.transformType)} not allowed for protocol ${policy.protocolId}${why}`);
    }
  });
  for (const [type, need] of row) {
    if (need === 'mandatory' && !policy.transforms.some((t) => t.transformType === type)) {
      fail('GKM_WIRE_BAD_COUNT', `${field}.transforms`, `${nameOf(TransformType, type)} missing`);
    }
  }
  const integ = suite.integId !== undefined && suite.integId !== IntegId.NONE;
  const aead = suite.encrId !== undefined && isAead(suite.encrId);
  const f = `${field}.transforms`;
  switch (policy.protocolId) {
    case ProtocolId.GIKE_UPDATE:
      if (aead && integ) fail('GKM_WIRE_BAD_VALUE', f, 'INTEG with a combined-mode ENCR');
      if (!aead && !integ) fail('GKM_WIRE_BAD_COUNT', f, 'INTEG missing for a non-AEAD ENCR');
      // RFC 8750 implicit IV: not for the SAs that carry G-IKEv2 messages (§4.4.2.1).
      if (IMPLICIT_IV.has(suite.encrId!)) fail('GKM_WIRE_BAD_VALUE', f, `ENCR ${suite.encrId} (implicit IV) not allowed for GIKE_UPDATE`);
      break;
    case ProtocolId.ESP:
      if (aead && integ) fail('GKM_WIRE_BAD_VALUE', f, 'INTEG with a combined-mode ENCR');
      if (suite.encrId === EncrId.NULL && !integ) fail('GKM_WIRE_BAD_COUNT', f, 'ENCR_NULL without INTEG');
      // Implicit IV needs unique sequence numbers: SN 0 only (§2.7, §4.4.2.1.3).
      if (IMPLICIT_IV.has(suite.encrId!) && suite.snId !== SnId.SEQ32) {
        fail('GKM_WIRE_BAD_VALUE', f, `ENCR ${suite.encrId} (implicit IV) needs SN ${SnId.SEQ32}`);
      }
      break;
    case ProtocolId.AH:
      if (!integ) fail('GKM_WIRE_BAD_VALUE', f, 'AH needs an INTEG other than NONE');
      break;
  }
  // ESN cannot be used by late joiners of a multicast SA (§4.4.2.1.3).
  if (suite.snId === SnId.ESN64 && isMulticastSelector(policy.destination)) {
    fail('GKM_WIRE_BAD_VALUE', f, 'SN 1 (64-bit ESN) not allowed for a multicast SA');
  }
  return suite;
}

// ---------------------------------------------------------------------------------------------
// Keying material (RFC 9838 §3.4 Rekey SA: GSK_e | GSK_a | GSK_w; §3.5 Data-Security SA:
// encryption key (with salt) then integrity key)

export interface GroupSaKeyLayout {
  /** Encryption key including salt/nonce (GSK_e for the Rekey SA). */
  readonly encr: number;
  /** Integrity key (GSK_a), 0 with AEAD or without INTEG. */
  readonly integ: number;
  /** Default KWK of the Rekey SA (GSK_w); 0 for Data-Security SAs. */
  readonly wrap: number;
  readonly total: number;
}

/**
 * Sizes of the parts of a group SA's keying material, i.e. of the unwrapped SA_KEY.
 * Throws GKM_WIRE_* for a malformed suite and GKM_CRYPTO_UNSUPPORTED for unknown algorithms.
 */
export function groupSaKeyLayout(policy: GsaPolicy, field = 'GSA.policy'): GroupSaKeyLayout {
  const s = collectSuite(policy, field);
  const need = (v: number | undefined, type: number): number =>
    v ?? fail('GKM_WIRE_BAD_COUNT', `${field}.transforms`, `${nameOf(TransformType, type)} missing`);
  const forEsp = policy.protocolId !== ProtocolId.GIKE_UPDATE;
  const integ = s.integId === undefined || s.integId === IntegId.NONE ? 0 : integKeyLength(s.integId, forEsp);
  let encr = 0;
  let wrap = 0;
  if (policy.protocolId === ProtocolId.AH) need(s.integId, TransformType.INTEG);
  else encr = encrKeyMaterialLength(need(s.encrId, TransformType.ENCR), s.keyLengthBits, forEsp);
  if (policy.protocolId === ProtocolId.GIKE_UPDATE) wrap = getKeyWrap(need(s.kwaId, TransformType.KWA)).keyLength;
  return { encr, integ, wrap, total: encr + integ + wrap };
}

/** Length of the keying material an SA_KEY for this policy must unwrap to. */
export function groupSaKeyMaterialLength(policy: GsaPolicy): number {
  return groupSaKeyLayout(policy).total;
}

// ---------------------------------------------------------------------------------------------
// Conditional presence rules spanning substructures (RFC 9838 §5 table, notes)

const COUNTER_MODES: ReadonlySet<string> = new Set(['ctr', 'ccm', 'gcm', 'gmac', 'chacha20-poly1305']);
const GMAC_INTEG: ReadonlySet<number> = new Set([IntegId.AES_128_GMAC, IntegId.AES_192_GMAC, IntegId.AES_256_GMAC]);

/** Whether a Data-Security SA uses a counter-based mode, so senders need Sender-IDs (RFC 9838 §2.5, RFC 6054). */
export function usesCounterMode(policy: GsaPolicy): boolean {
  if (policy.protocolId === ProtocolId.GIKE_UPDATE) return false;
  const encr = policy.transforms.find((t) => t.transformType === TransformType.ENCR);
  const integ = policy.transforms.find((t) => t.transformType === TransformType.INTEG);
  const mode = encr ? ENCR_TABLE.get(encr.transformId)?.mode : undefined;
  return (mode !== undefined && COUNTER_MODES.has(mode)) || (integ !== undefined && GMAC_INTEG.has(integ.transformId));
}

/**
 * AUTH_KEY against the Rekey SA's GCAUTH: required at registration with Digital Signature,
 * absent with Implicit (in any exchange); optional in GSA_REKEY with Digital Signature.
 */
export function checkAuthKeyPresence(gcauthId: number, authKey: Buffer | undefined, context: GroupExchangeContext, field = 'KD.memberKeyBag'): void {
  if (gcauthId === GcauthId.IMPLICIT && authKey) fail('GKM_WIRE_BAD_VALUE', `${field}(AUTH_KEY)`, 'not allowed with Implicit authentication');
  if (gcauthId === GcauthId.DIGITAL_SIGNATURE && context === 'registration' && !authKey) {
    fail('GKM_WIRE_BAD_COUNT', `${field}(AUTH_KEY)`, 'missing; required with Digital Signature authentication');
  }
}

export interface SenderIdGrant {
  /** The GSA policies of the registration reply. */
  readonly policies: readonly GroupPolicy[];
  readonly groupWide?: GroupWidePolicyAttributes | undefined;
  readonly member?: MemberKeyBagAttributes | undefined;
  /** Sender-IDs the GM asked for with GROUP_SENDER (at least 1), or 0 when it sent none. */
  readonly requested: number;
}

/**
 * Registration replies: GWP_SENDER_ID_BITS and GM_SENDER_ID are present iff the GM sent
 * GROUP_SENDER and a Data-Security SA uses a counter mode (RFC 9838 §5 note, §2.5; digest
 * §15 #10); no more IDs than requested, all distinct, each fitting the Sender-ID field.
 */
export function checkSenderIdGrant(g: SenderIdGrant, field = 'KD.memberKeyBag'): void {
  const ids = g.member?.senderIds ?? [];
  const f = `${field}(GM_SENDER_ID)`;
  const needed = g.requested > 0 && g.policies.some((p) => isGsaPolicy(p) && usesCounterMode(p));
  if (!needed) {
    if (ids.length > 0) fail('GKM_WIRE_BAD_COUNT', f, g.requested > 0 ? 'no counter-mode SA needs Sender-IDs' : 'GM did not send GROUP_SENDER');
    return;
  }
  const bits = g.groupWide?.senderIdBits;
  if (bits === undefined) fail('GKM_WIRE_BAD_COUNT', 'GSA.gwPolicy(GWP_SENDER_ID_BITS)', 'missing; Sender-IDs are granted');
  if (ids.length === 0) fail('GKM_WIRE_BAD_COUNT', f, 'missing; the GM asked for Sender-IDs');
  if (ids.length > g.requested) fail('GKM_WIRE_BAD_COUNT', f, `${ids.length} granted, ${g.requested} requested`);
  if (new Set(ids).size !== ids.length) fail('GKM_WIRE_BAD_VALUE', f, 'repeated Sender-ID');
  const limit = 2 ** bits!;
  const tooBig = ids.find((id) => id >= limit);
  if (tooBig !== undefined) fail('GKM_WIRE_BAD_VALUE', f, `${tooBig} does not fit ${bits} bit(s)`);
}
