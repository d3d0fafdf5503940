/**
 * Per-IKE-SA registration state on the GCKS: which member authenticated it (GSA_AUTH),
 * which groups it joined, GSK_w of the SA (RFC 9838 §3.1.1, derived once per IKE SA), and
 * the linger timer. By convention the GCKS closes the IKE SA once the GM has its keys
 * (§2.3, "the GCKS closes it"): after `lingerMs` without another registration request,
 * unless a group it joined is rekeyed in-band (§2.4.2), which needs the SA. After an IKE SA
 * rekey the state moves to the new SA and GSK_w is derived again from its SK_d (§3.1.1).
 */
import { gskW } from '../../ikev2/crypto/keys.ts';
import { getKeyWrap } from '../../ikev2/crypto/keywrap.ts';
import { GkmError } from '../../ikev2/errors.ts';
import type { IkeSa } from '../../ikev2/sa/ike-sa.ts';
import type { TaskContext } from '../../ikev2/sa/task.ts';
import type { Timer } from '../../ikev2/sa/types.ts';
import { endpointText } from '../../ikev2/sa/types.ts';
import type { IkeSaKeyChannel } from '../keys/index.ts';
import type { IkeSaRef } from './registrar.ts';

export interface RegistrationSession {
  readonly memberId: number;
  readonly groups: Set<number>;
  inband: boolean;
  channel: IkeSaKeyChannel | undefined;
  /** KWA of IKE_SA_INIT, kept across IKE SA rekeys (a rekey's proposal may leave it out). */
  kwaId: number | undefined;
  linger: Timer | undefined;
}

/** The linger timer's handler, shared by every session (no closure per registration). */
function lingerOut(ctx: TaskContext): void {
  if (ctx.sa.phase === 'established') ctx.deleteIkeSa();
}

export class RegistrationSessions {
  /** By IKE SA id; entries go with the SA (`end`) and follow its rekeys (`rekeyed`). */
  readonly #sessions = new Map<string, RegistrationSession>();
  readonly #lingerMs: number;

  /** `lingerMs` 0 keeps IKE SAs until the GM closes them. */
  constructor(lingerMs: number) {
    this.#lingerMs = lingerMs;
  }

  start(sa: IkeSa, memberId: number): RegistrationSession {
    const s: RegistrationSession = { memberId, groups: new Set(), inband: false, channel: undefined, kwaId: undefined, linger: undefined };
    this.#sessions.set(sa.id, s);
    return s;
  }

  get(sa: IkeSa): RegistrationSession | undefined {
    return this.#sessions.get(sa.id);
  }

  /** An IKE SA rekey (RFC 7296 §2.18): the registrations continue on the new SA, with a new GSK_w. */
  rekeyed(oldId: string, newId: string): void {
    const s = this.#sessions.get(oldId);
    if (!s) return;
    this.#sessions.delete(oldId);
    s.linger?.cancel();
    this.#sessions.set(newId, { ...s, channel: undefined, linger: undefined });
  }

  end(id: string): void {
    this.#sessions.get(id)?.linger?.cancel();
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The IKE SA as registration sees it: SPIs, peer, KWA and GSK_w. */
  ikeSaRef(sa: IkeSa, s: RegistrationSession, remote: { ip: string; port: number }): IkeSaRef {
    s.channel ??= channelOf(sa, s.kwaId);
    s.kwaId = s.channel.kwaId;
    return { spi: Buffer.concat([sa.spiI, sa.spiR]), peer: endpointText(remote), channel: s.channel };
  }

  /** (Re)arm the close-after-registration timer of the SA. */
  touch(ctx: TaskContext, s: RegistrationSession): void {
    s.linger?.cancel();
    s.linger = undefined;
    if (this.#lingerMs <= 0 || s.inband) return;
    s.linger = ctx.setTimerWith(this.#lingerMs, lingerOut, undefined);
  }
}

/** KWA negotiated in IKE_SA_INIT and GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2"). */
function channelOf(sa: IkeSa, kept: number | undefined): IkeSaKeyChannel {
  const { suite, prf, keys } = sa.requireCrypto();
  const kwaId = suite.kwaId ?? kept;
  if (kwaId === undefined) throw new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'IKE SA', detail: 'no Key Wrap Algorithm negotiated' });
  return { kwaId, gskW: gskW(prf, keys.skD, getKeyWrap(kwaId).keyLength) };
}
