/**
 * GCKS configuration: built-in defaults, then a JSON file (GCKS_CONFIG or an explicit path),
 * then environment overrides. JSON keeps us free of a YAML dependency; unknown fields are
 * errors so typos do not pass silently. Paths in the file are relative to the file; paths in
 * the environment to the working directory. The master key itself never sits in the file:
 * only its path (masterKeyFile / GCKS_MASTER_KEY_FILE), or GCKS_MASTER_KEY in the environment.
 *
 * Environment: GCKS_CONFIG, GCKS_DB, GCKS_DB_BUSY_TIMEOUT_MS, GCKS_LISTEN (comma-separated
 * addresses), GCKS_PORTS (comma-separated UDP ports), GCKS_MASTER_KEY_FILE, GCKS_LOG_LEVEL,
 * GCKS_SAMPLE_GROUP (true/false), GCKS_KEYLOG_DIR.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isIP } from 'node:net';
import { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_DB_PATH } from '../../store/database.ts';
import { InputReader } from './input.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface GcksConfig {
  readonly db: { readonly path: string; readonly busyTimeoutMs: number };
  /** Local addresses and UDP ports for registration (RFC 9838 §2.1.1: 500/4500 SHOULD, 848 MAY). */
  readonly listen: { readonly addresses: readonly string[]; readonly ports: readonly number[] };
  /** Path of the master key file; null = GCKS_MASTER_KEY from the environment. */
  readonly masterKeyFile: string | null;
  readonly log: { readonly level: LogLevel };
  /** Create the sample group on first start. */
  readonly sampleGroup: boolean;
  /** Write Wireshark/keys.json key logs here (off when null). */
  readonly keylogDir: string | null;
  /**
   * Pin the event-loop thread to this CPU and the process's other threads to the remaining
   * allowed CPUs (Linux; src/gcks/cpu-affinity.ts); null: the kernel places threads.
   */
  readonly eventLoopCpu: number | null;
}

export const DEFAULT_CONFIG: GcksConfig = {
  db: { path: resolve(DEFAULT_DB_PATH), busyTimeoutMs: DEFAULT_BUSY_TIMEOUT_MS },
  listen: { addresses: ['0.0.0.0', '::'], ports: [500, 4500, 848] },
  masterKeyFile: null,
  log: { level: 'info' },
  sampleGroup: true,
  keylogDir: null,
  eventLoopCpu: null,
};

