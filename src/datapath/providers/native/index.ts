/** The native provider (node-gyp addon over OpenSSL): the fast path, the per-SA burst path and their SA-level pieces. */
export { ADDON_PATH, BUILD_HINT, loadNativeAddon, nativeAddonAvailable } from './addon.ts';
export type { BurstInput, NativeAddon, NativeEngineHandle, NativeSaHandle, SlabBurst } from './addon.ts';
export { BurstSender, SlabPool } from './burst-sender.ts';
export { fastEligible, FastPath } from './engine.ts';
export { isNativeSuite, NativeProvider } from './provider.ts';
export { NativeReceiver } from './receiver.ts';
export type { DecapResults } from './receiver.ts';
export { NativeSender } from './sender.ts';
export type { NativeSenderOptions } from './sender.ts';
export { SlowPath } from './slow-path.ts';
export { NativeStatus, statusError, verified } from './status.ts';
export type { NativeStatusCode } from './status.ts';
