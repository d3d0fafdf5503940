/**
 * The charons of the load benchmarks get the UDP socket buffers our IKE transport gives
 * itself (DEFAULT_SOCKET_BUFFER_BYTES), through the LD_PRELOAD shim ./socket-buffers.c
 * (charon 5.9.8 has no option for them; net.core.rmem_default is not settable inside a
 * network namespace here). Without it the load-tester's own socket (kernel default
 * 208 KiB) overflows under a deep pipeline, and each lost answer costs the initiator a 4 s
 * retransmission: a limit of the load generator, charged to whichever responder it hits.
 * Also reads back what each socket in the namespace got (`ss`), for the report.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./socket-buffers.c', import.meta.url));

/** Compiles the shim into `dir` (well under a second) and returns its path. */
export function buildSocketBufferShim(dir: string): string {
  const out = join(dir, 'gkm-socket-buffers.so');
  try {
    execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-o', out, SOURCE, '-ldl'], { timeout: 60_000, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`building ${SOURCE} failed (gcc needed): ${(e as Error).message}; GKM_LOAD_SOCKET_BUFFERS=0 leaves the charons' kernel-default buffers`);
  }
  return out;
}

export interface SocketBuffers {
  readonly shim: string;
  readonly bytes: number;
}

/**
 * Runs `start` (which must spawn its process synchronously, as startCharon does before its
 * first await) with the shim preloaded, and restores the environment at once.
 */
export function withSocketBuffers<T>(b: SocketBuffers | undefined, start: () => T): T {
  if (!b) return start();
  const saved = { LD_PRELOAD: process.env['LD_PRELOAD'], GKM_SOCKET_BUFFER_BYTES: process.env['GKM_SOCKET_BUFFER_BYTES'] };
  process.env['LD_PRELOAD'] = saved.LD_PRELOAD ? `${b.shim} ${saved.LD_PRELOAD}` : b.shim;
  process.env['GKM_SOCKET_BUFFER_BYTES'] = String(b.bytes);
  try {
    return start();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Receive buffer (rb, octets) of each bound UDP port in `netns`, as `ss -uam` shows it. */
export function receiveBuffers(netns: string): Map<number, number> {
  const r = spawnSync('ip', ['netns', 'exec', netns, 'ss', '-uamnH'], { encoding: 'utf8', timeout: 10_000 });
  const out = new Map<number, number>();
  // "UNCONN 0 0 127.0.0.1:500 0.0.0.0:*\n\t skmem:(r0,rb8388608,...)"
  for (const m of (r.stdout ?? '').matchAll(/:(\d+)\s+\S+:\S+\s*\n\s*skmem:\(r\d+,rb(\d+),/g)) {
    out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}
