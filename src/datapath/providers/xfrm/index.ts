/** The kernel XFRM provider: netlink messages (uapi layouts), the socket and the provider. */
export * from './messages.ts';
export { aeadName, policiesFor, rangePrefix, saFromConfig, xfrmSelector } from './model.ts';
export type { XfrmSaOptions } from './model.ts';
export { attr, errnoName, NetlinkParseError, nlmsg, parseAck, parseAttrs, parseMessages, Struct } from './netlink.ts';
export type { NlAck, NlMessage } from './netlink.ts';
export { XFRM_REMEDY, XfrmProvider } from './provider.ts';
export type { XfrmProviderOptions } from './provider.ts';
export { messageAttrs, XfrmSocket } from './socket.ts';
export type { XfrmReply, XfrmSocketOptions, XfrmTransport } from './socket.ts';
export * as uapi from './uapi.ts';
