/**
 * Parsed settings → MemberSettings: every key checked, defaults as in swanctl.conf(5), all
 * problems of a file reported together with their line and column.
 */
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Identity } from '../../ikev2/sa/identity.ts';
import { ANY_ADDR, checkLocalAddress, checkRemoteAddress } from './addresses.ts';
import { IssueList, type SourcePos } from './errors.ts';
import { parseIdentity } from './identities.ts';
import type { AuthMethod, ChildSaSettings, ConnectionSettings, FileRef, IkeSecret, LocalEnd, MemberSettings, PrivateKeySecret, RemoteEnd, SecretSource } from './model.ts';
import { parseProposalList } from './proposals.ts';
import { SectionReader } from './reader.ts';
import { parseSettings, type ValueItem } from './syntax.ts';
import { parseTrafficSelector, type TsSpec } from './traffic-selectors.ts';

const HOUR = 3600;
const PORT = { min: 1, max: 65_535 } as const;
const MAX_PER_RESOURCE = 1024;

export interface BuildResult {
  readonly settings: MemberSettings;
  /** Accepted but noteworthy: ignored swanctl settings, inline secrets. */
  readonly warnings: readonly string[];
}

/** Parses and checks a configuration text; `file` names it in messages and anchors relative paths. */
export function buildSettings(text: string, file: string): BuildResult {
  const issues = new IssueList(file);
  const top = new SectionReader(parseSettings(text, file), issues, '');
  const ctx: Ctx = { issues, baseDir: dirname(resolve(file)) };
  const connections = (top.section('connections')?.subsections() ?? []).map((c) => connection(c, ctx));
  const secrets = top.section('secrets');
  const ikeSecrets: IkeSecret[] = [];
  const privateKeys: PrivateKeySecret[] = [];
  for (const s of secrets?.subsections() ?? []) {
    if (s.name.startsWith('ike')) ikeSecrets.push(ikeSecret(s, ctx));
    else if (/^(private|rsa|ecdsa|pkcs8)/.test(s.name)) privateKeys.push(privateKey(s, ctx));
    else issues.error(s.pos, `secrets.${s.name}: unsupported secret type (use ike<suffix> for a PSK, private<suffix> for a key file)`);
  }
  secrets?.finish();
  top.finish();
  if (connections.length === 0 && issues.count === 0) issues.error({ line: 1, column: 1 }, 'no connections { name { ... } } configured');
  issues.throwIfAny();
  return {
    settings: { file, connections, ikeSecrets, privateKeys },
    warnings: issues.warnings.map((w) => `${w.file}:${w.pos.line}:${w.pos.column}: ${w.message}`),
  };
}

interface Ctx {
  readonly issues: IssueList;
  readonly baseDir: string;
}

/** Runs a value parser, turning its Error into an issue at `pos`. */
function attempt<T>(ctx: Ctx, pos: SourcePos, what: string, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    ctx.issues.error(pos, `${what}: ${(e as Error).message}`);
    return undefined;
  }
}

const fileRef = (ctx: Ctx, path: string, pos: SourcePos): FileRef => ({ path: isAbsolute(path) ? path : resolve(ctx.baseDir, path), pos });
const fileRefs = (ctx: Ctx, items: readonly ValueItem[]): FileRef[] => items.map((i) => fileRef(ctx, i.text, i.pos));

function identity(r: SectionReader, ctx: Ctx, key: string): Identity | undefined {
  const v = r.string(key);
  return v && attempt(ctx, v.pos, `${r.path}.${key}`, () => parseIdentity(v.value));
}

/** `%any` alone means any; it cannot be mixed with addresses. */
function addresses(r: SectionReader, ctx: Ctx, key: string, check: (a: string) => void): string[] {
  const items = r.list(key);
  if (items.some((i) => i.text === ANY_ADDR)) {
    if (items.length > 1) ctx.issues.error(items[0]!.pos, `${r.path}.${key}: %any cannot be combined with addresses`);
    return [];
  }
  return items.filter((i) => attempt(ctx, i.pos, `${r.path}.${key}`, () => (check(i.text), true))).map((i) => i.text);
}

