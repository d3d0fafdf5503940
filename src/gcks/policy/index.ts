export * from './types.ts';
export { ENCR, INTEG, KWA, type EncrName, type IntegName, type KwaName } from './algorithms.ts';
export { parsePolicyDocument, MIN_LIFETIME_SECONDS, MAX_SENDER_ID_BITS } from './parse.ts';
export { validateGroupPolicy } from './validate.ts';
export {
  groupPolicyShape,
  groupWidePolicy,
  gsaPolicyTemplate,
  gsaPolicyWithSpi,
  needsSenderIds,
  usesCounterModes,
  REKEY_SA_NAME,
  type GroupPolicyShape,
  type GsaPolicyShape,
  type GsaPolicyTemplate,
  type SpiBoundAttributes,
} from './wire.ts';
export { loadGroupPolicy, saveGroupPolicy, type LoadedPolicy } from './repository.ts';
export { toTrafficSelector, parseSelector } from './selector.ts';
