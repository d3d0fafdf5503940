/**
 * Loads the native addon (native/esp-burst, N-API) and types its functions. Built offline by
 * `node scripts/build-native.mjs`; GKM_NATIVE_ADDON may point at a prebuilt .node file.
 */
import { existsSync } from 'node:fs';
import { DEFAULT_NATIVE_ADDON_PATH, nativeAddonPath, requireNativeAddon } from '../../../ikev2/crypto/native.ts';
import { ProviderUnavailableError } from '../errors.ts';

/** An opaque per-SA handle (one EVP_CIPHER_CTX); freed by destroySa or when collected. */
export interface NativeSaHandle {
  readonly __nativeSa: unique symbol;
}

/** An opaque fast-path engine (native/esp-burst/src/datapath.h): SA slots, SPI table, bursts. */
export interface NativeEngineHandle {
  readonly __nativeEngine: unique symbol;
}

/** Packets as one buffer with offset/length arrays, or as separate buffers. */
export type BurstInput = readonly Buffer[] | SlabBurst;

export interface SlabBurst {
  readonly buffer: Buffer;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
}

export interface NativeAddon {
  /** params = [spi, sn, ivMode, senderIdBits, senderId, tfcPadTo, icvLength, gmac]. Throws TypeError. */
  createSa(cipher: string, key: Uint8Array, params: Uint32Array, encrypt: boolean): NativeSaHandle;
  destroySa(sa: NativeSaHandle): void;
  /**
   * Builds `count` ESP packets: payload i from the input, next header nh[i], written at
   * out[outOff[i]..). state = [last seq, next IV counter, flags] is read and updated.
   * res[i] = wire length, or a negative NativeStatus. Returns how many were built.
   */
  encap(
    sa: NativeSaHandle,
    state: BigUint64Array,
    input: readonly Buffer[] | Buffer,
    inOff: Uint32Array | null,
    inLen: Uint32Array | null,
    nh: Uint8Array,
    out: Uint8Array,
    outOff: Uint32Array,
    res: Int32Array,
    count: number,
  ): number;
  /**
   * Verifies and decrypts `count` packets (SPI first). res has 3 slots per packet; a nonzero
   * res[3i] on entry skips packet i. On return res[3i..3i+2] = [status, payload length, next
   * header] and the payload is at out[outOff[i]..). seqHi: per-packet ESN high half, or null.
   */
  decap(
    sa: NativeSaHandle,
    input: readonly Buffer[] | Buffer,
    inOff: Uint32Array | null,
    inLen: Uint32Array | null,
    seqHi: Uint32Array | null,
    out: Uint8Array,
    outOff: Uint32Array,
    res: Int32Array,
    count: number,
  ): number;
  /**
   * Sends complete netlink messages on a NETLINK_XFRM socket (opened in the namespace at
   * nsPath, e.g. /run/netns/NAME) and returns the replies up to each ack. Throws an Error with
   * code ERR_GKM_NETLINK, errno and syscall on a socket failure.
   */
  xfrmRequest(nsPath: string | null, message: Uint8Array, timeoutMs: number): Buffer;
  /** The fast path; engine.ts documents the layouts (params, blob, results). Throws TypeError. */
  dpCreate(): NativeEngineHandle;
  dpAdd(engine: NativeEngineHandle, cipher: string, key: Uint8Array, params: Uint32Array, blob: Uint8Array): number;
  dpRemove(engine: NativeEngineHandle, slot: number): boolean;
  /** v = [activateAt, removeAt, deadline, budgetPackets, budgetBytes]. */
  dpSet(engine: NativeEngineHandle, slot: number, v: Float64Array): void;
  /** Reads (or first writes) [last seq, next IV counter, flags]. */
  dpSender(engine: NativeEngineHandle, slot: number, state: BigUint64Array, write: boolean): void;
  /** io = [top, size]; resetTop >= 0 restarts the window there. False: the slot has no window. */
  dpReplay(engine: NativeEngineHandle, slot: number, io: Float64Array, resetTop: number): boolean;
  /** One ESP packet (no outer header) into out: its length, or a negative NativeStatus. */
  dpEncapRaw(engine: NativeEngineHandle, slot: number, payload: Uint8Array, nh: number, out: Uint8Array): number;
  /** io = [pos (in/out), needed (out), drained slots in acc (out), 0]; returns packets handled. */
  dpEncrypt(engine: NativeEngineHandle, packets: readonly Uint8Array[], start: number, count: number, now: number, out: Uint8Array, io: Float64Array, res: Int32Array, acc: Float64Array): number;
  /** headers: the outer header per frame (null: ESP over UDP), read only to rebuild transport packets; or null. */
  dpDecrypt(engine: NativeEngineHandle, esps: readonly Uint8Array[], start: number, count: number, now: number, out: Uint8Array, io: Float64Array, res: Int32Array, acc: Float64Array, addrs: Uint8Array, seqs: Float64Array, headers: ReadonlyArray<Uint8Array | null> | null): number;
  /** fastGcm: AES-GCM/GMAC run on OpenSSL's GCM128 over AES-NI (gcm_fast.h), not through EVP. */
  info(): { openssl: string; maxBurst: number; maxPacket: number; fastGcm: boolean; status: Record<string, number> };
}

/** Where the build puts the addon (repo-relative: native/esp-burst/build/Release); ikev2/crypto/native.ts resolves it. */
export const ADDON_PATH = DEFAULT_NATIVE_ADDON_PATH;

export const BUILD_HINT =
  'Build it with `node scripts/build-native.mjs` (offline: g++, make, python3 and Node\'s headers in /usr/include/node)';

let cached: { addon: NativeAddon } | { error: ProviderUnavailableError } | undefined;

/** The addon, or throws ProviderUnavailableError saying how to build it. */
export function loadNativeAddon(provider = 'native'): NativeAddon {
  cached ??= tryLoad();
  if ('error' in cached) {
    const e = cached.error;
    throw new ProviderUnavailableError(provider, e.reason, e.remedy, e.cause);
  }
  return cached.addon;
}

/** Whether the addon loads; never throws. */
export function nativeAddonAvailable(): boolean {
  cached ??= tryLoad();
  return 'addon' in cached;
}

function tryLoad(): { addon: NativeAddon } | { error: ProviderUnavailableError } {
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    return { error: new ProviderUnavailableError('native', `addon not built (${path} is missing)`, BUILD_HINT) };
  }
  try {
    return { addon: requireNativeAddon(path) as NativeAddon };
  } catch (cause) {
    return { error: new ProviderUnavailableError('native', `addon failed to load (${String(cause)})`, BUILD_HINT, cause) };
  }
}
