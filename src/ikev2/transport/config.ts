/** Transport configuration: which sockets to bind and how each frames IKE. */
import { GkmError } from '../errors.ts';
import { Port } from '../registry/misc.ts';
import { IKE_HEADER_LENGTH } from '../registry/exchange.ts';
import { MAX_MESSAGE_LENGTH } from '../wire/message.ts';
import { endpointKey, familyOf, isPort } from './endpoint.ts';
import { DEFAULT_PLAIN_PORTS, type MarkerMode, type SocketKind } from './framing.ts';
import type { IkeDatagram } from './types.ts';

/** Decide whether an IKE datagram may go on to the engine (e.g. rate-limit IKE_SA_INIT floods). */
export type AdmissionHook = (datagram: IkeDatagram) => boolean;

export interface SocketConfig {
  /** Literal IPv4 or IPv6 address ('0.0.0.0' / '::' for all). */
  readonly address: string;
  /** 0 binds an ephemeral port (tests); read it back from `IkeTransport.sockets()`. */
  readonly port: number;
  readonly kind: SocketKind;
  /** Default: `defaultMarkerMode(kind, port)`. */
  readonly marker?: MarkerMode;
  /** SO_REUSEADDR, e.g. to bind a specific address beside a wildcard on the same port. Default false. */
  readonly reuseAddr?: boolean;
  /** Admission hook for this socket only (wins over the transport-wide one). */
  readonly admit?: AdmissionHook;
}

/** 4 MiB: the default socket buffer size of every IKE socket (see TransportOptions). */
export const DEFAULT_SOCKET_BUFFER_BYTES = 4 << 20;

export interface TransportOptions {
  readonly sockets: readonly SocketConfig[];
  /** Ports where IKE is plain for the 'auto' marker rule and the float (default 500, 848). */
  readonly plainPorts?: readonly number[];
  /** Largest IKE message accepted, marker excluded (default and maximum 65535, RFC 7296 §2). */
  readonly maxIkeLength?: number;
  /**
   * SO_RCVBUF / SO_SNDBUF in bytes (the kernel caps them at net.core.rmem_max / wmem_max).
   * Default DEFAULT_SOCKET_BUFFER_BYTES: a burst of IKE_SA_INIT requests must not overflow
   * the kernel's 208 KiB default and cost the initiators a retransmission.
   */
  readonly receiveBufferSize?: number;
  readonly sendBufferSize?: number;
  /** Admission hook for all sockets. */
  readonly admit?: AdmissionHook;
}

export interface StandardSocketsOptions {
  /** Default: all IPv4 and all IPv6 addresses. */
  readonly addresses?: readonly string[];
  /** null leaves the socket out. Defaults 500, 4500, 848. */
  readonly ikePort?: number | null;
  readonly nattPort?: number | null;
  readonly gdoiPort?: number | null;
}

/** IKE on 500 and 848 and NAT-T on 4500 (RFC 7296 §2, RFC 3948, RFC 9838 §2.1.1) for each address. */
export function standardSockets(opts: StandardSocketsOptions = {}): SocketConfig[] {
  const addresses = opts.addresses ?? ['0.0.0.0', '::'];
  const ports: [number | null, SocketKind][] = [
    [opts.ikePort === undefined ? Port.IKE : opts.ikePort, 'ike'],
    [opts.nattPort === undefined ? Port.NAT_T : opts.nattPort, 'natt'],
    [opts.gdoiPort === undefined ? Port.GDOI : opts.gdoiPort, 'ike'],
  ];
  return addresses.flatMap((address) =>
    ports.flatMap(([port, kind]) => (port === null ? [] : [{ address, port, kind }])),
  );
}

export interface ResolvedOptions {
  readonly plainPorts: readonly number[];
  readonly maxIkeLength: number;
}

const MARKER_MODES: readonly MarkerMode[] = ['always', 'never', 'auto'];
const KINDS: readonly SocketKind[] = ['ike', 'natt'];

const invalid = (field: string, detail: string): GkmError => new GkmError('GKM_TRANSPORT_CONFIG', { field, detail });

/** Check everything that can be checked before binding; throws GKM_TRANSPORT_CONFIG. */
export function validateOptions(opts: TransportOptions): ResolvedOptions {
  if (opts.sockets.length === 0) throw invalid('sockets', 'no socket configured');
  const seen = new Set<string>();
  opts.sockets.forEach((s, i) => {
    const field = `sockets[${i}]`;
    familyOf(s.address);
    if (!isPort(s.port, true)) throw invalid(`${field}.port`, String(s.port));
    if (!KINDS.includes(s.kind)) throw invalid(`${field}.kind`, String(s.kind));
    if (s.marker !== undefined && !MARKER_MODES.includes(s.marker)) throw invalid(`${field}.marker`, String(s.marker));
    const key = endpointKey(s);
    if (s.port !== 0 && seen.has(key)) throw invalid(field, `${key} configured twice`);
    seen.add(key);
  });
  const plainPorts = opts.plainPorts ?? DEFAULT_PLAIN_PORTS;
  for (const p of plainPorts) if (!isPort(p)) throw invalid('plainPorts', String(p));
  const maxIkeLength = opts.maxIkeLength ?? MAX_MESSAGE_LENGTH;
  if (!Number.isInteger(maxIkeLength) || maxIkeLength < IKE_HEADER_LENGTH || maxIkeLength > MAX_MESSAGE_LENGTH) {
    throw invalid('maxIkeLength', `${maxIkeLength}, expected ${IKE_HEADER_LENGTH}..${MAX_MESSAGE_LENGTH}`);
  }
  for (const f of ['receiveBufferSize', 'sendBufferSize'] as const) {
    const v = opts[f];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw invalid(f, String(v));
  }
  return { plainPorts: [...plainPorts], maxIkeLength };
}
