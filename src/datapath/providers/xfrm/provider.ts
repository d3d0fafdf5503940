/**
 * The `xfrm` provider: SAs and policies go into the Linux kernel over NETLINK_XFRM, with
 * crypto or packet offload to a device when configured (F.5). Packets then travel through
 * the kernel's stack, never through encryptBurst/decryptBurst. Kernels built without ESP
 * (like this project's machines) answer NEWSA with ENOSYS/EPROTONOSUPPORT: addSA turns that
 * into ProviderUnavailableError.
 */
import { GkmError } from '../../../ikev2/errors.ts';
import { espSuite, type EspAlgorithms } from '../../esp/suite.ts';
import type { EspFrame } from '../../modes/types.ts';
import type {
  InboundFrame,
  OffloadProvider,
  ProviderCapabilities,
  SaConfig,
  SaHandle,
  SaStats,
  SaUpdate,
} from '../../provider.ts';
import { ProviderUnavailableError } from '../errors.ts';
import {
  bitmapWords,
  delPolicy,
  delSa,
  getSa,
  needsEsnAttr,
  newAe,
  newPolicy,
  newSa,
  parseSaState,
  type XfrmOffload,
  type XfrmPolicy,
  type XfrmSa,
} from './messages.ts';
import { policiesFor, saFromConfig } from './model.ts';
import { messageAttrs, XfrmSocket, type XfrmReply, type XfrmSocketOptions } from './socket.ts';
import { Size, XFRMA_REPLAY_ESN_MAX, XfrmMsg } from './uapi.ts';

export interface XfrmProviderOptions extends XfrmSocketOptions {
  /** Crypto or packet offload of every SA (and, for packet offload, its policies) to a device. */
  readonly offload?: XfrmOffload;
  /** XFRMA_IF_ID for xfrm interfaces. */
  readonly ifId?: number;
  /** Send XFRMA_SA_DIR (Linux 6.10+); default true. */
  readonly saDir?: boolean;
  readonly firstReqid?: number;
}

interface Installed {
  readonly config: SaConfig;
  readonly sa: XfrmSa;
  readonly policies: readonly XfrmPolicy[];
  retireTimer?: NodeJS.Timeout;
}

/** errnos meaning "this kernel cannot do ESP XFRM", as opposed to a message it rejected. */
const UNSUPPORTED = new Set(['ENOSYS', 'EPROTONOSUPPORT', 'EAFNOSUPPORT']);
const GONE = new Set(['ESRCH', 'ENOENT']);

export const XFRM_REMEDY =
  'Use a kernel with CONFIG_INET_ESP/CONFIG_INET6_ESP and the AEAD crypto (gcm, rfc4106, chacha20poly1305), or the userspace/native provider';

export class XfrmProvider implements OffloadProvider {
  readonly name = 'xfrm';
  private readonly sock: XfrmSocket;
  private readonly installed = new Map<SaHandle, Installed>();
  private nextHandle = 1;
  private nextReqid: number;

  constructor(private readonly opts: XfrmProviderOptions = {}) {
    this.sock = new XfrmSocket(opts);
    this.nextReqid = opts.firstReqid ?? 0x6b6d0001;
  }

  capabilities(): ProviderCapabilities {
    return {
      modes: ['transport', 'tunnel', 'tunnel-preserve', 'beet'],
      supports: (a: EspAlgorithms) => {
        try {
          return espSuite(a).counterIv;
        } catch {
          return false;
        }
      },
      esn: true,
      udpEncapsulation: true,
      ipv6: true,
      multiSender: false,
      offload: this.opts.offload === undefined ? 'none' : this.opts.offload.packet ? 'packet' : 'crypto',
      maxReplayWindow: XFRMA_REPLAY_ESN_MAX * 8,
    };
  }

  addSA(c: SaConfig): SaHandle {
    const sa = saFromConfig(c, { reqid: this.nextReqid++, ...this.opts });
    const policies = policiesFor(c, sa);
    this.expect(this.sock.request((seq) => newSa(sa, seq)), 'NEWSA');
    const added: XfrmPolicy[] = [];
    try {
      for (const p of policies) {
        this.expect(this.sock.request((seq) => newPolicy(p, seq)), 'NEWPOLICY');
        added.push(p);
      }
    } catch (e) {
      this.remove({ config: c, sa, policies: added });
      throw e;
    }
    const handle = this.nextHandle++;
    this.installed.set(handle, { config: c, sa, policies });
    return handle;
  }

