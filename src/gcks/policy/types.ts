/**
 * A group's policy as the operator writes it and as it is stored (the normalized JSON
 * document, defaults filled in): what RFC 9838 pushes in the GSA payload (§4.4) apart from
 * SPIs and keys.
 *
 *   dataSecuritySas  Data-Security SAs (ESP): transforms, Sequence Numbers, multicast
 *                    selectors, mode, lifetime (§4.4.2, §2.3.4)
 *   rekey            multicast Rekey SA (GIKE_UPDATE, §4.4.2.1: ENCR, INTEG, KWA, GCAUTH)
 *                    or in-band rekeying over the IKE SA (no Rekey SA, §2.4.2)
 *   groupWide        GW policy (§4.4.3): ATD, DTD, Sender-ID bits
 */
import type { SignatureScheme } from '../../ikev2/crypto/sig-schemes.ts';
import type { EncrName, IntegName, KwaName } from './algorithms.ts';

/** Tunnel mode with address preservation (RFC 5374) or transport mode; one per group (§2.3.4). */
export type SaMode = 'tunnel' | 'transport';

/** Sequence Numbers transform (type 5): 0 = sequential-32, 1 = esn-64, 2 = unspecified-32. */
export type SequenceNumbers = 'sequential-32' | 'esn-64' | 'unspecified-32';

export type Senders = 'single' | 'multiple';

export interface PortRange {
  readonly start: number;
  readonly end: number;
}

export interface Selector {
  /** Canonical text: one address, a CIDR prefix "a/len", or a range "first-last". */
  readonly address: string;
  /** IP protocol number; 0 = any. */
  readonly protocol: number;
  /** Inclusive; 0-65535 = any. */
  readonly ports: PortRange;
}

export interface EncryptionSpec {
  readonly algorithm: EncrName;
  /** Key size in bits (absent for fixed-size ciphers such as ChaCha20-Poly1305). */
  readonly keyBits?: number;
}

export interface DataSecuritySaPolicy {
  /** Stable name within the group; TEKs refer to it. */
  readonly name: string;
  readonly protocol: 'esp';
  readonly mode: SaMode;
  readonly senders: Senders;
  readonly encryption: EncryptionSpec;
  /** null with combined-mode (AEAD) ciphers. */
  readonly integrity: IntegName | null;
  readonly sequenceNumbers: SequenceNumbers;
  readonly source: Selector;
  /** Multicast (RFC 9838 §2.3.4, RFC 5374). */
  readonly destination: Selector;
  /** GSA_KEY_LIFETIME, seconds; required with multicast rekeying (§5). */
  readonly lifetimeSeconds: number | null;
}

export type RekeyAuthentication =
  /** GCAUTH 1: possession of the KEK; NOT RECOMMENDED except in small trusted groups (§6.1). */
  | { readonly method: 'implicit' }
  /** GCAUTH 2, with the Signature Algorithm Identifier of `algorithm` (§4.4.2.1.1). */
  | { readonly method: 'signature'; readonly algorithm: SignatureScheme };

export interface RekeySaPolicy {
  readonly source: Selector;
  /** One multicast address, UDP, one port (§2.1.1). */
  readonly destination: Selector;
  readonly encryption: EncryptionSpec;
  readonly integrity: IntegName | null;
  readonly keyWrap: KwaName;
  readonly authentication: RekeyAuthentication;
  readonly lifetimeSeconds: number;
}

export type RekeyPolicy = { readonly method: 'multicast'; readonly sa: RekeySaPolicy } | { readonly method: 'inband' };

export interface GroupWidePolicySpec {
  /** GWP_ATD, seconds (0 = send nothing). */
  readonly activationTimeDelay: number;
  /** GWP_DTD, seconds (0 = send nothing). */
  readonly deactivationTimeDelay: number;
  /** GWP_SENDER_ID_BITS; required when a multi-sender SA uses a counter mode. */
  readonly senderIdBits: number | null;
}

export interface GroupPolicy {
  readonly dataSecuritySas: readonly DataSecuritySaPolicy[];
  readonly rekey: RekeyPolicy;
  readonly groupWide: GroupWidePolicySpec;
}
