/**
 * Wireshark/tshark key-log export: the `ikev2_decryption_table` and `esp_sa` UAT files
 * (Wireshark 4.0 layouts, checked against tshark 4.0.17) so that anyone can decrypt
 * our captures. Byte fields are unquoted hex, strings are quoted; algorithm names are
 * Wireshark's own labels. Algorithms Wireshark 4.0 cannot decrypt (ChaCha20-Poly1305)
 * become a `#` comment line instead of a record: keys.json still carries them.
 */
import type { IkeSaKeys } from '../crypto/keys.ts';
import { EncrId, IntegId } from '../registry/transform.ts';

export interface IkeSaKeyRecord extends IkeSaKeys {
  readonly spiI: Buffer;
  readonly spiR: Buffer;
  readonly encrId: number;
  /** Key Length attribute in bits (AES); omitted for fixed-size ciphers. */
  readonly encrKeyBits?: number;
  readonly integId: number;
  readonly prfId: number;
  readonly keMethods?: readonly number[];
  readonly kwaId?: number;
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

/** Wireshark's IKEv2 encryption labels (packet-isakmp.c, 4.0); `bits` is the AES key size. */
const IKE_ENCR_LABELS: Readonly<Record<number, (bits: number) => string>> = {
  [EncrId.NULL]: () => 'NULL [RFC2410]',
  [EncrId.AES_CBC]: (b) => `AES-CBC-${b} [RFC3602]`,
  [EncrId.AES_CTR]: (b) => `AES-CTR-${b} [RFC5930]`,
  [EncrId.AES_GCM_8]: (b) => `AES-GCM-${b} with 8 octet ICV [RFC5282]`,
  [EncrId.AES_GCM_16]: (b) => `AES-GCM-${b} with 16 octet ICV [RFC5282]`,
};

const IKE_INTEG_LABELS: Readonly<Record<number, string>> = {
  [IntegId.NONE]: 'NONE [RFC4306]',
  [IntegId.HMAC_SHA1_96]: 'HMAC_SHA1_96 [RFC2404]',
  [IntegId.HMAC_SHA2_256_128]: 'HMAC_SHA2_256_128 [RFC4868]',
  [IntegId.HMAC_SHA2_384_192]: 'HMAC_SHA2_384_192 [RFC4868]',
  [IntegId.HMAC_SHA2_512_256]: 'HMAC_SHA2_512_256 [RFC4868]',
};

/** Wireshark's ESP labels (packet-ipsec.c, 4.0). */
const ESP_ENCR_LABELS: Readonly<Record<number, string>> = {
  [EncrId.NULL]: 'NULL',
  [EncrId.AES_CBC]: 'AES-CBC [RFC3602]',
  [EncrId.AES_CTR]: 'AES-CTR [RFC3686]',
  [EncrId.AES_GCM_8]: 'AES-GCM with 8 octet ICV [RFC4106]',
  [EncrId.AES_GCM_12]: 'AES-GCM with 12 octet ICV [RFC4106]',
  [EncrId.AES_GCM_16]: 'AES-GCM with 16 octet ICV [RFC4106]',
};

const ESP_INTEG_LABELS: Readonly<Record<number, string>> = {
  [IntegId.NONE]: 'NULL',
  [IntegId.HMAC_SHA1_96]: 'HMAC-SHA-1-96 [RFC2404]',
  [IntegId.HMAC_SHA2_256_128]: 'HMAC-SHA-256-128 [RFC4868]',
  [IntegId.HMAC_SHA2_384_192]: 'HMAC-SHA-384-192 [RFC4868]',
  [IntegId.HMAC_SHA2_512_256]: 'HMAC-SHA-512-256 [RFC4868]',
};

/** One `ikev2_decryption_table` record (SPIi, SPIr, SK_ei, SK_er, encr, SK_ai, SK_ar, integ). */
export function ikev2DecryptionTableLine(r: IkeSaKeyRecord): string {
  const encr = IKE_ENCR_LABELS[r.encrId]?.(r.encrKeyBits ?? 0);
  const integ = IKE_INTEG_LABELS[r.integId];
  if (!encr || !integ) {
    return `# ${hex(r.spiI)} ${hex(r.spiR)}: ENCR ${r.encrId} / INTEG ${r.integId} not decryptable by Wireshark 4.0 (see keys.json)`;
  }
  return [hex(r.spiI), hex(r.spiR), hex(r.skEi), hex(r.skEr), quote(encr), hex(r.skAi), hex(r.skAr), quote(integ)].join(',');
}

/** One `esp_sa` record (protocol, src, dst, SPI, encr, key, auth, auth key). */
export function espSaLine(r: EspSaKeyRecord): string {
  const encr = ESP_ENCR_LABELS[r.encrId];
  const integ = ESP_INTEG_LABELS[r.integId];
  const spi = `0x${r.spi.toString(16).padStart(8, '0')}`;
  if (!encr || !integ) {
    return `# ${spi}: ENCR ${r.encrId} / INTEG ${r.integId} not decryptable by Wireshark 4.0 (see keys.json)`;
  }
  const key = (b: Buffer): string => quote(b.length ? `0x${hex(b)}` : '');
  return [quote(r.family), quote(r.src), quote(r.dst), quote(spi), quote(encr), key(r.encKey), quote(integ), key(r.integKey)].join(',');
}
