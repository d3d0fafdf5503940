/**
 * Datapath public surface. The member agent and IKE engine install SAs through an
 * `OffloadProvider` (see provider.ts) made by `createProvider` (providers/: userspace, native,
 * xfrm); nothing here imports the GCKS or the member.
 */
export type {
  InboundFrame,
  OffloadProvider,
  ProviderCapabilities,
  ProviderLifetimeEvent,
  SaConfig,
  SaHandle,
  SaStats,
  SaUpdate,
} from './provider.ts';
export { frameFromIp, frameFromUdp, UserspaceProvider } from './userspace.ts';
export type { UserspaceOptions, UserspaceSa } from './userspace.ts';
export { Sad, SadEntry } from './sad.ts';
export type { LifetimeEvent, LifetimeLimits, SaCounters, SaDirection, SaLifetime } from './sad.ts';
export { createReplayWindow, PerSenderReplay, RingWindow, ShiftWindow } from './replay.ts';
export type { ReplayKind, ReplayOptions, ReplayWindow } from './replay.ts';
export { formatAddress, isMulticast, parseAddress, sameAddress } from './address.ts';
export type { Address } from './address.ts';
export { matchesAny, matchesSelector, prefix } from './selector.ts';
export type { AddressRange, Flow, TrafficSelector } from './selector.ts';
export * from './esp/index.ts';
export { createMode } from './modes/index.ts';
export type { EspFrame, EspMode, ModeConfig, ModeHandler, OuterView } from './modes/index.ts';
export * from './io/index.ts';
export * from './providers/index.ts';
