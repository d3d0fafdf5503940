/**
 * IKE identities in swanctl syntax (strongSwan identification_create_from_string):
 *
 *   192.0.2.1 / 2001:db8::1    ID_IPV4_ADDR / ID_IPV6_ADDR
 *   gw.example.com, @gw        ID_FQDN ('@' forces FQDN)
 *   user@example.com, @@user   ID_RFC822_ADDR
 *   @#0a1b2c, keyid:name       ID_KEY_ID (hex after '#', else the text's bytes)
 *   fqdn: email: ipv4: ipv6: keyid: asn1dn:#<DER hex>   explicit types
 *   %any                       any identity (remote side only)
 *
 * A textual DN ("C=CH, O=...") needs an X.500 string-to-DER encoder we do not carry: use
 * the certificate's subject (leave `id` unset) or `asn1dn:#<hex>`.
 */
import { isIP } from 'node:net';
import { Id, type Identity } from '../../ikev2/sa/identity.ts';

export const ANY_ID = '%any';

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

function hexOrText(s: string): Buffer {
  if (!s.startsWith('#')) return Buffer.from(s, 'utf8');
  const hex = s.slice(1);
  if (!HEX.test(hex)) throw new Error(`bad hex after '#': ${JSON.stringify(s)}`);
  return Buffer.from(hex, 'hex');
}

function ipId(s: string, family: 4 | 6): Identity {
  if (isIP(s) !== family) throw new Error(`not an IPv${family} address: ${JSON.stringify(s)}`);
  return Id.ip(s);
}

const PREFIXES: Readonly<Record<string, (rest: string) => Identity>> = {
  'ipv4:': (s) => ipId(s, 4),
  'ipv6:': (s) => ipId(s, 6),
  'fqdn:': (s) => Id.fqdn(s),
  'email:': (s) => Id.email(s),
  'rfc822:': (s) => Id.email(s),
  'keyid:': (s) => Id.keyId(hexOrText(s)),
  'asn1dn:': (s) => {
    if (!s.startsWith('#')) throw new Error('asn1dn: takes the DER as #<hex>');
    return Id.dn(hexOrText(s));
  },
};

/** Parses an identity; `%any` gives undefined. Throws an Error with a message. */
export function parseIdentity(text: string): Identity | undefined {
  if (text === ANY_ID) return undefined;
  if (text === '') throw new Error('empty identity');
  for (const [prefix, make] of Object.entries(PREFIXES)) {
    if (text.toLowerCase().startsWith(prefix)) return make(text.slice(prefix.length));
  }
  if (text.startsWith('@#')) return Id.keyId(hexOrText(text.slice(1)));
  if (text.startsWith('@@')) return Id.email(text.slice(2));
  if (text.startsWith('@')) return Id.fqdn(text.slice(1));
  if (isIP(text) !== 0) return Id.ip(text);
  if (text.includes('=')) {
    throw new Error(`textual DN ${JSON.stringify(text)} is not supported: leave id unset to use the certificate subject, or write asn1dn:#<DER hex>`);
  }
  if (text.includes('@')) return Id.email(text);
  return Id.fqdn(text);
}
