/** The member's local control interface: protocol, server (daemon side), client (gkmctl). */
export * from './protocol.ts';
export { ControlServer, type ControlHandler } from './server.ts';
export { ControlClient } from './client.ts';
