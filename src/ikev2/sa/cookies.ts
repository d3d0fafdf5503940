/**
 * Stateless cookies (RFC 7296 §2.6): cookie = VersionIDofSecret | HMAC-SHA-256(secret, Ni |
 * IPi | SPIi). Only the nonce, the initiator's address and SPIi enter, never KE or proposals,
 * so a cookie stays valid across an INVALID_KE_PAYLOAD retry (digest §A.9 trap (b)). The
 * secret rotates; the previous one is still accepted so cookies in flight survive a change.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ipAddressBytes, unmapIpv4 } from '../wire/ip-address.ts';
import type { RandomSource, Scheduler } from './types.ts';

const VERSION_LENGTH = 4;
const SECRET_LENGTH = 32;

interface Secret {
  readonly version: number;
  readonly key: Buffer;
  readonly createdAt: number;
}

export class CookieJar {
  #current: Secret;
  #previous: Secret | undefined;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: RandomSource,
    private readonly lifetimeMs: number,
  ) {
    this.#current = { version: random(4).readUInt32BE(), key: random(SECRET_LENGTH), createdAt: scheduler.now() };
  }

  #rotateIfDue(): void {
    if (this.scheduler.now() - this.#current.createdAt < this.lifetimeMs) return;
    this.#previous = this.#current;
    const version = (this.#current.version + 1) >>> 0;
    this.#current = { version, key: this.random(SECRET_LENGTH), createdAt: this.scheduler.now() };
  }

  #mac(secret: Secret, ni: Buffer, ip: string, spiI: Buffer): Buffer {
    return createHmac('sha256', secret.key).update(ni).update(unmapIpv4(ipAddressBytes(ip))).update(spiI).digest();
  }

  make(ni: Buffer, ip: string, spiI: Buffer): Buffer {
    this.#rotateIfDue();
    const version = Buffer.alloc(VERSION_LENGTH);
    version.writeUInt32BE(this.#current.version);
    return Buffer.concat([version, this.#mac(this.#current, ni, ip, spiI)]);
  }

  verify(cookie: Buffer, ni: Buffer, ip: string, spiI: Buffer): boolean {
    this.#rotateIfDue();
    if (cookie.length !== VERSION_LENGTH + 32) return false;
    const version = cookie.readUInt32BE(0);
    const secret = [this.#current, this.#previous].find((s) => s?.version === version);
    return secret !== undefined && timingSafeEqual(cookie.subarray(VERSION_LENGTH), this.#mac(secret, ni, ip, spiI));
  }
}
