/**
 * What the GM reports about a registration: the group's policy in readable form (protocols,
 * SPIs, algorithm names, selectors, mode, lifetimes, the Rekey SA's SPI and destination,
 * ATD/DTD, Sender-IDs) and labelled key fingerprints. Never a key byte.
 */
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import { nameOf } from '../../ikev2/registry/names.ts';
import { EncrId, GcauthId, IntegId, KwaId, SnId } from '../../ikev2/registry/transform.ts';
import type { GsaPolicySuite } from '../../ikev2/wire/group-policy.ts';
import { isAddressRange, type TrafficSelector } from '../../ikev2/wire/sub/traffic-selector.ts';
import { selectorText } from '../events.ts';
import type { KeyFingerprint } from '../keys/fingerprint.ts';
import type { AcceptedRegistration, GroupDataSa, GroupRekeySa } from './accept.ts';

export interface AlgorithmNames {
  readonly encr?: string;
  readonly integ?: string;
  readonly sn?: string;
  readonly kwa?: string;
  readonly gcauth?: string;
}

export interface DataSaSummary {
  readonly protocol: 'esp' | 'ah';
  /** Hex, 8 digits. */
  readonly spi: string;
  readonly algorithms: AlgorithmNames;
  readonly source: string;
  readonly destination: string;
  readonly mode: 'tunnel' | 'transport';
  readonly lifetimeSeconds?: number;
  /** Senders need a Sender-ID (counter mode, RFC 6054). */
  readonly counterMode: boolean;
}

export interface RekeySaSummary {
  /** Hex, 32 digits: the GSA_REKEY header's SPIi || SPIr. */
  readonly spi: string;
  readonly algorithms: AlgorithmNames;
  readonly source: string;
  readonly destination: string;
  readonly lifetimeSeconds?: number;
  readonly initialMessageId: number;
}

export interface PolicySummary {
  readonly context: 'registration' | 'registration-inband';
  readonly rekeySa?: RekeySaSummary;
  readonly dataSecuritySas: readonly DataSaSummary[];
  readonly activationDelaySeconds: number;
  readonly deactivationDelaySeconds: number;
  readonly senderIdBits?: number;
  readonly senderIds: readonly number[];
}

const tsText = (ts: TrafficSelector): string => (isAddressRange(ts) ? selectorText(ts) : `TS type ${ts.tsType}`);

function algorithmNames(s: GsaPolicySuite): AlgorithmNames {
  const out: Record<string, string> = {};
  if (s.encrId !== undefined) out['encr'] = `${nameOf(EncrId, s.encrId)}${s.keyLengthBits ? `/${s.keyLengthBits}` : ''}`;
  if (s.integId !== undefined && s.integId !== IntegId.NONE) out['integ'] = nameOf(IntegId, s.integId);
  if (s.snId !== undefined) out['sn'] = nameOf(SnId, s.snId);
  if (s.kwaId !== undefined) out['kwa'] = nameOf(KwaId, s.kwaId);
  if (s.gcauthId !== undefined) out['gcauth'] = nameOf(GcauthId, s.gcauthId);
  return out;
}

function dataSaSummary(sa: GroupDataSa, mode: 'tunnel' | 'transport'): DataSaSummary {
  return {
    protocol: sa.policy.protocolId === ProtocolId.AH ? 'ah' : 'esp',
    spi: sa.policy.spi.toString('hex'),
    algorithms: algorithmNames(sa.suite),
    source: tsText(sa.policy.source),
    destination: tsText(sa.policy.destination),
    mode,
    ...(sa.attributes.keyLifetime !== undefined ? { lifetimeSeconds: sa.attributes.keyLifetime } : {}),
    counterMode: sa.counterMode,
  };
}

function rekeySaSummary(sa: GroupRekeySa): RekeySaSummary {
  return {
    spi: sa.policy.spi.toString('hex'),
    algorithms: algorithmNames(sa.suite),
    source: tsText(sa.policy.source),
    destination: tsText(sa.policy.destination),
    ...(sa.attributes.keyLifetime !== undefined ? { lifetimeSeconds: sa.attributes.keyLifetime } : {}),
    initialMessageId: sa.attributes.initialMessageId ?? 0,
  };
}

export const modeOf = (r: Pick<AcceptedRegistration, 'transportMode'>): 'tunnel' | 'transport' => (r.transportMode ? 'transport' : 'tunnel');

export function policySummary(r: AcceptedRegistration): PolicySummary {
  return {
    context: r.context,
    ...(r.rekeySa ? { rekeySa: rekeySaSummary(r.rekeySa) } : {}),
    dataSecuritySas: r.dataSecurity.map((sa) => dataSaSummary(sa, modeOf(r))),
    activationDelaySeconds: r.groupWide.activationDelay,
    deactivationDelaySeconds: r.groupWide.deactivationDelay,
    ...(r.groupWide.senderIdBits !== undefined ? { senderIdBits: r.groupWide.senderIdBits } : {}),
    senderIds: [...r.senderIds],
  };
}

/** Every key of the registration, labelled: the Data-Security SAs, the Rekey SA, the WRAP_KEYs held. */
export function registrationFingerprints(r: AcceptedRegistration): KeyFingerprint[] {
  return [...r.dataSecurity.map((s) => s.fingerprint), ...r.keys.fingerprints()];
}
