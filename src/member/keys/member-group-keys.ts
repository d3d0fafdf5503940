/**
 * The keys a GM holds for one group, and how each received KD changes them (RFC 9838 §2.3,
 * §2.4, §3.3; digest §5, §8, §12):
 *
 *   processRegistration   GSA_AUTH / GSA_REGISTRATION reply, over the IKE SA; replaces all
 *                         earlier state of the group (WKP, Rekey SA, AUTH_KEY, Sender-IDs)
 *   processRekey          GSA_REKEY, over the current Rekey SA
 *   processInbandRekey    GSA_INBAND_REKEY, over the IKE SA
 *
 * Every key is unwrapped and checked (integrity, exact KEYMAT length); the Rekey SA key goes
 * through the generic key-path algorithm, which updates the Working Key Path. Attributes are
 * parsed for the exchange's column of the §5 presence table, with the conditional rules
 * (AUTH_KEY vs GCAUTH, Sender-IDs) on top. Wire violations throw GKM_WIRE_*; key failures
 * are reported in the outcome: a Data-Security SA that fails is not returned, a Rekey SA
 * that cannot be resolved means the GM is excluded and should re-register.
 */
import { rekeySaKeys, type RekeySaKeys } from '../../gcks/keys/group-sa-keys.ts';
import { GkmError } from '../../ikev2/errors.ts';
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import {
  isRegistrationContext,
  parseGroupKeyBag,
  parseGroupWidePolicy,
  parseGsaPolicyAttributes,
  parseMemberKeyBag,
  registrationContext,
  type GroupExchangeContext,
  type GroupKeyBagAttributes,
  type MemberKeyBagAttributes,
} from '../../ikev2/wire/group-attributes.ts';
import { checkAuthKeyPresence, checkSenderIdGrant, groupSaKeyLayout, validateGsaPolicyTransforms } from '../../ikev2/wire/group-policy.ts';
import { isGroupWidePolicy, isGsaPolicy, type GsaPayload, type GsaPolicy } from '../../ikev2/wire/payloads/gsa.ts';
import { isGroupKeyBag, isMemberKeyBag, type KdPayload } from '../../ikev2/wire/payloads/kd.ts';
import { fingerprintOf, type KeyFingerprint } from './fingerprint.ts';
import { resolveSaKey, type CarryingSa, type KeyFailure } from './key-path.ts';
import { counterModeSasWithoutSenderId } from './sender-ids.ts';
import { tryUnwrapKey } from './unwrap.ts';
import { WorkingKeyPath } from './working-key-path.ts';

export interface MemberGroupKeysOptions {
  /** Count sent in N(GROUP_SENDER); undefined when the GM registers as a receiver only. */
  readonly groupSender?: number;
}

export interface InstalledSa {
  readonly policy: GsaPolicy;
  readonly keymat: Buffer;
  readonly fingerprint: KeyFingerprint;
}

/** A Rekey SA: KEYMAT = GSK_e | GSK_a | GSK_w (views of keymat). */
export type RekeySaState = InstalledSa & RekeySaKeys;

export interface KeyDownloadOutcome {
  readonly context: GroupExchangeContext;
  /** The Rekey SA installed by this message. */
  readonly rekeySa?: RekeySaState;
  /** The Rekey SA it replaces: keep until DTD, then wipe its keymat. */
  readonly retiredRekeySa?: RekeySaState;
  /** Data-Security SAs to hand to the SA database. */
  readonly dataSecurity: readonly InstalledSa[];
  /** No SA_KEY of the Rekey SA resolved (RFC 9838 §3.3): re-register. */
  readonly excluded: boolean;
  /** Another reason to re-register (Sender-ID misfit, counter-mode SA without Sender-ID). */
  readonly reRegister?: string;
  readonly wkpChanged: boolean;
  readonly failures: readonly KeyFailure[];
}

const SA_NAME: Readonly<Record<number, string>> = { [ProtocolId.GIKE_UPDATE]: 'Rekey SA', [ProtocolId.ESP]: 'ESP SA', [ProtocolId.AH]: 'AH SA' };
const saLabel = (p: GsaPolicy): string => `${SA_NAME[p.protocolId] ?? 'SA'} 0x${p.spi.toString('hex')}`;

