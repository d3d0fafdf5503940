/**
 * Provider selection (issue 5, deliverable 5): `userspace` (default, the reference),
 * `native` (ESP bursts in the addon) and `xfrm` (Linux kernel XFRM over netlink).
 */
import type { OffloadProvider } from '../provider.ts';
import { UserspaceProvider, type UserspaceOptions } from '../userspace.ts';
import { NativeProvider } from './native/provider.ts';
import { XfrmProvider, type XfrmProviderOptions } from './xfrm/provider.ts';

export const PROVIDER_NAMES = ['userspace', 'native', 'xfrm'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface ProviderOptions extends UserspaceOptions {
  readonly xfrm?: XfrmProviderOptions;
}

/**
 * Builds a provider. Throws ProviderUnavailableError when it cannot run here (the native
 * addon is not built: the message gives the build command).
 */
export function createProvider(name: ProviderName = 'userspace', opts: ProviderOptions = {}): OffloadProvider {
  switch (name) {
    case 'userspace':
      return new UserspaceProvider(opts);
    case 'native':
      return new NativeProvider(opts);
    case 'xfrm':
      return new XfrmProvider(opts.xfrm);
  }
}

export { isProviderUnavailable, ProviderUnavailableError } from './errors.ts';
export * from './native/index.ts';
export * from './xfrm/index.ts';
