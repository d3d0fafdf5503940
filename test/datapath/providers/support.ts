/** Shared gates for the provider tests. */
import { BUILD_HINT, nativeAddonAvailable } from '../../../src/datapath/providers/native/addon.ts';

/**
 * CI builds the addon (.ci/run) and sets GKM_REQUIRE_NATIVE=1, so there the native tests run
 * and fail loudly if it is missing; locally they skip with the reason when it is unbuilt.
 */
export const NATIVE_REQUIRED = process.env['GKM_REQUIRE_NATIVE'] === '1' || process.env['CI'] !== undefined;

export const nativeSkip: string | false =
  nativeAddonAvailable() || NATIVE_REQUIRED ? false : `native addon not built. ${BUILD_HINT}`;
