/**
 * Parsing and validating a group policy document (JSON) into its normalized form.
 * Errors are GkmErrors with the field's path (HTTP 400 for the admin API):
 *
 *   GKM_POLICY_INVALID                shape, ranges, names, missing parts
 *   GKM_POLICY_UNSUPPORTED_ALGORITHM  unknown names, key sizes, a cipher not allowed here
 *   GKM_POLICY_NOT_MULTICAST          a group SA destination outside 224/4 or ff00::/8
 *   GKM_POLICY_MIXED_MODES            tunnel and transport SAs in one group (§2.3.4)
 *   GKM_POLICY_SEQUENCE_NUMBERS       ESN on a multicast SA, SN 0 with several senders (§2.6)
 *   GKM_POLICY_IMPLICIT_IV            RFC 8750 IIV with several senders / SN 2 / on the Rekey SA
 *
 * Section numbers are RFC 9838's. The semantic rules that need the whole policy run in
 * validate.ts.
 */
import { encrInfo, encrKeyBits } from '../../ikev2/crypto/algorithms.ts';
import { SCHEMES, type SignatureScheme } from '../../ikev2/crypto/sig-schemes.ts';
import { InputReader } from '../config/input.ts';
import { ENCR, IMPLICIT_IV_ENCR, INTEG, KWA, type EncrName, type IntegName, type KwaName } from './algorithms.ts';
import { parseSelector, selectorFamily, UDP } from './selector.ts';
import type {
  DataSecuritySaPolicy,
  EncryptionSpec,
  GroupPolicy,
  GroupWidePolicySpec,
  RekeyAuthentication,
  RekeyPolicy,
  RekeySaPolicy,
  SequenceNumbers,
} from './types.ts';

/** Shortest SA lifetime accepted: rekeying more often than this is a misconfiguration. */
export const MIN_LIFETIME_SECONDS = 60;
const MAX_LIFETIME_SECONDS = 0xffffffff;
/** Sender-IDs are sent as 4 octets (docs/decisions.md), so at most 32 bits. */
export const MAX_SENDER_ID_BITS = 32;
const SA_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const SN_VALUES: readonly SequenceNumbers[] = ['sequential-32', 'esn-64', 'unspecified-32'];

function algorithm<N extends string>(r: InputReader, v: unknown, field: string, names: readonly N[], what: string): N {
  if (typeof v !== 'string' || !names.includes(v as N)) {
    r.fail(field, `${JSON.stringify(v)} is not a known ${what}; use one of ${names.join(', ')}`, 'GKM_POLICY_UNSUPPORTED_ALGORITHM');
  }
  return v as N;
}

/** ENCR name and key size; `forEsp` admits ESP-only ciphers. Key size defaults to the largest. */
function parseEncryption(r: InputReader, v: unknown, field: string, forEsp: boolean): EncryptionSpec {
  const o = r.object(v, field, ['algorithm', 'keyBits']);
  const name: EncrName = algorithm(r, o.algorithm, `${field}.algorithm`, ENCR.names, 'encryption algorithm');
  if (name === 'null-auth-aes-gmac' || (!forEsp && IMPLICIT_IV_ENCR.has(name))) {
    // NULL_AUTH_AES_GMAC gives no confidentiality; IIV is never used on SAs carrying G-IKEv2 messages (§4.4.2.1).
    const code = IMPLICIT_IV_ENCR.has(name) ? 'GKM_POLICY_IMPLICIT_IV' : 'GKM_POLICY_UNSUPPORTED_ALGORITHM';
    r.fail(`${field}.algorithm`, `${name} is not allowed here`, code);
  }
  const info = (() => {
    try {
      return encrInfo(ENCR.id(name), forEsp);
    } catch {
      return r.fail(`${field}.algorithm`, `${name} cannot protect the Rekey SA`, 'GKM_POLICY_UNSUPPORTED_ALGORITHM');
    }
  })();
  const requested = r.optional(o.keyBits, (x) => r.integer(x, `${field}.keyBits`, 1, 1024));
  if (!info.keyLengthAttr) {
    if (requested !== undefined && requested !== info.keyBits[0]) r.fail(`${field}.keyBits`, `${name} has a fixed ${info.keyBits[0]}-bit key`, 'GKM_POLICY_UNSUPPORTED_ALGORITHM');
    return { algorithm: name };
  }
  const keyBits = requested ?? Math.max(...info.keyBits);
  try {
    encrKeyBits(info, keyBits);
  } catch {
    r.fail(`${field}.keyBits`, `${keyBits} is not a ${name} key size (${info.keyBits.join(', ')})`, 'GKM_POLICY_UNSUPPORTED_ALGORITHM');
  }
  return { algorithm: name, keyBits };
}

