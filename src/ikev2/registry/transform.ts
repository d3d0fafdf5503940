/** Transform Types and their IDs (IANA; RFC 7296 §3.3.2, RFC 9370, RFC 9827, RFC 9838). */
export const TransformType = {
  ENCR: 1,
  PRF: 2,
  INTEG: 3,
  KE: 4, // formerly D-H
  SN: 5, // Sequence Numbers (formerly ESN), RFC 9827
  ADDKE1: 6,
  ADDKE2: 7,
  ADDKE3: 8,
  ADDKE4: 9,
  ADDKE5: 10,
  ADDKE6: 11,
  ADDKE7: 12,
  KWA: 13, // RFC 9838 Key Wrap Algorithm
  GCAUTH: 14, // RFC 9838 Group Controller Authentication Method
} as const;
export type TransformTypeValue = (typeof TransformType)[keyof typeof TransformType];

export const EncrId = {
  DES_IV64: 1,
  DES: 2,
  '3DES': 3,
  NULL: 11,
  AES_CBC: 12,
  AES_CTR: 13,
  AES_CCM_8: 14,
  AES_CCM_12: 15,
  AES_CCM_16: 16,
  AES_GCM_8: 18,
  AES_GCM_12: 19,
  AES_GCM_16: 20,
  NULL_AUTH_AES_GMAC: 21,
  CHACHA20_POLY1305: 28,
  AES_CCM_8_IIV: 29,
  AES_GCM_16_IIV: 30,
  CHACHA20_POLY1305_IIV: 31,
} as const;

export const PrfId = {
  HMAC_MD5: 1,
  HMAC_SHA1: 2,
  AES128_XCBC: 4,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
  AES128_CMAC: 8,
} as const;

export const IntegId = {
  NONE: 0,
  HMAC_MD5_96: 1,
  HMAC_SHA1_96: 2,
  AES_XCBC_96: 5,
  AES_CMAC_96: 8,
  AES_128_GMAC: 9,
  AES_192_GMAC: 10,
  AES_256_GMAC: 11,
  HMAC_SHA2_256_128: 12,
  HMAC_SHA2_384_192: 13,
  HMAC_SHA2_512_256: 14,
} as const;

/** Key Exchange Method IDs (transform types 4 and 6-12). */
export const KeId = {
  NONE: 0,
  MODP2048: 14,
  ECP256: 19,
  ECP384: 20,
  ECP521: 21,
  CURVE25519: 31,
  CURVE448: 32,
  ML_KEM_512: 35,
  ML_KEM_768: 36,
  ML_KEM_1024: 37,
} as const;

/** Sequence Numbers transform IDs (type 5; RFC 9827 names; value 2 from RFC 9838). */
export const SnId = {
  SEQ32: 0, // 32-bit Sequential Numbers (was "No ESN")
  ESN64: 1, // Partially Transmitted 64-bit Sequential Numbers (was "ESN")
  UNSPECIFIED32: 2, // 32-bit Unspecified Numbers (multi-sender group SAs)
} as const;

/** Key Wrap Algorithm IDs (type 13; RFC 9838). */
export const KwaId = {
  KW_5649_128: 1,
  KW_5649_192: 2,
  KW_5649_256: 3,
  KW_ARX: 4,
} as const;

/** Group Controller Authentication Method IDs (type 14; RFC 9838). */
export const GcauthId = {
  IMPLICIT: 1,
  DIGITAL_SIGNATURE: 2,
} as const;

/** Transform attribute types (RFC 7296 §3.3.5; RFC 9838). */
export const TransformAttr = {
  KEY_LENGTH: 14, // TV
  SIGNATURE_ALGORITHM_IDENTIFIER: 18, // TLV, RFC 9838 (with GCAUTH 2)
} as const;
