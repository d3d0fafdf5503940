/**
 * What the IKE SA engine needs from the outside world, as small injected interfaces: a
 * datagram sender (the transport), a clock with timers, randomness. No sockets or real
 * timers live in src/ikev2/sa/, so tests run on an in-memory network and a fake clock.
 */

/** One UDP endpoint as the transport sees it (textual IP, port). */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

export const sameEndpoint = (a: Endpoint, b: Endpoint): boolean => a.ip === b.ip && a.port === b.port;
export const endpointText = (e: Endpoint): string => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);

/**
 * The transport (src/ikev2/transport/): sends one IKE message from `local` to `remote`.
 * `datagram` is the bare IKE message; the transport adds the non-ESP marker when the
 * socket needs one (port 4500, or whenever neither port is 500; RFC 3948 §2.2).
 */
export interface DatagramSender {
  send(datagram: Buffer, remote: Endpoint, local: Endpoint): void;
}

export interface Timer {
  cancel(): void;
}

/** Monotonic milliseconds and one-shot timers. */
export interface Scheduler {
  now(): number;
  setTimer(delayMs: number, fn: () => void): Timer;
}

/** Node's timers overflow above 2^31 - 1 ms (~24.8 days) and would fire at once. */
export const MAX_TIMER_STEP_MS = 0x7fffffff;

/**
 * Node timers, unref'd so an idle engine never keeps the process alive. Delays longer than
 * Node allows (lifetimes of weeks) are waited out in steps.
 */
export const realScheduler: Scheduler = {
  // Whole milliseconds: times an SA keeps stay small integers, not heap-allocated doubles.
  now: () => Math.floor(performance.now()),
  setTimer(delayMs, fn) {
    const due = performance.now() + Math.max(0, delayMs);
    let t: NodeJS.Timeout;
    const arm = (): void => {
      const left = due - performance.now();
      t = setTimeout(left > MAX_TIMER_STEP_MS ? arm : fn, Math.min(Math.max(0, left), MAX_TIMER_STEP_MS));
      t.unref();
    };
    arm();
    return { cancel: () => clearTimeout(t) };
  },
};

export type RandomSource = (length: number) => Buffer;
