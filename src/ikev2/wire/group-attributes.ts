/**
 * Typed views over the attribute lists of G-IKEv2 group policies and key bags, in both
 * directions (parse* for received lists, build* for lists we send), driven by one table per
 * substructure:
 *
 *   GSA policy        GSA_KEY_LIFETIME, GSA_INITIAL_MESSAGE_ID, GSA_NEXT_SPI   RFC 9838 §4.4.2.2
 *   GW policy         GWP_ATD, GWP_DTD, GWP_SENDER_ID_BITS                     RFC 9838 §4.4.3.1
 *   Group Key Bag     SA_KEY                                                   RFC 9838 §4.5.2.1
 *   Member Key Bag    WRAP_KEY, AUTH_KEY, GM_SENDER_ID                         RFC 9838 §4.5.3
 *
 * Each row gives the attribute's form (TV/TLV), how its value is read and checked, and its
 * presence in each exchange per the table of RFC 9838 §5 (digest §3), which is checked for
 * every attribute: missing or repeated → GKM_WIRE_BAD_COUNT, not allowed in this exchange or
 * in this kind of policy → GKM_WIRE_BAD_VALUE, wrong TV/TLV form → GKM_WIRE_BAD_VALUE, bad
 * value size → GKM_WIRE_BAD_LENGTH. Attribute types in the Private Use range (16384-32767)
 * are kept in `unknown`; Reserved (0) and Unassigned types are refused (docs/decisions.md).
 * Builders run the same table and raise GKM_WIRE_ENCODE.
 */
import { readElement } from '../crypto/asn1-der.ts';
import { GkmError } from '../errors.ts';
import { GroupKeyBagAttr, GsaAttr, GwpAttr, MemberKeyBagAttr } from '../registry/group.ts';
import { ProtocolId } from '../registry/misc.ts';
import { tlvAttr, tvAttr, type Attribute } from './attributes.ts';
import type { GroupPolicy, GroupWidePolicy, GsaPayload, GsaPolicy } from './payloads/gsa.ts';
import type { GroupKeyBag, MemberKeyBag } from './payloads/kd.ts';
import { groupSpiProblem, groupSpiSize } from './sub/group-substructure.ts';

// ---------------------------------------------------------------------------------------------
// Exchange contexts

/**
 * Where a GSA/KD payload travels; the four columns of the RFC 9838 §5 presence table.
 *  - `registration`: GSA_AUTH / GSA_REGISTRATION for a group rekeyed by GSA_REKEY (multicast);
 *  - `registration-inband`: GSA_AUTH / GSA_REGISTRATION for a group rekeyed in-band;
 *  - `rekey`: GSA_REKEY;
 *  - `inband`: GSA_INBAND_REKEY.
 */
export type GroupExchangeContext = 'registration' | 'registration-inband' | 'rekey' | 'inband';

export const GROUP_EXCHANGE_CONTEXTS: readonly GroupExchangeContext[] = ['registration', 'rekey', 'registration-inband', 'inband'];

const CONTEXT_NAME: Readonly<Record<GroupExchangeContext, string>> = {
  registration: 'registration (multicast rekey)',
  rekey: 'GSA_REKEY',
  'registration-inband': 'registration (in-band rekey)',
  inband: 'GSA_INBAND_REKEY',
};

export const isRegistrationContext = (c: GroupExchangeContext): boolean => c === 'registration' || c === 'registration-inband';

/**
 * The registration context a GM applies to a registration reply: a group whose GSA carries a
 * Rekey SA (GIKE_UPDATE) policy is rekeyed by GSA_REKEY; one without can only be rekeyed
 * in-band (RFC 9838 §2.4).
 */
export function registrationContext(gsa: GsaPayload | readonly GroupPolicy[]): 'registration' | 'registration-inband' {
  const policies = 'policies' in gsa ? gsa.policies : gsa;
  return policies.some((p) => p.protocolId === ProtocolId.GIKE_UPDATE) ? 'registration' : 'registration-inband';
}

// ---------------------------------------------------------------------------------------------
// Value types

/** Wrapped key (RFC 9838 §4.5.4): `Key ID(4) | KWK ID(4) | Encrypted Key`. */
export interface WrappedKey {
  /** 0 = SA keying material (SA_KEY); otherwise the ID of an intermediate KWK (WRAP_KEY). */
  readonly keyId: number;
  /** 0 = wrapped under GSK_w of the SA the message came over; otherwise a WRAP_KEY's Key ID. */
  readonly kwkId: number;
  /** Output of the Key Wrap Algorithm. */
  readonly encryptedKey: Buffer;
}

