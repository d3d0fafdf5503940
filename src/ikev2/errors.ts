/**
 * One registry of typed errors for the whole product (wire, crypto, protocol, API).
 *
 * Every error has a stable code (fastify/undici style), the IKEv2 Notify Message Type
 * to answer with on the wire (or null when the message is dropped silently / nothing
 * is sent), and the HTTP status the admin API maps it to.
 */
import { NotifyType } from './registry/notify.ts';

export interface ErrorDefinition {
  /** Notify to send back, or null: drop silently / local error only. */
  readonly notify: number | null;
  readonly http: number;
  readonly message: string;
}

const def = (notify: number | null, http: number, message: string): ErrorDefinition => ({
  notify,
  http,
  message,
});

export const ErrorCodes = {
  // --- wire codec (RFC 7296 §2.21, §3.2) ---
  GKM_WIRE_TRUNCATED: def(NotifyType.INVALID_SYNTAX, 400, 'input ends before the field'),
  GKM_WIRE_TRAILING_BYTES: def(NotifyType.INVALID_SYNTAX, 400, 'unexpected bytes after the structure'),
  GKM_WIRE_BAD_LENGTH: def(NotifyType.INVALID_SYNTAX, 400, 'length field is inconsistent'),
  GKM_WIRE_BAD_COUNT: def(NotifyType.INVALID_SYNTAX, 400, 'count field is inconsistent'),
  GKM_WIRE_BAD_VALUE: def(NotifyType.INVALID_SYNTAX, 400, 'field has an invalid value'),
  GKM_WIRE_TOO_LARGE: def(NotifyType.INVALID_SYNTAX, 400, 'structure exceeds the allowed size'),
  GKM_WIRE_UNSUPPORTED_CRITICAL_PAYLOAD: def(
    NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD,
    400,
    'unknown payload with the critical bit set',
  ),
  GKM_WIRE_INVALID_MAJOR_VERSION: def(NotifyType.INVALID_MAJOR_VERSION, 400, 'unsupported IKE major version'),
  GKM_WIRE_ENCODE: def(null, 500, 'value cannot be encoded'),

  // --- crypto ---
  GKM_CRYPTO_AUTH_FAILED: def(null, 400, 'integrity check failed'), // RFC 7296 §2.21.1: drop
  GKM_CRYPTO_BAD_PADDING: def(null, 400, 'invalid padding after decryption'),
  GKM_CRYPTO_UNSUPPORTED: def(NotifyType.NO_PROPOSAL_CHOSEN, 400, 'algorithm not supported'),
  GKM_CRYPTO_BAD_KEY_LENGTH: def(null, 500, 'key has the wrong length'),
  GKM_CRYPTO_INVALID_KE: def(NotifyType.INVALID_SYNTAX, 400, 'invalid key exchange data'),
  GKM_CRYPTO_KEY_UNWRAP_FAILED: def(null, 400, 'key unwrap integrity check failed'),
  GKM_CRYPTO_BAD_SIGNATURE: def(NotifyType.AUTHENTICATION_FAILED, 401, 'signature verification failed'),
  GKM_CRYPTO_INTERNAL: def(null, 500, 'crypto operation failed'),

  // --- datapath (RFC 4303, RFC 4301, RFC 5374): packets are dropped, nothing is sent ---
  GKM_ESP_MALFORMED: def(null, 400, 'malformed ESP packet'),
  GKM_ESP_NO_SA: def(null, 404, 'no SA for the packet'),
  GKM_ESP_REPLAY: def(null, 400, 'replayed or too old sequence number'),
  GKM_ESP_AUTH_FAILED: def(null, 400, 'ESP integrity check failed'),
  GKM_ESP_BAD_PADDING: def(null, 400, 'invalid ESP padding or trailer'),
  GKM_ESP_SEQ_EXHAUSTED: def(null, 500, 'sequence number or IV counter space exhausted'),
  GKM_ESP_SA_EXPIRED: def(null, 410, 'SA reached its hard lifetime'),
  GKM_ESP_POLICY_MISMATCH: def(null, 403, 'packet does not match the SA traffic selectors'),
  GKM_ESP_BAD_CONFIG: def(null, 400, 'invalid SA configuration'),
  GKM_IP_MALFORMED: def(null, 400, 'malformed IP packet'),
  GKM_PROVIDER_UNAVAILABLE: def(null, 503, 'datapath provider cannot run here (addon not built, kernel feature missing)'),

  // --- UDP transport (src/ikev2/transport): local errors, nothing is sent ---
  GKM_TRANSPORT_CONFIG: def(null, 500, 'invalid transport configuration'),
  GKM_TRANSPORT_BIND: def(null, 500, 'cannot bind the UDP socket'),
  GKM_TRANSPORT_NO_SOCKET: def(null, 500, 'no bound socket for the local endpoint'),

  // --- IKE SA engine (RFC 7296 §2.21, RFC 7383, RFC 6023; src/ikev2/sa/) ---
  GKM_IKE_INVALID_SYNTAX: def(NotifyType.INVALID_SYNTAX, 400, 'payload missing, duplicated or not allowed here'),
  GKM_IKE_NO_PROPOSAL_CHOSEN: def(NotifyType.NO_PROPOSAL_CHOSEN, 400, 'no acceptable proposal'),
  GKM_IKE_INVALID_KE: def(NotifyType.INVALID_KE_PAYLOAD, 400, 'KE payload does not use the selected method'),
  GKM_IKE_AUTHENTICATION_FAILED: def(NotifyType.AUTHENTICATION_FAILED, 401, 'peer authentication failed'),
  GKM_IKE_TS_UNACCEPTABLE: def(NotifyType.TS_UNACCEPTABLE, 400, 'traffic selectors not acceptable'),
  GKM_IKE_PEER_ERROR: def(null, 502, 'peer answered with an error notify'),
  GKM_IKE_BAD_RESPONSE: def(null, 502, 'response does not fit the request'),
  GKM_IKE_TIMEOUT: def(null, 504, 'peer did not answer: retransmissions exhausted'),
  GKM_IKE_INVALID_STATE: def(null, 409, 'not allowed in the current IKE SA state'),
  GKM_IKE_SA_CLOSED: def(null, 410, 'IKE SA is closed'),
  GKM_IKE_CONFIG: def(null, 400, 'invalid IKE configuration'),

  // --- group key material (src/gcks/keys/, src/member/keys/; RFC 9838 §2.5, §3) ---
  GKM_KEYS_BAD_KEY_LENGTH: def(null, 400, 'unwrapped key does not have the expected length'), // §4.5.4: path unusable
  GKM_KEYS_KWA_MISMATCH: def(NotifyType.NO_PROPOSAL_CHOSEN, 400, 'key wrap algorithm of the IKE SA differs from the group key tree'),
  GKM_KEYS_SPI_EXHAUSTED: def(NotifyType.REGISTRATION_FAILED, 503, 'no free SPI for the group'),
  GKM_KEYS_KEY_ID_EXHAUSTED: def(NotifyType.REGISTRATION_FAILED, 503, 'Key ID space of the group is exhausted'),
  GKM_KEYS_UNKNOWN_MEMBER: def(null, 404, 'member has no leaf in the group key tree'),
  GKM_KEYS_TREE_STATE: def(null, 409, 'key tree operation not allowed in its current state'),
  GKM_KEYS_BAD_INPUT: def(null, 500, 'invalid argument for a key operation'),

  // --- store (src/store/): start-up and persistence errors, nothing is sent ---
  GKM_STORE_OPEN: def(null, 500, 'cannot open the GCKS database'),
  GKM_STORE_MIGRATION: def(null, 500, 'database migration failed'),
  GKM_STORE_MIGRATION_CHANGED: def(null, 500, 'an applied migration was changed after it landed'),
  GKM_STORE_SCHEMA_TOO_NEW: def(null, 500, 'the database schema is newer than this program'),
  GKM_STORE_MASTER_KEY_MISSING: def(null, 500, 'no master key for the secrets at rest'),
  GKM_STORE_MASTER_KEY_INVALID: def(null, 500, 'the master key is malformed'),
  GKM_STORE_MASTER_KEY_MISMATCH: def(null, 500, 'the master key is not the one this database was created with'),
  GKM_STORE_SECRET_CORRUPT: def(null, 500, 'a stored secret fails authentication'),
  GKM_STORE_NOT_FOUND: def(null, 404, 'no such record'),
  GKM_STORE_CONFLICT: def(null, 409, 'the record conflicts with an existing one'),
  GKM_STORE_AUDIT_SECRET: def(null, 500, 'audit entries never hold secrets'),

  // --- GCKS data model and configuration (src/gcks/{groups,policy,config}/) ---
  GKM_GROUP_INVALID_ID: def(null, 400, 'invalid group identity (IDg)'),
  GKM_MEMBER_INVALID: def(null, 400, 'invalid group member'),
  GKM_POLICY_INVALID: def(null, 400, 'invalid group policy'),
  GKM_POLICY_UNSUPPORTED_ALGORITHM: def(null, 400, 'unknown or unsupported algorithm in the group policy'),
  GKM_POLICY_NOT_MULTICAST: def(null, 400, 'group SA destination is not a multicast address'),
  GKM_POLICY_MIXED_MODES: def(null, 400, 'tunnel and transport mode mixed in one group'),
  GKM_POLICY_SEQUENCE_NUMBERS: def(null, 400, 'Sequence Numbers transform not allowed for this SA'),
  GKM_POLICY_IMPLICIT_IV: def(null, 400, 'implicit-IV cipher not allowed for this SA'),
  GKM_CONFIG_INVALID: def(null, 400, 'invalid GCKS configuration'),

  // --- GCKS registration outcomes raised by the data layer (RFC 9838 §2.3, §4.7) ---
  GKM_GCKS_UNKNOWN_GROUP: def(NotifyType.INVALID_GROUP_ID, 404, 'no such group'),
  GKM_GCKS_NOT_AUTHORIZED: def(NotifyType.AUTHORIZATION_FAILED, 403, 'member is not authorized for the group'),
  GKM_GCKS_GROUP_FULL: def(NotifyType.REGISTRATION_FAILED, 409, 'the group has reached its member cap'),
  GKM_GCKS_SENDER_IDS_EXHAUSTED: def(NotifyType.REGISTRATION_FAILED, 409, 'the group has no Sender-IDs left'),
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface GkmErrorOptions {
  /** The wire field or object the error is about, e.g. "SA.proposal[1].transform[0].length". */
  field?: string;
  /** Extra human-readable detail. Never a key or secret. */
  detail?: string;
  /** Notify data to send with the notify (e.g. the payload type for UNSUPPORTED_CRITICAL_PAYLOAD). */
  notifyData?: Uint8Array;
  cause?: unknown;
}

export class GkmError extends Error {
  readonly code: ErrorCode;
  readonly notify: number | null;
  readonly httpStatus: number;
  readonly field: string | undefined;
  readonly notifyData: Uint8Array | undefined;

  constructor(code: ErrorCode, opts: GkmErrorOptions = {}) {
    const d = ErrorCodes[code];
    const parts = [d.message];
    if (opts.field) parts.push(`(${opts.field})`);
    if (opts.detail) parts.push(`: ${opts.detail}`);
    super(parts.join(' '), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GkmError';
    this.code = code;
    this.notify = d.notify;
    this.httpStatus = d.http;
    this.field = opts.field;
    this.notifyData = opts.notifyData;
  }
}

export function isGkmError(e: unknown, code?: ErrorCode): e is GkmError {
  return e instanceof GkmError && (code === undefined || e.code === code);
}
