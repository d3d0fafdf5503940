/**
 * The master key that encrypts secrets at rest: 32 bytes, from a file (GCKS_MASTER_KEY_FILE)
 * or the environment (GCKS_MASTER_KEY), written as base64 or hex (a file may also hold the
 * 32 raw bytes). No key is never a silent fallback: it is GKM_STORE_MASTER_KEY_MISSING.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { GkmError } from '../ikev2/errors.ts';

export const MASTER_KEY_LENGTH = 32;
export const MASTER_KEY_FILE_ENV = 'GCKS_MASTER_KEY_FILE';
export const MASTER_KEY_ENV = 'GCKS_MASTER_KEY';

const HOW_TO =
  `Create one with \`openssl rand -base64 32 > master.key && chmod 600 master.key\` and set ${MASTER_KEY_FILE_ENV}=master.key ` +
  `(or put the base64/hex text in ${MASTER_KEY_ENV}). Keep it apart from the database and back it up: without it the stored secrets cannot be read.`;

const invalid = (where: string, detail: string): GkmError =>
  new GkmError('GKM_STORE_MASTER_KEY_INVALID', { field: where, detail: `${detail}; it must be ${MASTER_KEY_LENGTH} bytes as base64 or hex. ${HOW_TO}` });

/** Decode a master key written as hex (64 digits) or base64/base64url (44/43 characters). */
export function parseMasterKey(text: string, where = MASTER_KEY_ENV): Buffer {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) key = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
  if (!key || key.length !== MASTER_KEY_LENGTH) throw invalid(where, 'not 32 bytes of base64 or hex');
  return key;
}

export interface MasterKeySource {
  readonly key: Buffer;
  /** "file:PATH" or "env:GCKS_MASTER_KEY". */
  readonly origin: string;
  /** E.g. a key file readable by group or others. */
  readonly warnings: readonly string[];
}

export function readMasterKeyFile(path: string): MasterKeySource {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new GkmError('GKM_STORE_MASTER_KEY_MISSING', { field: path, detail: `cannot read the master key file (${(e as NodeJS.ErrnoException).code ?? 'error'}). ${HOW_TO}`, cause: e });
  }
  const key = bytes.length === MASTER_KEY_LENGTH ? Buffer.from(bytes) : parseMasterKey(bytes.toString('latin1'), path);
  bytes.fill(0);
  const warnings = (statSync(path).mode & 0o077) !== 0 ? [`master key file ${path} is readable by group or others; chmod 600 it`] : [];
  return { key, origin: `file:${path}`, warnings };
}

/**
 * The master key from `file` (or GCKS_MASTER_KEY_FILE) or GCKS_MASTER_KEY. Setting both
 * is refused as ambiguous.
 */
export function loadMasterKey(opts: { readonly file?: string | undefined; readonly env?: NodeJS.ProcessEnv } = {}): MasterKeySource {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env[MASTER_KEY_FILE_ENV];
  const inline = env[MASTER_KEY_ENV];
  if (file && inline) throw invalid(MASTER_KEY_ENV, `both ${MASTER_KEY_FILE_ENV} and ${MASTER_KEY_ENV} are set; keep one`);
  if (file) return readMasterKeyFile(file);
  if (inline) return { key: parseMasterKey(inline), origin: `env:${MASTER_KEY_ENV}`, warnings: [] };
  throw new GkmError('GKM_STORE_MASTER_KEY_MISSING', { detail: `neither ${MASTER_KEY_FILE_ENV} nor ${MASTER_KEY_ENV} is set. ${HOW_TO}` });
}

/**
 * Write a new random master key (base64) to `path`, 0600, refusing to overwrite one: for
 * `gcks init`-style first-run set-up. Returns the key.
 */
export function generateMasterKeyFile(path: string): Buffer {
  if (existsSync(path)) throw new GkmError('GKM_STORE_CONFLICT', { field: path, detail: 'a master key file exists already; never overwrite it' });
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(MASTER_KEY_LENGTH);
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${key.toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
  return key;
}
