/** Packet I/O: ESP in UDP (group and unicast), the plaintext side (UDP tap, TUN), DatapathNode. */
export { DatapathNode } from './node.ts';
export type { DatapathNodeCounters, DatapathNodeOptions, DatapathNodeStats, GroupIo, NodeSaConfig, SaIo, UnicastIo } from './node.ts';
export { EspUdpSocket } from './esp-socket.ts';
export type { EspInUdpHandler, EspSocketCounters, EspUdpSink, GroupReceiverOptions, GroupSenderOptions } from './esp-socket.ts';
export { MAX_UDP_PAYLOAD, udpChecksum, unwrapUdp, wrapUdp } from './plaintext.ts';
export type { InnerUdpFlow, PlaintextPort, UdpView } from './plaintext.ts';
export { UdpTap } from './tap.ts';
export type { UdpTapCounters, UdpTapInner, UdpTapOptions } from './tap.ts';
export { TUN_FD_ENV, TUN_LAUNCHER, tunCapability, TunDevice, tunLauncherCommand } from './tun.ts';
export type { TunCapability, TunCounters, TunOptions } from './tun.ts';
export type { UdpEndpoint } from './udp.ts';