export class MemberGroupKeys {
  readonly #groupSender: number | undefined;
  readonly #wkp = new WorkingKeyPath();
  #rekeySa: RekeySaState | undefined;
  #gcauthId: number | undefined;
  #authKey: Buffer | undefined;
  #senderIds: readonly number[] = [];
  #senderIdBits: number | undefined;
  #excluded = false;

  constructor(opts: MemberGroupKeysOptions = {}) {
    this.#groupSender = opts.groupSender;
  }

  get workingKeyPath(): WorkingKeyPath {
    return this.#wkp;
  }
  get rekeySa(): RekeySaState | undefined {
    return this.#rekeySa;
  }
  /** SPKI of the GCKS's rekey signing key (GCAUTH Digital Signature). */
  get authKey(): Buffer | undefined {
    return this.#authKey;
  }
  get senderIds(): readonly number[] {
    return this.#senderIds;
  }
  get senderIdBits(): number | undefined {
    return this.#senderIdBits;
  }
  get excluded(): boolean {
    return this.#excluded;
  }

  processRegistration(gsa: GsaPayload, kd: KdPayload, ikeSa: CarryingSa): KeyDownloadOutcome {
    this.#resetForRegistration();
    return this.#process(registrationContext(gsa), gsa, kd, ikeSa);
  }

  processRekey(gsa: GsaPayload | undefined, kd: KdPayload): KeyDownloadOutcome {
    const current = this.#rekeySa;
    if (!current) throw new GkmError('GKM_KEYS_BAD_INPUT', { field: 'GSA_REKEY', detail: 'no Rekey SA installed' });
    return this.#process('rekey', gsa, kd, current);
  }

  processInbandRekey(gsa: GsaPayload | undefined, kd: KdPayload, ikeSa: CarryingSa): KeyDownloadOutcome {
    return this.#process('inband', gsa, kd, ikeSa);
  }