export interface LoadConfigOptions {
  /** Config file; default GCKS_CONFIG, else none. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface LoadedConfig {
  readonly config: GcksConfig;
  /** Where values came from, in order ("defaults", "file:…", "env:GCKS_DB", …). */
  readonly sources: readonly string[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

const address = (r: InputReader, v: unknown, field: string): string => {
  const a = r.string(v, field);
  if (isIP(a) === 0) r.fail(field, `${JSON.stringify(a)} is not an IP address`);
  return a;
};
const port = (r: InputReader, v: unknown, field: string): number => r.integer(v, field, 1, 65535);

function nonEmptyUnique<T>(r: InputReader, values: T[], field: string): T[] {
  if (values.length === 0) r.fail(field, 'needs at least one value');
  if (new Set(values).size !== values.length) r.fail(field, 'has duplicates');
  return values;
}

function applyFile(c: Mutable<GcksConfig>, path: string): void {
  const r = new InputReader('GKM_CONFIG_INVALID', path);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    r.fail('', `cannot read the JSON config file: ${(e as Error).message}`);
  }
  const base = dirname(path);
  const o = r.object(json, '', ['db', 'listen', 'masterKeyFile', 'log', 'sampleGroup', 'keylogDir', 'eventLoopCpu']);
  if (o.db !== undefined) {
    const db = r.object(o.db, 'db', ['path', 'busyTimeoutMs']);
    if (db.path !== undefined) c.db.path = resolve(base, r.string(db.path, 'db.path'));
    if (db.busyTimeoutMs !== undefined) c.db.busyTimeoutMs = r.integer(db.busyTimeoutMs, 'db.busyTimeoutMs', 0, 600_000);
  }
  if (o.listen !== undefined) {
    const l = r.object(o.listen, 'listen', ['addresses', 'ports']);
    if (l.addresses !== undefined) c.listen.addresses = nonEmptyUnique(r, r.array(l.addresses, 'listen.addresses').map((a, i) => address(r, a, `listen.addresses[${i}]`)), 'listen.addresses');
    if (l.ports !== undefined) c.listen.ports = nonEmptyUnique(r, r.array(l.ports, 'listen.ports').map((p, i) => port(r, p, `listen.ports[${i}]`)), 'listen.ports');
  }
  if (o.masterKeyFile !== undefined) c.masterKeyFile = resolve(base, r.string(o.masterKeyFile, 'masterKeyFile'));
  if (o.log !== undefined) {
    const log = r.object(o.log, 'log', ['level']);
    if (log.level !== undefined) c.log.level = r.oneOf(log.level, 'log.level', LOG_LEVELS);
  }
  if (o.sampleGroup !== undefined) c.sampleGroup = r.boolean(o.sampleGroup, 'sampleGroup');
  if (o.keylogDir !== undefined) c.keylogDir = o.keylogDir === null ? null : resolve(base, r.string(o.keylogDir, 'keylogDir'));
  if (o.eventLoopCpu !== undefined) c.eventLoopCpu = o.eventLoopCpu === null ? null : r.integer(o.eventLoopCpu, 'eventLoopCpu', 0, MAX_CPU);
}

/** Highest CPU number accepted for eventLoopCpu (Linux's CONFIG_NR_CPUS tops out at 8,192). */
const MAX_CPU = 8191;

const list = (text: string): string[] => text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Environment overrides, each reported in `sources`. */
function applyEnv(c: Mutable<GcksConfig>, env: NodeJS.ProcessEnv, cwd: string, sources: string[]): void {
  const r = new InputReader('GKM_CONFIG_INVALID');
  const take = (name: string, apply: (v: string) => void): void => {
    const v = env[name];
    if (v === undefined || v === '') return;
    apply(v);
    sources.push(`env:${name}`);
  };
  take('GCKS_DB', (v) => (c.db.path = resolve(cwd, v)));
  take('GCKS_DB_BUSY_TIMEOUT_MS', (v) => (c.db.busyTimeoutMs = r.integer(Number(v), 'GCKS_DB_BUSY_TIMEOUT_MS', 0, 600_000)));
  take('GCKS_LISTEN', (v) => (c.listen.addresses = nonEmptyUnique(r, list(v).map((a) => address(r, a, 'GCKS_LISTEN')), 'GCKS_LISTEN')));
  take('GCKS_PORTS', (v) => (c.listen.ports = nonEmptyUnique(r, list(v).map((p) => port(r, /^\d+$/.test(p) ? Number(p) : p, 'GCKS_PORTS')), 'GCKS_PORTS')));
  take('GCKS_MASTER_KEY_FILE', (v) => (c.masterKeyFile = resolve(cwd, v)));
  take('GCKS_LOG_LEVEL', (v) => (c.log.level = r.oneOf(v, 'GCKS_LOG_LEVEL', LOG_LEVELS)));
  take('GCKS_SAMPLE_GROUP', (v) => (c.sampleGroup = r.oneOf(v, 'GCKS_SAMPLE_GROUP', ['true', 'false', '1', '0']) === 'true' || v === '1'));
  take('GCKS_KEYLOG_DIR', (v) => (c.keylogDir = resolve(cwd, v)));
  take('GCKS_EVENT_LOOP_CPU', (v) => (c.eventLoopCpu = v === 'none' ? null : r.integer(/^\d+$/.test(v) ? Number(v) : v, 'GCKS_EVENT_LOOP_CPU', 0, MAX_CPU)));
}

export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const c = structuredClone(DEFAULT_CONFIG) as Mutable<GcksConfig>;
  c.db.path = resolve(cwd, DEFAULT_DB_PATH);
  const sources = ['defaults'];
  const file = opts.file ?? (env.GCKS_CONFIG || undefined);
  if (file !== undefined) {
    const path = resolve(cwd, file);
    applyFile(c, path);
    sources.push(`file:${path}`);
  }
  applyEnv(c, env, cwd, sources);
  return { config: c, sources };
}
