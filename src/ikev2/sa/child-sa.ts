/**
 * Child SAs (RFC 7296 §1.3, §2.17): what the engine keeps (no keys) and what it hands to
 * the datapath's SA database through the ChildSaSink (keys included, once).
 */
import { GkmError } from '../errors.ts';
import { nameOf } from '../registry/names.ts';
import { EncrId, IntegId, TransformType } from '../registry/transform.ts';
import type { Proposal } from '../wire/payloads/index.ts';
import { keyLengthOf } from '../wire/payloads/index.ts';
import type { AddressRangeSelector } from '../wire/sub/traffic-selector.ts';
import type { ChildConfig, ChildMode } from './config.ts';
import type { ChildSaSummary } from './events.ts';
import { chosenAdditionalKes, chosenId } from './proposals.ts';
import type { LifetimeDeadlines } from './lifetimes.ts';
import { DerivedKeyMap } from './small-map.ts';
import type { Endpoint } from './types.ts';

export interface ChildSuite {
  readonly encrId: number;
  readonly keyLengthBits?: number | undefined;
  /** Absent with combined-mode ENCR. */
  readonly integId?: number | undefined;
  /** Extended (64-bit) sequence numbers (SN transform 1). */
  readonly esn: boolean;
}

export function childSuiteOf(p: Proposal): ChildSuite {
  const encr = p.transforms.find((t) => t.transformType === TransformType.ENCR);
  const integId = chosenId(p, TransformType.INTEG);
  return {
    encrId: encr?.transformId ?? EncrId.NULL,
    keyLengthBits: encr ? keyLengthOf(encr) : undefined,
    integId: integId === IntegId.NONE ? undefined : integId,
    esn: chosenId(p, TransformType.SN) === 1,
  };
}

/** A negotiated, not yet keyed Child SA. */
export interface NegotiatedChild {
  readonly name: string;
  readonly protocolId: number;
  readonly mode: ChildMode;
  readonly proposal: Proposal;
  readonly inboundSpi: Buffer;
  readonly outboundSpi: Buffer;
  readonly localTs: readonly AddressRangeSelector[];
  readonly remoteTs: readonly AddressRangeSelector[];
  /**
   * RFC 9611: our (local-meaning) resource id; empty = the group's fallback SA, absent = not
   * per-resource. Rekeys inherit it.
   */
  readonly resourceId?: Buffer | undefined;
  /**
   * Created in IKE_AUTH: no KE method was agreed for it, so its first rekey is a regular one
   * (sa-ts-payloads-opt §5.1).
   */
  readonly initial?: boolean | undefined;
}

/**
 * installed ─▶ rekeying (our rekey in flight) ─▶ rekeyed (replaced, waiting for its Delete)
 *     │            └─▶ installed (rekey failed)            │
 *     └────────────────────────────▶ deleting ◀────────────┘
 */
export type ChildSaState = 'installed' | 'rekeying' | 'rekeyed' | 'deleting';
export type LifetimeStage = 'soft' | 'hard' | 'done';

export interface ChildSa extends Omit<NegotiatedChild, 'proposal'> {
  /** `inboundSpi` / `outboundSpi` as numbers (ESP and AH SPIs are 4 octets, RFC 7296 §3.3.1). */
  readonly inboundSpiValue: number;
  readonly outboundSpiValue: number;
  readonly suite: ChildSuite;
  readonly encapsulated: boolean;
  /** KE methods of the creating exchange (type 4, then ADDKE1..7); empty without PFS. */
  readonly keMethods: readonly number[];
  state: ChildSaState;
  /** Scheduler time of its installation (kept across an IKE SA rekey, RFC 7296 §2.18). */
  readonly installedAt?: number;
  /** Soft and hard lifetime deadlines, fixed when first armed (create-child-sa.ts). */
  lifetime?: LifetimeDeadlines | undefined;
  /** Which deadline comes next: the soft one (rekey), the hard one (delete), or none. */
  lifetimeStage?: LifetimeStage;
}

/** What ChildSaRecord is built from: a ChildSa with its SPIs as octets. */
export type ChildSaFields = Omit<ChildSa, 'inboundSpiValue' | 'outboundSpiValue' | 'lifetime' | 'lifetimeStage'>;

const CHILD_SPI_OCTETS = 4;

/** A 4-octet SPI as a Buffer of its own (never a view into Node's shared pool). */
export function spiBytes(spi: number): Buffer {
  const b = Buffer.allocUnsafeSlow(CHILD_SPI_OCTETS);
  b.writeUInt32BE(spi);
  return b;
}

