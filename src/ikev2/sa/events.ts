/**
 * Engine events (the member CLI's `--json` lines, the GCKS's audit log). They carry SPIs,
 * identities and algorithm names, never keys.
 */
import type { ErrorCode } from '../errors.ts';
import type { Endpoint } from './types.ts';

export interface IkeSaSummary {
  readonly id: string;
  readonly name?: string;
  readonly role: 'initiator' | 'responder';
  readonly spiI: string;
  readonly spiR: string;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly localId?: string;
  readonly remoteId?: string;
  /** e.g. { encr: 'AES_GCM_16/256', prf: 'HMAC_SHA2_256', ke: 'CURVE25519' }. */
  readonly suite?: Readonly<Record<string, string>>;
  readonly natLocal?: boolean;
  readonly natRemote?: boolean;
}

export interface ChildSaSummary {
  readonly name: string;
  readonly protocol: 'esp' | 'ah';
  readonly mode: 'tunnel' | 'transport';
  /** Hex, 8 digits. */
  readonly inboundSpi: string;
  readonly outboundSpi: string;
  readonly encapsulated: boolean;
  readonly suite: Readonly<Record<string, string>>;
  /** RFC 9611 per-resource SA: its resource id (hex), '' for the fallback SA. */
  readonly resourceId?: string;
}

/** 'rekeyed': replaced by a rekey (RFC 7296 §2.8, §2.18); 'expired': hard lifetime reached. */
export type CloseReason = 'local' | 'peer' | 'timeout' | 'auth-failed' | 'initial-contact' | 'error' | 'half-open-timeout' | 'rekeyed' | 'expired';

export type IkeEvent =
  | { readonly type: 'ike_up'; readonly ike: IkeSaSummary }
  | { readonly type: 'child_up'; readonly ikeSaId: string; readonly child: ChildSaSummary }
  /**
   * A rekey took effect. Child SA: `old`/`new` are the inbound SPIs (hex), `child` the new SA.
   * IKE SA: `old`/`new` are the IKE SA ids (our SPIs); `ikeSaId` is the new one.
   */
  | { readonly type: 'rekeyed'; readonly ikeSaId: string; readonly what: 'child'; readonly old: string; readonly new: string; readonly child?: ChildSaSummary }
  | { readonly type: 'rekeyed'; readonly ikeSaId: string; readonly what: 'ike'; readonly old: string; readonly new: string }
  /** `name`: the IKE SA's configuration name (PeerConfig.name), when it had one. */
  | { readonly type: 'deleted'; readonly ikeSaId: string; readonly what: 'ike'; readonly reason: CloseReason; readonly name?: string }
  | { readonly type: 'deleted'; readonly ikeSaId: string; readonly what: 'child'; readonly reason: CloseReason; readonly child: ChildSaSummary }
  | {
      readonly type: 'error';
      readonly ikeSaId?: string;
      readonly code: ErrorCode;
      /** Notify type involved (sent or received), if any. */
      readonly notify?: number;
      readonly notifyName?: string;
      readonly message: string;
    };

export type IkeEventType = IkeEvent['type'];
type Listener<T extends IkeEventType> = (e: Extract<IkeEvent, { type: T }>) => void;

/** A tiny typed emitter; a throwing listener never breaks the engine. */
export class EventHub {
  readonly #listeners = new Map<IkeEventType | '*', Set<(e: IkeEvent) => void>>();

  on<T extends IkeEventType>(type: T, fn: Listener<T>): () => void;
  on(type: '*', fn: (e: IkeEvent) => void): () => void;
  on(type: IkeEventType | '*', fn: (e: never) => void): () => void {
    const set = this.#listeners.get(type) ?? new Set();
    set.add(fn as (e: IkeEvent) => void);
    this.#listeners.set(type, set);
    return () => set.delete(fn as (e: IkeEvent) => void);
  }

  /** Whether an event of this type reaches anyone: a caller may skip building it otherwise. */
  has(type: IkeEventType): boolean {
    return (this.#listeners.get(type)?.size ?? 0) > 0 || (this.#listeners.get('*')?.size ?? 0) > 0;
  }

  emit(e: IkeEvent): void {
    this.#call(this.#listeners.get(e.type), e);
    this.#call(this.#listeners.get('*'), e);
  }

  #call(set: Set<(e: IkeEvent) => void> | undefined, e: IkeEvent): void {
    if (set === undefined) return;
    for (const fn of set) {
      try {
        fn(e);
      } catch {
        // listeners are observers; their failures are theirs
      }
    }
  }
}
