/**
 * The member's configuration as typed, validated data. `build.ts` makes it from the parsed
 * file (paths resolved, nothing read yet); `load.ts` reads the key, certificate and PSK
 * files it names.
 */
import type { Identity } from '../../ikev2/sa/identity.ts';
import type { ProposalSpec } from '../../ikev2/wire/payloads/index.ts';
import type { SourcePos } from './errors.ts';
import type { TsSpec } from './traffic-selectors.ts';

/** A file named in the configuration: absolute path and where it was named. */
export interface FileRef {
  readonly path: string;
  readonly pos: SourcePos;
}

export type AuthMethod = 'psk' | 'pubkey';

export interface LocalEnd {
  readonly auth: AuthMethod;
  /** Undefined: the certificate's subject DN, else the IKE SA's local address. */
  readonly id: Identity | undefined;
  readonly certs: readonly FileRef[];
  readonly pubkeys: readonly FileRef[];
}

export interface RemoteEnd {
  readonly auth: AuthMethod;
  /** Undefined: %any. */
  readonly id: Identity | undefined;
  readonly cacerts: readonly FileRef[];
  readonly pubkeys: readonly FileRef[];
}

export type ChildModeName = 'tunnel' | 'transport';
export type StartAction = 'none' | 'start';

export interface ChildSaSettings {
  readonly name: string;
  readonly pos: SourcePos;
  readonly localTs: readonly TsSpec[];
  readonly remoteTs: readonly TsSpec[];
  /** As configured, KE included (PFS for CREATE_CHILD_SA). */
  readonly espProposals: readonly ProposalSpec[];
  readonly mode: ChildModeName;
  /** Seconds; 0 disables. */
  readonly rekeyTime: number;
  readonly lifeTime: number;
  readonly randTime: number;
  readonly startAction: StartAction;
  /**
   * RFC 9611: Child SAs with these selectors, one per resource (CPU, queue), besides the
   * fallback SA; as responder, the most we accept. 0 = off.
   */
  readonly perResource: number;
}

export interface ConnectionSettings {
  readonly name: string;
  readonly pos: SourcePos;
  /** Literal addresses; empty = any (wildcard sockets). */
  readonly localAddrs: readonly string[];
  /** Literal addresses, prefixes or ranges; empty = any. The first literal is where we initiate to. */
  readonly remoteAddrs: readonly string[];
  readonly localPort: number;
  readonly remotePort: number;
  readonly proposals: readonly ProposalSpec[];
  readonly local: LocalEnd;
  readonly remote: RemoteEnd;
  readonly children: readonly ChildSaSettings[];
  /** IKE SA rekey after this many seconds (0 = never); deleted `overTime` later if not rekeyed. */
  readonly rekeyTime: number;
  readonly overTime: number;
  readonly randTime: number;
  /** Liveness check interval in seconds; 0 = off. */
  readonly dpdDelay: number;
  readonly fragmentation: boolean;
  /** Optimized rekey (draft-ietf-ipsecme-ikev2-sa-ts-payloads-opt) offered and accepted. */
  readonly optimizedRekey: boolean;
  /** Initiation attempts; 0 = forever. */
  readonly keyingtries: number;
}

export type SecretSource = { readonly kind: 'inline'; readonly value: string; readonly pos: SourcePos } | { readonly kind: 'file'; readonly file: FileRef };

export interface IkeSecret {
  readonly name: string;
  readonly pos: SourcePos;
  /** Identities the key belongs to; empty = any. */
  readonly ids: readonly Identity[];
  readonly source: SecretSource;
}

export interface PrivateKeySecret {
  readonly name: string;
  readonly pos: SourcePos;
  readonly file: FileRef;
  readonly passphrase: SecretSource | undefined;
}

export interface MemberSettings {
  readonly file: string;
  readonly connections: readonly ConnectionSettings[];
  readonly ikeSecrets: readonly IkeSecret[];
  readonly privateKeys: readonly PrivateKeySecret[];
}
