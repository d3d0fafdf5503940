/**
 * Reading the group part of a registration reply (RFC 9838 §2.3.1, §2.3.2, §11):
 *
 *   success   GSA, KD, [N(USE_TRANSPORT_MODE)], [N..]
 *   refused   N(INVALID_GROUP_ID | AUTHORIZATION_FAILED | REGISTRATION_FAILED |
 *             NO_PROPOSAL_CHOSEN) and no GSA/KD; the IKE SA stays up
 *
 * The same shape answers GSA_AUTH (after IDr, AUTH) and GSA_REGISTRATION.
 */
import { PayloadType } from '../../ikev2/registry/payload.ts';
import { nameOf } from '../../ikev2/registry/names.ts';
import { NotifyType } from '../../ikev2/registry/notify.ts';
import { firstErrorNotify, hasNotify } from '../../ikev2/sa/messages.ts';
import type { Payload } from '../../ikev2/wire/payload.ts';
import type { GsaPayload, KdPayload } from '../../ikev2/wire/payloads/index.ts';
import { GroupRegistrationError } from './errors.ts';

export interface RegistrationReply {
  readonly gsa: GsaPayload;
  readonly kd: KdPayload;
  /** N(USE_TRANSPORT_MODE): all Data-Security SAs of this registration use transport mode (§2.3.4). */
  readonly transportMode: boolean;
}

function exactlyOne<T extends Payload>(payloads: readonly Payload[], type: number, name: string): T {
  const found = payloads.filter((p) => p.type === type);
  if (found.length !== 1) throw new GroupRegistrationError('GKM_GROUP_BAD_REPLY', `registration reply has ${found.length} ${name} payloads, expected 1`);
  return found[0] as T;
}

/** GSA and KD of a reply; GKM_GROUP_REFUSED with the notify when the GCKS said no. */
export function readRegistrationReply(payloads: readonly Payload[]): RegistrationReply {
  const error = firstErrorNotify(payloads);
  if (error) {
    throw new GroupRegistrationError('GKM_GROUP_REFUSED', `the GCKS refused the registration: ${nameOf(NotifyType, error.notifyType)}`, { notify: error.notifyType });
  }
  return {
    gsa: exactlyOne<GsaPayload>(payloads, PayloadType.GSA, 'GSA'),
    kd: exactlyOne<KdPayload>(payloads, PayloadType.KD, 'KD'),
    transportMode: hasNotify(payloads, NotifyType.USE_TRANSPORT_MODE),
  };
}
