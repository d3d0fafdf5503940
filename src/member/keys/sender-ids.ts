/**
 * Sender-ID checks on the GM (RFC 9838 §2.5.2, digest §8, §11):
 *  - each GM_SENDER_ID must fit GWP_SENDER_ID_BITS (it sits right-aligned in the top
 *    GWP_SENDER_ID_BITS bits of the 8-octet IV); one that does not is a fatal error: do not
 *    install, re-register;
 *  - a sender that receives a counter-mode SA through a rekey without holding a Sender-ID
 *    must not install it and must re-register.
 * The presence and fit rules of a registration reply are checkSenderIdGrant (group-policy.ts);
 * the IV itself is built by the datapath (src/datapath/esp/iv.ts).
 */
import { usesCounterMode } from '../../ikev2/wire/group-policy.ts';
import type { GsaPolicy } from '../../ikev2/wire/payloads/gsa.ts';

/** Counter-mode SAs a sender without Sender-IDs must not install (it must re-register). */
export function counterModeSasWithoutSenderId(policies: readonly GsaPolicy[], isSender: boolean, senderIds: readonly number[]): GsaPolicy[] {
  return isSender && senderIds.length === 0 ? policies.filter(usesCounterMode) : [];
}
