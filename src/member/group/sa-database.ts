/**
 * Where the GM's Data-Security SAs go: one interface for "the datapath's SA database", and
 * its implementation over an OffloadProvider (userspace, native or XFRM; src/datapath/).
 *
 * Directions (RFC 9838 §2.3.4, digest §10, §12 item 4):
 *   receiver   inbound only
 *   sender     outbound only (a sender that does not receive its own traffic)
 *   both       inbound and outbound
 * The Rekey SA never goes here: it is inbound-only and carries GSA_REKEY, not ESP.
 *
 * Mode: tunnel with address preservation (RFC 5374) unless the registration said
 * N(USE_TRANSPORT_MODE). Multi-sender counter-mode SAs get RFC 6054 Sender-IDs: the
 * sender's first granted ID outbound, GWP_SENDER_ID_BITS both ways; anti-replay is the
 * receiver's choice (§2.6): per sender when Sender-IDs are in use, the provider's default
 * window for SN 0, none for SN 2 without Sender-IDs.
 */
import type { OffloadProvider, SaHandle } from '../../datapath/provider.ts';
import type { SnValue } from '../../datapath/esp/params.ts';
import type { TrafficSelector as DatapathSelector } from '../../datapath/selector.ts';
import { espSuite, splitKeymat } from '../../datapath/esp/suite.ts';
import { SnId } from '../../ikev2/registry/transform.ts';
import { isAddressRange, type TrafficSelector } from '../../ikev2/wire/sub/traffic-selector.ts';
import type { GroupDataSa } from './accept.ts';

export type GroupRole = 'receiver' | 'sender' | 'both';

/** One Data-Security SA to install, with what the group says about it. */
export interface GroupSaInstall {
  readonly group: string;
  readonly sa: GroupDataSa;
  readonly mode: 'tunnel' | 'transport';
  readonly role: GroupRole;
  readonly senderIdBits?: number;
  /** The Sender-ID this GM sends with (its first granted one). */
  readonly senderId?: number;
  /** Senders: use the SA only after this many ms (GWP_ATD; receivers activate at once). */
  readonly activationDelayMs: number;
}

export interface GroupSaDatabase {
  /** Installs the SA in the directions of `role`; returns a handle for remove(). */
  install(sa: GroupSaInstall): GroupSaRef;
  remove(ref: GroupSaRef): void;
}

export interface GroupSaRef {
  readonly spi: number;
  readonly directions: readonly ('in' | 'out')[];
}

export const directionsFor = (role: GroupRole): ('in' | 'out')[] => (role === 'receiver' ? ['in'] : role === 'sender' ? ['out'] : ['in', 'out']);

function datapathSelector(src: TrafficSelector, dst: TrafficSelector): DatapathSelector[] {
  if (!isAddressRange(src) || !isAddressRange(dst)) return [];
  const ports = (s: typeof src): readonly [number, number] | undefined => (s.startPort === 0 && s.endPort === 0xffff ? undefined : [s.startPort, s.endPort]);
  const sp = ports(src);
  const dp = ports(dst);
  return [
    {
      src: { start: src.startAddress, end: src.endAddress },
      dst: { start: dst.startAddress, end: dst.endAddress },
      protocol: src.ipProtocol || dst.ipProtocol,
      ...(sp ? { srcPorts: sp } : {}),
      ...(dp ? { dstPorts: dp } : {}),
    },
  ];
}

/** The GroupSaDatabase of an OffloadProvider. */
export class ProviderSaDatabase implements GroupSaDatabase {
  readonly #provider: OffloadProvider;
  readonly #handles = new Map<GroupSaRef, SaHandle[]>();
  readonly #clock: () => number;

  constructor(provider: OffloadProvider, clock: () => number = Date.now) {
    this.#provider = provider;
    this.#clock = clock;
  }

  install(i: GroupSaInstall): GroupSaRef {
    const { policy, suite, keymat } = i.sa;
    const algorithms = { encr: suite.encrId!, ...(suite.keyLengthBits ? { keyBits: suite.keyLengthBits } : {}), ...(suite.integId !== undefined ? { integ: suite.integId } : {}) };
    const keys = splitKeymat(espSuite(algorithms), keymat);
    const sn = (suite.snId ?? SnId.SEQ32) as SnValue;
    const senderIdBits = i.sa.counterMode ? i.senderIdBits : undefined;
    const dst = isAddressRange(policy.destination) ? policy.destination.startAddress : undefined;
    const spi = policy.spi.readUInt32BE();
    const common = {
      spi,
      algorithms,
      keys,
      sn,
      mode: i.mode === 'transport' ? ({ mode: 'transport' } as const) : ({ mode: 'tunnel-preserve' } as const),
      selectors: datapathSelector(policy.source, policy.destination),
      ...(senderIdBits ? { senderIdBits } : {}),
    };
    const handles: SaHandle[] = [];
    const directions = directionsFor(i.role);
    try {
      for (const direction of directions) {
        if (direction === 'in') {
          const replay = senderIdBits ? { perSenderReplay: true } : {}; // SN 2 alone: the receiver checks no replay
          handles.push(this.#provider.addSA({ ...common, direction, ...(dst ? { dst } : {}), ...replay }));
        } else {
          const activateAt = i.activationDelayMs > 0 ? { activateAt: this.#clock() + i.activationDelayMs } : {};
          handles.push(this.#provider.addSA({ ...common, direction, ...(senderIdBits && i.senderId !== undefined ? { senderId: i.senderId } : {}), ...activateAt }));
        }
      }
    } catch (e) {
      for (const h of handles) this.#provider.deleteSA(h);
      throw e;
    }
    const ref: GroupSaRef = { spi, directions };
    this.#handles.set(ref, handles);
    return ref;
  }

  remove(ref: GroupSaRef): void {
    const handles = this.#handles.get(ref);
    if (!handles) return;
    this.#handles.delete(ref);
    for (const h of handles) this.#provider.deleteSA(h);
  }
}