  /** Fingerprints of the keys held: the Rekey SA and the WKP. */
  fingerprints(): KeyFingerprint[] {
    return [...(this.#rekeySa ? [this.#rekeySa.fingerprint] : []), ...this.#wkp.fingerprints()];
  }

  /** Forget every key (leaving the group). */
  wipe(): void {
    this.#resetForRegistration();
  }

  #resetForRegistration(): void {
    this.#wkp.clear();
    this.#rekeySa?.keymat.fill(0);
    this.#rekeySa = undefined;
    this.#gcauthId = undefined;
    this.#authKey = undefined;
    this.#senderIds = [];
    this.#senderIdBits = undefined;
    this.#excluded = false;
  }

  #process(context: GroupExchangeContext, gsa: GsaPayload | undefined, kd: KdPayload, carrier: CarryingSa): KeyDownloadOutcome {
    const registration = isRegistrationContext(context);
    const policies = gsa?.policies ?? [];
    const gsaPolicies = policies.filter(isGsaPolicy);
    const suites = gsaPolicies.map((p, i) => {
      const field = `GSA.policy[${i}]`;
      parseGsaPolicyAttributes(p, context, field);
      return validateGsaPolicyTransforms(p, context, field);
    });
    const gw = policies.find(isGroupWidePolicy);
    const groupWide = gw && parseGroupWidePolicy(gw, context);
    const memberBag = kd.bags.find(isMemberKeyBag);
    const member: MemberKeyBagAttributes | undefined = memberBag && parseMemberKeyBag(memberBag, context);
    const keyed = this.#matchBags(kd, gsaPolicies, context);

    const rekeyIndex = gsaPolicies.findIndex((p) => p.protocolId === ProtocolId.GIKE_UPDATE);
    if (registration && rekeyIndex >= 0) this.#gcauthId = suites[rekeyIndex]!.gcauthId;
    if (this.#gcauthId !== undefined) checkAuthKeyPresence(this.#gcauthId, member?.authKey, context);
    if (registration) {
      const requested = this.#groupSender === undefined ? 0 : Math.max(1, this.#groupSender);
      checkSenderIdGrant({ policies, groupWide, member, requested });
    }

    const failures: KeyFailure[] = [];
    const dataSecurity: InstalledSa[] = [];
    let rekeySa: RekeySaState | undefined;
    let retiredRekeySa: RekeySaState | undefined;
    let excluded = false;
    let wkpChanged = false;
    for (const { policy, bag } of keyed) {
      const expectedLength = groupSaKeyLayout(policy).total;
      if (policy.protocolId !== ProtocolId.GIKE_UPDATE) {
        const sa = bag.saKeys[0]!; // exactly one, Key ID = KWK ID = 0 (checked by the parser)
        const keymat = tryUnwrapKey(carrier.kwaId, carrier.gskW, sa.encryptedKey, expectedLength);
        if (typeof keymat === 'string') failures.push({ keyId: sa.keyId, kwkId: sa.kwkId, reason: keymat });
        else dataSecurity.push({ policy, keymat, fingerprint: fingerprintOf(saLabel(policy), keymat) });
        continue;
      }
      const r = resolveSaKey({ saKeys: bag.saKeys, expectedLength, carrier, wkp: this.#wkp, wrapKeys: member?.wrapKeys ?? [] });
      failures.push(...r.failures);
      if (!r.resolved) {
        excluded = true;
        continue;
      }
      wkpChanged = this.#wkp.update(r.resolved.newPath, r.resolved.anchor);
      rekeySa = this.#rekeySaState(policy, r.resolved.keymat);
      retiredRekeySa = this.#rekeySa;
      this.#rekeySa = rekeySa;
    }
    if (excluded) this.#excluded = true;
    if (member?.authKey) this.#authKey = Buffer.from(member.authKey);

    let reRegister: string | undefined;
    if (registration) {
      // checkSenderIdGrant above: present iff asked for and needed, ≤ requested, each fits the bits.
      this.#senderIds = member?.senderIds ?? [];
      this.#senderIdBits = groupWide?.senderIdBits;
    } else {
      const blocked = counterModeSasWithoutSenderId(dataSecurity.map((s) => s.policy), this.#groupSender !== undefined, this.#senderIds);
      if (blocked.length > 0) reRegister = `counter-mode SA ${blocked.map(saLabel).join(', ')} without a Sender-ID`;
    }
    return {
      context,
      ...(rekeySa ? { rekeySa } : {}),
      ...(retiredRekeySa ? { retiredRekeySa } : {}),
      dataSecurity,
      excluded,
      ...(reRegister ? { reRegister } : {}),
      wkpChanged,
      failures,
    };
  }

  /** Each Group Key Bag with the GSA policy of its SPI; every policy needs its keys. */
  #matchBags(kd: KdPayload, policies: readonly GsaPolicy[], context: GroupExchangeContext): { policy: GsaPolicy; bag: GroupKeyBagAttributes }[] {
    const out = kd.bags.filter(isGroupKeyBag).map((bag, i) => {
      const field = `KD.groupKeyBag[${i}]`;
      const policy = policies.find((p) => p.protocolId === bag.protocolId && p.spi.equals(bag.spi));
      if (!policy) throw new GkmError('GKM_WIRE_BAD_VALUE', { field, detail: `no GSA policy for protocol ${bag.protocolId} SPI ${bag.spi.toString('hex')}` });
      return { policy, bag: parseGroupKeyBag(bag, context, field) };
    });
    for (const p of policies) {
      if (!out.some((k) => k.policy === p)) throw new GkmError('GKM_WIRE_BAD_COUNT', { field: 'KD', detail: `no key bag for ${saLabel(p)}` });
    }
    if (new Set(out.map((k) => k.policy)).size !== out.length) throw new GkmError('GKM_WIRE_BAD_COUNT', { field: 'KD', detail: 'two key bags for one SA' });
    return out;
  }

  #rekeySaState(policy: GsaPolicy, keymat: Buffer): RekeySaState {
    return { ...rekeySaKeys(policy, keymat), fingerprint: fingerprintOf(saLabel(policy), keymat) };
  }
}
