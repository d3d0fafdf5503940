/**
 * The offload provider seam (digest ikev2-esp §F.5, modelled on Linux xfrmdev_ops):
 * the member agent and IKE engine hand SAs to one provider — userspace (the reference),
 * a native burst addon, or kernel XFRM — and move packets through it in bursts.
 */
import type { GkmError } from '../ikev2/errors.ts';
import type { Address } from './address.ts';
import type { EspAlgorithms, EspKeys } from './esp/suite.ts';
import type { SnValue } from './esp/params.ts';
import type { ModeConfig } from './modes/index.ts';
import type { EspFrame, EspMode, OuterView } from './modes/types.ts';
import type { ReplayOptions } from './replay.ts';
import type { LifetimeEvent, SaCounters, SaDirection, SaLifetime } from './sad.ts';
import type { TrafficSelector } from './selector.ts';

export interface ProviderCapabilities {
  readonly modes: readonly EspMode[];
  /** Whether the provider accepts these transforms. */
  supports(algorithms: EspAlgorithms): boolean;
  readonly esn: boolean;
  /** ESP in UDP (RFC 3948). */
  readonly udpEncapsulation: boolean;
  readonly ipv6: boolean;
  /** Multi-sender group SAs: RFC 6054 IVs and per-sender replay state. */
  readonly multiSender: boolean;
  /** 'none': software; 'crypto': the NIC/kernel encrypts; 'packet': it also owns seq/replay. */
  readonly offload: 'none' | 'crypto' | 'packet';
  readonly maxReplayWindow: number;
}

/** Everything a provider needs to install one direction of an ESP SA. */
export interface SaConfig {
  readonly direction: SaDirection;
  readonly spi: number;
  readonly algorithms: EspAlgorithms;
  readonly keys: EspKeys;
  readonly sn?: SnValue;
  readonly mode: ModeConfig;
  /** Inbound lookup key (RFC 5374 §3.3): destination and, optionally, source. */
  readonly dst?: Address;
  readonly src?: Address;
  /** Outbound: which packets use the SA; inbound: what decrypted packets must match. */
  readonly selectors?: readonly TrafficSelector[];
  readonly replay?: ReplayOptions;
  readonly perSenderReplay?: boolean;
  readonly maxSenders?: number;
  readonly senderIdBits?: number;
  readonly senderId?: number;
  readonly seqStart?: number;
  readonly tfcPadTo?: number;
  readonly lifetime?: SaLifetime;
  /** Outbound activation time in the provider's clock (ms): ATD. */
  readonly activateAt?: number;
  /** ESP in UDP ports (RFC 3948), recorded for providers that encapsulate themselves. */
  readonly encap?: { readonly sport: number; readonly dport: number };
}

export type SaHandle = number;

export interface SaUpdate {
  readonly activateAt?: number;
  /** Remove after this many ms (DTD). */
  readonly retireAfterMs?: number;
}

export interface SaStats extends SaCounters {
  /** Outbound: next sequence number to send. */
  readonly nextSeq?: number;
  /** Inbound: highest authenticated sequence number and the window size. */
  readonly replayTop?: number;
  readonly replayWindow?: number;
}

/** A received ESP packet (SPI first) with its outer header view. */
export interface InboundFrame {
  readonly esp: Buffer;
  readonly outer: OuterView;
}

export interface ProviderLifetimeEvent {
  readonly handle: SaHandle;
  readonly kind: LifetimeEvent<unknown>['kind'];
  readonly reason: LifetimeEvent<unknown>['reason'];
}

export interface OffloadProvider {
  readonly name: string;
  capabilities(): ProviderCapabilities;
  addSA(config: SaConfig): SaHandle;
  updateSA(handle: SaHandle, update: SaUpdate): void;
  deleteSA(handle: SaHandle): void;
  /** Inner IP packets in; per packet an ESP frame or the typed error that dropped it. */
  encryptBurst(packets: readonly Buffer[]): Array<EspFrame | GkmError>;
  /** Per frame the inner IP packet, null for a dummy (silently discarded), or the error. */
  decryptBurst(frames: readonly InboundFrame[]): Array<Buffer | GkmError | null>;
  stats(handle: SaHandle): SaStats;
  /** Sequence-number sync (rekey, migration, RFC 6311): next outbound number. */
  setSeq(handle: SaHandle, nextSeq: number): void;
  /** Inbound sync: restart the replay window below `top` (advances ESN SeqHi). */
  syncReplay(handle: SaHandle, top: number): void;
  /** Per-packet fallback check: can this provider handle the packet? */
  offloadOk(packet: Buffer): boolean;
  close(): void;
}
