/**
 * Two charons on 127.0.0.1 with private ports, the same links loaded on both ends, and a
 * tshark capture of everything between them. Also the checks both ends must agree on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  connectionBetween, freeUdpPorts, startCharon,
  type Charon, type ChildSa, type Endpoint, type IkeSa, type LinkSpec, type LogLevels, type Retransmit, type SwanctlConf,
} from '../../support/strongswan.ts';
import { startCapture, type Capture } from '../../support/strongswan-capture.ts';

export const PSK = 'gkm-interop-psk-not-a-secret';
const LOOPBACK = '127.0.0.1';

/** Identity of `side` on `link`: unique per link, so each IKE SA finds its own config. */
export const idOf = (side: string, link: string): string => `${side}-${link}@gkm.test`;

function confFor(side: 'a' | 'b', links: readonly LinkSpec[], ports: Record<'a' | 'b', number>): SwanctlConf {
  const other = side === 'a' ? 'b' : 'a';
  const end = (s: 'a' | 'b', link: string): Endpoint => ({ address: LOOPBACK, port: ports[s], id: idOf(s, link) });
  return {
    connections: links.map((l) => connectionBetween(l, end(side, l.name), end(other, l.name), side === 'b')),
    secrets: links.map((l) => ({ name: l.name, ids: [idOf('a', l.name), idOf('b', l.name)], secret: PSK })),
  };
}

export interface Pair {
  readonly a: Charon;
  readonly b: Charon;
  /** Every UDP port either daemon uses (IKE and NAT-T ports). */
  readonly ports: readonly number[];
  readonly capture?: Capture;
  stop(): Promise<void>;
}

export interface PairOptions {
  readonly root: string;
  readonly links: readonly LinkSpec[];
  readonly capture: boolean;
  readonly logLevels?: LogLevels;
  readonly retransmit?: Retransmit;
}

export async function startPair(o: PairOptions): Promise<Pair> {
  const [aIke, aNat, bIke, bNat] = (await freeUdpPorts(4)) as [number, number, number, number];
  const ikePorts = { a: aIke, b: bIke };
  const started: { capture?: Capture; a?: Charon; b?: Charon } = {};
  const stop = async (): Promise<void> => {
    await started.capture?.stop();
    await Promise.all([started.a?.stop(), started.b?.stop()]);
  };
  try {
    const ports = [aIke, aNat, bIke, bNat];
    if (o.capture) started.capture = await startCapture({ file: join(o.root, 'session.pcap'), udpPorts: ports });
    const common = { logLevels: o.logLevels, retransmit: o.retransmit };
    [started.a, started.b] = await Promise.all([
      startCharon({ ...common, name: 'a', dir: join(o.root, 'a'), ports: { ike: aIke, natt: aNat }, conf: confFor('a', o.links, ikePorts) }),
      startCharon({ ...common, name: 'b', dir: join(o.root, 'b'), ports: { ike: bIke, natt: bNat }, conf: confFor('b', o.links, ikePorts) }),
    ]);
    return { a: started.a, b: started.b, ports, capture: started.capture, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The one IKE SA of `name` with an installed Child SA, if it is there (and only it). */
export function establishedSa(sas: readonly IkeSa[], name: string): IkeSa | undefined {
  const mine = sas.filter((s) => s.name === name);
  const [only] = mine;
  if (mine.length !== 1 || only?.state !== 'ESTABLISHED') return undefined;
  return installedChild(only) ? only : undefined;
}

export function installedChild(sa: IkeSa): ChildSa | undefined {
  const installed = sa.children.filter((c) => c.state === 'INSTALLED');
  return installed.length === 1 ? installed[0] : undefined;
}

export interface PairedSa {
  readonly a: IkeSa;
  readonly b: IkeSa;
}

/**
 * Waits until both ends show `name` established (one IKE SA, one installed Child SA),
 * optionally in a state `accept` agrees with (e.g. new SPIs after a rekey), and checks
 * that the ends agree: same IKE SPIs and algorithms, crosswise Child SA SPIs.
 */
export async function paired(pair: Pair, name: string, accept: (s: IkeSa) => boolean = () => true): Promise<PairedSa> {
  const pick = (sas: IkeSa[]) => {
    const s = establishedSa(sas, name);
    return s && accept(s) ? s : undefined;
  };
  const [a, b] = await Promise.all([pair.a.waitForSas(`${name} established`, pick), pair.b.waitForSas(`${name} established`, pick)]);
  assert.equal(a.spiI, b.spiI, `${name}: IKE SPIi`);
  assert.equal(a.spiR, b.spiR, `${name}: IKE SPIr`);
  assert.notEqual(a.initiator, b.initiator, `${name}: exactly one end is the original initiator`);
  for (const k of ['encrAlg', 'encrKeysize', 'prfAlg', 'dhGroup'] as const) assert.equal(a[k], b[k], `${name}: ${k}`);
  const [ca, cb] = [installedChild(a)!, installedChild(b)!];
  assert.equal(ca.spiIn, cb.spiOut, `${name}: Child SA a-in = b-out`);
  assert.equal(ca.spiOut, cb.spiIn, `${name}: Child SA a-out = b-in`);
  assert.equal(ca.encrAlg, cb.encrAlg);
  return { a, b };
}
