/** IKEv2 Payload Types (IANA; RFC 7296 §3.2, RFC 7383, RFC 9838 §4). */
export const PayloadType = {
  NONE: 0,
  SA: 33, // also SAg in G-IKEv2 (RFC 9838 §4.3)
  KE: 34,
  IDi: 35,
  IDr: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  NOTIFY: 41,
  DELETE: 42,
  VENDOR_ID: 43,
  TSi: 44,
  TSr: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  GSPM: 49,
  IDg: 50,
  GSA: 51,
  KD: 52,
  SKF: 53,
} as const;
export type PayloadTypeValue = (typeof PayloadType)[keyof typeof PayloadType];

/** Generic payload header: Next Payload(1) | C + RESERVED(1) | Payload Length(2). */
export const GENERIC_HEADER_LENGTH = 4;
export const CRITICAL_FLAG = 0x80;