function spiValue(spi: Buffer): number {
  if (spi.length !== CHILD_SPI_OCTETS) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `Child SA SPI of ${spi.length} octets` });
  return spi.readUInt32BE();
}

/**
 * The Child SA record the engine keeps for the SA's life. It holds its SPIs as numbers (two
 * small integers instead of two Buffer views and their allocation, ~300 bytes per SA);
 * `inboundSpi` / `outboundSpi` make a fresh 4-octet Buffer on each read.
 */
/** Small values of a ChildSaRecord packed into one small integer (`#packed`). */
const MODES: readonly ChildMode[] = ['tunnel', 'transport'];
const STATES: readonly ChildSaState[] = ['installed', 'rekeying', 'rekeyed', 'deleting'];
const STAGES: readonly LifetimeStage[] = ['soft', 'hard', 'done'];
const INITIALS: readonly (boolean | undefined)[] = [undefined, false, true];
// Bits: 0-7 protocol id (RFC 7296 §3.3.1: one octet), 8 mode, 9 encapsulated, 10-11 initial, 12-13 state, 14-15 lifetime stage.
const MODE_SHIFT = 8;
const ENCAPSULATED = 1 << 9;
const INITIAL_SHIFT = 10;
const STATE_SHIFT = 12;
const STAGE_SHIFT = 14;
const field = (packed: number, shift: number): number => (packed >>> shift) & 3;
function indexIn<T>(list: readonly T[], value: T, what: string): number {
  const i = list.indexOf(value);
  if (i < 0) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `Child SA ${what} ${String(value)}` });
  return i;
}
const withField = (packed: number, shift: number, value: number): number => (packed & ~(3 << shift)) | (value << shift);

function packedOf(f: ChildSaFields): number {
  if (f.protocolId < 0 || f.protocolId > 0xff) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: `Child SA protocol ${f.protocolId}` });
  const mode = indexIn(MODES, f.mode, 'mode');
  return f.protocolId | (mode << MODE_SHIFT) | (f.encapsulated ? ENCAPSULATED : 0) | (indexIn(INITIALS, f.initial, 'initial') << INITIAL_SHIFT) | (indexIn(STATES, f.state, 'state') << STATE_SHIFT);
}

export class ChildSaRecord implements ChildSa {
  readonly name: string;
  /**
   * protocolId, mode, encapsulated, initial, state and lifetimeStage in one small integer
   * (getters and setters below): one field instead of six, 40 B less per Child SA.
   */
  #packed: number;
  /** Signed 32-bit (`| 0`): a small integer in the object, where 2^31 and above is a heap number. */
  readonly #inboundSpi: number;
  readonly #outboundSpi: number;
  readonly localTs: readonly AddressRangeSelector[];
  readonly remoteTs: readonly AddressRangeSelector[];
  readonly resourceId: Buffer | undefined;
  readonly suite: ChildSuite;
  readonly keMethods: readonly number[];
  readonly installedAt: number | undefined;
  /** The lifetime deadlines as two numbers, not an object per Child SA; -1 while not fixed. */
  #rekeyAt = -1;
  #expireAt = -1;

  constructor(f: ChildSaFields) {
    this.name = f.name;
    this.#packed = packedOf(f);
    this.#inboundSpi = spiValue(f.inboundSpi) | 0;
    this.#outboundSpi = spiValue(f.outboundSpi) | 0;
    this.localTs = f.localTs;
    this.remoteTs = f.remoteTs;
    this.resourceId = f.resourceId;
    this.suite = f.suite;
    this.keMethods = f.keMethods;
    this.installedAt = f.installedAt;
  }

  get protocolId(): number {
    return this.#packed & 0xff;
  }

