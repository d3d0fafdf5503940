/** The IKE SA engine (RFC 7296): public surface for the member agent and the GCKS. */
export * from './types.ts';
export * from './config.ts';
export * from './events.ts';
export * from './task.ts';
export * from './identity.ts';
export * from './child-sa.ts';
export { IkeSa, type PhaseKind, type Role, type IkeSuite, type IkeCrypto, type InitRecord } from './ike-sa.ts';
export { IkeEngine, type EngineDeps, type KeyLogSink } from './engine.ts';
export { authOctets, localAuthPayloads, verifyPeerAuth } from './auth.ts';
export { IkeSaInitTask } from './exchanges/ike-sa-init.ts';
export { IkeAuthTask, ikeAuthResponder } from './exchanges/ike-auth.ts';
export { DeleteChildSasTask, DeleteIkeSaTask, LivenessTask, informationalResponder } from './exchanges/informational.ts';
export { narrow, intersect, contains } from './traffic-selectors.ts';
export { selectProposal, checkChosenProposal, numberedProposals } from './proposals.ts';
