/**
 * Datapath providers: packets/s and bytes/s at 64, 512 and 1400 bytes, encrypt and decrypt,
 * per provider, beside `openssl speed -evp aes-128-gcm -bytes N -seconds 1` run here too.
 *
 *   taskset -c 1 node --import tsx bench/datapath-providers.bench.ts [--seconds 1] [--repeat 3] [--sizes 64,512,1400]
 *   (or: npm run bench -- datapath-providers)
 *
 * Rows (AES-128-GCM-16; `taskset` pins every thread, GC included, to one core):
 *   userspace   UserspaceProvider, bursts of 32 inner IPv4 packets of N bytes, tunnel mode
 *   native      NativeProvider, the same bursts: its fast path (IP parsing, SA selection, tunnel header,
 *               ESP + AEAD; inbound SPI demux, checks, inner header) in one addon call per burst
 *   native-esp  NativeSender/NativeReceiver: bursts of 64 payloads of N bytes from one buffer, one
 *               addon call per burst; decrypt keeps a 64-packet replay window (TS) on
 *   xfrm        the kernel datapath: no userspace burst path; reported as available or not
 * Provider decryption cycles a pool of pre-built packets with anti-replay off. Rates are per
 * CPU-second (user + system time of this process), as `openssl speed` divides by its user CPU
 * time unless given -elapsed: on a shared core that is the per-core figure; the wall-clock
 * rate (what this process got of the core) is printed beside it. Each figure is the best of
 * `repeat` runs, OpenSSL's of up to 3.
 */
import { execFileSync } from 'node:child_process';
import { loadavg, availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { EncrId } from '../src/ikev2/registry/transform.ts';
import { parseAddress } from '../src/datapath/address.ts';
import { writeIpv4 } from '../src/datapath/modes/ip.ts';
import type { InboundFrame, OffloadProvider } from '../src/datapath/provider.ts';
import { frameFromIp, UserspaceProvider } from '../src/datapath/userspace.ts';
import { loadNativeAddon, nativeAddonAvailable } from '../src/datapath/providers/native/addon.ts';
import { NativeProvider } from '../src/datapath/providers/native/provider.ts';
import { NativeReceiver } from '../src/datapath/providers/native/receiver.ts';
import { NativeSender } from '../src/datapath/providers/native/sender.ts';
import { table, type Cell } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '3' },
    sizes: { type: 'string', default: '64,512,1400' },
  },
});
const runMs = Math.min(Math.max(Number(values.seconds), 0.2), 5) * 1000;
const runs = Math.min(Math.max(Math.trunc(Number(values.repeat)), 1), 7);
const sizes = values.sizes.split(',').map(Number);

const algorithms = { encr: EncrId.AES_GCM_16, keyBits: 128 };
const keys = { encr: Buffer.alloc(20, 0x42) };
const PROVIDER_BURST = 32;
const ESP_BURST = 64;
const POOL = 256;

interface Rate {
  /** Packets per CPU-second (user + system) and per wall-clock second; best run of each. */
  readonly cpu: number;
  readonly wall: number;
}

/** Runs `step` (which handles `perStep` packets) after a 300 ms warm-up, `runs` times for runMs. */
function rate(perStep: number, step: () => void): Rate {
  for (const end = performance.now() + 300; performance.now() < end; ) step();
  let cpu = 0;
  let wall = 0;
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < runMs) {
      for (let k = 0; k < 16; k++) step();
      n += 16 * perStep;
      t = performance.now();
    }
    const c = process.cpuUsage(c0);
    cpu = Math.max(cpu, n / ((c.user + c.system) / 1e6));
    wall = Math.max(wall, (n * 1000) / (t - t0));
  }
  return { cpu, wall };
}

function ipv4Packet(size: number): Buffer {
  const buf = Buffer.alloc(size);
  const src = parseAddress('10.0.0.1');
  const dst = parseAddress('10.0.0.2');
  writeIpv4(buf, 0, { tos: 0, totalLength: size, id: 1, fragment: 0, ttl: 64, protocol: 17, src, dst });
  return buf;
}

interface Row {
  readonly layer: string;
  readonly enc: Rate;
  readonly dec: Rate;
}

function benchProvider(layer: string, make: () => OffloadProvider, size: number): Row {
  const mode = { mode: 'tunnel', src: parseAddress('192.0.2.1'), dst: parseAddress('192.0.2.2') } as const;
  const tx = make();
  const rx = make();
  tx.addSA({ direction: 'out', spi: 0x2000, algorithms, keys, mode });
  rx.addSA({ direction: 'in', spi: 0x2000, algorithms, keys, mode, replay: { size: 0 } });
  const burst = Array.from({ length: PROVIDER_BURST }, () => ipv4Packet(size));
  const enc = rate(PROVIDER_BURST, () => void tx.encryptBurst(burst));
  const frames: InboundFrame[] = [];
  while (frames.length < POOL) for (const f of tx.encryptBurst(burst)) if (!(f instanceof Error)) frames.push(frameFromIp(f.packet));
  const bursts = Array.from({ length: POOL / PROVIDER_BURST }, (_, k) => frames.slice(k * PROVIDER_BURST, (k + 1) * PROVIDER_BURST));
  let i = 0;
  const dec = rate(PROVIDER_BURST, () => {
    const out = rx.decryptBurst(bursts[i++ % bursts.length]!);
    if (out[0] instanceof Error) throw out[0];
  });
  return { layer, enc, dec };
}