export const WRAPPED_KEY_HEADER = 8;
/**
 * Shortest Encrypted Key accepted by the codec, whatever the KWA: one key octet plus an
 * 8-octet integrity block. The KWA's own unwrap checks the exact size (RFC 5649 ≥ 16, ARX ≥ 17).
 */
export const WRAPPED_KEY_MIN_ENCRYPTED = 9;

export interface GsaPolicyAttributes {
  /** GSA_KEY_LIFETIME, seconds. */
  readonly keyLifetime?: number;
  /** GSA_INITIAL_MESSAGE_ID (GIKE_UPDATE only); absent means 0, so send it only when non-zero. */
  readonly initialMessageId?: number;
  /** GSA_NEXT_SPI values, each the policy's SPI size. */
  readonly nextSpis: readonly Buffer[];
  /** Private-use attributes, as received. */
  readonly unknown: readonly Attribute[];
}

export interface GroupWidePolicyAttributes {
  /** GWP_ATD, seconds; absent means 0. */
  readonly activationTimeDelay?: number;
  /** GWP_DTD, seconds; absent means 0. */
  readonly deactivationTimeDelay?: number;
  /** GWP_SENDER_ID_BITS: width of the Sender-ID field in the IV (1-63). */
  readonly senderIdBits?: number;
  readonly unknown: readonly Attribute[];
}

export interface GroupKeyBagAttributes {
  /** SA_KEY values (Key ID 0); one, except several copies in a GSA_REKEY Rekey SA bag. */
  readonly saKeys: readonly WrappedKey[];
  readonly unknown: readonly Attribute[];
}

export interface MemberKeyBagAttributes {
  /** WRAP_KEY values (Key ID != 0). */
  readonly wrapKeys: readonly WrappedKey[];
  /** AUTH_KEY: DER SubjectPublicKeyInfo of the GCKS's rekey signing key. */
  readonly authKey?: Buffer;
  /** GM_SENDER_ID values. */
  readonly senderIds: readonly number[];
  readonly unknown: readonly Attribute[];
}

/** What builders take: the parsed view, with `unknown` optional. */
export type AttributesInput<T extends { unknown: readonly Attribute[] }> = Omit<T, 'unknown'> & { readonly unknown?: readonly Attribute[] };

// ---------------------------------------------------------------------------------------------
// Table machinery

type WireCode = 'GKM_WIRE_BAD_LENGTH' | 'GKM_WIRE_BAD_COUNT' | 'GKM_WIRE_BAD_VALUE';
interface Problem {
  readonly code: WireCode;
  readonly detail: string;
}
const problem = (code: WireCode, detail: string): Problem => ({ code, detail });
type Fail = (code: WireCode, detail: string) => never;

/** The substructure an attribute list belongs to. */
interface AttrScope {
  readonly context: GroupExchangeContext;
  /** Protocol of the policy / key bag; 0 for the GW policy and the Member Key Bag. */
  readonly protocolId: number;
}

/** How an error is raised: wire codes while parsing, GKM_WIRE_ENCODE while building. */
type Raise = (code: WireCode, field: string, detail: string) => never;
const raiseDecode: Raise = (code, field, detail) => {
  throw new GkmError(code, { field, detail });
};
const raiseEncode: Raise = (_code, field, detail) => {
  throw new GkmError('GKM_WIRE_ENCODE', { field, detail });
};

/** RFC 9838 §5 notation: S one, [S] at most one, [M] any number, S[M] at least one, - none. */
type Presence = 'S' | '[S]' | '[M]' | 'S[M]' | '-';
/** One presence per context, in the column order of the RFC §5 table. */
type PresenceRow = readonly [registration: Presence, rekey: Presence, registrationInband: Presence, inband: Presence];
const column = (row: PresenceRow, c: GroupExchangeContext): Presence => row[GROUP_EXCHANGE_CONTEXTS.indexOf(c)]!;
const required = (p: Presence): boolean => p === 'S' || p === 'S[M]';
const repeatable = (p: Presence): boolean => p === '[M]' || p === 'S[M]';

