/** Smaller IKEv2 / G-IKEv2 registries. */

/** Security Protocol Identifiers (RFC 7296 §3.3.1; RFC 9838 GIKE_UPDATE). */
export const ProtocolId = {
  NONE: 0, // Notify/Delete without SA; GW policy / Member Key Bag marker in G-IKEv2
  IKE: 1,
  AH: 2,
  ESP: 3,
  GIKE_UPDATE: 6,
} as const;

/** Identification types (RFC 7296 §3.5). */
export const IdType = {
  ID_IPV4_ADDR: 1,
  ID_FQDN: 2,
  ID_RFC822_ADDR: 3,
  ID_IPV6_ADDR: 5,
  ID_DER_ASN1_DN: 9,
  ID_DER_ASN1_GN: 10,
  ID_KEY_ID: 11,
  ID_NULL: 13,
} as const;

/** Authentication methods (RFC 7296 §3.8, RFC 7427). */
export const AuthMethod = {
  RSA_SIG: 1,
  PSK: 2, // Shared Key Message Integrity Code
  DSS_SIG: 3,
  ECDSA_SHA256_P256: 9,
  ECDSA_SHA384_P384: 10,
  ECDSA_SHA512_P521: 11,
  GSPAM: 12,
  NULL: 13,
  DIGITAL_SIGNATURE: 14, // RFC 7427
} as const;

/** Traffic selector types (RFC 7296 §3.13.1). */
export const TsType = {
  TS_IPV4_ADDR_RANGE: 7,
  TS_IPV6_ADDR_RANGE: 8,
  TS_SECLABEL: 10,
} as const;

/** Certificate encodings (RFC 7296 §3.6). */
export const CertEncoding = {
  X509_SIGNATURE: 4,
  HASH_AND_URL_X509: 12,
  HASH_AND_URL_BUNDLE: 13,
  RAW_PUBLIC_KEY: 15, // RFC 7670
} as const;

/** Configuration payload types (RFC 7296 §3.15). */
export const CfgType = {
  CFG_REQUEST: 1,
  CFG_REPLY: 2,
  CFG_SET: 3,
  CFG_ACK: 4,
} as const;

/** Hash algorithms for SIGNATURE_HASH_ALGORITHMS (RFC 7427 §7, RFC 8420). */
export const HashAlgorithm = {
  SHA1: 1,
  SHA2_256: 2,
  SHA2_384: 3,
  SHA2_512: 4,
  IDENTITY: 5,
} as const;

/** Well-known UDP ports. */
export const Port = {
  IKE: 500,
  NAT_T: 4500,
  GDOI: 848,
} as const;
