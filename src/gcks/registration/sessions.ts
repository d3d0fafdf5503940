/**
 * Per-IKE-SA registration state on the GCKS: which member authenticated it (GSA_AUTH),
 * which groups it joined, GSK_w of the SA (RFC 9838 §3.1.1, derived once per IKE SA), and
 * the linger timer. By convention the GCKS closes the IKE SA once the GM has its keys
 * (§2.3, "the GCKS closes it"): after `lingerMs` without another registration request,
 * unless a group it joined is rekeyed in-band (§2.4.2), which needs the SA.
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
  linger: Timer | undefined;
}

export class RegistrationSessions {
  readonly #sessions = new WeakMap<IkeSa, RegistrationSession>();
  readonly #lingerMs: number;

  /** `lingerMs` 0 keeps IKE SAs until the GM closes them. */
  constructor(lingerMs: number) {
    this.#lingerMs = lingerMs;
  }

  start(sa: IkeSa, memberId: number): RegistrationSession {
    const s: RegistrationSession = { memberId, groups: new Set(), inband: false, channel: undefined, linger: undefined };
    this.#sessions.set(sa, s);
    return s;
  }

  get(sa: IkeSa): RegistrationSession | undefined {
    return this.#sessions.get(sa);
  }

  /** The IKE SA as registration sees it: SPIs, peer, KWA and GSK_w. */
  ikeSaRef(sa: IkeSa, s: RegistrationSession, remote: { ip: string; port: number }): IkeSaRef {
    return { spi: Buffer.concat([sa.spiI, sa.spiR]), peer: endpointText(remote), channel: (s.channel ??= channelOf(sa)) };
  }

  /** (Re)arm the close-after-registration timer of the SA. */
  touch(ctx: TaskContext, s: RegistrationSession): void {
    s.linger?.cancel();
    s.linger = undefined;
    if (this.#lingerMs <= 0 || s.inband) return;
    s.linger = ctx.setTimer(this.#lingerMs, () => {
      if (ctx.sa.phase === 'established') ctx.deleteIkeSa();
    });
  }
}

/** KWA negotiated in IKE_SA_INIT and GSK_w = prf+(SK_d, "Key Wrap for G-IKEv2"). */
function channelOf(sa: IkeSa): IkeSaKeyChannel {
  const { suite, prf, keys } = sa.requireCrypto();
  if (suite.kwaId === undefined) throw new GkmError('GKM_IKE_NO_PROPOSAL_CHOSEN', { field: 'IKE SA', detail: 'no Key Wrap Algorithm negotiated' });
  return { kwaId: suite.kwaId, gskW: gskW(prf, keys.skD, getKeyWrap(suite.kwaId).keyLength) };
}
