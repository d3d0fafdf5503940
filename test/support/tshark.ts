/**
 * Runs tshark on a capture for analyser checks (see ../shared/INTEROP.md). Tests that
 * need it call `tsharkAvailable()` and, in CI, fail loudly when it is missing (.ci/run
 * installs it), rather than skipping silently.
 */
import { spawnSync } from 'node:child_process';

export function tsharkAvailable(): boolean {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

export interface TsharkRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

/**
 * `configDir` (optional) is used as Wireshark's personal configuration folder, which is
 * where tshark reads the `ikev2_decryption_table` and `esp_sa` UAT files from.
 */
export function tshark(args: readonly string[], configDir?: string): TsharkRun {
  const env = { ...process.env };
  if (configDir) env.WIRESHARK_CONFIG_DIR = configDir;
  const r = spawnSync('tshark', [...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status };
}

/** Expert-info entries at Error level or above, one per line ("frame: message"). */
export function tsharkErrors(pcap: string, decodeAs: readonly string[] = [], configDir?: string): string[] {
  const d = decodeAs.flatMap((x) => ['-d', x]);
  const r = tshark(['-r', pcap, ...d, '-Y', '_ws.expert.severity >= 0x00800000', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.expert.message'], configDir);
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}