function connection(r: SectionReader, ctx: Ctx): ConnectionSettings {
  const version = r.int('version', { min: 0, max: 2 }, 2);
  if (version !== 2) ctx.issues.error(r.setting('version')!.pos, `${r.path}.version: only IKEv2 (version = 2) is supported`);
  const proposals = parseProposalList(r.list('proposals'), 'ike', ctx.issues, r.pos, `${r.path}.proposals`);
  const rekeyTime = r.duration('rekey_time', 4 * HOUR);
  const overTime = r.duration('over_time', Math.round(rekeyTime * 0.1));
  const fragmentation = r.oneOf('fragmentation', ['yes', 'accept', 'no', 'force'], 'yes');
  if (fragmentation === 'force') ctx.issues.error(r.setting('fragmentation')!.pos, `${r.path}.fragmentation = force is not supported (use yes)`);
  const local = localEnd(r.section('local'), ctx, r);
  const remote = remoteEnd(r.section('remote'), ctx, r);
  const childrenSection = r.section('children');
  const children = (childrenSection?.subsections() ?? []).map((c) => child(c, ctx));
  childrenSection?.finish();
  const settings: ConnectionSettings = {
    name: r.name,
    pos: r.pos,
    localAddrs: addresses(r, ctx, 'local_addrs', checkLocalAddress),
    remoteAddrs: addresses(r, ctx, 'remote_addrs', checkRemoteAddress),
    localPort: r.int('local_port', PORT, 500),
    remotePort: r.int('remote_port', PORT, 500),
    proposals,
    local,
    remote,
    children,
    rekeyTime,
    overTime,
    randTime: r.duration('rand_time', overTime),
    dpdDelay: r.duration('dpd_delay', 0),
    fragmentation: fragmentation !== 'no',
    optimizedRekey: r.bool('optimized_rekey', false),
    keyingtries: r.int('keyingtries', { min: 0, max: 1_000_000 }, 1),
  };
  r.ignored('mobike', ['no'], 'MOBIKE (RFC 4555) is not implemented');
  r.ignored('reauth_time', ['0', '0s'], 'reauthentication is not implemented; the IKE SA is rekeyed instead');
  r.ignored('dpd_timeout', [], 'IKEv1 only');
  r.ignored('encap', ['no'], 'UDP encapsulation follows NAT detection');
  r.finish();
  return settings;
}

/** swanctl's default is pubkey; an invalid value is reported once (no follow-up errors as pubkey). */
function authMethod(r: SectionReader): AuthMethod {
  return r.has('auth') ? r.oneOf('auth', ['psk', 'pubkey'], 'psk') : 'pubkey';
}

function localEnd(r: SectionReader | undefined, ctx: Ctx, conn: SectionReader): LocalEnd {
  if (!r) return missingEnd(ctx, conn, 'local', { auth: 'pubkey', id: undefined, certs: [], pubkeys: [] });
  const end: LocalEnd = {
    auth: authMethod(r),
    id: identity(r, ctx, 'id'),
    certs: fileRefs(ctx, r.list('certs')),
    pubkeys: fileRefs(ctx, r.list('pubkeys')),
  };
  if (end.auth === 'pubkey' && end.certs.length === 0 && end.pubkeys.length === 0) {
    ctx.issues.error(r.pos, `${r.path}: auth = pubkey needs certs or pubkeys (the private key comes from secrets)`);
  }
  r.finish();
  return end;
}

function remoteEnd(r: SectionReader | undefined, ctx: Ctx, conn: SectionReader): RemoteEnd {
  if (!r) return missingEnd(ctx, conn, 'remote', { auth: 'pubkey', id: undefined, cacerts: [], pubkeys: [] });
  const end: RemoteEnd = {
    auth: authMethod(r),
    id: identity(r, ctx, 'id'),
    cacerts: fileRefs(ctx, r.list('cacerts')),
    pubkeys: fileRefs(ctx, r.list('pubkeys')),
  };
  if (end.auth === 'pubkey' && end.cacerts.length === 0 && end.pubkeys.length === 0) {
    ctx.issues.error(r.pos, `${r.path}: auth = pubkey needs cacerts or pubkeys to verify the peer`);
  }
  r.finish();
  return end;
}

function missingEnd<T>(ctx: Ctx, conn: SectionReader, which: string, fallback: T): T {
  ctx.issues.error(conn.pos, `${conn.path}: a ${which} { auth = ... } section is required`);
  return fallback;
}

function selectors(r: SectionReader, ctx: Ctx, key: string): TsSpec[] {
  const items: readonly ValueItem[] = r.list(key);
  if (items.length === 0) return [parseTrafficSelector('dynamic')];
  return items.flatMap((i) => attempt(ctx, i.pos, `${r.path}.${key}`, () => parseTrafficSelector(i.text)) ?? []);
}

