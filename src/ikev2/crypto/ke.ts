/**
 * Key Exchange Methods (transform type 4, and ADDKE1..7 = types 6-12, RFC 9370) behind
 * one role-explicit API that fits both Diffie-Hellman and KEMs:
 *
 *   initiator                                   responder
 *   const ke = createInitiatorKe(m)
 *   KEi = ke.publicData()          ───────▶     const r = respondKe(m, KEi)
 *   secret = ke.complete(KEr)      ◀───────     KEr = r.publicData, secret = r.sharedSecret
 *
 * For DH both sides send a public value; for ML-KEM the initiator sends ek and the
 * responder the ciphertext. The responder never exists before the initiator's data, and
 * an initiator completes once (its private key is dropped afterwards, success or not), so
 * an out-of-order or repeated use cannot be written. Secrets returned are the caller's to
 * wipe (zeroize.ts). Every malformed peer value is GKM_CRYPTO_INVALID_KE.
 */
import { GkmError } from '../errors.ts';
import { KeId } from '../registry/transform.ts';
import { nameOf } from '../registry/names.ts';
import { dhGroups, type DeferredSecret, type DhGroup, type DhKeyPair, type SecretKdf } from './ke-dh.ts';
import { mlKem, type MlKem, type MlKemDecapsulator } from './ke-mlkem.ts';

export type KeRole = 'initiator' | 'responder';

export interface KeInitiator {
  readonly method: number;
  /** Our KE payload data (KEi). */
  publicData(): Buffer;
  /**
   * Consumes the responder's KE data and returns the shared secret (g^ir or the KEM key).
   * Callable once; the private state is disposed afterwards even if the data is invalid.
   */
  complete(responderData: Buffer): Buffer;
  /** Abandons the exchange (e.g. after INVALID_KE_PAYLOAD) and drops the private state. */
  dispose(): void;
}

export interface KeResponse {
  readonly method: number;
  /** Our KE payload data (KEr). */
  readonly publicData: Buffer;
  /** The shared secret; the caller wipes it once keys are derived. */
  readonly sharedSecret: Buffer;
}

/** A responder's KE data now and its shared secret when the keys are needed (respondKeLater). */
export interface KeDeferredResponse {
  readonly method: number;
  readonly publicData: Buffer;
  readonly secret: DeferredSecret;
}

/** A secret computed already, as a DeferredSecret. */
function eagerSecret(secret: Buffer): DeferredSecret {
  let held: Buffer | undefined = secret;
  return {
    derivedKeys: false,
    take() {
      if (!held) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'shared secret already taken' });
      const s = held;
      held = undefined;
      return s;
    },
    dispose() {
      held?.fill(0);
      held = undefined;
    },
  };
}

/** An initiator's private state: a DH key pair or an ML-KEM decapsulation key. */
interface InitiatorState {
  readonly publicData: Buffer;
  complete(peer: Buffer): Buffer;
  dispose(): void;
}

/** One method, both roles; `testInput` is the fixed private input of known-answer tests. */
interface KeMethodImpl {
  readonly initiatorDataLength: number;
  readonly responderDataLength: number;
  readonly secretLength: number;
  initiate(testInput?: Buffer): InitiatorState;
  respond(initiatorData: Buffer, testInput?: Buffer): { publicData: Buffer; sharedSecret: Buffer };
  /** The secret computed later where the method can (X25519/X448: off the event loop). */
  respondLater?(initiatorData: Buffer, kdf?: SecretKdf): { publicData: Buffer; secret: DeferredSecret };
}

// Per-exchange state as small classes rather than closures: no function objects per exchange
// (under tsx each closure also gets its name defined, ~0.6% of a hybrid initiator's profile).

class DhInitiatorState implements InitiatorState {
  readonly publicData: Buffer;
  constructor(readonly pair: DhKeyPair) {
    this.publicData = pair.publicData;
  }
  complete(peer: Buffer): Buffer {
    return this.pair.derive(peer);
  }
  dispose(): void {
    this.pair.dispose();
  }
}

class KemInitiatorState implements InitiatorState {
  readonly publicData: Buffer;
  constructor(readonly keys: MlKemDecapsulator) {
    this.publicData = keys.encapsulationKey;
  }
  complete(ciphertext: Buffer): Buffer {
    return this.keys.decapsulate(ciphertext);
  }
  dispose(): void {
    this.keys.dispose();
  }
}

/** DH: both sides generate a key pair; the responder's is used once and dropped. */
function dhMethod(group: DhGroup): KeMethodImpl {
  return {
    initiatorDataLength: group.publicLength,
    responderDataLength: group.publicLength,
    secretLength: group.secretLength,
    initiate(privateKey) {
      return new DhInitiatorState(group.generate(privateKey));
    },
    respond(initiatorData, privateKey) {
      const pair = group.generate(privateKey);
      try {
        return { publicData: pair.publicData, sharedSecret: pair.derive(initiatorData) };
      } finally {
        pair.dispose();
      }
    },
    respondLater(initiatorData, kdf) {
      const pair = group.generate();
      let owned = false; // a DeferredSecret from deriveLater owns the pair
      try {
        const secret = pair.deriveLater ? pair.deriveLater(initiatorData, kdf) : eagerSecret(pair.derive(initiatorData));
        owned = pair.deriveLater !== undefined;
        return { publicData: pair.publicData, secret };
      } finally {
        if (!owned) pair.dispose();
      }
    },
  };
}