  updateSA(handle: SaHandle, u: SaUpdate): void {
    const it = this.get(handle);
    if (u.activateAt !== undefined) {
      throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'activateAt', detail: 'xfrm has no activation time: add the SA when it should start' });
    }
    if (u.retireAfterMs !== undefined) {
      clearTimeout(it.retireTimer);
      it.retireTimer = setTimeout(() => this.installed.has(handle) && this.deleteSA(handle), Math.max(0, u.retireAfterMs));
      it.retireTimer.unref();
    }
  }

  deleteSA(handle: SaHandle): void {
    const it = this.get(handle);
    clearTimeout(it.retireTimer);
    this.installed.delete(handle);
    this.remove(it);
  }

  /** Policies first (no traffic into a missing SA), then the SA; already-gone entries are fine. */
  private remove(it: Installed): void {
    for (const p of it.policies) this.expect(this.sock.request((seq) => delPolicy(p, seq)), 'DELPOLICY', true);
    this.expect(this.sock.request((seq) => delSa(it.sa, seq)), 'DELSA', true);
  }

  encryptBurst(packets: readonly Buffer[]): Array<EspFrame | GkmError> {
    return packets.map(() => kernelPath());
  }

  decryptBurst(frames: readonly InboundFrame[]): Array<Buffer | GkmError | null> {
    return frames.map(() => kernelPath());
  }

  stats(handle: SaHandle): SaStats {
    const it = this.get(handle);
    const reply = this.expect(this.sock.request((seq) => getSa(it.sa, seq)), 'GETSA');
    const m = reply.messages.find((x) => x.type === XfrmMsg.NEWSA);
    if (m === undefined) throw new GkmError('GKM_ESP_NO_SA', { field: 'xfrm.GETSA', detail: 'no state in the answer' });
    const s = parseSaState(m.payload, messageAttrs(m, Size.usersaInfo));
    const out = it.config.direction === 'out';
    return {
      packets: Number(s.packets),
      bytes: Number(s.bytes),
      replayDrops: s.replayDrops,
      authFailures: s.integrityFailed,
      malformed: 0,
      policyDrops: 0,
      dummies: 0,
      ...(out ? { nextSeq: s.oseq + 1 } : { replayTop: s.seq, replayWindow: s.replayWindow }),
    };
  }

  setSeq(handle: SaHandle, nextSeq: number): void {
    const it = this.get(handle);
    if (it.config.direction !== 'out') throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'handle', detail: 'not outbound' });
    this.syncAe(it, { oseq: nextSeq - 1, seq: 0 });
  }

  syncReplay(handle: SaHandle, top: number): void {
    const it = this.get(handle);
    if (it.config.direction !== 'in') throw new GkmError('GKM_ESP_BAD_CONFIG', { field: 'handle', detail: 'not inbound' });
    this.syncAe(it, { oseq: 0, seq: top });
  }

  private syncAe(it: Installed, v: { oseq: number; seq: number }): void {
    const hi = (n: number): number => Math.floor(n / 0x1_0000_0000);
    const replay = { window: it.sa.replayWindow ?? 0, oseq: v.oseq >>> 0, oseqHi: hi(v.oseq), seq: v.seq >>> 0, seqHi: hi(v.seq) };
    const bmpLen = needsEsnAttr(it.sa) ? bitmapWords(replay.window) : null;
    this.expect(this.sock.request((seq) => newAe(it.sa, it.sa.reqid, replay, bmpLen, seq)), 'NEWAE');
  }

  /** Packets never pass through userspace with this provider. */
  offloadOk(): boolean {
    return false;
  }

  close(): void {
    for (const handle of [...this.installed.keys()]) this.deleteSA(handle);
  }

  private get(handle: SaHandle): Installed {
    const it = this.installed.get(handle);
    if (it === undefined) throw new GkmError('GKM_ESP_NO_SA', { field: 'sad', detail: `handle ${handle}` });
    return it;
  }

  /** Maps the kernel's ack to success, ProviderUnavailableError or a typed config error. */
  private expect(r: XfrmReply, what: string, goneOk = false): XfrmReply {
    const { errno, code, message } = r.ack;
    if (errno === 0 || (goneOk && GONE.has(code))) return r;
    const detail = `${what}: ${code}${message ? ` (${message})` : ''}`;
    if (UNSUPPORTED.has(code)) throw new ProviderUnavailableError('xfrm', `the kernel refused ${detail}`, XFRM_REMEDY);
    throw new GkmError(GONE.has(code) ? 'GKM_ESP_NO_SA' : 'GKM_ESP_BAD_CONFIG', { field: `xfrm.${what}`, detail });
  }
}

const kernelPath = (): GkmError =>
  new GkmError('GKM_ESP_BAD_CONFIG', { field: 'provider', detail: 'xfrm: the kernel processes packets on the stack' });
