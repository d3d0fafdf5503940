/**
 * The registration bench's native load generator (bench/native/gm-load.c): the lean GM's
 * registrations in C with libcrypto, so that the generator leaves more of the two cores to the
 * GCKS under test (docs/decisions.md, "The registration benchmark's native load generator").
 * Built on first use with the machine's C compiler against libcrypto (Debian: gcc, libssl-dev);
 * when that fails the bench says why and keeps the lean TypeScript generator.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { Endpoint } from '../../src/ikev2/sa/types.ts';
import { numberedProposals } from '../../src/ikev2/sa/proposals.ts';
import type { ProposalSpec } from '../../src/ikev2/wire/index.ts';
import { ikeSaInitRequest } from './lean-gm.ts';

const SOURCE = fileURLToPath(new URL('../native/gm-load.c', import.meta.url));
const BINARY = fileURLToPath(new URL('../out/gm-load', import.meta.url));

/** Path of the built generator, or why there is none. */
export function buildGmLoad(): { readonly path: string } | { readonly error: string } {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs > statSync(SOURCE).mtimeMs) return { path: BINARY };
  mkdirSync(fileURLToPath(new URL('../out/', import.meta.url)), { recursive: true });
  const cc = process.env['CC'] ?? 'cc';
  const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-o', BINARY, SOURCE, '-lcrypto'], { encoding: 'utf8' });
  if (r.error) return { error: `${cc}: ${r.error.message}` };
  if (r.status !== 0) return { error: `${cc} failed (needs libcrypto's headers: Debian libssl-dev): ${r.stderr.trim().split('\n').slice(0, 3).join(' / ')}` };
  return { path: BINARY };
}

export interface GmLoadOptions {
  readonly gcks: Endpoint;
  readonly proposal: ProposalSpec;
  /** IDg of the group to join (ID_KEY_ID). */
  readonly group: Buffer;
  /** Members first..end-1 register, `concurrency` at a time. */
  readonly first: number;
  readonly end: number;
  readonly concurrency: number;
  /** printf formats of member i's ID_KEY_ID and PSK (one %d / %08d each). */
  readonly idFormat: string;
  readonly pskFormat: string;
  /** Whether IKE goes with the non-ESP marker (neither end on port 500). */
  readonly marked: boolean;
  /** Make the GMs' key pairs before the timed phase (as the lean generator's gm-key-pairs.ts). */
  readonly keysAhead: boolean;
}

export interface GmLoadResult {
  readonly ok: number;
  readonly failed: number;
  /** Timed phase only (after the key pairs). */
  readonly seconds: number;
  readonly cpuUs: number;
  readonly keysSeconds: number;
  /** Each successful registration's latency, ms. */
  readonly latencies: Float64Array;
}

export interface GmLoadRun {
  /** Resolves once the generator made its key pairs and waits for `go()`. */
  readonly ready: Promise<void>;
  go(): void;
  readonly result: Promise<GmLoadResult>;
}

/** Starts the generator for one phase; it registers once `go()` is called. */
export function startGmLoad(binary: string, o: GmLoadOptions): GmLoadRun {
  // The template's SPI, KE data, nonce and NAT-D hashes are the generator's to fill in.
  const template = ikeSaInitRequest({ spiI: Buffer.alloc(8), offer: numberedProposals([o.proposal]), method: o.proposal.ke as number, kePublic: Buffer.alloc(32), ni: Buffer.alloc(32), local: { ip: '127.0.0.1', port: 0 }, gcks: o.gcks });
  const latencyFile = `${fileURLToPath(new URL('../out/', import.meta.url))}gm-load-${randomBytes(6).toString('hex')}.f64`;
  const args = ['--port', String(o.gcks.port), '--template', template.toString('hex'), '--group', o.group.toString('hex'), '--first', String(o.first), '--end', String(o.end), '--concurrency', String(o.concurrency), '--id-format', o.idFormat, '--psk-format', o.pskFormat, '--marked', o.marked ? '1' : '0', '--keys-ahead', o.keysAhead ? '1' : '0', '--latencies', latencyFile];
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let onReady: () => void = () => undefined;
  let onLine: (line: string) => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const summary = new Promise<string>((resolve) => (onLine = resolve));
  lines.on('line', (line) => (line === 'ready' ? onReady() : onLine(line)));
  const result = (async (): Promise<GmLoadResult> => {
    const code = await exited;
    if (code !== 0) throw new Error(`gm-load exited with ${code}`);
    const s = JSON.parse(await summary) as Omit<GmLoadResult, 'latencies'>;
    const bytes = readFileSync(latencyFile);
    const latencies = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    rmSync(latencyFile, { force: true });
    return { ...s, latencies };
  })();
  return { ready: Promise.race([ready, result.then(() => undefined)]), go: () => child.stdin.end('go\n'), result };
}
