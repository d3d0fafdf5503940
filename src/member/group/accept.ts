/**
 * Accepting a registration reply on the GM: every check before any state changes
 * (RFC 9838 §2.3, §3.3, §4.4, §4.5, §5; digest §11, §12). In order:
 *
 *  1. GSA and KD parsed in the reply's context, 'registration' (the group has a Rekey SA)
 *     or 'registration-inband' (registrationContext()), through MemberGroupKeys:
 *     transforms per protocol, the §5 attribute presence table, one key bag per policy
 *     matched by SPI, AUTH_KEY present iff GCAUTH is Digital Signature, Sender-IDs
 *     present iff asked for and needed, each fitting GWP_SENDER_ID_BITS;
 *  2. every SA_KEY unwrapped under GSK_w of the IKE SA (its KWA), the Rekey SA's through
 *     the WRAP_KEYs of the working key path, each to exactly its KEYMAT length;
 *  3. AUTH_KEY's key fits the Signature Algorithm Identifier (transform attribute 18);
 *  4. this GM can run every SA (else it rejects the policy with NO_PROPOSAL_CHOSEN).
 *
 * The keys go into a fresh MemberGroupKeys: a refused reply leaves the group's current
 * state untouched, and everything unwrapped on the way is wiped.
 */
import { isSupportedKeyWrap } from '../../ikev2/crypto/keywrap.ts';
import { checkAlgorithmIdentifierFitsKey } from '../../ikev2/crypto/sig.ts';
import { schemeByAlgorithmIdentifier } from '../../ikev2/crypto/sig-schemes.ts';
import { spkiToPublicKey } from '../../ikev2/crypto/spki.ts';
import { wipe } from '../../ikev2/crypto/zeroize.ts';
import { espSuite } from '../../datapath/esp/suite.ts';
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import { NotifyType } from '../../ikev2/registry/notify.ts';
import { EncrId, GcauthId } from '../../ikev2/registry/transform.ts';
import { parseGroupWidePolicy, parseGsaPolicyAttributes, registrationContext, type GsaPolicyAttributes } from '../../ikev2/wire/group-attributes.ts';
import { usesCounterMode, validateGsaPolicyTransforms, type GsaPolicySuite } from '../../ikev2/wire/group-policy.ts';
import { isGroupWidePolicy, isGsaPolicy, type GsaPolicy } from '../../ikev2/wire/payloads/index.ts';
import type { KeyFingerprint } from '../keys/fingerprint.ts';
import type { CarryingSa } from '../keys/key-path.ts';
import { MemberGroupKeys, type InstalledSa, type KeyDownloadOutcome } from '../keys/member-group-keys.ts';
import { asGroupError, GroupRegistrationError } from './errors.ts';
import type { RegistrationReply } from './reply.ts';

/** A Data-Security SA with its keys (KEYMAT: encryption key with salt, then integrity key). */
export interface GroupDataSa {
  readonly policy: GsaPolicy;
  readonly suite: GsaPolicySuite;
  readonly attributes: GsaPolicyAttributes;
  readonly keymat: Buffer;
  readonly fingerprint: KeyFingerprint;
  /** Senders need a Sender-ID for it (RFC 6054). */
  readonly counterMode: boolean;
}

export interface GroupRekeySa {
  readonly policy: GsaPolicy;
  readonly suite: GsaPolicySuite;
  readonly attributes: GsaPolicyAttributes;
}

export interface GroupWideSettings {
  /** GWP_ATD / GWP_DTD in seconds; absent means 0 (§4.4.3.1). */
  readonly activationDelay: number;
  readonly deactivationDelay: number;
  readonly senderIdBits?: number;
}

export interface AcceptedRegistration {
  readonly context: 'registration' | 'registration-inband';
  readonly transportMode: boolean;
  /** The Rekey SA key, working key path, AUTH_KEY and Sender-IDs. */
  readonly keys: MemberGroupKeys;
  readonly rekeySa?: GroupRekeySa;
  readonly dataSecurity: readonly GroupDataSa[];
  readonly groupWide: GroupWideSettings;
  readonly senderIds: readonly number[];
}

export interface AcceptOptions {
  /** Count sent in N(GROUP_SENDER); undefined for a receiver only. */
  readonly groupSender?: number;
}

/** Wipes every key of an accepted (or abandoned) registration. */
export function wipeRegistration(r: { readonly keys: MemberGroupKeys; readonly dataSecurity: readonly { readonly keymat: Buffer }[] }): void {
  r.keys.wipe();
  wipe(...r.dataSecurity.map((s) => s.keymat));
}

const ENCR_FOR_REKEY_SA: ReadonlySet<number> = new Set([EncrId.AES_GCM_16, EncrId.AES_CBC, EncrId.CHACHA20_POLY1305]);