interface ValueCodec<V> {
  readonly form: 'tv' | 'tlv';
  /** `raw` is the TV value (number) or the TLV data (Buffer); size errors via `fail`. */
  read(raw: number | Buffer, fail: Fail, scope: AttrScope): V;
  /** Value constraints, checked on both sides. */
  check?(v: V, scope: AttrScope): Problem | null;
  write(v: V): number | Buffer;
}

const tv = <V>(c: { read(n: number): V; check?(v: V, s: AttrScope): Problem | null; write(v: V): number }): ValueCodec<V> => ({
  form: 'tv',
  read: (raw) => c.read(raw as number),
  ...(c.check ? { check: c.check } : {}),
  write: c.write,
});

const tlv = <V>(c: {
  read(data: Buffer, fail: Fail, s: AttrScope): V;
  check?(v: V, s: AttrScope): Problem | null;
  write(v: V): Buffer;
}): ValueCodec<V> => ({ form: 'tlv', read: (raw, fail, s) => c.read(raw as Buffer, fail, s), ...(c.check ? { check: c.check } : {}), write: c.write });

interface AttrRule {
  readonly type: number;
  readonly name: string;
  /** Property of the typed view. */
  readonly key: string;
  /** "Multiple" in the IANA registry: the view holds an array. */
  readonly multiple: boolean;
  /** Rows mix value types; each codec is typed where it is defined. */
  readonly codec: ValueCodec<unknown>;
  presence(scope: AttrScope): Presence;
}

interface AttrTable {
  /** Name of the list in errors ("GSA attribute"). */
  readonly what: string;
  readonly rules: readonly AttrRule[];
  /** Checks across the attributes of one list. */
  crossCheck?(view: Record<string, unknown>, scope: AttrScope): Problem | null;
}

/** RFC 9838 §9 (IANA): types 16384-32767 of every G-IKEv2 attribute registry are Private Use. */
export const PRIVATE_USE_ATTRIBUTE_MIN = 16384;
export const isPrivateUseAttribute = (type: number): boolean => type >= PRIVATE_USE_ATTRIBUTE_MIN && type <= 0x7fff;

const fixedRow = (row: PresenceRow) => (s: AttrScope): Presence => column(row, s.context);

function parseList<T>(table: AttrTable, attrs: readonly Attribute[], scope: AttrScope, field: string): T {
  const view: Record<string, unknown> = {};
  for (const rule of table.rules) if (rule.multiple) view[rule.key] = [];
  const counts = new Map<AttrRule, number>();
  const unknown: Attribute[] = [];
  attrs.forEach((a, i) => {
    const f = `${field}.attribute[${i}]`;
    const rule = table.rules.find((r) => r.type === a.type);
    if (!rule) {
      if (!isPrivateUseAttribute(a.type)) raiseDecode('GKM_WIRE_BAD_VALUE', `${f}.type`, `${a.type} is not a ${table.what} type`);
      unknown.push(a);
      return;
    }
    const rf = `${f}(${rule.name})`;
    const presence = rule.presence(scope);
    if (presence === '-') raiseDecode('GKM_WIRE_BAD_VALUE', rf, notAllowed(scope));
    if (a.tv !== (rule.codec.form === 'tv')) raiseDecode('GKM_WIRE_BAD_VALUE', rf, `must be ${rule.codec.form.toUpperCase()}`);
    const value: unknown = rule.codec.read(a.tv ? a.value : a.data, (code, detail) => raiseDecode(code, rf, detail), scope);
    const bad = rule.codec.check?.(value, scope);
    if (bad) raiseDecode(bad.code, rf, bad.detail);
    const n = (counts.get(rule) ?? 0) + 1;
    counts.set(rule, n);
    if (n > 1 && !repeatable(presence)) raiseDecode('GKM_WIRE_BAD_COUNT', rf, `repeated; at most one in ${CONTEXT_NAME[scope.context]}`);
    if (rule.multiple) (view[rule.key] as unknown[]).push(value);
    else view[rule.key] = value;
  });
  finishList(table, view, counts, scope, field, raiseDecode);
  view.unknown = unknown;
  return view as T;
}

