/**
 * A lean GSA_AUTH initiator for the GCKS registration load (bench/gcks-registration.bench.ts):
 * the protocol of a GM's registration without the IKE engine's machinery (tasks, events,
 * SA objects, liveness), so that the load generator leaves more of a shared machine to the
 * GCKS. Each registration still does the real thing, with the project's codec and crypto:
 *
 *   HDR, SAi1, KEi, Ni, N(NAT_D_SRC), N(NAT_D_DST), N(FRAG), N(SIG_HASH), N(CHILDLESS)  -->
 *                                            <--  HDR, SAr1, KEr, Nr, [N(...)]
 *   HDR, SK{IDi, AUTH, IDg}  -->   (RFC 9838 §2.3.1, PSK AUTH of RFC 7296 §2.15)
 *                                            <--  HDR, SK{IDr, AUTH, GSA, KD}
 *   HDR, SK{D}  -->                (the GM has its keys: the IKE SA goes; the reply is not read)
 *
 * with a fresh SPI, nonce and X25519 key pair per registration, the chosen proposal checked
 * against the offer, SKEYSEED and SK_* derived, and the GCKS's AUTH verified (timing-safe)
 * before GSA and KD count. Not done (a load generator on loopback needs none of it): NAT-D
 * checks of the response, COOKIE / INVALID_KE retries, unwrapping the keys (the tests do
 * that: test/gcks/registration, test/e2e). Requests are retransmitted like the engine's.
 */
import { createSocket, type Socket } from 'node:dgram';
import { timingSafeEqual } from 'node:crypto';
import { createInitiatorKe, createInitiatorKeFrom, type KeInitiator } from '../../src/ikev2/crypto/ke.ts';
import type { DhGroup } from '../../src/ikev2/crypto/ke-dh.ts';
import { protectMessage, unprotectMessage } from '../../src/ikev2/crypto/encrypted-message.ts';
import { pskAuth, signedOctets } from '../../src/ikev2/crypto/keys.ts';
import { AuthMethod, ExchangeType, HeaderFlag, IdType, NotifyType, PayloadType, ProtocolId } from '../../src/ikev2/registry/index.ts';
import { deriveIkeCrypto, ikeSuiteOf } from '../../src/ikev2/sa/exchanges/ike-sa-init.ts';
import { DEFAULT_SIGNATURE_HASHES } from '../../src/ikev2/sa/config.ts';
import type { IkeCrypto } from '../../src/ikev2/sa/ike-sa.ts';
import { idPayload, type Identity } from '../../src/ikev2/sa/identity.ts';
import { natDetectionNotifies } from '../../src/ikev2/sa/nat.ts';
import { checkChosenProposal, numberedProposals } from '../../src/ikev2/sa/proposals.ts';
import { pooledRandomSource } from '../../src/ikev2/sa/random-pool.ts';
import type { Endpoint } from '../../src/ikev2/sa/types.ts';
import { usesMarker } from '../../src/ikev2/transport/framing.ts';
import { decodeMessage, encodeMessage, NON_ESP_MARKER, NotifyData, payloadBody, type AuthPayload, type Proposal, type DecodedMessage, type IdrPayload, type KePayload, type NoncePayload, type Payload, type ProposalSpec, type SaPayload } from '../../src/ikev2/wire/index.ts';

const ZERO_SPI = Buffer.alloc(8);
const NONCE_LENGTH = 32;

export interface LeanGmOptions {
  readonly gcks: Endpoint;
  readonly proposal: ProposalSpec;
  /** IDg of the group to join (ID_KEY_ID). */
  readonly group: Buffer;
  readonly retransmit?: { readonly baseMs: number; readonly factor: number; readonly tries: number };
  readonly socketBufferBytes?: number;
  /**
   * The proposal's KE method as a DH group to draw each GM's key pair from (e.g. key pairs
   * made before the timed phase: gm-key-pairs.ts); the project's KE registry otherwise.
   */
  readonly keyExchange?: DhGroup;
}

interface Pending {
  /** Called with each response to the outstanding request (Message ID `messageId`). */
  onResponse(msg: DecodedMessage): void;
  messageId: number;
  request: Buffer;
  tries: number;
  timer: NodeJS.Timeout | undefined;
  fail(): void;
}