/** Why this GM cannot run a group SA, or null (the SAg it sent lists what it can). */
export function unsupportedProblem(policy: GsaPolicy, suite: GsaPolicySuite): string | null {
  switch (policy.protocolId) {
    case ProtocolId.GIKE_UPDATE:
      if (!ENCR_FOR_REKEY_SA.has(suite.encrId!)) return `Rekey SA ENCR ${suite.encrId}`;
      if (!isSupportedKeyWrap(suite.kwaId!)) return `Rekey SA KWA ${suite.kwaId}`;
      if (suite.gcauthId === GcauthId.DIGITAL_SIGNATURE && !schemeByAlgorithmIdentifier(suite.signatureAlgorithm!)) return 'Rekey SA signature algorithm';
      if (suite.gcauthId !== GcauthId.DIGITAL_SIGNATURE && suite.gcauthId !== GcauthId.IMPLICIT) return `GCAUTH ${suite.gcauthId}`;
      return null;
    case ProtocolId.ESP:
      try {
        espSuite({ encr: suite.encrId!, ...(suite.keyLengthBits ? { keyBits: suite.keyLengthBits } : {}), ...(suite.integId !== undefined ? { integ: suite.integId } : {}) });
        return null;
      } catch (e) {
        return `ESP SA 0x${policy.spi.toString('hex')}: ${(e as Error).message}`;
      }
    default:
      return `protocol ${policy.protocolId} SA 0x${policy.spi.toString('hex')} (no AH datapath)`;
  }
}

/** Runs every check; throws GroupRegistrationError (nothing kept) or returns the new state. */
export function acceptRegistration(reply: RegistrationReply, carrier: CarryingSa, opts: AcceptOptions = {}): AcceptedRegistration {
  const { gsa, kd } = reply;
  const context = registrationContext(gsa);
  const keys = new MemberGroupKeys(opts.groupSender === undefined ? {} : { groupSender: opts.groupSender });
  let outcome: KeyDownloadOutcome;
  try {
    outcome = keys.processRegistration(gsa, kd, carrier);
  } catch (e) {
    keys.wipe();
    throw asGroupError(e, 'GKM_GROUP_BAD_REPLY', 'malformed GSA/KD');
  }
  try {
    return build(reply, context, keys, outcome);
  } catch (e) {
    wipeRegistration({ keys, dataSecurity: outcome.dataSecurity });
    throw asGroupError(e, 'GKM_GROUP_BAD_REPLY', 'registration reply');
  }
}

function build(reply: RegistrationReply, context: AcceptedRegistration['context'], keys: MemberGroupKeys, outcome: KeyDownloadOutcome): AcceptedRegistration {
  const policies = reply.gsa.policies.filter(isGsaPolicy);
  if (outcome.failures.length > 0) {
    const f = outcome.failures[0]!;
    const what = f.reason === 'bad-length' ? 'unwrapped to the wrong length' : 'failed to unwrap';
    throw new GroupRegistrationError('GKM_GROUP_BAD_KEYS', `key (Key ID ${f.keyId}, KWK ID ${f.kwkId}) ${what}`);
  }
  if (outcome.excluded) throw new GroupRegistrationError('GKM_GROUP_EXCLUDED', 'no key path resolves the Rekey SA key');
  const dataPolicies = policies.filter((p) => p.protocolId !== ProtocolId.GIKE_UPDATE);
  if (outcome.dataSecurity.length !== dataPolicies.length) throw new GroupRegistrationError('GKM_GROUP_BAD_KEYS', 'a Data-Security SA key is missing');

  const suiteOf = (p: GsaPolicy): GsaPolicySuite => validateGsaPolicyTransforms(p, context);
  for (const p of policies) {
    const problem = unsupportedProblem(p, suiteOf(p));
    if (problem) throw new GroupRegistrationError('GKM_GROUP_UNSUPPORTED', `policy not supported: ${problem}`, { notify: NotifyType.NO_PROPOSAL_CHOSEN });
  }
  const rekeyPolicy = policies.find((p) => p.protocolId === ProtocolId.GIKE_UPDATE);
  const rekeySa = rekeyPolicy && { policy: rekeyPolicy, suite: suiteOf(rekeyPolicy), attributes: parseGsaPolicyAttributes(rekeyPolicy, context) };
  if (rekeySa?.suite.gcauthId === GcauthId.DIGITAL_SIGNATURE) checkAuthKeyAlgorithm(keys.authKey!, rekeySa.suite.signatureAlgorithm!);
  const gw = reply.gsa.policies.find(isGroupWidePolicy);
  const groupWide = gw ? parseGroupWidePolicy(gw, context) : undefined;
  return {
    context,
    transportMode: reply.transportMode,
    keys,
    ...(rekeySa ? { rekeySa } : {}),
    dataSecurity: outcome.dataSecurity.map((s: InstalledSa) => ({
      policy: s.policy,
      suite: suiteOf(s.policy),
      attributes: parseGsaPolicyAttributes(s.policy, context),
      keymat: s.keymat,
      fingerprint: s.fingerprint,
      counterMode: usesCounterMode(s.policy),
    })),
    groupWide: {
      activationDelay: groupWide?.activationTimeDelay ?? 0,
      deactivationDelay: groupWide?.deactivationTimeDelay ?? 0,
      ...(groupWide?.senderIdBits !== undefined ? { senderIdBits: groupWide.senderIdBits } : {}),
    },
    senderIds: keys.senderIds,
  };
}

/** AUTH_KEY must be a key for the announced signature algorithm (§4.4.2.1.1, digest §12 item 2). */
function checkAuthKeyAlgorithm(authKey: Buffer, algorithmIdentifier: Buffer): void {
  try {
    checkAlgorithmIdentifierFitsKey(algorithmIdentifier, spkiToPublicKey(authKey));
  } catch (e) {
    throw new GroupRegistrationError('GKM_GROUP_BAD_REPLY', `AUTH_KEY does not match the Rekey SA's signature algorithm: ${(e as Error).message}`, { cause: e });
  }
}
