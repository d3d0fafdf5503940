/**
 * A provider that cannot run here (addon not built, kernel feature missing). Kept out of the
 * wire/protocol error registry (src/ikev2/errors.ts): it is a deployment condition, not a
 * packet or peer error, and it carries the remedy.
 */
export class ProviderUnavailableError extends Error {
  readonly code = 'GKM_PROVIDER_UNAVAILABLE' as const;

  constructor(
    readonly provider: string,
    readonly reason: string,
    readonly remedy: string,
    cause?: unknown,
  ) {
    super(`datapath provider '${provider}' is unavailable: ${reason}. ${remedy}`, cause === undefined ? undefined : { cause });
    this.name = 'ProviderUnavailableError';
  }
}

export function isProviderUnavailable(e: unknown): e is ProviderUnavailableError {
  return e instanceof ProviderUnavailableError;
}