function buildList(table: AttrTable, input: Record<string, unknown>, scope: AttrScope, field: string): Attribute[] {
  const out: Attribute[] = [];
  const counts = new Map<AttrRule, number>();
  // Built for every GSA and key bag sent: the field names are made only when raising.
  const rf = (rule: AttrRule): string => `${field}.${rule.key}(${rule.name})`;
  const put = (rule: AttrRule, value: unknown): void => {
    const bad = rule.codec.check?.(value, scope);
    if (bad) raiseEncode(bad.code, rf(rule), bad.detail);
    const raw = rule.codec.write(value);
    out.push(typeof raw === 'number' ? tvAttr(rule.type, raw) : tlvAttr(rule.type, raw));
  };
  for (const rule of table.rules) {
    const v = input[rule.key];
    const many = rule.multiple && v !== undefined ? (Array.isArray(v) ? (v as readonly unknown[]) : [...(v as Iterable<unknown>)]) : undefined;
    const count = many ? many.length : v === undefined ? 0 : 1;
    const presence = rule.presence(scope);
    if (count > 0 && presence === '-') raiseEncode('GKM_WIRE_BAD_VALUE', rf(rule), notAllowed(scope));
    if (count > 1 && !repeatable(presence)) raiseEncode('GKM_WIRE_BAD_COUNT', rf(rule), `at most one in ${CONTEXT_NAME[scope.context]}`);
    if (many) for (const value of many) put(rule, value);
    else if (count === 1) put(rule, v);
    counts.set(rule, count);
  }
  finishList(table, input, counts, scope, field, raiseEncode);
  const unknown = (input.unknown as readonly Attribute[] | undefined) ?? [];
  for (const a of unknown) {
    if (!isPrivateUseAttribute(a.type)) raiseEncode('GKM_WIRE_BAD_VALUE', `${field}.unknown`, `type ${a.type} is not private use`);
    out.push(a);
  }
  return out;
}

/** Required attributes present, then the table's cross-attribute checks. */
function finishList(table: AttrTable, view: Record<string, unknown>, counts: ReadonlyMap<AttrRule, number>, scope: AttrScope, field: string, raise: Raise): void {
  for (const rule of table.rules) {
    if (required(rule.presence(scope)) && !counts.get(rule)) {
      raise('GKM_WIRE_BAD_COUNT', `${field}(${rule.name})`, `missing; required in ${CONTEXT_NAME[scope.context]}`);
    }
  }
  const bad = table.crossCheck?.(view, scope);
  if (bad) raise(bad.code, field, bad.detail);
}

function notAllowed(scope: AttrScope): string {
  const where = scope.protocolId === ProtocolId.NONE ? '' : ` for protocol ${scope.protocolId}`;
  return `not allowed in ${CONTEXT_NAME[scope.context]}${where}`;
}

// ---------------------------------------------------------------------------------------------
// Value codecs

const isUint = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

const uint16Tv = (min = 0, max = 0xffff): ValueCodec<number> =>
  tv({
    read: (n) => n,
    check: (v) => (isUint(v, max) && v >= min ? null : problem('GKM_WIRE_BAD_VALUE', `${v} not in ${min}..${max}`)),
    write: (v) => v,
  });

const uint32Tlv: ValueCodec<number> = tlv({
  read(data, fail) {
    if (data.length !== 4) fail('GKM_WIRE_BAD_LENGTH', `${data.length} octet(s), must be 4`);
    return data.readUInt32BE(0);
  },
  check: (v) => (isUint(v, 0xffffffff) ? null : problem('GKM_WIRE_BAD_VALUE', `${v} is not a uint32`)),
  write(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    return b;
  },
});

/** An SPI of the enclosing policy's protocol and size (GSA_NEXT_SPI). */
const spiTlv: ValueCodec<Buffer> = tlv({
  read(data, fail, s) {
    const size = groupSpiSize(s.protocolId);
    if (data.length !== size) fail('GKM_WIRE_BAD_LENGTH', `${data.length} octet(s), the policy's SPI size is ${size}`);
    return data;
  },
  check: (v, s) => groupSpiProblem(s.protocolId, v),
  write: (v) => v,
});

function readWrappedKey(data: Buffer, fail: Fail): WrappedKey {
  const min = WRAPPED_KEY_HEADER + WRAPPED_KEY_MIN_ENCRYPTED;
  if (data.length < min) fail('GKM_WIRE_BAD_LENGTH', `wrapped key of ${data.length} octet(s) < ${min}`);
  return { keyId: data.readUInt32BE(0), kwkId: data.readUInt32BE(4), encryptedKey: data.subarray(WRAPPED_KEY_HEADER) };
}

