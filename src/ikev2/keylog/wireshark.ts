/**
 * Wireshark/tshark key-log export: the `ikev2_decryption_table` and `esp_sa` UAT files
 * (Wireshark 4.0 layouts, checked against tshark 4.0.17) so that anyone can decrypt
 * our captures. Byte fields are unquoted hex, strings are quoted; algorithm names are
 * Wireshark's own labels. Algorithms Wireshark 4.0 cannot decrypt (ChaCha20-Poly1305)
 * become a `#` comment line instead of a record: keys.json still carries them.
 */
import { EncrId, IntegId } from '../registry/transform.ts';

export interface IkeSaKeyRecord {
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly encrId: number;
  /** Key Length attribute in bits (AES); omitted for fixed-size ciphers. */
  readonly encrKeyBits?: number;
  readonly integId: number;
  readonly prfId: number;
  readonly keMethods?: readonly number[];
  readonly kwaId?: number;
  readonly skD: Buffer;
  readonly skAi: Buffer;
  readonly skAr: Buffer;
  /** Encryption keys including any salt (RFC 5282: GCM key | 4-byte salt). */
  readonly skEi: Buffer;
  readonly skEr: Buffer;
  readonly skPi: Buffer;
  readonly skPr: Buffer;
}

export interface EspSaKeyRecord {
  /** IKE SA the Child SA belongs to (absent for GCKS-made group SAs). */
  readonly ikeSpiI?: Buffer;
  readonly ikeSpiR?: Buffer;
  readonly family: 'IPv4' | 'IPv6';
  /** Outer addresses as text, or '*' for any (multicast group SAs: any source). */
  readonly src: string;
  readonly dst: string;
  readonly spi: number;
  readonly encrId: number;
  readonly encrKeyBits?: number;
  readonly integId: number;
  /** Encryption key including salt (RFC 4106: key | 4-byte salt). */
  readonly encKey: Buffer;
  readonly integKey: Buffer;
}

const hex = (b: Buffer): string => b.toString('hex');
const quote = (s: string): string => `"${s}"`;

/** Wireshark's IKEv2 encryption labels (packet-isakmp.c, 4.0). */
function ikeEncrLabel(encrId: number, bits = 0): string | undefined {
  switch (encrId) {
    case EncrId.NULL:
      return 'NULL [RFC2410]';
    case EncrId.AES_CBC:
      return `AES-CBC-${bits} [RFC3602]`;
    case EncrId.AES_CTR:
      return `AES-CTR-${bits} [RFC5930]`;
    case EncrId.AES_GCM_8:
      return `AES-GCM-${bits} with 8 octet ICV [RFC5282]`;
    case EncrId.AES_GCM_16:
      return `AES-GCM-${bits} with 16 octet ICV [RFC5282]`;
    default:
      return undefined;
  }
}

function ikeIntegLabel(integId: number): string | undefined {
  switch (integId) {
    case IntegId.NONE:
      return 'NONE [RFC4306]';
    case IntegId.HMAC_SHA1_96:
      return 'HMAC_SHA1_96 [RFC2404]';
    case IntegId.HMAC_SHA2_256_128:
      return 'HMAC_SHA2_256_128 [RFC4868]';
    case IntegId.HMAC_SHA2_384_192:
      return 'HMAC_SHA2_384_192 [RFC4868]';
    case IntegId.HMAC_SHA2_512_256:
      return 'HMAC_SHA2_512_256 [RFC4868]';
    default:
      return undefined;
  }
}

/** Wireshark's ESP labels (packet-ipsec.c, 4.0). */
function espEncrLabel(encrId: number): string | undefined {
  switch (encrId) {
    case EncrId.NULL:
      return 'NULL';
    case EncrId.AES_CBC:
      return 'AES-CBC [RFC3602]';
    case EncrId.AES_CTR:
      return 'AES-CTR [RFC3686]';
    case EncrId.AES_GCM_8:
      return 'AES-GCM with 8 octet ICV [RFC4106]';
    case EncrId.AES_GCM_12:
      return 'AES-GCM with 12 octet ICV [RFC4106]';
    case EncrId.AES_GCM_16:
      return 'AES-GCM with 16 octet ICV [RFC4106]';
    default:
      return undefined;
  }
}

function espIntegLabel(integId: number): string | undefined {
  switch (integId) {
    case IntegId.NONE:
      return 'NULL';
    case IntegId.HMAC_SHA1_96:
      return 'HMAC-SHA-1-96 [RFC2404]';
    case IntegId.HMAC_SHA2_256_128:
      return 'HMAC-SHA-256-128 [RFC4868]';
    case IntegId.HMAC_SHA2_384_192:
      return 'HMAC-SHA-384-192 [RFC4868]';
    case IntegId.HMAC_SHA2_512_256:
      return 'HMAC-SHA-512-256 [RFC4868]';
    default:
      return undefined;
  }
}

/** One `ikev2_decryption_table` record (SPIi, SPIr, SK_ei, SK_er, encr, SK_ai, SK_ar, integ). */
export function ikev2DecryptionTableLine(r: IkeSaKeyRecord): string {
  const encr = ikeEncrLabel(r.encrId, r.encrKeyBits);
  const integ = ikeIntegLabel(r.integId);
  if (!encr || !integ) {
    return `# ${hex(r.spiI)} ${hex(r.spiR)}: ENCR ${r.encrId} / INTEG ${r.integId} not decryptable by Wireshark 4.0 (see keys.json)`;
  }
  return [hex(r.spiI), hex(r.spiR), hex(r.skEi), hex(r.skEr), quote(encr), hex(r.skAi), hex(r.skAr), quote(integ)].join(',');
}

/** One `esp_sa` record (protocol, src, dst, SPI, encr, key, auth, auth key). */
export function espSaLine(r: EspSaKeyRecord): string {
  const encr = espEncrLabel(r.encrId);
  const integ = espIntegLabel(r.integId);
  const spi = `0x${r.spi.toString(16).padStart(8, '0')}`;
  if (!encr || !integ) {
    return `# ${spi}: ENCR ${r.encrId} / INTEG ${r.integId} not decryptable by Wireshark 4.0 (see keys.json)`;
  }
  const key = (b: Buffer): string => quote(b.length ? `0x${hex(b)}` : '');
  return [quote(r.family), quote(r.src), quote(r.dst), quote(spi), quote(encr), key(r.encKey), quote(integ), key(r.integKey)].join(',');
}
