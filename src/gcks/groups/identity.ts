/**
 * Identities of groups (IDg, RFC 9838 §4.2: ID_KEY_ID MUST; IPv4, FQDN, RFC822, IPv6 SHOULD)
 * and of members (IDi, RFC 7296 §3.5), validated and normalized so that one identity has
 * one stored form: FQDNs and mail domains lower-case without a trailing dot, addresses as
 * bytes, KEY_IDs as opaque octets. `normalizeIdentity` applies the same rules to an ID as
 * received, so lookups match however the peer spelled it.
 */
import { GkmError, type ErrorCode } from '../../ikev2/errors.ts';
import { IdType } from '../../ikev2/registry/misc.ts';
import type { StoredIdentity } from '../../store/index.ts';
import { InputReader } from '../config/input.ts';
import { ipText, parseIp } from '../policy/address.ts';

export type IdentityKind = 'key-id' | 'fqdn' | 'rfc822' | 'ipv4' | 'ipv6';

/** JSON form: `value` is text (KEY_ID: its UTF-8 bytes); a binary KEY_ID uses `hex`. */
export type IdentityInput = { readonly type: IdentityKind; readonly value: string } | { readonly type: 'key-id'; readonly hex: string };

export const GROUP_ID_KINDS: readonly IdentityKind[] = ['key-id', 'fqdn', 'rfc822', 'ipv4', 'ipv6'];
export const MEMBER_ID_KINDS: readonly IdentityKind[] = ['key-id', 'fqdn', 'rfc822', 'ipv4', 'ipv6'];

const ID_TYPE: Readonly<Record<IdentityKind, number>> = {
  'key-id': IdType.ID_KEY_ID,
  fqdn: IdType.ID_FQDN,
  rfc822: IdType.ID_RFC822_ADDR,
  ipv4: IdType.ID_IPV4_ADDR,
  ipv6: IdType.ID_IPV6_ADDR,
};
const KIND_OF = new Map<number, IdentityKind>(Object.entries(ID_TYPE).map(([k, v]) => [v, k as IdentityKind]));

export const MAX_KEY_ID_OCTETS = 256;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why an FQDN is not a host name (RFC 1123 §2.1 letters, digits, hyphens; 253 octets), or null. */
function fqdnProblem(name: string): string | null {
  if (name.length === 0 || name.length > 253) return 'must be 1..253 characters';
  return name.split('.').every((l) => LABEL.test(l)) ? null : 'labels are 1..63 letters, digits or hyphens, not starting or ending with a hyphen';
}

const normalizeFqdn = (text: string): string => text.toLowerCase().replace(/\.$/, '');

function normalizeData(kind: IdentityKind, data: Buffer, fail: (detail: string) => never): Buffer {
  switch (kind) {
    case 'key-id':
      if (data.length === 0 || data.length > MAX_KEY_ID_OCTETS) fail(`KEY_ID must be 1..${MAX_KEY_ID_OCTETS} octets`);
      return data;
    case 'fqdn': {
      const name = normalizeFqdn(data.toString('latin1'));
      const bad = fqdnProblem(name);
      if (bad) fail(`FQDN ${JSON.stringify(name)}: ${bad}`);
      return Buffer.from(name, 'ascii');
    }
    case 'rfc822': {
      const text = data.toString('latin1');
      const at = text.lastIndexOf('@');
      const local = text.slice(0, at);
      const domain = normalizeFqdn(text.slice(at + 1));
      if (at < 1 || !/^[\x21-\x7e]+$/.test(local) || local.includes('@') || fqdnProblem(domain)) fail(`${JSON.stringify(text)} is not local@domain`);
      return Buffer.from(`${local}@${domain}`, 'ascii');
    }
    case 'ipv4':
    case 'ipv6':
      if (data.length !== (kind === 'ipv4' ? 4 : 16)) fail(`${kind} identity of ${data.length} octets`);
      return data;
  }
}

/** Normalize an identity as received in an ID payload; GKM_GROUP_INVALID_ID / `code` if unusable. */
export function normalizeIdentity(id: StoredIdentity, code: ErrorCode = 'GKM_GROUP_INVALID_ID', field = 'identity'): StoredIdentity {
  const kind = KIND_OF.get(id.idType);
  const fail = (detail: string): never => {
    throw new GkmError(code, { field, detail });
  };
  if (!kind) fail(`ID type ${id.idType} is not supported`);
  return { idType: id.idType, data: normalizeData(kind!, Buffer.from(id.data), fail) };
}

/** Parse the JSON form, allowing `kinds`. */
export function parseIdentity(v: unknown, r: InputReader, field: string, kinds: readonly IdentityKind[]): StoredIdentity {
  const o = r.object(v, field, ['type', 'value', 'hex']);
  const kind = r.oneOf(o.type, `${field}.type`, kinds);
  const fail = (detail: string): never => r.fail(field, detail);
  let data: Buffer;
  if (o.hex !== undefined) {
    if (kind !== 'key-id' || o.value !== undefined) fail('hex is for a binary key-id, instead of value');
    const hex = r.string(o.hex, `${field}.hex`, { pattern: /^(?:[0-9a-fA-F]{2})+$/, what: 'hex octets' });
    data = Buffer.from(hex, 'hex');
  } else {
    const text = r.string(o.value, `${field}.value`, { max: 1024 });
    if (kind === 'ipv4' || kind === 'ipv6') {
      const addr = parseIp(text);
      if (!addr || addr.length !== (kind === 'ipv4' ? 4 : 16)) fail(`${JSON.stringify(text)} is not an ${kind === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
      data = addr!;
    } else {
      data = Buffer.from(text, kind === 'key-id' ? 'utf8' : 'latin1');
      if (kind !== 'key-id' && !/^[\x21-\x7e]+$/.test(text)) fail('must be printable ASCII');
    }
  }
  return { idType: ID_TYPE[kind], data: normalizeData(kind, data, fail) };
}

/** The JSON form of a stored identity (KEY_IDs that are not printable ASCII as hex). */
export function identityInput(id: StoredIdentity): IdentityInput {
  const kind = KIND_OF.get(id.idType);
  if (!kind) return { type: 'key-id', hex: id.data.toString('hex') };
  if (kind === 'ipv4' || kind === 'ipv6') return { type: kind, value: ipText(id.data) };
  if (kind === 'key-id' && !/^[\x20-\x7e]+$/.test(id.data.toString('latin1'))) return { type: 'key-id', hex: id.data.toString('hex') };
  return { type: kind, value: id.data.toString(kind === 'key-id' ? 'utf8' : 'latin1') };
}

/** Short text for logs and audit entries, e.g. "key-id:sample-group", "fqdn:video.example". */
export function identityLabel(id: StoredIdentity): string {
  const j = identityInput(id);
  return 'hex' in j ? `${j.type}:0x${j.hex}` : `${j.type}:${j.value}`;
}
