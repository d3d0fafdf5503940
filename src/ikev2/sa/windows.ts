/**
 * Message ID windows (RFC 7296 §2.3). Each direction counts its own requests from 0; a
 * response reuses its request's Message ID.
 *
 * - RequesterWindow: the MID of our next request and the requests in flight (at most the
 *   peer's window size, 1 unless it sent SET_WINDOW_SIZE).
 * - ResponderWindow: which request MIDs are new, a retransmission of one we answered
 *   (resend the cached response, never reprocess), or outside the window (drop). At least
 *   the last response of every slot stays cached.
 */
import { GkmError } from '../errors.ts';
import { latin1Bytes, latin1Of } from './retained.ts';

/** RFC 7296 §2.3: Message IDs never wrap; the SA must be rekeyed before that. */
export const MAX_MESSAGE_ID = 0xffffffff;

/** Sets and maps of a window exist only while they hold something: most SAs are idle. */
export class RequesterWindow {
  #next: number;
  #inFlight: Set<number> | undefined;

  constructor(
    first = 0,
    /** The peer's window size (RFC 7296 §2.3), raised by its SET_WINDOW_SIZE. */
    public peerWindowSize = 1,
  ) {
    this.#next = first;
  }

  get nextMessageId(): number {
    return this.#next;
  }

  canSend(): boolean {
    return this.inFlightCount < this.peerWindowSize && this.#next <= MAX_MESSAGE_ID;
  }

  /** Takes the next MID for a new request. */
  allocate(): number {
    if (!this.canSend()) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: 'request window full or Message IDs exhausted' });
    const mid = this.#next++;
    (this.#inFlight ??= new Set()).add(mid);
    return mid;
  }

  isInFlight(mid: number): boolean {
    return this.#inFlight?.has(mid) ?? false;
  }

  complete(mid: number): void {
    if (this.#inFlight?.delete(mid) && this.#inFlight.size === 0) this.#inFlight = undefined;
  }

  get inFlightCount(): number {
    return this.#inFlight?.size ?? 0;
  }
}

export type RequestClass =
  /** Inside the window and not answered yet: process it. */
  | 'new'
  /** Answered before: resend the cached response if the bytes match. */
  | 'retransmit'
  /** Being processed right now (asynchronous handler): drop the copy. */
  | 'in-progress'
  /** Below the window with no cached response, or above the window: drop. */
  | 'outside';

/**
 * One response kept for retransmissions, packed into one latin1 string (retained.ts
 * latin1Of: one character per octet, on the JS heap):
 *
 *   MID (4) | digest count (2) | digests (7 each) | datagram count (2) | { length (4) | octets }
 *
 * The digests are those of the request datagrams (for a fragmented request: of fragment 1;
 * usually one). Read back only for a retransmitted request. Against a Buffer per response
 * (view, ArrayBuffer, malloc'd backing store) and an entry object with a heap number, this
 * is ~300 B less per SA.
 */
type KeptResponse = string;

const DIGEST_OCTETS = 7; // datagramDigest() is below 2^53

function packResponse(mid: number, datagrams: readonly Buffer[], digests: readonly number[]): KeptResponse {
  if (digests.length > 0xffff || datagrams.length > 0xffff) throw new GkmError('GKM_IKE_INVALID_STATE', { detail: 'response too large to keep' });
  let length = 8 + digests.length * DIGEST_OCTETS;
  for (const d of datagrams) length += 4 + d.length;
  const out = Buffer.allocUnsafe(length);
  out.writeUInt32BE(mid, 0);
  out.writeUInt16BE(digests.length, 4);
  let at = 6;
  for (const d of digests) at = out.writeUInt32BE(d % 2 ** 32, out.writeUIntBE(Math.floor(d / 2 ** 32), at, DIGEST_OCTETS - 4));
  at = out.writeUInt16BE(datagrams.length, at);
  for (const d of datagrams) {
    at = out.writeUInt32BE(d.length, at);
    at += d.copy(out, at);
  }
  return latin1Of(out);
}

const keptMid = (k: KeptResponse): number => ((k.charCodeAt(0) << 24) | (k.charCodeAt(1) << 16) | (k.charCodeAt(2) << 8) | k.charCodeAt(3)) >>> 0;

