/**
 * Algorithm names used in policy documents, and their transform IDs (IANA IKEv2 registries;
 * RFC 9838 for KWA). Metadata (key sizes, AEAD, IKE use) comes from src/ikev2/crypto.
 */
import { EncrId, IntegId, KwaId } from '../../ikev2/registry/transform.ts';

const table = <N extends string>(entries: Record<N, number>) => ({
  names: Object.keys(entries) as N[],
  id: (name: N): number => entries[name],
  name: (id: number): N | undefined => (Object.entries(entries) as [N, number][]).find(([, v]) => v === id)?.[0],
});

export const ENCR = table({
  'aes-cbc': EncrId.AES_CBC,
  'aes-ctr': EncrId.AES_CTR,
  'aes-ccm-8': EncrId.AES_CCM_8,
  'aes-ccm-12': EncrId.AES_CCM_12,
  'aes-ccm-16': EncrId.AES_CCM_16,
  'aes-gcm-8': EncrId.AES_GCM_8,
  'aes-gcm-12': EncrId.AES_GCM_12,
  'aes-gcm-16': EncrId.AES_GCM_16,
  'null-auth-aes-gmac': EncrId.NULL_AUTH_AES_GMAC,
  'chacha20-poly1305': EncrId.CHACHA20_POLY1305,
  'aes-ccm-8-iiv': EncrId.AES_CCM_8_IIV,
  'aes-gcm-16-iiv': EncrId.AES_GCM_16_IIV,
  'chacha20-poly1305-iiv': EncrId.CHACHA20_POLY1305_IIV,
});
export type EncrName = (typeof ENCR.names)[number];

/** INTEG for ESP and the Rekey SA (the GMAC INTEG transforms are AH-only and not offered). */
export const INTEG = table({
  'hmac-sha1-96': IntegId.HMAC_SHA1_96,
  'aes-xcbc-96': IntegId.AES_XCBC_96,
  'aes-cmac-96': IntegId.AES_CMAC_96,
  'hmac-sha2-256-128': IntegId.HMAC_SHA2_256_128,
  'hmac-sha2-384-192': IntegId.HMAC_SHA2_384_192,
  'hmac-sha2-512-256': IntegId.HMAC_SHA2_512_256,
});
export type IntegName = (typeof INTEG.names)[number];

export const KWA = table({
  'kw-5649-128': KwaId.KW_5649_128,
  'kw-5649-192': KwaId.KW_5649_192,
  'kw-5649-256': KwaId.KW_5649_256,
  'kw-arx': KwaId.KW_ARX,
});
export type KwaName = (typeof KWA.names)[number];

/** RFC 8750 implicit-IV ciphers: unique sequence numbers only (RFC 9838 §2.7). */
export const IMPLICIT_IV_ENCR: ReadonlySet<EncrName> = new Set(['aes-ccm-8-iiv', 'aes-gcm-16-iiv', 'chacha20-poly1305-iiv']);