/** Decode a wrapped key (RFC 9838 §4.5.4); the Encrypted Key is a view into `data`. */
export function decodeWrappedKey(data: Buffer, field = 'wrappedKey'): WrappedKey {
  return readWrappedKey(data, (code, detail) => raiseDecode(code, field, detail));
}

export function encodeWrappedKey(k: WrappedKey, field = 'wrappedKey'): Buffer {
  const bad = wrappedKeyShapeProblem(k);
  if (bad) raiseEncode(bad.code, field, bad.detail);
  const b = Buffer.alloc(WRAPPED_KEY_HEADER + k.encryptedKey.length);
  b.writeUInt32BE(k.keyId, 0);
  b.writeUInt32BE(k.kwkId, 4);
  b.set(k.encryptedKey, WRAPPED_KEY_HEADER);
  return b;
}

function wrappedKeyShapeProblem(k: WrappedKey): Problem | null {
  if (!isUint(k.keyId, 0xffffffff) || !isUint(k.kwkId, 0xffffffff)) return problem('GKM_WIRE_BAD_VALUE', 'Key ID / KWK ID must be uint32');
  if (k.encryptedKey.length < WRAPPED_KEY_MIN_ENCRYPTED) {
    return problem('GKM_WIRE_BAD_LENGTH', `Encrypted Key of ${k.encryptedKey.length} octet(s) < ${WRAPPED_KEY_MIN_ENCRYPTED}`);
  }
  return null;
}

/**
 * A wrapped key as SA_KEY (Key ID 0; KWK ID 0 too for Data-Security SAs, RFC 9838 §4.5.2.1)
 * or as WRAP_KEY (Key ID != 0, §4.5.3.1; a key wrapped under itself could never be unwrapped).
 */
const wrappedKeyTlv = (role: 'SA_KEY' | 'WRAP_KEY'): ValueCodec<WrappedKey> =>
  tlv({
    read: readWrappedKey,
    check(k, s) {
      const shape = wrappedKeyShapeProblem(k);
      if (shape) return shape;
      if (role === 'SA_KEY') {
        if (k.keyId !== 0) return problem('GKM_WIRE_BAD_VALUE', `Key ID ${k.keyId}, must be 0`);
        if (s.protocolId !== ProtocolId.GIKE_UPDATE && k.kwkId !== 0) {
          return problem('GKM_WIRE_BAD_VALUE', `KWK ID ${k.kwkId}, must be 0 for a Data-Security SA`);
        }
      } else {
        if (k.keyId === 0) return problem('GKM_WIRE_BAD_VALUE', 'Key ID 0 is reserved for SA keys');
        if (k.keyId === k.kwkId) return problem('GKM_WIRE_BAD_VALUE', `key ${k.keyId} wrapped under itself`);
      }
      return null;
    },
    write: (k) => encodeWrappedKey(k),
  });

/**
 * Why `der` is not exactly one DER SEQUENCE (tag 0x30, minimal definite length covering the
 * rest), or null. Used for AUTH_KEY (SubjectPublicKeyInfo) and the Signature Algorithm
 * Identifier transform attribute (AlgorithmIdentifier); their contents are checked by crypto.
 */
export function derSequenceProblem(der: Buffer): string | null {
  const e = readElement(der, 0);
  if (!e || e.tag !== 0x30) return 'not one well-formed DER SEQUENCE';
  if (e.end !== der.length) return `${der.length - e.end} octet(s) after the DER SEQUENCE`;
  return null;
}

const derSequenceTlv: ValueCodec<Buffer> = tlv({
  read: (data) => data,
  check(v) {
    const bad = derSequenceProblem(v);
    return bad ? problem('GKM_WIRE_BAD_VALUE', bad) : null;
  },
  write: (v) => v,
});

/** Accepted GM_SENDER_ID sizes; we send SENDER_ID_OCTETS (docs/decisions.md, digest §15 #3). */
export const SENDER_ID_MIN_OCTETS = 1;
export const SENDER_ID_MAX_OCTETS = 8;
export const SENDER_ID_OCTETS = 4;