  get mode(): ChildMode {
    return MODES[(this.#packed >>> MODE_SHIFT) & 1]!;
  }

  get encapsulated(): boolean {
    return (this.#packed & ENCAPSULATED) !== 0;
  }

  get initial(): boolean | undefined {
    return INITIALS[field(this.#packed, INITIAL_SHIFT)];
  }

  get state(): ChildSaState {
    return STATES[field(this.#packed, STATE_SHIFT)]!;
  }

  set state(s: ChildSaState) {
    this.#packed = withField(this.#packed, STATE_SHIFT, indexIn(STATES, s, 'state'));
  }

  get lifetimeStage(): LifetimeStage {
    return STAGES[field(this.#packed, STAGE_SHIFT)]!;
  }

  set lifetimeStage(s: LifetimeStage) {
    this.#packed = withField(this.#packed, STAGE_SHIFT, indexIn(STAGES, s, 'lifetime stage'));
  }

  get lifetime(): LifetimeDeadlines | undefined {
    return this.#rekeyAt < 0 ? undefined : { rekeyAt: this.#rekeyAt, expireAt: this.#expireAt };
  }

  set lifetime(d: LifetimeDeadlines | undefined) {
    this.#rekeyAt = d?.rekeyAt ?? -1;
    this.#expireAt = d?.expireAt ?? -1;
  }

  get inboundSpiValue(): number {
    return this.#inboundSpi >>> 0;
  }

  get outboundSpiValue(): number {
    return this.#outboundSpi >>> 0;
  }

  get inboundSpi(): Buffer {
    return spiBytes(this.inboundSpiValue);
  }

  get outboundSpi(): Buffer {
    return spiBytes(this.outboundSpiValue);
  }
}

/**
 * An IKE SA's Child SAs by inbound SPI (hex, as spiValueHex prints it), the key read from
 * the record: no key string, and no array for the usual single Child SA (small-map.ts).
 */
export class ChildSaTable extends DerivedKeyMap<string, ChildSa> {
  protected keyOf(child: ChildSa): string {
    return spiValueHex(child.inboundSpiValue);
  }
}

/** A Child SA's own parameters as a configuration, when its configuration is gone. */
export function configOfChild(child: ChildSa): ChildConfig {
  const s = child.suite;
  const [ke, ...addke] = child.keMethods;
  return {
    name: child.name,
    proposals: [{
      protocolId: child.protocolId,
      encr: s.keyLengthBits ? { id: s.encrId, keyLength: s.keyLengthBits } : s.encrId,
      ...(s.integId !== undefined ? { integ: s.integId } : {}),
      sn: s.esn ? 1 : 0,
      ...(ke !== undefined ? { ke, addke } : {}),
    }],
    localTs: child.localTs,
    remoteTs: child.remoteTs,
    mode: child.mode,
  };
}

/** KE and ADDKE methods a chosen proposal negotiated, in round order (RFC 9370). */
export function keMethodsOf(p: Proposal): number[] {
  const ke = chosenId(p, TransformType.KE);
  return ke === undefined ? [] : [ke, ...chosenAdditionalKes(p)];
}

export interface DirectionKeys {
  readonly spi: number;
  /** Encryption key, salt included at the end for combined modes (RFC 4106 §8.1). */
  readonly encKey: Buffer;
  readonly integKey: Buffer;
}

/** A Child SA as the datapath installs it: both directions, keys included. */
export interface InstalledChildSa {
  readonly ikeSaId: string;
  readonly name: string;
  readonly protocolId: number;
  readonly mode: ChildMode;
  /** ESP in UDP (RFC 3948) because a NAT was detected. */
  readonly encapsulated: boolean;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly suite: ChildSuite;
  readonly localTs: readonly AddressRangeSelector[];
  readonly remoteTs: readonly AddressRangeSelector[];
  readonly inbound: DirectionKeys;
  readonly outbound: DirectionKeys;
  /** RFC 9611 resource id (e.g. a CPU index, 4 octets); empty for the fallback SA. */
  readonly resourceId?: Buffer;
}

/** Implemented by the datapath's SA database; the engine never keeps Child SA keys. */
export interface ChildSaSink {
  install(sa: InstalledChildSa): void;
  remove(ref: { readonly ikeSaId: string; readonly inboundSpi: number; readonly outboundSpi: number }): void;
}

export const spiHex = (spi: Buffer): string => spi.toString('hex').padStart(8, '0');
/** A 4-octet SPI held as a number, as spiHex prints it. */
export const spiValueHex = (spi: number): string => spi.toString(16).padStart(8, '0');

export function suiteNames(s: ChildSuite): Record<string, string> {
  const out: Record<string, string> = { encr: `${nameOf(EncrId, s.encrId)}${s.keyLengthBits ? `/${s.keyLengthBits}` : ''}` };
  if (s.integId !== undefined) out['integ'] = nameOf(IntegId, s.integId);
  out['sn'] = s.esn ? 'ESN' : 'SEQ32';
  return out;
}

export function childSummary(c: ChildSa): ChildSaSummary {
  return {
    name: c.name,
    protocol: c.protocolId === 2 ? 'ah' : 'esp',
    mode: c.mode,
    inboundSpi: spiValueHex(c.inboundSpiValue),
    outboundSpi: spiValueHex(c.outboundSpiValue),
    encapsulated: c.encapsulated,
    suite: suiteNames(c.suite),
    ...(c.resourceId ? { resourceId: c.resourceId.toString('hex') } : {}),
  };
}
