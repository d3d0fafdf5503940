/**
 * NAT keepalive timers (RFC 3948 §2.3, §4): one 0xFF octet to the peer when nothing else
 * was sent to it for an interval (default 20 s), so that the NAT mapping stays open. Like
 * strongSwan, any datagram we send on the path postpones the next keepalive.
 */
import { GkmError } from '../errors.ts';
import { endpointKey, type AddressPort } from './endpoint.ts';

/** RFC 3948 §4: "the default interval is 20 seconds". */
export const DEFAULT_KEEPALIVE_SECONDS = 20;
const MAX_KEEPALIVE_SECONDS = 86_400;

interface Keepalive {
  readonly remote: AddressPort;
  readonly via: AddressPort;
  readonly intervalMs: number;
  lastSent: number;
  timer: NodeJS.Timeout | undefined;
}

export const pathKey = (via: AddressPort, remote: AddressPort): string => `${endpointKey(via)}>${endpointKey(remote)}`;

export class NatKeepalives {
  readonly #paths = new Map<string, Keepalive>();
  readonly #send: (remote: AddressPort, via: AddressPort) => void;

  constructor(send: (remote: AddressPort, via: AddressPort) => void) {
    this.#send = send;
  }

  get active(): number {
    return this.#paths.size;
  }

  /** Start (or restart with a new interval) keepalives from `via` to `remote`. */
  start(remote: AddressPort, via: AddressPort, intervalSeconds = DEFAULT_KEEPALIVE_SECONDS): void {
    if (!(Number.isFinite(intervalSeconds) && intervalSeconds > 0 && intervalSeconds <= MAX_KEEPALIVE_SECONDS)) {
      throw new GkmError('GKM_TRANSPORT_CONFIG', { field: 'keepalive.intervalSeconds', detail: `${intervalSeconds}, expected (0, ${MAX_KEEPALIVE_SECONDS}]` });
    }
    this.stop(remote, via);
    const k: Keepalive = { remote, via, intervalMs: Math.ceil(intervalSeconds * 1000), lastSent: Date.now(), timer: undefined };
    this.#paths.set(pathKey(via, remote), k);
    this.#schedule(k, k.intervalMs);
  }

  stop(remote: AddressPort, via: AddressPort): boolean {
    const key = pathKey(via, remote);
    const k = this.#paths.get(key);
    if (k === undefined) return false;
    clearTimeout(k.timer);
    this.#paths.delete(key);
    return true;
  }

  stopAll(): void {
    for (const k of this.#paths.values()) clearTimeout(k.timer);
    this.#paths.clear();
  }

  /** Something was sent on this path: the next keepalive can wait. */
  noteSent(via: AddressPort, remote: AddressPort): void {
    if (this.#paths.size === 0) return;
    const k = this.#paths.get(pathKey(via, remote));
    if (k !== undefined) k.lastSent = Date.now();
  }

  #schedule(k: Keepalive, delayMs: number): void {
    k.timer = setTimeout(() => this.#due(k), delayMs);
    k.timer.unref(); // keepalives never keep the process alive
  }

  #due(k: Keepalive): void {
    if (this.#paths.get(pathKey(k.via, k.remote)) !== k) return; // stopped or replaced
    const idle = Date.now() - k.lastSent;
    if (idle >= k.intervalMs) {
      k.lastSent = Date.now();
      this.#schedule(k, k.intervalMs); // first, so that a failing send cannot end the keepalives
      this.#send(k.remote, k.via);
    } else {
      this.#schedule(k, k.intervalMs - idle);
    }
  }
}
