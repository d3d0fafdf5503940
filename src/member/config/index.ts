/** The member's swanctl-like configuration: syntax, typed model, proposals, loading. */
export * from './errors.ts';
export * from './syntax.ts';
export * from './model.ts';
export { buildSettings, type BuildResult } from './build.ts';
export { loadConfigFile, loadConfigText, decodeSecret, type LoadedConfig, type LoadedConnection } from './load.ts';
export { parseProposal, parseProposalList, DEFAULT_PROPOSALS, type ProposalKind } from './proposals.ts';
export { parseTrafficSelector, resolveTrafficSelector, type TsSpec } from './traffic-selectors.ts';
export { parseIdentity, ANY_ID } from './identities.ts';
export { remoteAddressMatcher, initiationTarget, ANY_ADDR } from './addresses.ts';