const senderIdTlv: ValueCodec<number> = tlv({
  read(data, fail) {
    if (data.length < SENDER_ID_MIN_OCTETS || data.length > SENDER_ID_MAX_OCTETS) {
      fail('GKM_WIRE_BAD_LENGTH', `${data.length} octet(s), must be ${SENDER_ID_MIN_OCTETS}..${SENDER_ID_MAX_OCTETS}`);
    }
    const v = data.reduce((acc, b) => acc * 256n + BigInt(b), 0n);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('GKM_WIRE_BAD_VALUE', 'Sender-ID too large');
    return Number(v);
  },
  check: (v) => (isUint(v, Number.MAX_SAFE_INTEGER) ? null : problem('GKM_WIRE_BAD_VALUE', `${v} is not a Sender-ID`)),
  write(v) {
    if (v > 0xffffffff) raiseEncode('GKM_WIRE_BAD_VALUE', 'KD.memberKeyBag.senderIds(GM_SENDER_ID)', `${v} does not fit ${SENDER_ID_OCTETS} octets`);
    const b = Buffer.alloc(SENDER_ID_OCTETS);
    b.writeUInt32BE(v);
    return b;
  },
});

// ---------------------------------------------------------------------------------------------
// The tables (presence columns: registration, GSA_REKEY, registration in-band, GSA_INBAND_REKEY)

const ALWAYS_FORBIDDEN: PresenceRow = ['-', '-', '-', '-'];

const GSA_POLICY_TABLE: AttrTable = {
  what: 'GSA attribute',
  rules: [
    { type: GsaAttr.GSA_KEY_LIFETIME, name: 'GSA_KEY_LIFETIME', key: 'keyLifetime', multiple: false, codec: uint32Tlv, presence: fixedRow(['S', 'S', '[S]', '[S]']) },
    {
      type: GsaAttr.GSA_INITIAL_MESSAGE_ID,
      name: 'GSA_INITIAL_MESSAGE_ID',
      key: 'initialMessageId',
      multiple: false,
      codec: uint32Tlv,
      // Rekey SA policies only (RFC 9838 §4.4.2.2.2).
      presence: (s) => column(s.protocolId === ProtocolId.GIKE_UPDATE ? ['[S]', '[S]', '-', '-'] : ALWAYS_FORBIDDEN, s.context),
    },
    { type: GsaAttr.GSA_NEXT_SPI, name: 'GSA_NEXT_SPI', key: 'nextSpis', multiple: true, codec: spiTlv, presence: fixedRow(['[M]', '[M]', '-', '-']) },
  ],
};

const GROUP_WIDE_POLICY_TABLE: AttrTable = {
  what: 'GW policy attribute',
  rules: [
    { type: GwpAttr.GWP_ATD, name: 'GWP_ATD', key: 'activationTimeDelay', multiple: false, codec: uint16Tv(), presence: fixedRow(['[S]', '[S]', '[S]', '[S]']) },
    { type: GwpAttr.GWP_DTD, name: 'GWP_DTD', key: 'deactivationTimeDelay', multiple: false, codec: uint16Tv(), presence: fixedRow(['[S]', '[S]', '[S]', '[S]']) },
    // §5: S iff counter mode + GROUP_SENDER; that condition is the caller's (see checkSenderIdGrant).
    { type: GwpAttr.GWP_SENDER_ID_BITS, name: 'GWP_SENDER_ID_BITS', key: 'senderIdBits', multiple: false, codec: uint16Tv(1, 63), presence: fixedRow(['[S]', '-', '[S]', '-']) },
  ],
};

const GROUP_KEY_BAG_TABLE: AttrTable = {
  what: 'Group Key Bag attribute',
  rules: [
    {
      type: GroupKeyBagAttr.SA_KEY,
      name: 'SA_KEY',
      key: 'saKeys',
      multiple: true,
      codec: wrappedKeyTlv('SA_KEY'),
      // Several copies only for the Rekey SA in GSA_REKEY (RFC 9838 §4.5.2.1).
      presence: (s) => column(s.protocolId === ProtocolId.GIKE_UPDATE ? ['S', 'S[M]', 'S', 'S'] : ['S', 'S', 'S', 'S'], s.context),
    },
  ],
  crossCheck(view) {
    // Copies hold the same material under different KWKs.
    const kwks = ((view.saKeys as readonly WrappedKey[] | undefined) ?? []).map((k) => k.kwkId);
    return new Set(kwks).size === kwks.length ? null : problem('GKM_WIRE_BAD_VALUE', 'two SA_KEYs wrapped under the same KWK');
  },
};