/** INTEG: required with non-AEAD ciphers (RFC 8221 §5: no ESP encryption without integrity), absent with AEAD. */
function parseIntegrity(r: InputReader, v: unknown, field: string, enc: EncryptionSpec): IntegName | null {
  const aead = encrInfo(ENCR.id(enc.algorithm), true).aead;
  if (v === undefined || v === null) {
    if (!aead) r.fail(field, `${enc.algorithm} needs an integrity algorithm (${INTEG.names.join(', ')})`);
    return null;
  }
  const name = algorithm(r, v, field, INTEG.names, 'integrity algorithm');
  if (aead) r.fail(field, `${enc.algorithm} is a combined-mode cipher: give no integrity algorithm`);
  return name;
}

const lifetime = (r: InputReader, v: unknown, field: string): number => r.integer(v, field, MIN_LIFETIME_SECONDS, MAX_LIFETIME_SECONDS);

function parseDataSecuritySa(r: InputReader, v: unknown, field: string): DataSecuritySaPolicy {
  const o = r.object(v, field, ['name', 'protocol', 'mode', 'senders', 'encryption', 'integrity', 'sequenceNumbers', 'source', 'destination', 'lifetimeSeconds']);
  const name = r.string(o.name, `${field}.name`, { pattern: SA_NAME, what: 'a name of lower-case letters, digits, ".", "_", "-"' });
  const protocol = r.optional(o.protocol, (x) => r.oneOf(x, `${field}.protocol`, ['esp'] as const), 'esp' as const);
  const mode = r.oneOf(o.mode, `${field}.mode`, ['tunnel', 'transport'] as const);
  const senders = r.oneOf(o.senders, `${field}.senders`, ['single', 'multiple'] as const);
  const encryption = parseEncryption(r, o.encryption, `${field}.encryption`, true);
  const integrity = parseIntegrity(r, o.integrity, `${field}.integrity`, encryption);
  // §2.6: SN 2 for several senders (SN values are not unique); single senders SHOULD use SN 0.
  const sn = r.optional(o.sequenceNumbers, (x) => r.oneOf(x, `${field}.sequenceNumbers`, SN_VALUES), senders === 'multiple' ? 'unspecified-32' : 'sequential-32');
  const snField = `${field}.sequenceNumbers`;
  if (sn === 'esn-64') r.fail(snField, 'esn-64 (SN 1) is not allowed on a multicast SA: late joiners cannot learn the high bits (§4.4.2.1.3)', 'GKM_POLICY_SEQUENCE_NUMBERS');
  if (senders === 'multiple' && sn !== 'unspecified-32') r.fail(snField, 'several senders need unspecified-32 (SN 2): their sequence numbers are not unique (§2.6)', 'GKM_POLICY_SEQUENCE_NUMBERS');
  if (IMPLICIT_IV_ENCR.has(encryption.algorithm)) {
    const why = senders === 'multiple' ? 'several senders would reuse IVs' : 'it needs unique sequence numbers, i.e. sequential-32 (SN 0)';
    if (senders === 'multiple' || sn !== 'sequential-32') r.fail(`${field}.encryption.algorithm`, `${encryption.algorithm} (implicit IV, RFC 8750): ${why}`, 'GKM_POLICY_IMPLICIT_IV');
  }
  const destination = parseSelector(o.destination, r, `${field}.destination`);
  const source = parseSelector(o.source ?? { address: 'any' }, r, `${field}.source`, { family: selectorFamily(destination), protocol: destination.protocol });
  return {
    name,
    protocol,
    mode,
    senders,
    encryption,
    integrity,
    sequenceNumbers: sn,
    source,
    destination,
    lifetimeSeconds: r.optional(o.lifetimeSeconds, (x) => lifetime(r, x, `${field}.lifetimeSeconds`), null),
  };
}

