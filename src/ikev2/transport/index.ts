/** UDP transport for IKE: sockets 500/4500/848, the non-ESP marker, NAT detection and the port float. */
export * from './endpoint.ts';
export * from './framing.ts';
export * from './nat-detection.ts';
export * from './float.ts';
export * from './keepalive.ts';
export * from './stats.ts';
export * from './config.ts';
export * from './types.ts';
export * from './udp-transport.ts';
