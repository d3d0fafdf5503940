/**
 * The second-level parsers the fuzzer runs on payloads the wire decoder accepted: typed
 * notify data, G-IKEv2 GSA policy / GW policy / key bag attributes, GSA policy transform
 * rules and key layouts, SA Key Length attributes and CERTREQ CA hash lists. Each may reject with a
 * GkmError; anything else escaping is a bug.
 */
import { PayloadType } from '../../src/ikev2/registry/payload.ts';
import {
  parseGroupKeyBag,
  parseGroupWidePolicy,
  parseGsaPolicyAttributes,
  parseMemberKeyBag,
  type GroupExchangeContext,
} from '../../src/ikev2/wire/group-attributes.ts';
import { groupSaKeyLayout, validateGsaPolicyTransforms } from '../../src/ikev2/wire/group-policy.ts';
import type { Payload } from '../../src/ikev2/wire/payload.ts';
import { caHashesOf, checkNotifyData, keyLengthOf } from '../../src/ikev2/wire/payloads/index.ts';
import { isGroupWidePolicy } from '../../src/ikev2/wire/payloads/gsa.ts';
import { isMemberKeyBag } from '../../src/ikev2/wire/payloads/kd.ts';

/** Runs one named parser and classifies its outcome (the caller catches). */
export type ParserRun = (name: string, fn: () => unknown) => void;

/**
 * Feeds every payload of `payloads` to the parsers that apply to it. Context-dependent
 * parsers run in `context` (pick one per input: each rejection costs a stack trace).
 */
export function parsePayloads(payloads: readonly Payload[], context: GroupExchangeContext, run: ParserRun): void {
  for (const p of payloads) {
    switch (p.type) {
      case PayloadType.NOTIFY:
        run('checkNotifyData', () => checkNotifyData(p));
        break;
      case PayloadType.SA:
        for (const prop of p.proposals) for (const t of prop.transforms) run('keyLengthOf', () => keyLengthOf(t));
        break;
      case PayloadType.CERTREQ:
        run('caHashesOf', () => caHashesOf(p));
        break;
      case PayloadType.GSA:
        for (const policy of p.policies) {
          if (isGroupWidePolicy(policy)) {
            run('parseGroupWidePolicy', () => parseGroupWidePolicy(policy, context));
          } else {
            run('parseGsaPolicyAttributes', () => parseGsaPolicyAttributes(policy, context));
            run('validateGsaPolicyTransforms', () => validateGsaPolicyTransforms(policy, context));
            run('groupSaKeyLayout', () => groupSaKeyLayout(policy));
          }
        }
        break;
      case PayloadType.KD:
        for (const bag of p.bags) {
          if (isMemberKeyBag(bag)) run('parseMemberKeyBag', () => parseMemberKeyBag(bag, context));
          else run('parseGroupKeyBag', () => parseGroupKeyBag(bag, context));
        }
        break;
      default:
        break;
    }
  }
}
