/** G-IKEv2 attribute registries (RFC 9838 §4.4.2.2, §4.4.3.1, §4.5.x). */

/** GSA Attributes (in GSA policy substructures). */
export const GsaAttr = {
  GSA_KEY_LIFETIME: 1, // TLV uint32 seconds
  GSA_INITIAL_MESSAGE_ID: 2, // TLV uint32
  GSA_NEXT_SPI: 3, // TLV, SPI-size bytes, may repeat
} as const;

/** Group-wide Policy Attributes (in the GW policy substructure); all TV. */
export const GwpAttr = {
  GWP_ATD: 1,
  GWP_DTD: 2,
  GWP_SENDER_ID_BITS: 3,
} as const;

/** Group Key Bag attributes. */
export const GroupKeyBagAttr = {
  SA_KEY: 1, // TLV wrapped key, Key ID 0
} as const;

/** Member Key Bag attributes. */
export const MemberKeyBagAttr = {
  WRAP_KEY: 1, // TLV wrapped key, Key ID != 0, may repeat
  AUTH_KEY: 2, // TLV DER SubjectPublicKeyInfo
  GM_SENDER_ID: 3, // TLV, may repeat (encoding: see docs/decisions.md)
} as const;

/** Label for GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2") (RFC 9838 §3.1.1); 20 ASCII bytes. */
export const GSK_W_LABEL = 'Key Wrap for G-IKEv2';