/** The engine's defaults (fragmentation, RFC 7427 hashes, childless), so the GCKS sees the same requests. */
const CAPABILITIES: readonly Payload[] = [NotifyData.IKEV2_FRAGMENTATION_SUPPORTED.build(), NotifyData.SIGNATURE_HASH_ALGORITHMS.build(DEFAULT_SIGNATURE_HASHES), NotifyData.CHILDLESS_IKEV2_SUPPORTED.build()];

/**
 * A GM's IKE_SA_INIT request (RFC 7296 §1.2) as the lean GM sends it: HDR, SAi1, KEi, Ni,
 * N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP), N(FRAG), N(SIG_HASH),
 * N(CHILDLESS). The native generator (bench/native/gm-load.c) takes one as its template.
 */
export function ikeSaInitRequest(p: { spiI: Buffer; offer: readonly Proposal[]; method: number; kePublic: Buffer; ni: Buffer; local: Endpoint; gcks: Endpoint }): Buffer {
  return encodeMessage({
    header: { spiI: p.spiI, spiR: ZERO_SPI, exchangeType: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.INITIATOR, messageId: 0 },
    payloads: [
      { type: PayloadType.SA, proposals: p.offer } satisfies SaPayload,
      { type: PayloadType.KE, method: p.method, data: p.kePublic } satisfies KePayload,
      { type: PayloadType.NONCE, nonce: p.ni } satisfies NoncePayload,
      ...natDetectionNotifies(p.spiI, ZERO_SPI, p.local, p.gcks),
      ...CAPABILITIES,
    ],
  });
}

export class LeanGm {
  readonly #socket: Socket;
  readonly #o: LeanGmOptions;
  readonly #offer;
  readonly #pending = new Map<bigint, Pending>();
  /** SPIs and nonces from the CSPRNG 4 KiB at a time, as the engine draws them (one randomBytes call cost ~5% of the generator). */
  readonly #random = pooledRandomSource();
  #local!: Endpoint;
  /** RFC 3948 §2.2: neither end on port 500, so IKE goes with the non-ESP marker (as the engine's transport does). */
  #marked = false;

  private constructor(socket: Socket, o: LeanGmOptions) {
    this.#socket = socket;
    this.#o = o;
    this.#offer = numberedProposals([o.proposal]);
    socket.on('message', (d) => this.#receive(d));
  }

  static async open(o: LeanGmOptions): Promise<LeanGm> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // Connected to the GCKS: a send takes no address, so Node skips its per-datagram lookup
    // (a nextTick and an async-id scope each: ~1/3 of the generator's send cost).
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(o.gcks.port, o.gcks.ip, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (e) => console.error(`load generator socket: ${e.message}`));
    const size = o.socketBufferBytes ?? 8 << 20;
    socket.setRecvBufferSize(size);
    socket.setSendBufferSize(size);
    const gm = new LeanGm(socket, o);
    const a = socket.address();
    gm.#local = { ip: a.address, port: a.port };
    gm.#marked = usesMarker('auto', a.port, o.gcks.port);
    return gm;
  }

