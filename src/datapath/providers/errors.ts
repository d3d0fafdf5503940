import type { ErrorCode } from '../../ikev2/errors.ts';

/**
 * A provider that cannot run here (addon not built, kernel feature missing). Its code is in
 * the registry (src/ikev2/errors.ts: HTTP 503, nothing sent on the wire), but it is not a
 * GkmError: it is a deployment condition, not a packet or peer error, and it carries the remedy.
 */
export class ProviderUnavailableError extends Error {
  readonly code = 'GKM_PROVIDER_UNAVAILABLE' as const satisfies ErrorCode;

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
