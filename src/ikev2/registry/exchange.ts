/** IKEv2 Exchange Types (IANA; RFC 7296 §3.1, RFC 9838 §7, RFC 9242, RFC 9370). */
export const ExchangeType = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
  IKE_SESSION_RESUME: 38,
  GSA_AUTH: 39,
  GSA_REGISTRATION: 40,
  GSA_REKEY: 41,
  GSA_INBAND_REKEY: 42,
  IKE_INTERMEDIATE: 43,
  IKE_FOLLOWUP_KE: 44,
} as const;
export type ExchangeTypeValue = (typeof ExchangeType)[keyof typeof ExchangeType];

/** IKE header flags (RFC 7296 §3.1). */
export const HeaderFlag = {
  INITIATOR: 0x08,
  VERSION: 0x10,
  RESPONSE: 0x20,
} as const;

export const IKE_MAJOR_VERSION = 2;
export const IKE_MINOR_VERSION = 0;
export const IKE_HEADER_LENGTH = 28;
