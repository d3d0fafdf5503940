/**
 * TUN device as the plaintext side (gateways): inner IP packets read from and written to
 * a Linux TUN file descriptor with node:fs, one packet per read()/write().
 *
 * Node cannot *open* a TUN interface: attaching /dev/net/tun to an interface takes the
 * TUNSETIFF ioctl, and Node has no ioctl. So `TunDevice.open()` refuses with the reason
 * (the native addon is where that belongs), and the supported way is an already attached
 * descriptor: `TUN_LAUNCHER` (Python standard library only) attaches to a TUN interface,
 * typically one made persistent by `ip tuntap add dev NAME mode tun`, and execs the member
 * with that descriptor inherited; `TunDevice.fromEnv()` picks it up.
 *
 * Reads go through libuv's thread pool (blocking read on the descriptor); a read cannot be
 * cancelled, so after close() the descriptor is closed when the pending read returns (with
 * the next packet) or at process exit.
 */
import { closeSync, fstatSync, read, writeSync } from 'node:fs';
import { GkmError } from '../../ikev2/errors.ts';
import type { PlaintextPort } from './plaintext.ts';

export interface TunCapability {
  /** Whether this process can open a TUN interface by name. */
  readonly open: boolean;
  /** Whether an attached TUN descriptor can be used (always: node:fs suffices). */
  readonly fd: boolean;
  readonly reason: string;
}

const OPEN_REASON =
  'TUN requires the native addon: attaching /dev/net/tun to an interface needs the TUNSETIFF ioctl, which Node cannot issue. ' +
  'Start the process under TUN_LAUNCHER (tunLauncherCommand) and use TunDevice.fromEnv()/fromFd() instead.';

export function tunCapability(): TunCapability {
  return { open: false, fd: true, reason: OPEN_REASON };
}

/** Environment variable through which the launcher passes the descriptor number. */
export const TUN_FD_ENV = 'GKM_TUN_FD';

/**
 * argv: NAME FD COMMAND...; attaches to TUN interface NAME (IFF_TUN | IFF_NO_PI), moves the
 * descriptor to FD, marks it inheritable and execs COMMAND with GKM_TUN_FD=FD.
 */
export const TUN_LAUNCHER = `import fcntl, os, struct, sys
name, target, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x0001, 0x1000
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH22x', name.encode(), IFF_TUN | IFF_NO_PI))
if fd != target:
    os.dup2(fd, target)
    os.close(fd)
os.set_inheritable(target, True)
os.environ['${TUN_FD_ENV}'] = str(target)
os.execvp(cmd[0], cmd)
`;

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** The command that runs `command` with TUN interface `ifname` attached at descriptor `fd`. */
export function tunLauncherCommand(ifname: string, command: readonly string[], opts: { fd?: number; python?: string } = {}): { file: string; args: string[] } {
  if (!IFNAME.test(ifname)) throw bad('ifname', JSON.stringify(ifname));
  const fd = opts.fd ?? 3;
  if (!Number.isInteger(fd) || fd < 3 || fd > 1023) throw bad('fd', String(fd));
  if (command.length === 0) throw bad('command', 'empty');
  return { file: opts.python ?? 'python3', args: ['-c', TUN_LAUNCHER, ifname, String(fd), ...command] };
}

export interface TunOptions {
  /** The descriptor carries the 4-byte packet information header (no IFF_NO_PI). Default false. */
  readonly packetInfo?: boolean;
  /** Largest packet read (default 65535). */
  readonly mtu?: number;
  readonly onError?: (error: Error) => void;
}

export interface TunCounters {
  read: number;
  written: number;
  readErrors: number;
  writeErrors: number;
  /** Packets shorter than the packet information header, or not IPv4/IPv6. */
  malformed: number;
}

const bad = (field: string, detail: string): GkmError => new GkmError('GKM_ESP_BAD_CONFIG', { field: `tun.${field}`, detail });

const PI_LENGTH = 4;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
/** Retry delay after EAGAIN (a descriptor left non-blocking by whoever opened it). */
const EAGAIN_RETRY_MS = 5;