function child(r: SectionReader, ctx: Ctx): ChildSaSettings {
  const mode = r.string('mode');
  if (mode && !['tunnel', 'transport'].includes(mode.value)) {
    const hint = mode.value === 'beet' ? 'BEET mode is not negotiated by the IKE engine yet' : 'use tunnel or transport';
    ctx.issues.error(mode.pos, `${r.path}.mode = ${mode.value} is not supported: ${hint}`);
  }
  const start = r.string('start_action');
  if (start && !['none', 'start'].includes(start.value)) {
    const hint = start.value === 'trap' ? 'trap policies need kernel IPsec, which this daemon does not drive' : 'use none or start';
    ctx.issues.error(start.pos, `${r.path}.start_action = ${start.value} is not supported: ${hint}`);
  }
  const rekeyTime = r.duration('rekey_time', HOUR);
  const lifeTime = r.duration('life_time', Math.round(rekeyTime * 1.1));
  if (rekeyTime > 0 && lifeTime > 0 && lifeTime <= rekeyTime) {
    ctx.issues.error(r.setting('life_time')?.pos ?? r.pos, `${r.path}.life_time (${lifeTime}s) must be longer than rekey_time (${rekeyTime}s)`);
  }
  const settings: ChildSaSettings = {
    name: r.name,
    pos: r.pos,
    localTs: selectors(r, ctx, 'local_ts'),
    remoteTs: selectors(r, ctx, 'remote_ts'),
    espProposals: parseProposalList(r.list('esp_proposals'), 'esp', ctx.issues, r.pos, `${r.path}.esp_proposals`),
    mode: mode?.value === 'transport' ? 'transport' : 'tunnel',
    rekeyTime,
    lifeTime,
    randTime: r.duration('rand_time', Math.max(0, lifeTime - rekeyTime)),
    startAction: start?.value === 'start' ? 'start' : 'none',
    perResource: perResource(r, ctx),
  };
  r.ignored('dpd_action', ['clear', 'none'], 'a dead peer clears its SAs');
  r.ignored('close_action', ['none'], 'SAs closed by the peer are not restarted');
  r.finish();
  return settings;
}

/** `per_resource = N` or `cpus` (one per available CPU); absent = off. */
function perResource(r: SectionReader, ctx: Ctx): number {
  const v = r.string('per_resource');
  if (!v) return 0;
  if (v.value === 'cpus') return availableParallelism();
  const n = /^\d+$/.test(v.value) ? Number(v.value) : NaN;
  if (n >= 1 && n <= MAX_PER_RESOURCE) return n;
  ctx.issues.error(v.pos, `${r.path}.per_resource must be cpus or an integer in 1..${MAX_PER_RESOURCE}; found ${JSON.stringify(v.value)}`);
  return 0;
}

function secretSource(r: SectionReader, ctx: Ctx, key: string): SecretSource | undefined {
  const v = r.string(key);
  if (!v) return undefined;
  ctx.issues.warn(v.pos, `${r.path}.${key}: secret written inline in the configuration; prefer file = PATH readable only by the daemon`);
  return { kind: 'inline', value: v.value, pos: v.pos };
}

function ikeSecret(r: SectionReader, ctx: Ctx): IkeSecret {
  const ids = r.settingsWhere((k) => k === 'id' || /^id[-_]/.test(k)).flatMap((s) =>
    s.items.flatMap((i) => attempt(ctx, i.pos, `${r.path}.${s.key}`, () => parseIdentity(i.text)) ?? []),
  );
  const inline = secretSource(r, ctx, 'secret');
  const file = r.string('file');
  let source: SecretSource | undefined = inline;
  if (file) source = { kind: 'file', file: fileRef(ctx, file.value, file.pos) };
  if (inline && file) ctx.issues.error(file.pos, `${r.path}: give either secret or file, not both`);
  if (!source) ctx.issues.error(r.pos, `${r.path}: secret = ... or file = PATH is required`);
  r.finish();
  return { name: r.name, pos: r.pos, ids, source: source ?? { kind: 'inline', value: '', pos: r.pos } };
}

function privateKey(r: SectionReader, ctx: Ctx): PrivateKeySecret {
  const file = r.string('file');
  if (!file) ctx.issues.error(r.pos, `${r.path}: file = PATH (the private key) is required`);
  const passphrase = secretSource(r, ctx, 'secret');
  r.finish();
  return { name: r.name, pos: r.pos, file: fileRef(ctx, file?.value ?? '', file?.pos ?? r.pos), passphrase };
}
