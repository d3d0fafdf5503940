export * from './identity.ts';
export { createGroup, findGroupByIdg, parseGroupSpec, removeGroup, type GroupSpec } from './groups.ts';
export {
  addMember,
  authorizeMember,
  findMemberByIdentity,
  parseAuthorizationSpec,
  parseMemberSpec,
  requireAuthorization,
  revokeMember,
  type AuthorizationSpec,
  type MemberSpec,
} from './members.ts';
export { createSigningKey, ensureSigningKey, loadSigningKey, type GroupSigningKey } from './signing-key.ts';
export { ensureSampleGroup, SAMPLE_GROUP_NAME, SAMPLE_MEMBER_ID, SAMPLE_POLICY, SAMPLE_PSK_FILE, type SampleGroupResult } from './sample.ts';
