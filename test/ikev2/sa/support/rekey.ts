/**
 * Helpers for CREATE_CHILD_SA tests: established pairs, packet decoding with either side's
 * keys, nonce control for collision tests, and an invariant check that both peers agree.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { unprotectMessage } from '../../../../src/ikev2/crypto/encrypted-message.ts';
import { ExchangeType, HeaderFlag, PayloadType } from '../../../../src/ikev2/registry/index.ts';
import { decodeMessage, type Payload } from '../../../../src/ikev2/wire/index.ts';
import type { IkeSa } from '../../../../src/ikev2/sa/ike-sa.ts';
import type { EngineOptions, PeerConfig, ResponderPolicy } from '../../../../src/ikev2/sa/config.ts';
import { ep, pskInitiator, pskResponder, World, type Packet, type Peer } from './harness.ts';

/** A random source whose next nonce-sized draws can be forced (collision order tests). */
export class ControlledRandom {
  readonly forced: Buffer[] = [];
  constructor(private readonly nonceLength = 32) {}
  readonly source = (n: number): Buffer => (n === this.nonceLength && this.forced.length > 0 ? this.forced.shift()! : randomBytes(n));
}

export interface RekeyPair {
  readonly world: World;
  readonly i: Peer;
  readonly r: Peer;
  readonly iRandom: ControlledRandom;
  readonly rRandom: ControlledRandom;
  /** The initiator's (first) IKE SA, established. */
  readonly isa: IkeSa;
  /** The responder's IKE SA of the same pair. */
  rsa(): IkeSa;
}

export async function establishedPair(opts: { initiator?: Partial<PeerConfig>; responder?: Partial<PeerConfig>; responderInit?: Partial<ResponderPolicy['init']>; options?: Partial<EngineOptions>; responderOptions?: Partial<EngineOptions> } = {}): Promise<RekeyPair> {
  const world = new World();
  const iRandom = new ControlledRandom();
  const rRandom = new ControlledRandom();
  const base = { livenessIntervalMs: 0, ...opts.options };
  const i = world.engine('10.0.0.1', { options: base, random: iRandom.source });
  const r = world.engine('10.0.0.2', { responder: pskResponder(opts.responder, opts.responderInit), options: { ...base, ...opts.responderOptions }, random: rRandom.source });
  const isa = i.engine.initiate(pskInitiator(opts.initiator), ep(r.ip), ep(i.ip));
  await world.advance();
  assert.equal(isa.phase, 'established');
  const rsa = (): IkeSa => {
    const open = r.engine.list().filter((s) => s.phase === 'established');
    assert.equal(open.length, 1, 'one established IKE SA at the responder');
    return open[0]!;
  };
  return { world, i, r, iRandom, rRandom, isa, rsa };
}

/** The only established IKE SA of a peer. */
export function liveSa(p: Peer): IkeSa {
  const open = p.engine.list().filter((s) => s.phase === 'established');
  assert.equal(open.length, 1, `one established IKE SA at ${p.ip}`);
  return open[0]!;
}

/** Inner payloads of a protected packet, opened with whichever SA of `peers` can. */
export function openPacket(p: Packet, sas: readonly IkeSa[]): { exchangeType: number; response: boolean; messageId: number; payloads: readonly Payload[]; innerBytes?: Buffer } | undefined {
  const m = decodeMessage(p.datagram);
  const h = m.header;
  const response = (h.flags & HeaderFlag.RESPONSE) !== 0;
  if (h.exchangeType === ExchangeType.IKE_SA_INIT) return { exchangeType: h.exchangeType, response, messageId: h.messageId, payloads: m.payloads };
  for (const sa of sas) {
    if (!sa.crypto || !h.spiI.equals(sa.spiI) || !h.spiR.equals(sa.spiR)) continue;
    const fromUs = (h.flags & HeaderFlag.INITIATOR) !== 0 === (sa.role === 'initiator');
    try {
      const opened = unprotectMessage(m, fromUs ? sa.crypto.outbound : sa.crypto.inbound);
      return { exchangeType: h.exchangeType, response, messageId: h.messageId, payloads: opened.inner, innerBytes: opened.innerBytes };
    } catch {
      // other direction / other keys
    }
  }
  return undefined;
}

export const payloadTypes = (payloads: readonly Payload[]): (number | string)[] => payloads.map((p) => (p.type === PayloadType.NOTIFY ? `N(${p.notifyType})` : p.type));

/** Both peers hold the same Child SAs crosswise, and the sinks agree with the engines. */
export function assertChildrenAgree(i: Peer, r: Peer): void {
  const ic = [...liveSa(i).children.values()];
  const rc = [...liveSa(r).children.values()];
  assert.equal(ic.length, rc.length, 'same number of Child SAs');
  for (const c of ic) {
    const peer = rc.find((x) => x.outboundSpi.equals(c.inboundSpi));
    assert.ok(peer, `peer has the pair of ${c.inboundSpi.toString('hex')}`);
    assert.ok(peer.inboundSpi.equals(c.outboundSpi));
  }
  for (const p of [i, r]) {
    const live = new Set(p.sink.installed.map((s) => s.inbound.spi));
    for (const rm of p.sink.removed) live.delete(rm.inboundSpi);
    const engine = new Set([...liveSa(p).children.values()].map((c) => c.inboundSpi.readUInt32BE()));
    assert.deepEqual([...live].sort(), [...engine].sort(), `sink of ${p.ip} matches the engine`);
  }
}

/** Installed keys of the SA with inbound SPI `spi` at `p`, and its peer's view, match crosswise. */
export function assertKeysMatch(i: Peer, r: Peer, iInboundSpi: number): void {
  const a = i.sink.installed.find((s) => s.inbound.spi === iInboundSpi);
  const b = r.sink.installed.find((s) => s.outbound.spi === iInboundSpi);
  assert.ok(a && b);
  assert.ok(a.inbound.encKey.equals(b.outbound.encKey));
  assert.ok(a.outbound.encKey.equals(b.inbound.encKey));
  assert.ok(a.inbound.integKey.equals(b.outbound.integKey));
}
