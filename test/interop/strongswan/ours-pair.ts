/**
 * Our member daemon (in-process) and one charon on 127.0.0.1 with private ports, the same
 * links configured on both ends (both configuration files come from the harness's
 * generators), our key log in a directory of its own, and a tshark capture of everything
 * between them. Also the checks both ends must agree on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  connectionBetween, freeUdpPorts, startCharon, swanctlConf, waitUntil,
  type Charon, type Endpoint, type IkeSa, type LinkSpec, type LogLevels, type Retransmit, type SwanctlConf,
} from '../../support/strongswan.ts';
import { startCapture, type Capture } from '../../support/strongswan-capture.ts';
import { startDaemon, type EventLog } from '../../member/support.ts';
import type { IkeDaemon } from '../../../src/member/ike-daemon.ts';
import type { EngineOptions } from '../../../src/ikev2/sa/config.ts';
import { establishedSa, idOf, installedChild, PSK } from './pair.ts';

const LOOPBACK = '127.0.0.1';

/** `links` as seen from `side` ('ours' is the first end of each link, charon the mirrored one). */
function confFor(side: 'ours' | 'charon', links: readonly LinkSpec[], ports: Record<'ours' | 'charon', number>): SwanctlConf {
  const other = side === 'ours' ? 'charon' : 'ours';
  const end = (s: 'ours' | 'charon', link: string): Endpoint => ({ address: LOOPBACK, port: ports[s], id: idOf(s, link) });
  return {
    connections: links.map((l) => connectionBetween(l, end(side, l.name), end(other, l.name), side === 'charon')),
    secrets: links.map((l) => ({ name: l.name, ids: [idOf('ours', l.name), idOf('charon', l.name)], secret: PSK })),
  };
}

export interface OursPair {
  readonly daemon: IkeDaemon;
  readonly log: EventLog;
  readonly charon: Charon;
  /** Our key log (Wireshark's UAT files): tshark's configuration folder. */
  readonly keylogDir: string;
  /** Every UDP port in use: ours, charon's IKE and NAT-T ports. */
  readonly ports: readonly number[];
  readonly capture?: Capture;
  stop(): Promise<void>;
}

export interface OursPairOptions {
  readonly root: string;
  /** Links for both ends; `ours` may override per link (e.g. another dpd_delay). */
  readonly links: readonly LinkSpec[];
  readonly ourLinks?: readonly LinkSpec[];
  readonly capture: boolean;
  readonly logLevels?: LogLevels;
  readonly retransmit?: Retransmit;
  readonly engineOptions?: Partial<EngineOptions>;
}

export async function startOursPair(o: OursPairOptions): Promise<OursPair> {
  const [ourPort, ike, natt] = (await freeUdpPorts(3)) as [number, number, number];
  const ports = { ours: ourPort, charon: ike };
  const started: { capture?: Capture; charon?: Charon; daemon?: IkeDaemon } = {};
  const stop = async (): Promise<void> => {
    await started.daemon?.stop(1000);
    await started.capture?.stop();
    await started.charon?.stop();
  };
  try {
    const all = [ourPort, ike, natt];
    if (o.capture) started.capture = await startCapture({ file: join(o.root, 'session.pcap'), udpPorts: all });
    started.charon = await startCharon({
      name: 'charon', dir: join(o.root, 'charon'), ports: { ike, natt }, logLevels: o.logLevels, retransmit: o.retransmit,
      conf: confFor('charon', o.links, ports),
    });
    const keylogDir = join(o.root, 'keylog');
    const { daemon, log } = await startDaemon(swanctlConf(confFor('ours', o.ourLinks ?? o.links, ports)), join(o.root, 'ours.conf'), {
      keyLogDir: keylogDir,
      engineOptions: o.engineOptions,
    });
    started.daemon = daemon;
    return { daemon, log, charon: started.charon, keylogDir, ports: all, capture: started.capture, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Our daemon's listing of one IKE SA (`daemon.list()`), the fields the tests read. */
export interface OurSa {
  readonly id: string;
  readonly conn: string;
  readonly role: 'initiator' | 'responder';
  readonly state: string;
  readonly spiI: string;
  readonly spiR: string;
  readonly suite: Readonly<Record<string, string>>;
  readonly children: readonly { readonly name: string; readonly state: string; readonly inboundSpi: string; readonly outboundSpi: string; readonly suite: Readonly<Record<string, string>> }[];
}

export const ourSas = (daemon: IkeDaemon, name: string): OurSa[] =>
  (daemon.list().ikeSas as unknown as OurSa[]).filter((s) => s.conn === name);

/** Our one established IKE SA of `name` with one installed Child SA, if that is what we have. */
function ourEstablished(daemon: IkeDaemon, name: string): OurSa | undefined {
  const mine = ourSas(daemon, name);
  const [only] = mine;
  if (mine.length !== 1 || only?.state !== 'established') return undefined;
  return only.children.filter((c) => c.state === 'installed').length === 1 ? only : undefined;
}

export const ourChild = (sa: OurSa): OurSa['children'][number] => sa.children.find((c) => c.state === 'installed')!;

export interface Both {
  readonly ours: OurSa;
  readonly charon: IkeSa;
}

/**
 * Waits until both ends show `name` established (one IKE SA with one installed Child SA),
 * optionally in a state `accept` agrees with (e.g. new SPIs after a rekey), and checks that
 * they agree: IKE SPIs, roles, crosswise Child SA SPIs.
 */
export async function bothUp(p: OursPair, name: string, accept: (b: Both) => boolean = () => true, timeoutMs = 15_000): Promise<Both> {
  const both = await waitUntil(`${name} established on both ends`, timeoutMs, async () => {
    const ours = ourEstablished(p.daemon, name);
    const charon = ours && establishedSa(await p.charon.listSas(), name);
    return ours && charon && ours.spiI === charon.spiI && ours.spiR === charon.spiR && accept({ ours, charon }) ? { ours, charon } : undefined;
  }, 200);
  assert.notEqual(both.ours.role === 'initiator', both.charon.initiator, `${name}: exactly one end initiated`);
  const [mine, theirs] = [ourChild(both.ours), installedChild(both.charon)!];
  assert.equal(mine.inboundSpi, theirs.spiOut, `${name}: our inbound Child SA SPI is charon's outbound`);
  assert.equal(mine.outboundSpi, theirs.spiIn, `${name}: our outbound Child SA SPI is charon's inbound`);
  return both;
}
