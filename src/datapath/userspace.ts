/**
 * The userspace provider: ESP, modes and the SAD in TypeScript over node:crypto. It is the
 * reference the native and XFRM providers are compared against.
 */
import { GkmError, isGkmError } from '../ikev2/errors.ts';
import { EspReceiver } from './esp/receiver.ts';
import { EspSender } from './esp/sender.ts';
import { espSuite, type EspAlgorithms } from './esp/suite.ts';
import { createMode } from './modes/index.ts';
import { flowOf, parseIp, Proto } from './modes/ip.ts';
import { outerOfAddresses, outerOfPacket } from './modes/outer.ts';
import type { EspFrame, ModeHandler } from './modes/types.ts';
import type {
  InboundFrame,
  OffloadProvider,
  ProviderCapabilities,
  ProviderLifetimeEvent,
  SaConfig,
  SaHandle,
  SaStats,
  SaUpdate,
} from './provider.ts';
import { Sad, type SadEntry } from './sad.ts';
import { matchesAny } from './selector.ts';
import type { Address } from './address.ts';

/** Per-SA state attached to the SAD entry. */
export interface UserspaceSa {
  readonly mode: ModeHandler;
  readonly sender: EspSender | null;
  readonly receiver: EspReceiver | null;
}

export interface UserspaceOptions {
  readonly clock?: () => number;
  readonly onLifetime?: (event: ProviderLifetimeEvent) => void;
}

const noSa = (detail: string): GkmError => new GkmError('GKM_ESP_NO_SA', { field: 'sad', detail });

/** Frame for a raw IP packet carrying ESP (IP protocol 50). */
export function frameFromIp(packet: Buffer): InboundFrame {
  const info = parseIp(packet, true);
  if (info.protocol !== Proto.ESP) {
    throw new GkmError('GKM_IP_MALFORMED', { field: 'ip.protocol', detail: `${info.protocol} is not ESP` });
  }
  return { esp: packet.subarray(info.payloadOffset, info.length), outer: outerOfPacket(packet, info) };
}

/** Frame for ESP received in UDP (RFC 3948): addresses from the socket. */
export function frameFromUdp(esp: Buffer, src: Address, dst: Address): InboundFrame {
  return { esp, outer: outerOfAddresses(src, dst) };
}

export class UserspaceProvider implements OffloadProvider {
  readonly name = 'userspace';
  readonly sad: Sad<UserspaceSa>;

  constructor(opts: UserspaceOptions = {}) {
    const onLifetime = opts.onLifetime;
    this.sad = new Sad<UserspaceSa>({
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(onLifetime ? { onLifetime: (e) => onLifetime({ handle: e.entry.id, kind: e.kind, reason: e.reason }) } : {}),
    });
  }

  capabilities(): ProviderCapabilities {
    return {
      modes: ['transport', 'tunnel', 'tunnel-preserve', 'beet'],
      supports: (a: EspAlgorithms) => {
        try {
          espSuite(a);
          return true;
        } catch {
          return false;
        }
      },
      esn: true,
      udpEncapsulation: true,
      ipv6: true,
      multiSender: true,
      offload: 'none',
      maxReplayWindow: 32 * ((1 << 20) - 1),
    };
  }

