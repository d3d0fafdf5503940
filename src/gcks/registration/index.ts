/** GCKS registration (RFC 9838 §2.3): GSA_AUTH / GSA_REGISTRATION responders, decisions, persistence of group keys. */
export { GsaExchanges, type GcksIdentity, type GsaExchangeDeps } from './gsa-exchanges.ts';
export { Registrar, type IkeSaRef, type JoinRequest, type JoinResult, type MembershipRekeySink, type RegistrarOptions } from './registrar.ts';
export { RegistrationSessions, type RegistrationSession } from './sessions.ts';
export { GroupKeyStore, type GroupKeyTemplates } from './group-key-store.ts';
export { GroupCommit } from './group-commit.ts';
export { gcksIkeProposals, gcksInitConfig, GCKS_KWAS } from './ike-policy.ts';
export { sagProblem, requireSagSupport, type GroupSaOffer } from './sag.ts';