/** The SA-level burst API: payloads in one buffer, one addon call per burst. */
function benchNativeEsp(size: number): Row {
  const tx = new NativeSender({ spi: 0x3000, algorithms, keys });
  const slab = (n: number, len: number) => ({
    buffer: Buffer.alloc(n * len, 7),
    offsets: Uint32Array.from({ length: n }, (_, k) => k * len),
    lengths: new Uint32Array(n).fill(len),
  });
  const input = slab(ESP_BURST, size);
  const nh = new Uint8Array(ESP_BURST).fill(4);
  const outOff = new Uint32Array(ESP_BURST);
  const res = new Int32Array(ESP_BURST);
  const out = Buffer.alloc(tx.layout(input, ESP_BURST, outOff));
  const enc = rate(ESP_BURST, () => {
    tx.layout(input, ESP_BURST, outOff);
    if (tx.encapBurst(input, nh, out, outOff, res, ESP_BURST) !== ESP_BURST) throw new Error('encap failed');
  });

  // A pool of POOL consecutive packets (seq 1..POOL), decrypted in order with the window on.
  const fresh = new NativeSender({ spi: 0x3000, algorithms, keys });
  const wire = fresh.packetLength(size);
  const pool = slab(POOL, wire);
  for (let k = 0; k < POOL; k += ESP_BURST) {
    const o = pool.offsets.subarray(k, k + ESP_BURST);
    fresh.encapBurst(input, nh, pool.buffer, o, res, ESP_BURST);
  }
  const rx = new NativeReceiver({ spi: 0x3000, algorithms, keys, replay: { size: 64 } });
  const plainOff = new Uint32Array(POOL);
  const plain = Buffer.alloc(rx.layout(pool, POOL, plainOff));
  const views = Array.from({ length: POOL / ESP_BURST }, (_, k) => ({
    buffer: pool.buffer,
    offsets: pool.offsets.subarray(k * ESP_BURST, (k + 1) * ESP_BURST),
    lengths: pool.lengths.subarray(k * ESP_BURST, (k + 1) * ESP_BURST),
  }));
  let i = 0;
  const dec = rate(ESP_BURST, () => {
    const k = i++ % views.length;
    if (k === 0) rx.window!.reset(0);
    const r = rx.decapBurst(views[k]!, ESP_BURST, plain, plainOff.subarray(k * ESP_BURST));
    if (r.res[0] !== 0 || r.res[3 * (ESP_BURST - 1)] !== 0) throw new Error(`decap failed: ${r.res[0]}`);
  });
  return { layer: 'native-esp', enc, dec };
}

/** `openssl speed` bytes/s at one size (best of up to 3 one-second runs, like our rows), or null. */
function opensslSpeed(size: number): number | null {
  let best: number | null = null;
  for (let r = 0; r < Math.min(runs, 3); r++) {
    try {
      const out = execFileSync('openssl', ['speed', '-evp', 'aes-128-gcm', '-bytes', String(size), '-seconds', '1'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 20_000,
      });
      const m = /^AES-128-GCM\s+([\d.]+)k/im.exec(out);
      if (m) best = Math.max(best ?? 0, Number(m[1]) * 1000);
    } catch {
      return best;
    }
  }
  return best;
}

/** Whether this kernel has ESP XFRM, read from its config (no SA is installed on the host). */
function xfrmAvailability(): string {
  try {
    const config = execFileSync('sh', ['-c', 'zcat /proc/config.gz 2>/dev/null || cat /boot/config-$(uname -r)'], { encoding: 'utf8' });
    return /^CONFIG_INET_ESP=[ym]/m.test(config) ? 'available (kernel has CONFIG_INET_ESP): packets go through the kernel, not measured here' : 'unavailable here: kernel without CONFIG_INET_ESP (NEWSA -> ENOSYS)';
  } catch {
    return 'unknown: kernel config not readable';
  }
}

const mb = (bytesPerSecond: number): string => `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
const kpps = (pps: number): string => `${(pps / 1e3).toFixed(0)} k`;

const load0 = loadavg()[0]!;
console.log(
  `datapath providers: AES-128-GCM-16, best of ${runs} x ${runMs / 1000}s, node ${process.version}, ` +
    `CPUs available to this process ${availableParallelism()}, load average ${load0.toFixed(2)}` +
    (nativeAddonAvailable() ? `, addon ${loadNativeAddon().info().openssl}` : ', native addon NOT BUILT (node scripts/build-native.mjs)'),
);
const rows: Cell[][] = [];
for (const size of sizes) {
  const results: Row[] = [benchProvider('userspace', () => new UserspaceProvider(), size)];
  if (nativeAddonAvailable()) results.push(benchProvider('native', () => new NativeProvider(), size), benchNativeEsp(size));
  const ossl = opensslSpeed(size);
  const pct = (pps: number): string => (ossl === null ? '' : `${((100 * pps * size) / ossl).toFixed(0)}%`);
  for (const { layer, enc, dec } of results) {
    rows.push([layer, size, kpps(enc.cpu), mb(enc.cpu * size), pct(enc.cpu), kpps(dec.cpu), mb(dec.cpu * size), pct(dec.cpu), kpps(enc.wall), kpps(dec.wall)]);
  }
  rows.push(ossl === null ? ['openssl speed', size, 'unavailable', '', '', '', '', '', '', ''] : ['openssl speed', size, kpps(ossl / size), mb(ossl), '100%', '', '', '', '', '']);
}
console.log(table(['layer', 'size', 'enc pkt/s', 'enc B/s', 'of openssl', 'dec pkt/s', 'dec B/s', 'of openssl', 'enc pkt/s wall', 'dec pkt/s wall'], rows));
console.log('pkt/s and B/s per CPU-second of this process (openssl speed: per user CPU-second); "wall": per elapsed second');
console.log(`xfrm: ${xfrmAvailability()}`);
console.log(`load average after: ${loadavg()[0]!.toFixed(2)} (before ${load0.toFixed(2)}; above 1 per core means contended figures)`);