  addSA(c: SaConfig): SaHandle {
    const mode = createMode(c.mode);
    if ((c.tfcPadTo ?? 0) > 0 && !mode.tfcSafe) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'tfcPadTo', detail: `not recoverable in ${mode.mode} mode` });
    }
    const params = { spi: c.spi, algorithms: c.algorithms, keys: c.keys, sn: c.sn, senderIdBits: c.senderIdBits };
    const sa: UserspaceSa =
      c.direction === 'out'
        ? {
            mode,
            receiver: null,
            sender: new EspSender({ ...params, senderId: c.senderId, seqStart: c.seqStart, tfcPadTo: c.tfcPadTo }),
          }
        : {
            mode,
            sender: null,
            receiver: new EspReceiver({ ...params, replay: c.replay, perSenderReplay: c.perSenderReplay, maxSenders: c.maxSenders }),
          };
    return this.sad.add({
      direction: c.direction,
      spi: c.spi,
      sa,
      ...(c.dst ? { dst: c.dst } : {}),
      ...(c.src ? { src: c.src } : {}),
      ...(c.selectors ? { selectors: c.selectors } : {}),
      ...(c.lifetime ? { lifetime: c.lifetime } : {}),
      ...(c.activateAt !== undefined ? { activateAt: c.activateAt } : {}),
    }).id;
  }

  private entry(handle: SaHandle): SadEntry<UserspaceSa> {
    const e = this.sad.get(handle);
    if (e === undefined) throw noSa(`handle ${handle}`);
    return e;
  }

  updateSA(handle: SaHandle, u: SaUpdate): void {
    const e = this.entry(handle);
    if (u.activateAt !== undefined) e.activateAt = u.activateAt;
    if (u.retireAfterMs !== undefined) this.sad.retire(e, u.retireAfterMs);
  }

  deleteSA(handle: SaHandle): void {
    this.sad.remove(this.entry(handle));
  }

  encrypt(packet: Buffer): EspFrame {
    const info = parseIp(packet, true);
    const entry = this.sad.selectOutboundBy(flowOf, packet, info);
    if (entry === undefined) throw noSa('no outbound SA matches');
    try {
      const frame = entry.sa.mode.output(packet, info, entry.sa.sender!);
      this.sad.account(entry, info.length);
      return frame;
    } catch (e) {
      if (isGkmError(e)) entry.countError(e.code);
      throw e;
    }
  }

  /** One ESP packet in; the inner packet out, or null for a dummy. Throws GkmError. */
  decrypt(frame: InboundFrame): Buffer | null {
    const { esp, outer } = frame;
    if (esp.length < 8) throw new GkmError('GKM_ESP_MALFORMED', { field: 'esp', detail: 'shorter than the header' });
    const entry = this.sad.lookupInbound(esp.readUInt32BE(0), outer.dst, outer.src);
    if (entry === undefined) throw noSa(`SPI ${esp.readUInt32BE(0)}`);
    try {
      const r = entry.sa.receiver!.decapsulate(esp);
      if (r === null) {
        entry.counters.dummies++;
        return null;
      }
      const inner = entry.sa.mode.input(r, outer);
      // RFC 4301 §5.2: the decrypted packet must match the SA's selectors.
      if (entry.selectors !== undefined && !matchesAny(entry.selectors, flowOf(inner.packet, inner.info))) {
        throw new GkmError('GKM_ESP_POLICY_MISMATCH', { field: 'selectors', detail: `SPI ${entry.spi}` });
      }
      this.sad.account(entry, inner.info.length);
      return inner.packet;
    } catch (e) {
      if (isGkmError(e)) entry.countError(e.code);
      throw e;
    }
  }

  encryptBurst(packets: readonly Buffer[]): Array<EspFrame | GkmError> {
    const out: Array<EspFrame | GkmError> = new Array(packets.length);
    for (let i = 0; i < packets.length; i++) {
      try {
        out[i] = this.encrypt(packets[i]!);
      } catch (e) {
        if (!isGkmError(e)) throw e;
        out[i] = e;
      }
    }
    return out;
  }

  decryptBurst(frames: readonly InboundFrame[]): Array<Buffer | GkmError | null> {
    const out: Array<Buffer | GkmError | null> = new Array(frames.length);
    for (let i = 0; i < frames.length; i++) {
      try {
        out[i] = this.decrypt(frames[i]!);
      } catch (e) {
        if (!isGkmError(e)) throw e;
        out[i] = e;
      }
    }
    return out;
  }

  /** Sends a dummy packet (RFC 4303 §2.6) on an outbound SA, as traffic-flow cover. */
  dummy(handle: SaHandle, length: number): Buffer {
    const e = this.entry(handle);
    if (e.sa.sender === null) throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'handle', detail: 'not outbound' });
    e.counters.dummies++;
    return e.sa.sender.dummy(length);
  }

  stats(handle: SaHandle): SaStats {
    const e = this.entry(handle);
    const w = e.sa.receiver?.window;
    return {
      ...e.counters,
      ...(e.sa.sender ? { nextSeq: e.sa.sender.nextSeq } : {}),
      ...(w ? { replayTop: w.top, replayWindow: w.size } : {}),
    };
  }

  setSeq(handle: SaHandle, nextSeq: number): void {
    const s = this.entry(handle).sa.sender;
    if (s === null) throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'handle', detail: 'not outbound' });
    s.setNextSeq(nextSeq);
  }

  syncReplay(handle: SaHandle, top: number): void {
    const w = this.entry(handle).sa.receiver?.window;
    if (!w) throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'handle', detail: 'no inbound replay window' });
    w.reset(top);
  }

  offloadOk(): boolean {
    return true;
  }

  close(): void {
    for (const e of [...this.sad.entries()]) this.sad.remove(e);
  }
}
