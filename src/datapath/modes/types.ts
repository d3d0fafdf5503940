/** What every mode handler consumes and produces. */
import type { Address } from '../address.ts';
import type { EspPayload } from '../esp/receiver.ts';
import type { EspSender } from '../esp/sender.ts';
import type { IpInfo } from './ip.ts';

export type EspMode = 'transport' | 'tunnel' | 'tunnel-preserve' | 'beet';

/** An outbound ESP packet: `packet` is the outer IP packet, ESP starts at `espOffset`. */
export interface EspFrame {
  readonly packet: Buffer;
  readonly espOffset: number;
  readonly src: Address;
  readonly dst: Address;
}

/**
 * The outer header of a received ESP packet: parsed from a raw IP packet, or synthesized
 * from socket addresses for ESP in UDP (RFC 3948), where `header` is null.
 */
export interface OuterView {
  readonly version: 4 | 6;
  readonly src: Address;
  readonly dst: Address;
  readonly tos: number;
  readonly ttl: number;
  readonly id: number;
  readonly fragment: number;
  readonly flowLabel: number;
  /** Outer header bytes up to the ESP header (IPv6 extension headers included), or null. */
  readonly header: Buffer | null;
  /** Offset in `header` of the byte that said 50 (ESP). */
  readonly protocolField: number;
}

export interface InnerPacket {
  readonly packet: Buffer;
  readonly info: IpInfo;
}

/** All a mode handler uses of its sender: EspSender, or a burst queue (providers/native). */
export type EspEncapsulator = Pick<EspSender, 'encapsulate'>;

export interface ModeHandler {
  readonly mode: EspMode;
  /** Whether the receiver recovers the payload length from an inner IP header (TFC padding is safe). */
  readonly tfcSafe: boolean;
  /** Protects one inner IP packet (already parsed as `info`). */
  output(inner: Buffer, info: IpInfo, sender: EspEncapsulator): EspFrame;
  /** Rebuilds the inner IP packet from a decapsulated ESP payload, validated and parsed. */
  input(esp: EspPayload, outer: OuterView): InnerPacket;
}
