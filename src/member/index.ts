/** The member agent: unicast IKE daemon, its configuration and control interface. */
export { IkeDaemon, type IkeDaemonOptions, type InitiateResult, type SaListing } from './ike-daemon.ts';
export { memberEvent, selectorText, type MemberEvent, type MemberEventName, type ChildSaView } from './events.ts';
export { describeEvent } from './describe.ts';
export { silentLogger, type Logger, type LogFields } from './logger.ts';
export { DatapathSink } from './datapath-sink.ts';
export { planSockets, SocketPaths, routeSource, initiationPorts } from './paths.ts';
export { peerConfig, responderPolicy, childConfig } from './peers.ts';
export * from './config/index.ts';
export * from './control/index.ts';
