/**
 * Live capture of test traffic with tshark (started before a session, stopped after;
 * every step bounded), for the analyser checks in ./tshark.ts. Only loopback or an
 * interface inside a network namespace the test created is ever captured on.
 */
import { spawn } from 'node:child_process';
import { killOnExit, terminate, waitUntil } from './strongswan-process.ts';

export interface Capture {
  readonly file: string;
  /** Stops tshark (SIGINT, so the file is complete); idempotent. */
  stop(): Promise<void>;
}

export interface CaptureOptions {
  readonly file: string;
  /** UDP ports to capture (a BPF filter `udp port A or udp port B ...`). */
  readonly udpPorts: readonly number[];
  readonly iface?: string;
  readonly netns?: string;
  readonly startTimeoutMs?: number;
}

export async function startCapture(o: CaptureOptions): Promise<Capture> {
  const filter = o.udpPorts.map((p) => `udp port ${p}`).join(' or ');
  const tshark = ['tshark', '-i', o.iface ?? 'lo', '-f', filter, '-F', 'pcap', '-w', o.file];
  const [cmd, ...args] = o.netns ? ['ip', 'netns', 'exec', o.netns, ...tshark] : tshark;
  const proc = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  killOnExit(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Let the last packets reach the capture before asking tshark to finish.
    await new Promise((r) => setTimeout(r, 300));
    await terminate(proc, 5_000, 'SIGINT');
  };
  try {
    await waitUntil(`tshark capturing on ${o.iface ?? 'lo'}`, o.startTimeoutMs ?? 10_000, async () => {
      if (proc.exitCode !== null) throw new Error(`tshark exited: ${stderr}`);
      return stderr.includes('Capturing on') ? true : undefined;
    }, 50);
  } catch (e) {
    await stop();
    throw e;
  }
  return { file: o.file, stop };
}

/** tshark `-d` arguments: IKE and ESP-in-UDP on the given (non-standard) ports. */
export const udpencapDecodeAs = (ports: readonly number[]): string[] => ports.map((p) => `udp.port==${p},udpencap`);
