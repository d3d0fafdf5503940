/**
 * Whole-policy rules (RFC 9838), after the shape-level parse:
 *  - at least one Data-Security SA or a Rekey SA (§4.4); SA names unique;
 *  - one mode for all Data-Security SAs (§2.3.4);
 *  - destinations multicast; the Rekey SA's one address, UDP, one port (§2.1.1);
 *    source and destination of one family;
 *  - GSA_KEY_LIFETIME on every SA when rekeys are multicast (§5 table);
 *  - GWP_SENDER_ID_BITS when a counter-mode SA may get senders (§2.5, §5);
 *  - the KWA key at least as long as the largest encryption key (§3, digest §12 item 7);
 * then the wire shapes are checked with the codec's own rules (validateGsaPolicyTransforms,
 * SA_KEY sizes, GSA composition), so a stored policy always encodes.
 */
import { encrKeyBits, encrInfo } from '../../ikev2/crypto/algorithms.ts';
import { getKeyWrap } from '../../ikev2/crypto/keywrap.ts';
import { GkmError } from '../../ikev2/errors.ts';
import { groupSaKeyMaterialLength, validateGsaPolicyTransforms } from '../../ikev2/wire/group-policy.ts';
import { gsaCompositionProblem } from '../../ikev2/wire/payloads/gsa.ts';
import { InputReader } from '../config/input.ts';
import { ENCR, KWA } from './algorithms.ts';
import { parsePolicyDocument } from './parse.ts';
import { isMulticastSelector, isSingleAddress, selectorFamily, UDP } from './selector.ts';
import type { EncryptionSpec, GroupPolicy, Selector } from './types.ts';
import { groupPolicyShape, groupWidePolicy, placeholder, usesCounterModes } from './wire.ts';

function checkMulticast(r: InputReader, s: Selector, field: string): void {
  if (!isMulticastSelector(s)) r.fail(`${field}.address`, `${s.address} is not multicast (224.0.0.0/4, ff00::/8)`, 'GKM_POLICY_NOT_MULTICAST');
}

function checkFamilies(r: InputReader, src: Selector, dst: Selector, field: string): void {
  if (selectorFamily(src) !== selectorFamily(dst)) r.fail(`${field}.source.address`, 'source and destination must be of one address family');
}

const keyBytes = (e: EncryptionSpec): number => encrKeyBits(encrInfo(ENCR.id(e.algorithm), true), e.keyBits) / 8;

function checkSaRules(r: InputReader, p: GroupPolicy): void {
  const names = new Set<string>();
  p.dataSecuritySas.forEach((sa, i) => {
    const f = `dataSecuritySas[${i}]`;
    if (names.has(sa.name)) r.fail(`${f}.name`, `${sa.name} is used twice`);
    names.add(sa.name);
    checkMulticast(r, sa.destination, `${f}.destination`);
    checkFamilies(r, sa.source, sa.destination, f);
    if (sa.mode !== p.dataSecuritySas[0]!.mode) {
      r.fail(`${f}.mode`, `${sa.mode} here, ${p.dataSecuritySas[0]!.mode} in dataSecuritySas[0]: one registration installs all SAs in one mode (§2.3.4)`, 'GKM_POLICY_MIXED_MODES');
    }
    if (p.rekey.method === 'multicast' && sa.lifetimeSeconds === null) r.fail(`${f}.lifetimeSeconds`, 'required when rekeys are multicast (GSA_KEY_LIFETIME, §5)');
  });
  if (p.dataSecuritySas.length === 0 && p.rekey.method !== 'multicast') r.fail('dataSecuritySas', 'a group needs a Data-Security SA or a Rekey SA (§4.4)');
}

function checkRekeySa(r: InputReader, p: GroupPolicy): void {
  if (p.rekey.method !== 'multicast') return;
  const sa = p.rekey.sa;
  const f = 'rekey.sa';
  checkMulticast(r, sa.destination, `${f}.destination`);
  checkFamilies(r, sa.source, sa.destination, f);
  const d = sa.destination;
  if (!isSingleAddress(d) || d.protocol !== UDP || d.ports.start !== d.ports.end || d.ports.start === 0) {
    r.fail(`${f}.destination`, 'must be one multicast address, UDP, and one port (§2.1.1)');
  }
  const kek = getKeyWrap(KWA.id(sa.keyWrap)).keyLength;
  const largest = Math.max(keyBytes(sa.encryption), ...p.dataSecuritySas.map((s) => keyBytes(s.encryption)));
  if (kek < largest) r.fail(`${f}.keyWrap`, `${sa.keyWrap} has a ${kek * 8}-bit key, shorter than the group's ${largest * 8}-bit encryption keys`, 'GKM_POLICY_UNSUPPORTED_ALGORITHM');
}

function checkGroupWide(r: InputReader, p: GroupPolicy): void {
  if (usesCounterModes(p) && p.groupWide.senderIdBits === null) {
    r.fail('groupWide.senderIdBits', 'required: counter-mode SAs give senders Sender-IDs in the IV (§2.5, RFC 6054)');
  }
}

/** The codec's own checks on the shapes this policy produces; a failure here is a policy bug. */
function checkWireShapes(p: GroupPolicy): void {
  const shape = groupPolicyShape(p);
  const all = [...(shape.rekeySa ? [shape.rekeySa] : []), ...shape.dataSecuritySas];
  try {
    const policies = all.map((s) => placeholder(s, shape.context));
    policies.forEach((wp, i) => {
      validateGsaPolicyTransforms(wp, shape.context, all[i]!.name);
      groupSaKeyMaterialLength(wp);
    });
    const gw = groupWidePolicy(p, shape.context, { senderIdsGranted: true });
    const problem = gsaCompositionProblem([...policies, ...(gw ? [gw] : [])]);
    if (problem) throw new GkmError('GKM_WIRE_ENCODE', { detail: problem });
  } catch (e) {
    if (e instanceof GkmError && e.code.startsWith('GKM_POLICY_')) throw e;
    throw new GkmError('GKM_POLICY_INVALID', { detail: `does not encode as a GSA payload: ${(e as Error).message}`, cause: e });
  }
}

/** Parse and validate a policy document; the result is the normalized form to store. */
export function validateGroupPolicy(document: unknown): GroupPolicy {
  const r = new InputReader('GKM_POLICY_INVALID');
  const policy = parsePolicyDocument(document, r);
  checkSaRules(r, policy);
  checkRekeySa(r, policy);
  checkGroupWide(r, policy);
  checkWireShapes(policy);
  return policy;
}
