/**
 * Multiple key exchanges (RFC 9370): a hybrid such as X25519 + ML-KEM-768 is not one
 * method on the wire but a sequence of rounds, type 4 first and then ADDKE1..7 in
 * increasing type order, each with its own KE payloads. These helpers run the rounds of
 * one side in order and collect SK(0), SK(1), ... for the key schedule (RFC 9370 §2.2.2).
 */
import { GkmError } from '../errors.ts';
import { createInitiatorKe, keSupported, respondKe, type KeInitiator } from './ke.ts';
import { wipe } from './zeroize.ts';

abstract class KeRounds {
  readonly methods: readonly number[];
  readonly #secrets: Buffer[] = [];

  constructor(methods: readonly number[]) {
    if (methods.length === 0 || methods.length > 8) {
      throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { detail: 'between 1 and 8 key exchanges (type 4 + ADDKE1..7)' });
    }
    for (const m of methods) {
      if (!keSupported(m)) throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: 'KE.method', detail: String(m) });
    }
    this.methods = [...methods];
  }

  /** Method of the next round, or undefined when all rounds are done. */
  get nextMethod(): number | undefined {
    return this.methods[this.#secrets.length];
  }

  get done(): boolean {
    return this.#secrets.length === this.methods.length;
  }

  /** SK(0..n) in round order; wiped by dispose(). */
  get secrets(): readonly Buffer[] {
    return this.#secrets;
  }

  protected currentMethod(): number {
    const m = this.nextMethod;
    if (m === undefined) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'all key exchange rounds are done' });
    return m;
  }

  protected record(secret: Buffer): void {
    this.#secrets.push(secret);
  }

  dispose(): void {
    wipe(...this.#secrets);
    this.#secrets.length = 0;
  }
}

/** Initiator side: start() sends KEi(n), finish() takes KEr(n). */
export class InitiatorKeRounds extends KeRounds {
  #pending: KeInitiator | undefined;

  /** Our KE data for the next round. */
  start(): Buffer {
    if (this.#pending) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'round already started' });
    this.#pending = createInitiatorKe(this.currentMethod());
    return this.#pending.publicData();
  }

  finish(responderData: Buffer): void {
    const ke = this.#pending;
    if (!ke) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'no round started' });
    this.#pending = undefined;
    this.record(ke.complete(responderData));
  }

  override dispose(): void {
    this.#pending?.dispose();
    this.#pending = undefined;
    super.dispose();
  }
}

/** Responder side: answer() takes KEi(n) and returns KEr(n). */
export class ResponderKeRounds extends KeRounds {
  answer(initiatorData: Buffer): Buffer {
    const r = respondKe(this.currentMethod(), initiatorData);
    this.record(r.sharedSecret);
    return r.publicData;
  }
}

/**
 * Runs every round locally, initiator against responder, and returns SK(0..n) in order
 * (benchmarks and self-tests). Throws GKM_CRYPTO_INTERNAL if the two sides disagree.
 */
export function runKeRoundsLocally(methods: readonly number[]): Buffer[] {
  const initiator = new InitiatorKeRounds(methods);
  const responder = new ResponderKeRounds(methods);
  try {
    while (!initiator.done) initiator.finish(responder.answer(initiator.start()));
    const secrets = initiator.secrets.map((s) => Buffer.from(s));
    if (!secrets.every((s, i) => s.equals(responder.secrets[i]!))) {
      wipe(...secrets);
      throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'key exchange sides disagree' });
    }
    return secrets;
  } finally {
    initiator.dispose();
    responder.dispose();
  }
}
