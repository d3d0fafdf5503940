/**
 * End-to-end datapath I/O benchmark: packets/s through loopback, one sender process and one
 * receiver process (userspace provider, AES-128-GCM-16, inner IPv4/UDP packets of --size
 * bytes, default 1400), time-bounded (--seconds, default 3).
 *
 *   node --import tsx bench/datapath-io.bench.ts [--seconds 3] [--size 1400] [--repeat 3] [--paths group,unicast,tap]
 *   (or: npm run bench -- datapath-io)
 *
 * Paths measured:
 *   group    DatapathNode.send → group SA (Sender-ID IVs, SN 2, tunnel mode with address
 *            preservation) → ESP in UDP to 239.255.79.1 on lo → receiver node → counted
 *   unicast  DatapathNode.send → unicast tunnel SA → ESP in UDP (RFC 3948) to 127.0.0.1 →
 *            receiver node (espHandler, as the IKE transport calls it) → counted
 *   tap      application datagram → UDP tap → group SA → … → receiver's UDP tap → application
 *   udp      baseline: the same datagrams, no ESP and no datapath (dgram to dgram on lo)
 * The sender pushes bursts of 32 as fast as it can, yielding to the event loop after each;
 * the receiver counts what it decrypts. Figures: sent and received packets/s, and loss
 * (datagrams the receiver's socket buffer could not take), and CPU time per packet in each
 * process (user + system, from process.cpuUsage: less sensitive to other load than the
 * rates; tx counts sending and the tap's work, rx receiving, decrypting and delivering, and
 * both include Node's idle overhead while waiting). Each figure is the run with the
 * most packets received of `repeat` (the machines are shared: the best run is the one least
 * disturbed by other load).
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EncrId, SnId } from '../src/ikev2/registry/transform.ts';
import { parseAddress } from '../src/datapath/address.ts';
import { DatapathNode, EspUdpSocket, UdpTap, wrapUdp, type NodeSaConfig, type PlaintextPort } from '../src/datapath/io/index.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    size: { type: 'string', default: '1400' },
    paths: { type: 'string', default: 'udp,group,unicast,tap' },
    repeat: { type: 'string', default: '3' },
    role: { type: 'string' },
    path: { type: 'string' },
    port: { type: 'string' },
  },
});
const seconds = Math.min(Math.max(Number(values.seconds), 0.5), 10);
const repeat = Math.min(Math.max(Math.trunc(Number(values.repeat)), 1), 5);
const size = Math.min(Math.max(Math.trunc(Number(values.size)), 64), 1472);
const GROUP = '239.255.79.1';
const LO = '127.0.0.1';
const BURST = 32;
const RCVBUF = 4 << 20;
const algorithms = { encr: EncrId.AES_GCM_16, keyBits: 128 };
const keys = { encr: Buffer.alloc(20, 0x42) };
type Path = 'udp' | 'group' | 'unicast' | 'tap';

function saFor(path: Path, direction: 'in' | 'out', port: number): NodeSaConfig {
  if (path === 'unicast') {
    const mode = { mode: 'tunnel', src: parseAddress(LO), dst: parseAddress('127.0.0.2') } as const;
    const io = { kind: 'unicast', remote: { address: LO, port }, via: { address: LO, port: 0 }, peer: '127.0.0.2' } as const;
    return { direction, spi: 0x3000, algorithms, keys, mode, io, ...(direction === 'in' ? { replay: { size: 1024 } } : {}) };
  }
  const io = { kind: 'group', group: GROUP, port, interface: LO, loopback: true } as const;
  const common = { spi: 0x2000, algorithms, keys, sn: SnId.UNSPECIFIED32, senderIdBits: 8, mode: { mode: 'tunnel-preserve' } as const, io };
  return direction === 'out' ? { ...common, direction, senderId: 1 } : { ...common, direction, perSenderReplay: true, replay: { size: 1024 } };
}

const innerFlow = (path: Path) =>
  path === 'unicast'
    ? { src: parseAddress('10.1.0.1'), dst: parseAddress('10.2.0.1'), srcPort: 4000, dstPort: 5000, ttl: 64, tos: 0 }
    : { src: parseAddress(LO), dst: parseAddress(GROUP), srcPort: 4000, dstPort: 5000, ttl: 1, tos: 0 };

/** CPU microseconds (user + system) this process used since `since`. */
function cpuOf(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** Receiver (child process): counts decrypted packets until told to stop. */
async function receiver(path: Path, port: number): Promise<void> {
  let count = 0;
  let first = 0;
  let last = 0;
  const tick = (): void => {
    last = performance.now();
    if (count++ === 0) first = last;
  };
  let plaintext: PlaintextPort;
  let app: ReturnType<typeof createSocket> | undefined;
  if (path === 'udp') {
    app = createSocket({ type: 'udp4', recvBufferSize: RCVBUF });
    app.on('message', tick);
    app.bind(0, LO);
    await once(app, 'listening');
    const cpu0 = process.cpuUsage();
    console.log(JSON.stringify({ event: 'ready', port: app.address().port }));
    await once(createInterface({ input: process.stdin }), 'line');
    console.log(JSON.stringify({ event: 'result', count, activeMs: last - first, cpuUs: cpuOf(cpu0) }));
    process.exit(0);
  }
  if (path === 'tap') {
    app = createSocket({ type: 'udp4', recvBufferSize: RCVBUF });
    app.on('message', tick);
    app.bind(0, LO);
    await once(app, 'listening');
    plaintext = await UdpTap.open({ format: 'udp', deliver: { address: LO, port: app.address().port } });
  } else {
    plaintext = { start() {}, write: tick, close: () => Promise.resolve() };
  }
  let sock: EspUdpSocket | undefined;
  const node = new DatapathNode({ plaintext, recvBufferSize: RCVBUF, sweepMs: 0 });
  if (path === 'unicast') {
    sock = await EspUdpSocket.unicast({ address: LO, port: 0, recvBufferSize: RCVBUF });
    sock.onEsp = node.espHandler;
  }
  await node.install(saFor(path, 'in', port));
  const cpu0 = process.cpuUsage();
  console.log(JSON.stringify({ event: 'ready', port: sock?.local.port ?? port }));
  const rl = createInterface({ input: process.stdin });
  await once(rl, 'line');
  const s = node.stats();
  console.log(JSON.stringify({ event: 'result', count, activeMs: last - first, cpuUs: cpuOf(cpu0), espIn: s.node.espIn, drops: s.node.drops }));
  process.exit(0);
}

interface Result {
  readonly path: Path;
  readonly sent: number;
  readonly received: number;
  readonly seconds: number;
  /** CPU microseconds per packet in the sender and in the receiver process. */
  readonly txCpuUs: number;
  readonly rxCpuUs: number;
}

/** Sender (this process) against a receiver child. */
async function run(path: Path): Promise<Result> {
  const groupPort = 41000 + Math.floor(Math.random() * 10000);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--role', 'receiver', '--path', path, '--port', String(groupPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const kill = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
  const messages: Array<Record<string, number> & { event: string }> = [];
  createInterface({ input: child.stdout }).on('line', (l) => messages.push(JSON.parse(l)));
  const next = async (event: string): Promise<Record<string, number>> => {
    for (let waited = 0; waited < (seconds + 15) * 1000; waited += 10) {
      const m = messages.find((x) => x.event === event);
      if (m) return m;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no '${event}' from the receiver`);
  };
  const ready = await next('ready');
  const port = path === 'unicast' || path === 'udp' ? ready.port! : groupPort;
  const sock = path === 'unicast' ? await EspUdpSocket.unicast({ address: LO, port: 0 }) : undefined;
  const flow = innerFlow(path);
  const payload = Buffer.alloc(size - 28, 0x61);
  const packet = wrapUdp(payload, flow, 1);
  let tap: UdpTap | undefined;
  let app: ReturnType<typeof createSocket> | undefined;
  if (path === 'tap' || path === 'udp') {
    app = createSocket('udp4');
    app.bind(0, LO);
    await once(app, 'listening');
  }
  if (path === 'tap') {
    tap = await UdpTap.open({ format: 'udp', inner: { src: LO, dst: GROUP, dstPort: 5000, ttl: 1 }, recvBufferSize: RCVBUF });
  }
  const node = new DatapathNode({ ...(sock ? { unicast: sock } : {}), ...(tap ? { plaintext: tap } : {}), sweepMs: 0 });
  if (path !== 'udp') await node.install(saFor(path, 'out', port));
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  let sent = 0;
  while (performance.now() < end) {
    for (let i = 0; i < BURST; i++) {
      if (path === 'udp') app!.send(packet, port, LO);
      else if (tap) app!.send(payload, tap.local.port, LO);
      else node.send(packet);
    }
    if (!app) node.flush();
    sent += BURST;
    await new Promise((r) => setImmediate(r));
  }
  const elapsed = (performance.now() - start) / 1000;
  const txCpu = cpuOf(cpu0);
  await new Promise((r) => setTimeout(r, 300)); // drain
  const espOut = node.stats().node.espOut;
  child.stdin.write('stop\n');
  const result = await next('result');
  clearTimeout(kill);
  await node.close();
  await sock?.close();
  app?.close();
  // Through the tap, what counts as sent is what left as ESP (the tap's own socket may drop).
  const out = path === 'tap' ? espOut : sent;
  return { path, sent: out, received: result.count!, seconds: elapsed, txCpuUs: txCpu / Math.max(out, 1), rxCpuUs: result.cpuUs! / Math.max(result.count!, 1) };
}

if (values.role === 'receiver') {
  await receiver(values.path as Path, Number(values.port));
} else {
  const paths = values.paths.split(',') as Path[];
  const k = (n: number): string => `${(n / 1000).toFixed(1)} k`;
  console.log(`datapath I/O benchmark: AES-128-GCM-16, ${size}-byte inner packets, best of ${repeat} x ${seconds} s per path, one sender and one receiver process on lo, node ${process.version}, load average ${loadavg()[0]!.toFixed(2)}`);
  console.log('path      sent pkt/s   received pkt/s   received B/s (inner)   loss    CPU us/pkt tx   CPU us/pkt rx');
  for (const p of paths) {
    let r = await run(p);
    for (let i = 1; i < repeat; i++) {
      const again = await run(p);
      if (again.received / again.seconds > r.received / r.seconds) r = again;
    }
    const rx = r.received / r.seconds;
    const loss = r.sent > 0 ? (100 * (r.sent - r.received)) / r.sent : 0;
    const cells = [k(r.sent / r.seconds).padStart(10), k(rx).padStart(14), `${((rx * size) / 1e6).toFixed(1)} MB/s`.padStart(20), `${loss.toFixed(1)}%`.padEnd(5), r.txCpuUs.toFixed(1).padStart(13), r.rxCpuUs.toFixed(1).padStart(13)];
    console.log(`${p.padEnd(8)}  ${cells.join('   ')}`);
  }
}
