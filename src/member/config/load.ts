/**
 * Reads a configuration file and the files it names (PSKs, private keys, certificates,
 * public keys) into a LoadedConfig: each connection with its engine-ready credentials.
 * PSKs are chosen per connection as strongSwan does, by the identities listed in
 * `secrets { ike-* { id = ... } }`; private keys by matching the configured certificate or
 * public key. Problems are reported with the line and column that named the file.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { Id, sameIdentity, subjectDer, type Identity } from '../../ikev2/sa/identity.ts';
import type { LocalAuth, PeerAuth } from '../../ikev2/sa/config.ts';
import { publicKeyToSpki } from '../../ikev2/crypto/spki.ts';
import { buildSettings } from './build.ts';
import { ConfigError, IssueList } from './errors.ts';
import type { ConnectionSettings, FileRef, IkeSecret, MemberSettings, SecretSource } from './model.ts';

export interface LoadedConnection extends ConnectionSettings {
  /** Our identity; undefined = the address of each IKE SA (strongSwan's default). */
  readonly localIdentity: Identity | undefined;
  readonly localAuth: LocalAuth;
  readonly remoteAuth: PeerAuth;
}

export interface LoadedConfig {
  readonly file: string;
  readonly connections: readonly LoadedConnection[];
  /** For the log: ignored settings, inline secrets, loose file permissions. Never a secret. */
  readonly warnings: readonly string[];
}

/** Loads the configuration file at `path`. Throws ConfigError. */
export function loadConfigFile(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file: path, pos: { line: 1, column: 1 }, message: `cannot read the configuration: ${(e as Error).message}` }]);
  }
  return loadConfigText(text, path);
}

/** Loads a configuration given as text (`file` anchors relative paths). Throws ConfigError. */
export function loadConfigText(text: string, file: string): LoadedConfig {
  const { settings, warnings } = buildSettings(text, file);
  const issues = new IssueList(file);
  const files = new FileReader(issues);
  const connections = settings.connections.map((c) => loadConnection(c, settings, files));
  issues.throwIfAny();
  return { file, connections, warnings: [...warnings, ...issues.warnings.map((w) => `${w.file}:${w.pos.line}:${w.pos.column}: ${w.message}`)] };
}

/** Reads files once each, reporting failures at the position that named them. */
class FileReader {
  readonly #cache = new Map<string, Buffer | undefined>();

  constructor(readonly issues: IssueList) {}