/** The datagrams of `k` when `digest` is one of its request digests. */
function unpackResponse(k: KeptResponse, digest: number): Buffer[] | undefined {
  const b = latin1Bytes(k);
  const digests = b.readUInt16BE(4);
  let at = 6;
  let known = false;
  for (let i = 0; i < digests; i++, at += DIGEST_OCTETS) known ||= b.readUIntBE(at, DIGEST_OCTETS - 4) * 2 ** 32 + b.readUInt32BE(at + DIGEST_OCTETS - 4) === digest;
  if (!known) return undefined;
  const count = b.readUInt16BE(at);
  at += 2;
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const length = b.readUInt32BE(at);
    out.push(b.subarray(at + 4, (at += 4 + length)));
  }
  return out;
}

/**
 * Fingerprint of a request datagram, to tell a retransmission (same bytes, RFC 7296 §2.1)
 * from another message with the same MID. Not a security check: whoever can send us a
 * datagram can replay the real request and get the cached response anyway; a collision
 * only resends that response. So two 32-bit multiplicative hashes (53 bits, a number, no
 * string per SA) instead of SHA-256: a few hundred nanoseconds per message, no allocation.
 */
export function datagramDigest(d: Uint8Array): number {
  let a = 0x811c9dc5;
  let b = d.length;
  for (let i = 0; i < d.length; i++) {
    const x = d[i]!;
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b + x, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** A module function, not a `#method` (which would give every window a brand slot). */
function cachedIn(cache: KeptResponse | readonly KeptResponse[] | undefined, mid: number): KeptResponse | undefined {
  if (cache === undefined) return undefined;
  if (typeof cache === 'string') return keptMid(cache) === mid ? cache : undefined;
  for (const c of cache) if (keptMid(c) === mid) return c;
  return undefined;
}

/**
 * Both windows of an IKE SA in one object: the RequesterWindow it extends and the responder
 * side (one object header and one IkeSa field less than two objects; IkeSa hands it out as
 * `requester` and as `responder`).
 */
export class MessageWindows extends RequesterWindow {
  /** Lowest request MID not answered yet. */
  #lowest: number;
  /** At most 2 x window size entries; one entry is kept without an array (window size 1). */
  #cache: KeptResponse | KeptResponse[] | undefined;
  #inProgress: Set<number> | undefined;

  constructor(
    first = 0,
    /** Our window size: how many requests the peer may have outstanding. */
    public size = 1,
  ) {
    super();
    this.#lowest = first;
  }

  get lowest(): number {
    return this.#lowest;
  }

  classify(mid: number): RequestClass {
    if (this.#inProgress?.has(mid)) return 'in-progress';
    if (cachedIn(this.#cache, mid) !== undefined) return 'retransmit';
    if (mid < this.#lowest || mid >= this.#lowest + this.size) return 'outside';
    return 'new';
  }

  /** The cached response when `digest` is one of the request datagrams we answered. */
  cachedFor(mid: number, digest: number): readonly Buffer[] | undefined {
    const c = cachedIn(this.#cache, mid);
    return c === undefined ? undefined : unpackResponse(c, digest);
  }

  begin(mid: number): void {
    (this.#inProgress ??= new Set()).add(mid);
  }

  /** Processing ended without a response (e.g. the SA closed): the MID is new again. */
  abandon(mid: number): void {
    if (this.#inProgress?.delete(mid) && this.#inProgress.size === 0) this.#inProgress = undefined;
  }

  /** Records the response to `mid`, slides the window, forgets responses below it. */
  answered(mid: number, datagrams: readonly Buffer[], requestDigests: Iterable<number>): void {
    this.abandon(mid);
    const entry = packResponse(mid, datagrams, [...new Set(requestDigests)]);
    const before = this.#cache;
    const cache = (before === undefined ? [] : typeof before === 'string' ? [before] : before).filter((c) => keptMid(c) !== mid);
    cache.push(entry);
    while (cache.some((c) => keptMid(c) === this.#lowest)) this.#lowest++;
    const live = cache.filter((c) => keptMid(c) >= this.#lowest - this.size);
    this.#cache = live.length === 1 ? live[0] : live;
  }
}

/** The responder side of MessageWindows: which request MIDs are new, cached or outside. */
export type ResponderWindow = Omit<MessageWindows, keyof RequesterWindow>;