  close(): Promise<void> {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  /** One registration: resolves true once the GCKS's AUTH verified and GSA and KD came back. */
  register(id: Identity, psk: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      const spiI = this.#random(8);
      const key = spiI.readBigUInt64BE(0);
      const ni = this.#random(NONCE_LENGTH);
      const method = this.#o.proposal.ke as number;
      const ke: KeInitiator = this.#o.keyExchange ? createInitiatorKeFrom(method, this.#o.keyExchange) : createInitiatorKe(method);
      const settle = (ok: boolean): void => {
        const p = this.#pending.get(key);
        if (p) clearTimeout(p.timer);
        this.#pending.delete(key);
        resolve(ok);
      };
      const init = ikeSaInitRequest({ spiI, offer: this.#offer, method: ke.method, kePublic: ke.publicData(), ni, local: this.#local, gcks: this.#o.gcks });
      const onInitResponse = (res: DecodedMessage): void => {
        let crypto: IkeCrypto;
        let nr: Buffer;
        try {
          if (res.header.exchangeType !== ExchangeType.IKE_SA_INIT) return;
          const sa = res.payloads.find((p): p is SaPayload => p.type === PayloadType.SA);
          const ker = res.payloads.find((p): p is KePayload => p.type === PayloadType.KE);
          const nonce = res.payloads.find((p): p is NoncePayload => p.type === PayloadType.NONCE);
          if (!sa || !ker || !nonce) return settle(false);
          const suite = ikeSuiteOf(checkChosenProposal(sa.proposals, this.#offer, 0));
          nr = nonce.nonce;
          crypto = deriveIkeCrypto('initiator', suite, ni, nr, ke.complete(ker.data), spiI, res.header.spiR);
        } catch {
          return settle(false);
        }
        const spiR = Buffer.from(res.header.spiR);
        const initResponse = Buffer.from(res.raw);
        const idi = idPayload(PayloadType.IDi, id);
        const auth: AuthPayload = { type: PayloadType.AUTH, method: AuthMethod.PSK, data: pskAuth(crypto.prf, psk, signedOctets(init, nr, crypto.prf, crypto.keys.skPi, payloadBody(idi))) };
        const header = (exchangeType: number, messageId: number) => ({ spiI, spiR, exchangeType, flags: HeaderFlag.INITIATOR, messageId });
        const gsaAuth = protectMessage(header(ExchangeType.GSA_AUTH, 1), [idi, auth, { type: PayloadType.IDg, idType: IdType.ID_KEY_ID, data: this.#o.group }], crypto.outbound, crypto.ivs);
        this.#send(key, 1, gsaAuth, (reply) => {
          let ok = false;
          try {
            const inner = unprotectMessage(reply, crypto.inbound).inner;
            const idr = inner.find((p): p is IdrPayload => p.type === PayloadType.IDr);
            const theirs = inner.find((p): p is AuthPayload => p.type === PayloadType.AUTH);
            if (idr && theirs && theirs.method === AuthMethod.PSK) {
              const expected = pskAuth(crypto.prf, psk, signedOctets(initResponse, ni, crypto.prf, crypto.keys.skPr, payloadBody(idr)));
              ok = expected.length === theirs.data.length && timingSafeEqual(expected, theirs.data) && inner.some((p) => p.type === PayloadType.GSA) && inner.some((p) => p.type === PayloadType.KD) && !inner.some((p) => p.type === PayloadType.NOTIFY && p.notifyType < NotifyType.INITIAL_CONTACT);
            }
          } catch {
            ok = false;
          }
          // RFC 7296 §1.4.1: delete the IKE SA; its reply is not waited for.
          if (ok) this.#datagram(protectMessage(header(ExchangeType.INFORMATIONAL, 2), [{ type: PayloadType.DELETE, protocolId: ProtocolId.IKE, spiSize: 0, spis: [] }], crypto.outbound, crypto.ivs));
          settle(ok);
        }, () => settle(false));
      };
      this.#send(key, 0, init, onInitResponse, () => {
        ke.dispose();
        settle(false);
      });
    });
  }

  #send(key: bigint, messageId: number, request: Buffer, onResponse: (m: DecodedMessage) => void, fail: () => void): void {
    const old = this.#pending.get(key);
    if (old) clearTimeout(old.timer);
    const p: Pending = { onResponse, messageId, request, tries: 0, timer: undefined, fail };
    this.#pending.set(key, p);
    this.#transmit(key, p);
  }

  #transmit(key: bigint, p: Pending): void {
    const r = this.#o.retransmit ?? { baseMs: 2000, factor: 1.5, tries: 5 };
    this.#datagram(p.request);
    p.timer = setTimeout(() => {
      if (this.#pending.get(key) !== p) return;
      if (++p.tries >= r.tries) {
        this.#pending.delete(key);
        p.fail();
      } else this.#transmit(key, p);
    }, r.baseMs * r.factor ** p.tries);
  }

  #datagram(message: Buffer): void {
    this.#socket.send(this.#marked ? [NON_ESP_MARKER, message] : message);
  }

  #receive(datagram: Buffer): void {
    const d = this.#marked ? datagram.subarray(NON_ESP_MARKER.length) : datagram;
    if (d.length < 28) return;
    const p = this.#pending.get(d.readBigUInt64BE(0));
    if (!p || d.readUInt32BE(20) !== p.messageId || (d[19]! & HeaderFlag.RESPONSE) === 0) return; // e.g. the reply to a Delete
    let msg: DecodedMessage;
    try {
      msg = decodeMessage(d);
    } catch {
      return;
    }
    clearTimeout(p.timer);
    p.timer = undefined;
    p.onResponse(msg);
  }
}

