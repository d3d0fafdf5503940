/**
 * Configuration of IKE SAs: what we propose and accept, who we are, how we and the peer
 * authenticate, which Child SAs to create, and the engine's timing knobs. Plain data; the
 * member agent's config file and the GCKS's policy store map onto it.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { SignatureScheme } from '../crypto/sig.ts';
import { HashAlgorithm } from '../registry/misc.ts';
import { NotifyType } from '../registry/notify.ts';
import type { ProposalSpec } from '../wire/payloads/index.ts';
import type { AddressRangeSelector } from '../wire/sub/traffic-selector.ts';
import type { Identity } from './identity.ts';
import type { InitiatorTask } from './task.ts';
import type { IkeSa } from './ike-sa.ts';
import type { Endpoint } from './types.ts';

export type LocalAuth =
  | { readonly method: 'psk'; readonly psk: Buffer }
  | {
      readonly method: 'signature';
      readonly privateKey: KeyObject;
      /** End-entity certificate first, then intermediates; absent = raw public key (RFC 7670). */
      readonly certificates?: readonly X509Certificate[];
      /** Default: the key's default scheme (sig.ts), or one the peer's hash list allows. */
      readonly scheme?: SignatureScheme;
    };

export type PeerAuth =
  | { readonly method: 'psk'; readonly psk: Buffer }
  | {
      readonly method: 'signature';
      /** Trust anchors for certificate chains. */
      readonly trustedCas?: readonly X509Certificate[];
      /** Raw public keys the peer may use (RFC 7670). */
      readonly publicKeys?: readonly KeyObject[];
    };

export type ChildMode = 'tunnel' | 'transport';

/**
 * SA lifetimes (strongSwan's life_time / rekey_time / rand_time): the SA is rekeyed at the
 * soft lifetime `lifetimeMs - rekeyMarginMs - random(0..jitterMs)` and deleted at the hard
 * lifetime `lifetimeMs` if it is still there. The jitter makes simultaneous rekeys rare.
 */
export interface LifetimeConfig {
  readonly lifetimeMs: number;
  readonly rekeyMarginMs: number;
  /** Default: a tenth of the margin. */
  readonly jitterMs?: number;
}

export interface ChildConfig {
  readonly name: string;
  /**
   * ESP proposals (protocolId ESP); numbered by the engine. KE/ADDKE transforms give PFS in
   * CREATE_CHILD_SA (RFC 7296 §1.3.1, RFC 9370); they are left out in IKE_AUTH (§1.2).
   */
  readonly proposals: readonly ProposalSpec[];
  readonly localTs: readonly AddressRangeSelector[];
  readonly remoteTs: readonly AddressRangeSelector[];
  readonly mode?: ChildMode;
  readonly lifetime?: LifetimeConfig;
  /**
   * RFC 9611 per-resource Child SAs (digest §C). Initiator: one fallback SA with
   * N(SA_RESOURCE_INFO) without data, then this many SAs with the same TS, each with
   * N(SA_RESOURCE_INFO, resource id 0..n-1 as 4 octets). Responder: setting it (or
   * `perResourceCap`) turns RFC 9611 support on for this child (the notify is echoed).
   */
  readonly perResource?: number;
  /** Responder: per-resource SAs accepted per TS set (the fallback not counted); one more gets TS_MAX_QUEUE. */
  readonly perResourceCap?: number;
}

/** What IKE_SA_INIT offers or accepts (both roles). */
export interface IkeSaInitConfig {
  /** IKE proposals (protocolId IKE), most preferred first; may carry KWA (RFC 9838) and ADDKE. */
  readonly proposals: readonly ProposalSpec[];
  /** RFC 7383; default true. */
  readonly fragmentation?: boolean;
  /** RFC 6023: announce and accept IKE SAs without a Child SA; default true. */
  readonly childless?: boolean;
  /** RFC 7427 hash IDs we accept in signatures; default SHA2-256/384/512 and Identity. */
  readonly signatureHashes?: readonly number[];
}

