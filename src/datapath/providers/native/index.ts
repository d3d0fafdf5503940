/** The native burst provider (node-gyp addon over OpenSSL EVP) and its SA-level pieces. */
export { ADDON_PATH, BUILD_HINT, loadNativeAddon, nativeAddonAvailable } from './addon.ts';
export type { BurstInput, NativeAddon, NativeSaHandle, SlabBurst } from './addon.ts';
export { BurstSender, SlabPool } from './burst-sender.ts';
export { isNativeSuite, NativeProvider } from './provider.ts';
export { NativeReceiver } from './receiver.ts';
export type { DecapResults } from './receiver.ts';
export { NativeSender } from './sender.ts';
export type { NativeSenderOptions } from './sender.ts';
export { NativeStatus, statusError, verified } from './status.ts';
export type { NativeStatusCode } from './status.ts';
