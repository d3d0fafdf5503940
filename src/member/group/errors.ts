/**
 * Why a group registration did not take effect on the GM (RFC 9838 §2.3, §4.7, §11):
 *
 *   GKM_GROUP_REFUSED       the GCKS answered with an error notify (INVALID_GROUP_ID,
 *                           AUTHORIZATION_FAILED, REGISTRATION_FAILED, NO_PROPOSAL_CHOSEN)
 *   GKM_GROUP_BAD_REPLY     GSA / KD missing or malformed for the registration context
 *                           (wire violations, key bag without policy, AUTH_KEY mismatch, ...)
 *   GKM_GROUP_BAD_KEYS      a key did not unwrap or had the wrong length (§4.5.4)
 *   GKM_GROUP_EXCLUDED      no key path resolves the Rekey SA key (§3.3)
 *   GKM_GROUP_UNSUPPORTED   the policy uses an algorithm this GM cannot run (it leaves
 *                           with N(NO_PROPOSAL_CHOSEN), §2.3.3)
 *   GKM_GROUP_NO_KWA        the IKE SA negotiated no Key Wrap Algorithm (§2.2)
 *   GKM_GROUP_IKE_SA        the IKE SA failed or closed before the reply
 *
 * Messages carry field names, SPIs and notify names, never key bytes.
 */
import { isGkmError } from '../../ikev2/errors.ts';
import { nameOf } from '../../ikev2/registry/names.ts';
import { NotifyType } from '../../ikev2/registry/notify.ts';

export type GroupErrorCode =
  | 'GKM_GROUP_REFUSED'
  | 'GKM_GROUP_BAD_REPLY'
  | 'GKM_GROUP_BAD_KEYS'
  | 'GKM_GROUP_EXCLUDED'
  | 'GKM_GROUP_UNSUPPORTED'
  | 'GKM_GROUP_NO_KWA'
  | 'GKM_GROUP_IKE_SA';

export class GroupRegistrationError extends Error {
  override readonly name = 'GroupRegistrationError';
  readonly code: GroupErrorCode;
  /** The notify the GCKS sent (GKM_GROUP_REFUSED) or the GM sends (GKM_GROUP_UNSUPPORTED). */
  readonly notify: number | undefined;
  /** Code of the underlying GkmError (wire / crypto), when there is one. */
  readonly causeCode: string | undefined;

  constructor(code: GroupErrorCode, message: string, opts: { readonly notify?: number; readonly cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.notify = opts.notify;
    this.causeCode = isGkmError(opts.cause) ? opts.cause.code : undefined;
  }

  get notifyName(): string | undefined {
    return this.notify === undefined ? undefined : nameOf(NotifyType, this.notify);
  }

  /**
   * No retry helps: the group is unknown, this GM is not authorized, or GM and GCKS share no
   * policy. REGISTRATION_FAILED ("not tied to this GM", e.g. the group is full) and local
   * problems are retried.
   */
  get fatal(): boolean {
    return (
      this.code === 'GKM_GROUP_UNSUPPORTED' ||
      this.code === 'GKM_GROUP_NO_KWA' ||
      (this.code === 'GKM_GROUP_REFUSED' && this.notify !== NotifyType.REGISTRATION_FAILED)
    );
  }
}

/** Any thrown value as a GroupRegistrationError of `code` (kept when it is one already). */
export function asGroupError(e: unknown, code: GroupErrorCode, prefix: string): GroupRegistrationError {
  if (e instanceof GroupRegistrationError) return e;
  return new GroupRegistrationError(code, `${prefix}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