const MEMBER_KEY_BAG_TABLE: AttrTable = {
  what: 'Member Key Bag attribute',
  rules: [
    { type: MemberKeyBagAttr.WRAP_KEY, name: 'WRAP_KEY', key: 'wrapKeys', multiple: true, codec: wrappedKeyTlv('WRAP_KEY'), presence: fixedRow(['[M]', '[M]', '-', '-']) },
    // §5: S with GCAUTH Digital Signature, absent with Implicit (see checkAuthKeyPresence); [S] in GSA_REKEY to replace the key.
    { type: MemberKeyBagAttr.AUTH_KEY, name: 'AUTH_KEY', key: 'authKey', multiple: false, codec: derSequenceTlv, presence: fixedRow(['[S]', '[S]', '-', '-']) },
    // §5: S[M] iff counter mode + GROUP_SENDER (see checkSenderIdGrant); never in rekeys.
    { type: MemberKeyBagAttr.GM_SENDER_ID, name: 'GM_SENDER_ID', key: 'senderIds', multiple: true, codec: senderIdTlv, presence: fixedRow(['[M]', '-', '[M]', '-']) },
  ],
};

// ---------------------------------------------------------------------------------------------
// Public API: parse (received lists) and build (lists to send)

export function parseGsaPolicyAttributes(policy: GsaPolicy, context: GroupExchangeContext, field = 'GSA.policy'): GsaPolicyAttributes {
  return parseList(GSA_POLICY_TABLE, policy.attributes, { context, protocolId: policy.protocolId }, field);
}

export function parseGroupWidePolicy(policy: GroupWidePolicy, context: GroupExchangeContext, field = 'GSA.gwPolicy'): GroupWidePolicyAttributes {
  return parseList(GROUP_WIDE_POLICY_TABLE, policy.attributes, { context, protocolId: ProtocolId.NONE }, field);
}

export function parseGroupKeyBag(bag: GroupKeyBag, context: GroupExchangeContext, field = 'KD.groupKeyBag'): GroupKeyBagAttributes {
  return parseList(GROUP_KEY_BAG_TABLE, bag.attributes, { context, protocolId: bag.protocolId }, field);
}

/** RFC 9838 §4.5.3 keeps Member Key Bags out of GSA_INBAND_REKEY (and every attribute's row agrees). */
export function parseMemberKeyBag(bag: MemberKeyBag, context: GroupExchangeContext, field = 'KD.memberKeyBag'): MemberKeyBagAttributes {
  if (context === 'inband') raiseDecode('GKM_WIRE_BAD_VALUE', field, 'no Member Key Bag in GSA_INBAND_REKEY');
  return parseList(MEMBER_KEY_BAG_TABLE, bag.attributes, { context, protocolId: ProtocolId.NONE }, field);
}

export function buildGsaPolicyAttributes(
  v: AttributesInput<GsaPolicyAttributes>,
  protocolId: GsaPolicy['protocolId'],
  context: GroupExchangeContext,
): Attribute[] {
  return buildList(GSA_POLICY_TABLE, v, { context, protocolId }, 'GSA.policy');
}

export function buildGroupWidePolicy(v: AttributesInput<GroupWidePolicyAttributes>, context: GroupExchangeContext): GroupWidePolicy {
  return { protocolId: ProtocolId.NONE, attributes: buildList(GROUP_WIDE_POLICY_TABLE, v, { context, protocolId: ProtocolId.NONE }, 'GSA.gwPolicy') };
}

export function buildGroupKeyBag(
  protocolId: GroupKeyBag['protocolId'],
  spi: Buffer,
  v: AttributesInput<GroupKeyBagAttributes>,
  context: GroupExchangeContext,
): GroupKeyBag {
  const problemSpi = groupSpiProblem(protocolId, spi);
  if (problemSpi) raiseEncode(problemSpi.code, 'KD.groupKeyBag.spi', problemSpi.detail);
  return { protocolId, spi, attributes: buildList(GROUP_KEY_BAG_TABLE, v, { context, protocolId }, 'KD.groupKeyBag') };
}

export function buildMemberKeyBag(v: AttributesInput<MemberKeyBagAttributes>, context: GroupExchangeContext): MemberKeyBag {
  if (context === 'inband') raiseEncode('GKM_WIRE_BAD_VALUE', 'KD.memberKeyBag', 'no Member Key Bag in GSA_INBAND_REKEY');
  return { protocolId: ProtocolId.NONE, attributes: buildList(MEMBER_KEY_BAG_TABLE, v, { context, protocolId: ProtocolId.NONE }, 'KD.memberKeyBag') };
}