/** KEM: initiator = KeyGen + Decaps, responder = Encaps (test inputs: seed d||z, message m). */
function kemMethod(kem: MlKem): KeMethodImpl {
  return {
    initiatorDataLength: kem.params.encapsulationKeyLength,
    responderDataLength: kem.params.ciphertextLength,
    secretLength: kem.params.sharedKeyLength,
    initiate(seed) {
      return new KemInitiatorState(kem.keygen(seed));
    },
    respond(ek, message) {
      const { ciphertext, sharedKey } = kem.encapsulate(ek, message);
      return { publicData: ciphertext, sharedSecret: sharedKey };
    },
  };
}

const METHODS: ReadonlyMap<number, KeMethodImpl> = new Map([
  [KeId.MODP2048, dhMethod(dhGroups.modp2048)],
  [KeId.ECP256, dhMethod(dhGroups.ecp256)],
  [KeId.ECP384, dhMethod(dhGroups.ecp384)],
  [KeId.ECP521, dhMethod(dhGroups.ecp521)],
  [KeId.CURVE25519, dhMethod(dhGroups.x25519)],
  [KeId.CURVE448, dhMethod(dhGroups.x448)],
  [KeId.ML_KEM_512, kemMethod(mlKem[512])],
  [KeId.ML_KEM_768, kemMethod(mlKem[768])],
  [KeId.ML_KEM_1024, kemMethod(mlKem[1024])],
]);

function lookup(method: number): KeMethodImpl {
  const impl = METHODS.get(method);
  if (!impl) {
    throw new GkmError('GKM_CRYPTO_UNSUPPORTED', { field: 'KE.method', detail: nameOf(KeId, method) });
  }
  return impl;
}

function checkLength(data: Buffer, expected: number, sender: KeRole, method: number): void {
  if (data.length !== expected) {
    throw new GkmError('GKM_CRYPTO_INVALID_KE', {
      field: 'KE.data',
      detail: `${nameOf(KeId, method)} ${sender} data is ${data.length} octets, expected ${expected}`,
    });
  }
}

export function keSupported(method: number): boolean {
  return METHODS.has(method);
}

/** Length of the KE payload data sent by `role` (RFC 7296 §3.4; ML-KEM: ek vs ciphertext). */
export function keDataLength(method: number, role: KeRole): number {
  const impl = lookup(method);
  return role === 'initiator' ? impl.initiatorDataLength : impl.responderDataLength;
}

export function keSecretLength(method: number): number {
  return lookup(method).secretLength;
}

class Initiator implements KeInitiator {
  readonly #impl: KeMethodImpl;
  readonly #publicData: Buffer;
  #state: InitiatorState | undefined;

  constructor(
    readonly method: number,
    testInput?: Buffer,
    impl: KeMethodImpl = lookup(method),
  ) {
    this.#impl = impl;
    this.#state = this.#impl.initiate(testInput);
    this.#publicData = this.#state.publicData;
  }

  publicData(): Buffer {
    return this.#publicData;
  }

  complete(responderData: Buffer): Buffer {
    const state = this.#state;
    if (!state) throw new GkmError('GKM_CRYPTO_INTERNAL', { detail: 'key exchange already completed or disposed' });
    try {
      checkLength(responderData, this.#impl.responderDataLength, 'responder', this.method);
      return state.complete(responderData);
    } finally {
      this.dispose();
    }
  }

  dispose(): void {
    this.#state?.dispose();
    this.#state = undefined;
  }
}

function responder(method: number, initiatorData: Buffer, testInput?: Buffer): KeResponse {
  const impl = lookup(method);
  checkLength(initiatorData, impl.initiatorDataLength, 'initiator', method);
  return { method, ...impl.respond(initiatorData, testInput) };
}

/** Starts a key exchange as initiator with a fresh private key. */
export function createInitiatorKe(method: number): KeInitiator {
  return new Initiator(method);
}

/** Answers an initiator's KE data: our KE data and the shared secret, in one step. */
export function respondKe(method: number, initiatorData: Buffer): KeResponse {
  return responder(method, initiatorData);
}

/**
 * Like respondKe, but the shared secret is taken later (KeDeferredResponse.secret), when the
 * keys are first needed: an IKE_SA_INIT responder needs them only once the next request has
 * come, and X25519/X448 compute it meanwhile on the key-pair pool's worker. Invalid peer
 * values still throw GKM_CRYPTO_INVALID_KE here. Other methods compute it now. With `kdf`
 * (ke-dh.ts SecretKdf) X25519/X448 on the addon return keys instead (secret.derivedKeys).
 */
export function respondKeLater(method: number, initiatorData: Buffer, kdf?: SecretKdf): KeDeferredResponse {
  const impl = lookup(method);
  checkLength(initiatorData, impl.initiatorDataLength, 'initiator', method);
  if (impl.respondLater) return { method, ...impl.respondLater(initiatorData, kdf) };
  const r = impl.respond(initiatorData);
  return { method, publicData: r.publicData, secret: eagerSecret(r.sharedSecret) };
}

/**
 * An initiator of DH method `method` whose key pair comes from `group` instead of the
 * registry's (a load generator's GM key pairs made ahead: bench/lib/gm-key-pairs.ts).
 */
export function createInitiatorKeFrom(method: number, group: DhGroup): KeInitiator {
  return new Initiator(method, undefined, dhMethod(group));
}

/**
 * Known-answer tests only: the initiator with a fixed private input, i.e. the raw private
 * key for DH groups (X25519/X448 little-endian scalar, ECP/MODP big-endian integer) or
 * the 64-byte seed d || z for ML-KEM. Never use outside tests: it defeats freshness.
 */
export function createInitiatorKeForTest(method: number, privateInput: Buffer): KeInitiator {
  return new Initiator(method, privateInput);
}

/** Known-answer tests only: the responder with a fixed DH private key or ML-KEM message m. */
export function respondKeForTest(method: number, initiatorData: Buffer, privateInput: Buffer): KeResponse {
  return responder(method, initiatorData, privateInput);
}