function parseAuthentication(r: InputReader, v: unknown, field: string): RekeyAuthentication {
  const o = r.object(v, field, ['method', 'algorithm']);
  const method = r.oneOf(o.method, `${field}.method`, ['implicit', 'signature'] as const);
  if (method === 'implicit') {
    if (o.algorithm !== undefined) r.fail(`${field}.algorithm`, 'implicit authentication has no signature algorithm');
    return { method };
  }
  const algorithmName: SignatureScheme = algorithm(r, o.algorithm ?? 'ed25519', `${field}.algorithm`, [...SCHEMES.keys()], 'signature algorithm');
  return { method, algorithm: algorithmName };
}

function parseRekeySa(r: InputReader, v: unknown, field: string): RekeySaPolicy {
  const o = r.object(v, field, ['source', 'destination', 'encryption', 'integrity', 'keyWrap', 'authentication', 'lifetimeSeconds']);
  const encryption = parseEncryption(r, o.encryption, `${field}.encryption`, false);
  const destination = parseSelector(o.destination, r, `${field}.destination`, { protocol: UDP });
  return {
    source: parseSelector(o.source ?? { address: 'any', protocol: 'udp' }, r, `${field}.source`, { family: selectorFamily(destination), protocol: UDP }),
    destination,
    encryption,
    integrity: parseIntegrity(r, o.integrity, `${field}.integrity`, encryption),
    keyWrap: algorithm<KwaName>(r, o.keyWrap ?? 'kw-5649-256', `${field}.keyWrap`, KWA.names, 'key wrap algorithm'),
    authentication: parseAuthentication(r, o.authentication, `${field}.authentication`),
    lifetimeSeconds: lifetime(r, o.lifetimeSeconds, `${field}.lifetimeSeconds`),
  };
}

function parseRekey(r: InputReader, v: unknown, field: string): RekeyPolicy {
  const o = r.object(v, field, ['method', 'sa']);
  const method = r.oneOf(o.method, `${field}.method`, ['multicast', 'inband'] as const);
  if (method === 'inband') {
    if (o.sa !== undefined) r.fail(`${field}.sa`, 'in-band rekeying has no Rekey SA');
    return { method };
  }
  return { method, sa: parseRekeySa(r, o.sa, `${field}.sa`) };
}

function parseGroupWide(r: InputReader, v: unknown, field: string): GroupWidePolicySpec {
  const o = r.object(v ?? {}, field, ['activationTimeDelay', 'deactivationTimeDelay', 'senderIdBits']);
  const delay = (x: unknown, f: string): number => r.optional(x, (y) => r.integer(y, `${field}.${f}`, 0, 0xffff), 0);
  return {
    activationTimeDelay: delay(o.activationTimeDelay, 'activationTimeDelay'),
    deactivationTimeDelay: delay(o.deactivationTimeDelay, 'deactivationTimeDelay'),
    // null is the stored (normalized) form of "none": a stored policy must parse again.
    senderIdBits: r.optional(o.senderIdBits, (x) => (x === null ? null : r.integer(x, `${field}.senderIdBits`, 1, MAX_SENDER_ID_BITS)), null),
  };
}

/** Shape-level parse of a policy document; see validate.ts for the whole-policy rules. */
export function parsePolicyDocument(v: unknown, r = new InputReader('GKM_POLICY_INVALID')): GroupPolicy {
  const o = r.object(v, '', ['dataSecuritySas', 'rekey', 'groupWide']);
  const sas = r.array(o.dataSecuritySas ?? [], 'dataSecuritySas', { max: 64 }).map((x, i) => parseDataSecuritySa(r, x, `dataSecuritySas[${i}]`));
  return { dataSecuritySas: sas, rekey: parseRekey(r, o.rekey, 'rekey'), groupWide: parseGroupWide(r, o.groupWide, 'groupWide') };
}