export interface PeerConfig extends IkeSaInitConfig {
  readonly name: string;
  readonly localId: Identity;
  /** The identity the peer must prove; the initiator also sends it as IDr. */
  readonly remoteId?: Identity;
  readonly localAuth: LocalAuth;
  readonly remoteAuth: PeerAuth;
  /** Initiator: children[0] is created in IKE_AUTH. Responder: the Child SAs it accepts. */
  readonly children?: readonly ChildConfig[];
  /** RFC 7296 §2.4: send INITIAL_CONTACT in the first IKE_AUTH; default true. */
  readonly initialContact?: boolean;
  /**
   * The authentication exchange the initiator runs after IKE_SA_INIT (default IKE_AUTH);
   * the G-IKEv2 member plugs GSA_AUTH here.
   */
  readonly authTask?: (sa: IkeSa) => InitiatorTask;
  /** 'always' floats to 4500 after IKE_SA_INIT even without NAT, like strongSwan. */
  readonly natTraversal?: 'on-nat' | 'always';
  /** IKE SA rekey (RFC 7296 §2.18) and expiry; both roles schedule their own. */
  readonly ikeLifetime?: LifetimeConfig;
  /** Optimized rekey (digest §D) with this peer; default `EngineOptions.optimizedRekey`. */
  readonly optimizedRekey?: boolean;
}

/** The responder's side: IKE_SA_INIT policy, then the peer's config by identity. */
export interface ResponderPolicy {
  readonly init: IkeSaInitConfig;
  resolvePeer(query: { readonly id: Identity; readonly remote: Endpoint; readonly local: Endpoint }): PeerConfig | undefined;
}

export interface RetransmitPolicy {
  /** First timeout; strongSwan default 4 s. */
  readonly baseMs: number;
  /** Back-off factor; strongSwan default 1.8. */
  readonly factor: number;
  /** Retransmissions before giving up; strongSwan default 5 (~165 s in all). */
  readonly tries: number;
}

export interface EngineOptions {
  readonly retransmit: RetransmitPolicy;
  /** Above this many half-open responder SAs, IKE_SA_INIT needs a cookie (RFC 7296 §2.6). */
  readonly halfOpenThreshold: number;
  /** A responder SA not authenticated within this time is dropped. */
  readonly halfOpenTimeoutMs: number;
  readonly cookieSecretLifetimeMs: number;
  /** Largest IKE message we send unfragmented (RFC 7383), marker/UDP/IP excluded. */
  readonly fragmentSize: number;
  /** Our responder window (RFC 7296 §2.3); announced with SET_WINDOW_SIZE when above 1. */
  readonly windowSize: number;
  /** Liveness check after this much silence; 0 disables it. */
  readonly livenessIntervalMs: number;
  /** INVALID_IKE_SPI answers per second (RFC 7296 §2.21.4: rate-limited). */
  readonly invalidSpiPerSecond: number;
  /** Cookie / INVALID_KE_PAYLOAD rounds an initiator accepts before giving up. */
  readonly maxInitRetries: number;
  readonly nonceLength: number;
  /** Child SAs per IKE SA a responder accepts; more are refused with NO_ADDITIONAL_SAS. */
  readonly maxChildSas: number;
  /**
   * Optimized rekey (draft-ietf-ipsecme-ikev2-sa-ts-payloads-opt, digest §D): announce
   * N(OPTIMIZED_REKEY_SUPPORTED) in IKE_AUTH and rekey without SA/TS when both did.
   */
  readonly optimizedRekey: boolean;
  /** Its notify types: unassigned (TBD1/TBD2), private-use values; strongSwan's branch uses 50400/50401. */
  readonly optimizedRekeyNotifies: OptimizedRekeyNotifyTypes;
  /**
   * Send the datagrams produced while handling one batch of received datagrams together, at
   * the end of the event-loop turn (setImmediate), instead of each as soon as it is built: a
   * peer under load then reads several answers per wake-up. Delays a datagram by at most the
   * rest of the turn. Off by default (docs/performance.md, issue 3).
   */
  readonly coalesceSends: boolean;
}

export interface OptimizedRekeyNotifyTypes {
  readonly supported: number;
  readonly rekey: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  retransmit: { baseMs: 4000, factor: 1.8, tries: 5 },
  halfOpenThreshold: 1000,
  halfOpenTimeoutMs: 30_000,
  cookieSecretLifetimeMs: 300_000,
  fragmentSize: 1200,
  windowSize: 1,
  livenessIntervalMs: 30_000,
  invalidSpiPerSecond: 10,
  maxInitRetries: 3,
  nonceLength: 32,
  maxChildSas: 1024,
  optimizedRekey: false,
  optimizedRekeyNotifies: { supported: NotifyType.OPTIMIZED_REKEY_SUPPORTED, rekey: NotifyType.OPTIMIZED_REKEY },
  coalesceSends: false,
};

export const DEFAULT_SIGNATURE_HASHES: readonly number[] = [
  HashAlgorithm.SHA2_256,
  HashAlgorithm.SHA2_384,
  HashAlgorithm.SHA2_512,
  HashAlgorithm.IDENTITY,
];