export class TunDevice implements PlaintextPort {
  readonly counters: TunCounters = { read: 0, written: 0, readErrors: 0, writeErrors: 0, malformed: 0 };
  private readonly buf: Buffer;
  private onPacket: ((packet: Buffer) => void) | undefined;
  private reading = false;
  private closed = false;
  private fdClosed = false;

  private constructor(
    readonly fd: number,
    private readonly opts: TunOptions,
  ) {
    this.buf = Buffer.allocUnsafe((opts.mtu ?? 65535) + (opts.packetInfo ? PI_LENGTH : 0));
  }

  /** Always throws: see `tunCapability()`. */
  static open(name: string): never {
    throw bad('open', `${name}: ${OPEN_REASON}`);
  }

  /** Uses an attached TUN descriptor (it must be a character device). */
  static fromFd(fd: number, opts: TunOptions = {}): TunDevice {
    if (!Number.isInteger(fd) || fd < 0) throw bad('fd', String(fd));
    const mtu = opts.mtu ?? 65535;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw bad('mtu', String(mtu));
    let isChar: boolean;
    try {
      isChar = fstatSync(fd).isCharacterDevice();
    } catch (e) {
      throw bad('fd', `${fd}: ${(e as Error).message}`);
    }
    if (!isChar) throw bad('fd', `${fd} is not a character device`);
    return new TunDevice(fd, opts);
  }

  /** The descriptor the launcher passed in GKM_TUN_FD. */
  static fromEnv(opts: TunOptions = {}, env: NodeJS.ProcessEnv = process.env): TunDevice {
    const v = env[TUN_FD_ENV];
    if (v === undefined || !/^\d{1,4}$/.test(v)) throw bad('fd', `${TUN_FD_ENV} is ${v === undefined ? 'unset' : JSON.stringify(v)}; ${OPEN_REASON}`);
    return TunDevice.fromFd(Number(v), opts);
  }

  start(onPacket: (packet: Buffer) => void): void {
    this.onPacket = onPacket;
    if (!this.reading && !this.closed) this.readNext();
  }

  private readNext(): void {
    this.reading = true;
    read(this.fd, this.buf, 0, this.buf.length, null, (err, n) => {
      this.reading = false;
      if (this.closed) return this.closeFd();
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EINTR') {
          setTimeout(() => this.readNext(), EAGAIN_RETRY_MS);
          return;
        }
        this.counters.readErrors++;
        this.opts.onError?.(err);
        return; // EBADF, EBADFD (detached), EIO: the device is gone; stop.
      }
      this.deliver(n);
      this.readNext();
    });
  }

  private deliver(n: number): void {
    const off = this.opts.packetInfo ? PI_LENGTH : 0;
    if (n <= off) {
      this.counters.malformed++;
      return;
    }
    const version = this.buf[off]! >>> 4;
    if (version !== 4 && version !== 6) {
      this.counters.malformed++;
      return;
    }
    this.counters.read++;
    // Copy out: the read buffer is reused for the next packet.
    this.onPacket?.(Buffer.from(this.buf.subarray(off, n)));
  }

  write(packet: Buffer): void {
    if (this.closed) return;
    let out = packet;
    if (this.opts.packetInfo) {
      out = Buffer.allocUnsafe(PI_LENGTH + packet.length);
      out.writeUInt16BE(0, 0);
      out.writeUInt16BE(packet[0]! >>> 4 === 6 ? ETH_P_IPV6 : ETH_P_IP, 2);
      packet.copy(out, PI_LENGTH);
    }
    try {
      // Synchronous: TUN writes do not block, and packet order is kept.
      writeSync(this.fd, out);
      this.counters.written++;
    } catch (e) {
      this.counters.writeErrors++;
      this.opts.onError?.(e as Error);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.onPacket = undefined;
    if (!this.reading) this.closeFd();
    return Promise.resolve();
  }

  private closeFd(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    try {
      closeSync(this.fd);
    } catch {
      // already closed by its owner
    }
  }
}
