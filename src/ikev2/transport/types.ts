/** What the transport hands to the IKE engine and the datapath. */
import type { Endpoint } from './endpoint.ts';
import type { MarkerMode, SocketKind } from './framing.ts';

/** One received IKE message. */
export interface IkeDatagram {
  /** The IKE message, non-ESP marker removed (a view into the received datagram). */
  readonly data: Buffer;
  /** Source of the datagram as received (after any NAT). */
  readonly remote: Endpoint;
  /**
   * The socket it arrived on: its bound address (a wildcard such as 0.0.0.0 when bound so:
   * Node does not report the destination address) and port. Pass it back as `via`.
   */
  readonly local: Endpoint;
  readonly socketKind: SocketKind;
  /** Whether it came with the non-ESP marker. */
  readonly marked: boolean;
}

export type IkeHandler = (datagram: IkeDatagram) => void | Promise<void>;

/** ESP-in-UDP (RFC 3948 §2.1): `packet` starts with the SPI. Reply with `IkeTransport.sendEsp(…, remote, local)`. */
export type EspHandler = (packet: Buffer, remote: Endpoint, local: Endpoint) => void;

export interface BoundSocket {
  readonly local: Endpoint;
  readonly kind: SocketKind;
  readonly marker: MarkerMode;
}

export type TransportOperation = 'socket' | 'send' | 'ike-handler' | 'esp-handler' | 'admission';

/** Reported through the transport's 'error' event; the transport keeps running. */
export interface TransportErrorEvent {
  readonly operation: TransportOperation;
  readonly local: Endpoint;
  readonly remote?: Endpoint;
  readonly error: unknown;
}
