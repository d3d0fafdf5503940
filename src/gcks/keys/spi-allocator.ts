/**
 * SPIs of a group's SAs, chosen by the GCKS (RFC 9838 §4.4.2):
 *  - ESP / AH (4 octets): random, never below 256 (1-255 are reserved by IANA, RFC 4303
 *    §2.1), never equal to another live or reserved Data-Security SA SPI of the group (ESP
 *    and AH share one space, so a receiver's SAD never sees two group SAs with one SPI);
 *  - GIKE_UPDATE (16 octets = the rekey header's SPIi || SPIr): random with both halves
 *    non-zero, and the first 8 octets alone unique among the group's Rekey SAs (§4.4.2: the
 *    Initiator SPI must identify the Rekey SA).
 *
 * GSA_NEXT_SPI (§4.4.2.2.3): `reserveNext` sets an SPI aside for the SA that will replace
 * a current one; `claim` takes the oldest reservation of that protocol before drawing a new
 * SPI. Reservations are best effort (§2.4.1: the GCKS may forget them).
 *
 * `alsoTaken` lets the caller extend "in use" beyond the group (e.g. all groups of one GCKS).
 */
import { GkmError } from '../../ikev2/errors.ts';
import { ProtocolId } from '../../ikev2/registry/misc.ts';
import type { GroupSaProtocol } from '../../ikev2/wire/sub/group-substructure.ts';
import { secureRandom, type RandomSource } from './random.ts';

/** RFC 4303 §2.1: 1-255 reserved, 0 means "no SA". */
export const MIN_DATA_SECURITY_SPI = 256;
const REKEY_SPI_SIZE = 16;
const DATA_SECURITY_SPI_SIZE = 4;
/** Random draws before giving up; with a sane number of SAs a collision is already rare. */
const MAX_DRAWS = 64;

export interface SpiRecord {
  readonly protocolId: GroupSaProtocol;
  readonly spi: Buffer;
}

export interface SpiAllocatorState {
  readonly inUse: readonly SpiRecord[];
  /** Oldest first. */
  readonly reserved: readonly SpiRecord[];
}

export interface SpiAllocatorOptions {
  readonly random?: RandomSource;
  readonly alsoTaken?: (protocolId: GroupSaProtocol, spi: Buffer) => boolean;
  readonly state?: SpiAllocatorState;
}

const isRekey = (p: GroupSaProtocol): boolean => p === ProtocolId.GIKE_UPDATE;

/** What two SPIs must not share: the whole 4 octets, or the Initiator half of a Rekey SA SPI. */
const uniquenessKey = (protocolId: GroupSaProtocol, spi: Buffer): string =>
  isRekey(protocolId) ? `k:${spi.subarray(0, 8).toString('hex')}` : `d:${spi.toString('hex')}`;

export class SpiAllocator {
  readonly #random: RandomSource;
  readonly #alsoTaken: SpiAllocatorOptions['alsoTaken'];
  /** Uniqueness key → SPI, for in-use and reserved SPIs alike. */
  readonly #taken = new Map<string, SpiRecord>();
  readonly #reserved: SpiRecord[] = [];

  constructor(opts: SpiAllocatorOptions = {}) {
    this.#random = opts.random ?? secureRandom;
    this.#alsoTaken = opts.alsoTaken;
    for (const r of opts.state?.inUse ?? []) this.#mark(r);
    for (const r of opts.state?.reserved ?? []) {
      this.#mark(r);
      this.#reserved.push(r);
    }
  }

  /** A fresh SPI for a new SA, marked in use. */
  allocate(protocolId: GroupSaProtocol): Buffer {
    const spi = this.#draw(protocolId);
    this.#mark({ protocolId, spi });
    return Buffer.from(spi);
  }

  /** An SPI set aside for a future SA of this protocol, to announce in GSA_NEXT_SPI. */
  reserveNext(protocolId: GroupSaProtocol): Buffer {
    const rec: SpiRecord = { protocolId, spi: this.#draw(protocolId) };
    this.#mark(rec);
    this.#reserved.push(rec);
    return Buffer.from(rec.spi);
  }

  /** The SPI for a new SA: the oldest reservation of this protocol, else a fresh one. */
  claim(protocolId: GroupSaProtocol): Buffer {
    const i = this.#reserved.findIndex((r) => r.protocolId === protocolId);
    if (i < 0) return this.allocate(protocolId);
    const [rec] = this.#reserved.splice(i, 1);
    return Buffer.from(rec!.spi);
  }

  /** SPIs currently reserved for this protocol, oldest first. */
  reservations(protocolId: GroupSaProtocol): Buffer[] {
    return this.#reserved.filter((r) => r.protocolId === protocolId).map((r) => Buffer.from(r.spi));
  }

  /** Drop all reservations (allowed: GSA_NEXT_SPI is best effort). */
  forgetReservations(): void {
    for (const r of this.#reserved.splice(0)) this.#taken.delete(uniquenessKey(r.protocolId, r.spi));
  }

  /** The SA is gone (deleted and past its DTD): its SPI may be drawn again. */
  release(protocolId: GroupSaProtocol, spi: Buffer): void {
    const key = uniquenessKey(protocolId, spi);
    const rec = this.#taken.get(key);
    if (!rec || !rec.spi.equals(spi)) return;
    this.#taken.delete(key);
    const i = this.#reserved.indexOf(rec);
    if (i >= 0) this.#reserved.splice(i, 1);
  }

  isTaken(protocolId: GroupSaProtocol, spi: Buffer): boolean {
    return this.#taken.has(uniquenessKey(protocolId, spi)) || (this.#alsoTaken?.(protocolId, spi) ?? false);
  }

  snapshot(): SpiAllocatorState {
    const reserved = new Set(this.#reserved);
    const copy = (r: SpiRecord): SpiRecord => ({ protocolId: r.protocolId, spi: Buffer.from(r.spi) });
    return { inUse: [...this.#taken.values()].filter((r) => !reserved.has(r)).map(copy), reserved: this.#reserved.map(copy) };
  }

  #mark(rec: SpiRecord): void {
    this.#taken.set(uniquenessKey(rec.protocolId, rec.spi), { protocolId: rec.protocolId, spi: Buffer.from(rec.spi) });
  }

  #draw(protocolId: GroupSaProtocol): Buffer {
    for (let i = 0; i < MAX_DRAWS; i++) {
      const spi = isRekey(protocolId) ? this.#random(REKEY_SPI_SIZE) : this.#random(DATA_SECURITY_SPI_SIZE);
      if (spiProblem(protocolId, spi) === null && !this.isTaken(protocolId, spi)) return spi;
    }
    throw new GkmError('GKM_KEYS_SPI_EXHAUSTED', { field: `protocol ${protocolId}`, detail: `${MAX_DRAWS} draws all taken or invalid` });
  }
}

/** Why an SPI may not be handed out, or null. */
export function spiProblem(protocolId: GroupSaProtocol, spi: Buffer): string | null {
  if (isRekey(protocolId)) {
    if (spi.length !== REKEY_SPI_SIZE) return `Rekey SA SPI of ${spi.length} octets`;
    const zero = (b: Buffer): boolean => b.every((x) => x === 0);
    return zero(spi.subarray(0, 8)) || zero(spi.subarray(8)) ? 'zero SPI half' : null;
  }
  if (spi.length !== DATA_SECURITY_SPI_SIZE) return `Data-Security SA SPI of ${spi.length} octets`;
  return spi.readUInt32BE(0) < MIN_DATA_SECURITY_SPI ? 'SPI below 256' : null;
}