  read(ref: FileRef, secret = false): Buffer | undefined {
    if (this.#cache.has(ref.path)) return this.#cache.get(ref.path);
    let data: Buffer | undefined;
    try {
      data = readFileSync(ref.path);
      if (secret && (statSync(ref.path).mode & 0o077) !== 0) this.issues.warn(ref.pos, `${ref.path} is readable by group or others (chmod 600)`);
    } catch (e) {
      this.issues.error(ref.pos, `cannot read ${ref.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.#cache.set(ref.path, data);
    return data;
  }

  parse<T>(ref: FileRef, what: string, parse: (data: Buffer) => T[], secret = false): T[] {
    const data = this.read(ref, secret);
    if (!data) return [];
    try {
      const out = parse(data);
      if (out.length === 0) throw new Error('nothing found');
      return out;
    } catch (e) {
      this.issues.error(ref.pos, `${ref.path}: not a valid ${what}: ${(e as Error).message}`);
      return [];
    }
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const isPem = (data: Buffer): boolean => data.includes('-----BEGIN');

function certificates(data: Buffer): X509Certificate[] {
  if (!isPem(data)) return [new X509Certificate(data)];
  return (data.toString('latin1').match(PEM_CERT) ?? []).map((pem) => new X509Certificate(pem));
}

function publicKeys(data: Buffer): KeyObject[] {
  return [isPem(data) ? createPublicKey(data) : createPublicKey({ key: data, format: 'der', type: 'spki' })];
}

/** swanctl secret encodings: 0x<hex>, 0s<base64>, else the text itself. */
export function decodeSecret(text: string): Buffer {
  if (/^0x/i.test(text)) {
    const hex = text.slice(2);
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new Error('0x secret is not whole hex octets');
    return Buffer.from(hex, 'hex');
  }
  if (text.startsWith('0s')) return Buffer.from(text.slice(2), 'base64');
  return Buffer.from(text, 'utf8');
}

function secretBytes(src: SecretSource, files: FileReader): Buffer | undefined {
  const pos = src.kind === 'inline' ? src.pos : src.file.pos;
  const text = src.kind === 'inline' ? src.value : files.read(src.file, true)?.toString('utf8').replace(/\r?\n$/, '');
  if (text === undefined) return undefined;
  try {
    const b = decodeSecret(text);
    if (b.length === 0) throw new Error('empty secret');
    return b;
  } catch (e) {
    files.issues.error(pos, (e as Error).message);
    return undefined;
  }
}

/**
 * strongSwan's shared-key lookup: a secret listing the peer's identity beats one listing
 * ours, which beats one listing none (any); a secret listing other identities only is no
 * candidate. The first of the best wins.
 */
function pskFor(local: Identity | undefined, remote: Identity | undefined, secrets: readonly IkeSecret[]): IkeSecret | undefined {
  let best: { secret: IkeSecret; score: number } | undefined;
  const has = (s: IkeSecret, id: Identity | undefined): boolean => id !== undefined && s.ids.some((x) => sameIdentity(x, id));
  for (const s of secrets) {
    const score = s.ids.length === 0 ? 0 : (has(s, remote) ? 2 : 0) + (has(s, local) ? 1 : 0);
    if (s.ids.length > 0 && score === 0) continue;
    if (!best || score > best.score) best = { secret: s, score };
  }
  return best?.secret;
}

const spkiOf = (k: KeyObject): string => publicKeyToSpki(k).toString('hex');

function loadConnection(c: ConnectionSettings, settings: MemberSettings, files: FileReader): LoadedConnection {
  const certs = c.local.certs.flatMap((f) => files.parse(f, 'certificate', certificates));
  const ownPubkeys = c.local.pubkeys.flatMap((f) => files.parse(f, 'public key', publicKeys));
  const subject = certs[0] && subjectDer(certs[0]);
  // strongSwan's defaults: the certificate subject, else our (single) address.
  const onlyAddress = c.localAddrs.length === 1 && isIP(c.localAddrs[0]!) !== 0 ? c.localAddrs[0] : undefined;
  const localIdentity = c.local.id ?? (subject ? Id.dn(subject) : undefined);
  const pskLocalId = localIdentity ?? (onlyAddress ? Id.ip(onlyAddress) : undefined);

  let psk: Buffer | undefined;
  if (c.local.auth === 'psk' || c.remote.auth === 'psk') {
    const secret = pskFor(pskLocalId, c.remote.id, settings.ikeSecrets);
    if (secret) psk = secretBytes(secret.source, files);
    else files.issues.error(c.pos, `connections.${c.name}: no PSK in secrets { ike-* { id = ...; secret = ... } } for its identities`);
  }
  const placeholder = Buffer.alloc(0);

  let localAuth: LocalAuth = { method: 'psk', psk: psk ?? placeholder };
  if (c.local.auth === 'pubkey') {
    const own = certs[0]?.publicKey ?? ownPubkeys[0];
    const privateKey = own && privateKeyFor(own, settings, files);
    if (own && !privateKey) files.issues.error(c.pos, `connections.${c.name}: no private key in secrets { private-* { file = ... } } matches the local certificate or public key`);
    if (privateKey) localAuth = certs.length > 0 ? { method: 'signature', privateKey, certificates: certs } : { method: 'signature', privateKey };
  }
  const remoteAuth: PeerAuth =
    c.remote.auth === 'psk'
      ? { method: 'psk', psk: psk ?? placeholder }
      : {
          method: 'signature',
          trustedCas: c.remote.cacerts.flatMap((f) => files.parse(f, 'certificate', certificates)),
          publicKeys: c.remote.pubkeys.flatMap((f) => files.parse(f, 'public key', publicKeys)),
        };
  return { ...c, localIdentity, localAuth, remoteAuth };
}

function privateKeyFor(own: KeyObject, settings: MemberSettings, files: FileReader): KeyObject | undefined {
  const want = spkiOf(own);
  for (const k of settings.privateKeys) {
    const passphrase = k.passphrase && secretBytes(k.passphrase, files);
    const [key] = files.parse(k.file, 'private key', (data) => [createPrivateKey(isPem(data) ? { key: data, ...(passphrase ? { passphrase } : {}) } : { key: data, format: 'der', type: 'pkcs8', ...(passphrase ? { passphrase } : {}) })], true);
    if (key && spkiOf(createPublicKey(key)) === want) return key;
  }
  return undefined;
}
