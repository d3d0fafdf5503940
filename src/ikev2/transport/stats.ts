/** Per-socket counters; the transport sums them for its statistics getter. */
import { DROP_REASONS, type DropReason } from './framing.ts';

export interface SocketCounters {
  /** Datagrams read from the socket. */
  received: number;
  ikeDelivered: number;
  espDelivered: number;
  keepalivesReceived: number;
  dropped: Record<DropReason, number>;
  /** IKE messages handed to the kernel. */
  sent: number;
  espSent: number;
  keepalivesSent: number;
  sendErrors: number;
  socketErrors: number;
  /** IKE/ESP handler or admission hook threw (the datagram is lost, the socket keeps running). */
  handlerErrors: number;
}

const NUMERIC_FIELDS = [
  'received',
  'ikeDelivered',
  'espDelivered',
  'keepalivesReceived',
  'sent',
  'espSent',
  'keepalivesSent',
  'sendErrors',
  'socketErrors',
  'handlerErrors',
] as const satisfies readonly (keyof SocketCounters)[];

const zeroDrops = (): Record<DropReason, number> =>
  Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;

export function newCounters(): SocketCounters {
  const c = { dropped: zeroDrops() } as SocketCounters;
  for (const f of NUMERIC_FIELDS) c[f] = 0;
  return c;
}

/** A detached copy (callers may keep it while counting goes on). */
export function copyCounters(c: SocketCounters): SocketCounters {
  return { ...c, dropped: { ...c.dropped } };
}

export function sumCounters(all: readonly SocketCounters[]): SocketCounters {
  const total = newCounters();
  for (const c of all) {
    for (const f of NUMERIC_FIELDS) total[f] += c[f];
    for (const r of DROP_REASONS) total.dropped[r] += c.dropped[r];
  }
  return total;
}
