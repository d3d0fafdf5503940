/**
 * The native provider's fast path (native/esp-burst/src/datapath.cc) against the userspace
 * provider: every native suite in every fast mode and address family, replay windows of both
 * kinds, RFC 5374 lookup scopes, lifetimes by bytes and packets with a rekey from the soft
 * event, rollover and retirement, a bounded fuzz of malformed bursts (same verdicts, no
 * crash), the EVP fallback, and hostile addon arguments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { SnId } from '../../../src/ikev2/registry/transform.ts';
import { parseAddress as A } from '../../../src/datapath/address.ts';
import type { ModeConfig } from '../../../src/datapath/modes/index.ts';
import type { InboundFrame, OffloadProvider, ProviderLifetimeEvent } from '../../../src/datapath/provider.ts';
import { prefix } from '../../../src/datapath/selector.ts';
import { frameFromUdp, type UserspaceProvider } from '../../../src/datapath/userspace.ts';
import { loadNativeAddon } from '../../../src/datapath/providers/native/addon.ts';
import { isNativeSuite, NativeProvider } from '../../../src/datapath/providers/native/provider.ts';
import { GCM128, rng, SUITES, udp4, udp6 } from '../helpers.ts';
import { compareBursts, compareStats, frameView, inbound, install, native, plainView, sa, userspace, type Sa } from './equivalence.ts';
import { nativeSkip as skip } from './support.ts';

const NATIVE_SUITES = SUITES.filter((s) => isNativeSuite(s.algorithms));
const sizes = [0, 1, 33, 472, 1372];
const v4 = (n: number, i = 0): Buffer => udp4('10.1.0.1', '10.2.0.1', n, { tos: 0x28, ttl: 30 + i, id: i, fragment: i % 2 ? 0x4000 : 0 });
const v6 = (n: number, i = 0): Buffer => udp6('2001:db8:1::1', '2001:db8:2::1', n, { hopByHop: i % 2 === 1, tc: 0x28 });

const MODES: ReadonlyArray<{ name: string; mode: ModeConfig; extra?: Partial<Sa>; packets: () => Buffer[] }> = [
  { name: 'transport', mode: { mode: 'transport' }, packets: () => [...sizes.map(v4), ...sizes.map(v6)] },
  { name: 'tunnel over IPv4', mode: { mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2'), ttl: 17 }, extra: { tfcPadTo: 300 }, packets: () => [...sizes.map(v4), ...sizes.map(v6)] },
  { name: 'tunnel over IPv6', mode: { mode: 'tunnel', src: A('2001:db8::1'), dst: A('2001:db8::2') }, packets: () => [...sizes.map(v4), ...sizes.map(v6)] },
  {
    name: 'tunnel-preserve IPv4 multicast',
    mode: { mode: 'tunnel-preserve' },
    extra: { dst: A('239.1.1.1') },
    packets: () => sizes.map((n, i) => udp4('10.0.0.7', '239.1.1.1', n, { ttl: 1 + i })),
  },
  {
    name: 'tunnel-preserve IPv6 multicast',
    mode: { mode: 'tunnel-preserve' },
    extra: { dst: A('ff15::1') },
    packets: () => sizes.map((n, i) => udp6('2001:db8::7', 'ff15::1', n, { hopLimit: 2 + i })),
  },
];

for (const suite of NATIVE_SUITES) {
  for (const m of MODES) {
    test(`fast path = userspace: ${suite.name}, ${m.name}`, { skip }, () => {
      const sas = [sa(0x4100, suite.algorithms, m.mode, m.extra)];
      const packets = m.packets();
      for (const udp of [false, true]) {
        const u = install(userspace, sas);
        const n = install(native, sas);
        compareBursts(u, n, [packets.slice(0, 2), packets, packets.slice(3)], udp);
      }
    });
  }
}

test('sequence numbers: ESN across 2^32, SN value 2 with Sender-ID IVs and per-sender replay', { skip }, () => {
  const t4: ModeConfig = { mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2') };
  const cases: Sa[][] = [
    [sa(0x4200, GCM128, t4, { sn: SnId.ESN64, seqStart: 0x1_0000_0000 - 3 })],
    [sa(0x4201, GCM128, t4, { sn: SnId.ESN64, seqStart: 0x1_0000_0000 - 3, replay: { size: 0 } })],
    [sa(0x4202, GCM128, { mode: 'tunnel-preserve' }, { sn: SnId.UNSPECIFIED32, senderIdBits: 8, senderId: 200, perSenderReplay: true, maxSenders: 1 })],
    [sa(0x4203, GCM128, t4, { sn: SnId.UNSPECIFIED32, senderIdBits: 32, senderId: 0xfffffffe, seqStart: 0xffff_fffe })],
  ];
  const packets = Array.from({ length: 9 }, (_, i) => v4(10 + i, i));
  for (const sas of cases) compareBursts(install(userspace, sas), install(native, sas), [packets.slice(0, 4), packets.slice(4)]);
});

/** Frames of `count` packets in sequence, delivered in a scrambled order with duplicates and old ones. */
function scrambled(p: ReturnType<typeof install>, count: number, seed: number): InboundFrame[][] {
  const frames = inbound(p.tx.encryptBurst(Array.from({ length: count }, (_, i) => v4(5 + (i % 40), i))), false);
  const next = rng(seed);
  const order: InboundFrame[] = [];
  for (let i = 0; i < frames.length; i++) {
    const j = Math.min(frames.length - 1, Math.max(0, i + Math.floor((next() - 0.5) * 300)));
    order.push(frames[j]!);
    if (next() < 0.1) order.push(frames[Math.floor(next() * frames.length)]!);
  }
  const bursts: InboundFrame[][] = [];
  for (let i = 0; i < order.length; i += 37) bursts.push(order.slice(i, i + 37));
  return bursts;
}

test('replay windows: RFC 4303 shift and RFC 6479 ring, scrambled order, equal verdicts and tops', { skip }, () => {
  for (const replay of [{ size: 100, kind: 'rfc4303' as const }, { size: 32 }, { size: 1000 }, { size: 5000, kind: 'rfc6479' as const }]) {
    const sas = [sa(0x4300, GCM128, { mode: 'transport' }, { replay })];
    const u = install(userspace, sas);
    const n = install(native, sas);
    const bursts = scrambled(u, 1500, replay.size);
    for (const b of bursts) assert.deepEqual(n.rx.decryptBurst(b).map(plainView), u.rx.decryptBurst(b).map(plainView));
    compareStats({ ...u, out: [] }, { ...n, out: [] });
    assert.ok(u.rx.stats(u.inn[0]!).replayDrops > 0);
    // Resync moves both windows the same way (RFC 6311 style).
    u.rx.syncReplay(u.inn[0]!, 10);
    n.rx.syncReplay(n.inn[0]!, 10);
    const again = bursts.flat().slice(0, 50);
    assert.deepEqual(n.rx.decryptBurst(again).map(plainView), u.rx.decryptBurst(again).map(plainView));
    compareStats({ ...u, out: [] }, { ...n, out: [] });
  }
});

test('RFC 5374 lookup: SPI+dst+src before SPI+dst before SPI, one SPI shared by three SAs', { skip }, () => {
  const spi = 0x4400;
  const mode: ModeConfig = { mode: 'transport' };
  const make = (p: () => OffloadProvider) => {
    const rx = p();
    const keys = [1, 2, 3].map((k) => sa(spi + k, GCM128, mode).keys);
    const handles = [
      rx.addSA({ direction: 'in', spi, algorithms: GCM128, keys: keys[0]!, mode }),
      rx.addSA({ direction: 'in', spi, algorithms: GCM128, keys: keys[1]!, mode, dst: A('10.2.0.1') }),
      rx.addSA({ direction: 'in', spi, algorithms: GCM128, keys: keys[2]!, mode, dst: A('10.2.0.1'), src: A('10.1.0.1') }),
    ];
    const txs = keys.map((k) => {
      const tx = p();
      tx.addSA({ direction: 'out', spi, algorithms: GCM128, keys: k, mode });
      return tx;
    });
    return { rx, handles, txs };
  };
  const u = make(userspace);
  const n = make(native);
  const flows = [udp4('10.1.0.1', '10.2.0.1', 20), udp4('10.1.0.9', '10.2.0.1', 20), udp4('10.1.0.1', '10.2.0.9', 20)];
  for (const [k, tx] of u.txs.entries()) {
    assert.deepEqual(n.txs[k]!.encryptBurst(flows).map(frameView), tx.encryptBurst(flows).map(frameView));
    const frames = [...inbound(tx.encryptBurst(flows), false), ...inbound(tx.encryptBurst(flows), true)];
    assert.deepEqual(n.rx.decryptBurst(frames).map(plainView), u.rx.decryptBurst(frames).map(plainView));
  }
  u.handles.forEach((h, i) => assert.deepEqual(n.rx.stats(n.handles[i]!), u.rx.stats(h)));
  // Retiring the most specific SA (DTD) hands its flows to the next scope, in both.
  u.rx.deleteSA(u.handles[2]!);
  n.rx.deleteSA(n.handles[2]!);
  const frames = inbound(u.txs[2]!.encryptBurst(flows), false);
  assert.deepEqual(n.rx.decryptBurst(frames).map(plainView), u.rx.decryptBurst(frames).map(plainView));
});

test('lifetimes: soft/hard by packets and bytes fire at the same packet; a rekey from the soft event takes over mid-burst', { skip }, () => {
  const t4: ModeConfig = { mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2') };
  const run = (make: typeof native) => {
    const events: string[] = [];
    let tx: OffloadProvider;
    const onLifetime = (e: ProviderLifetimeEvent) => {
      events.push(`${e.handle}:${e.kind}:${e.reason}`);
      // Rekey on the soft event of an outbound SA: the new SA is newest, so it takes over.
      if (e.kind === 'soft' && e.handle === 1) tx.addSA({ ...sa(0x4501, GCM128, t4), direction: 'out' });
    };
    tx = make({ onLifetime });
    const rx = make({ onLifetime: (e) => events.push(`rx ${e.handle}:${e.kind}:${e.reason}`) });
    tx.addSA({ ...sa(0x4500, GCM128, t4, { lifetime: { soft: { packets: 5 }, hard: { bytes: 2000 } } }), direction: 'out' });
    rx.addSA({ ...sa(0x4500, GCM128, t4, { lifetime: { soft: { bytes: 300 }, hard: { packets: 4 } } }), direction: 'in' });
    rx.addSA({ ...sa(0x4501, GCM128, t4), direction: 'in' });
    const frames: string[] = [];
    const plain: string[] = [];
    for (let b = 0; b < 4; b++) {
      const burst = Array.from({ length: 7 }, (_, i) => v4(40 + 30 * i, i));
      const f = tx.encryptBurst(burst);
      frames.push(...f.map(frameView));
      plain.push(...rx.decryptBurst(inbound(f, false)).map(plainView));
    }
    return { events, frames, plain, stats: [tx.stats(2), rx.stats(2)] };
  };
  const t0 = performance.now();
  const want = run(userspace);
  const t1 = performance.now();
  const got = run(native);
  console.log(`lifetimes: userspace ${(t1 - t0).toFixed(0)} ms, native ${(performance.now() - t1).toFixed(0)} ms`);
  assert.deepEqual(got, want);
  assert.deepEqual(want.events.slice(0, 3), ['1:soft:packets', 'rx 1:soft:bytes', 'rx 1:hard:packets'].slice(0, 3), want.events.join());
});

test('rollover: activation time (ATD) and retirement (DTD) by the provider clock, as the userspace provider', { skip }, () => {
  const t4: ModeConfig = { mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2') };
  const run = (make: typeof native) => {
    const clock = { now: 1000 };
    const tx = make({ clock: () => clock.now });
    const rx = make({ clock: () => clock.now });
    const old = tx.addSA({ ...sa(0x4600, GCM128, t4), direction: 'out' });
    tx.addSA({ ...sa(0x4601, GCM128, t4), direction: 'out', activateAt: 1500 });
    const rOld = rx.addSA({ ...sa(0x4600, GCM128, t4), direction: 'in' });
    rx.addSA({ ...sa(0x4601, GCM128, t4), direction: 'in' });
    const out: string[] = [];
    const burst = [v4(10), v4(20)];
    for (const [t, act] of [[1000, () => {}], [1600, () => tx.updateSA(old, { retireAfterMs: 100 })], [1650, () => rx.updateSA(rOld, { retireAfterMs: 50 })], [1750, () => {}]] as const) {
      clock.now = t;
      act();
      const f = tx.encryptBurst(burst);
      out.push(...f.map(frameView), ...rx.decryptBurst(inbound(f, false)).map(plainView));
    }
    return out;
  };
  assert.deepEqual(run(native), run(userspace));
});

test('selectors: protocol and port ranges, outbound choice and inbound policy checks', { skip }, () => {
  const t4: ModeConfig = { mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2') };
  const all = { src: prefix('0.0.0.0/0'), dst: prefix('0.0.0.0/0') };
  const sas = [
    sa(0x4700, GCM128, t4, { selectors: [{ ...all, protocol: 17, dstPorts: [5000, 5000] }] }),
    sa(0x4701, GCM128, t4, { selectors: [{ ...all, protocol: 6 }, { src: prefix('2001:db8::/32'), dst: prefix('::/0'), srcPorts: [0, 65535] }] }),
    sa(0x4702, GCM128, t4, { selectors: [] }),
  ];
  const tcp = udp4('10.0.0.1', '10.0.0.2', 30, { protocol: 6 });
  const frag = udp4('10.0.0.1', '10.0.0.2', 30, { fragment: 0x2001 });
  compareBursts(install(userspace, sas), install(native, sas), [[v4(10), tcp, frag, v6(10), v6(11, 1), udp4('10.0.0.1', '10.0.0.2', 3, { protocol: 1 })]]);
  // Inbound: the receiver's SA admits only UDP to port 5000; TCP inside decrypts but is dropped (RFC 4301 §5.2).
  const u = install(userspace, [sas[1]!]);
  const n = install(native, [sas[1]!]);
  const strict = { selectors: sas[0]!.selectors! };
  const ur = userspace();
  const nr = native();
  ur.addSA({ ...sas[1]!, ...strict, direction: 'in' });
  nr.addSA({ ...sas[1]!, ...strict, direction: 'in' });
  const uf = u.tx.encryptBurst([tcp, tcp]);
  assert.deepEqual(n.tx.encryptBurst([tcp, tcp]).map(frameView), uf.map(frameView));
  const frames = inbound(uf, false);
  assert.deepEqual(nr.decryptBurst(frames).map(plainView), ur.decryptBurst(frames).map(plainView));
  assert.deepEqual(nr.stats(1), ur.stats(1));
  assert.equal(ur.stats(1).policyDrops, 2);
});

/** Byte-level mutations of a valid input. */
function mutate(b: Buffer, next: () => number): Buffer {
  const out = Buffer.from(b);
  const op = Math.floor(next() * 5);
  const at = Math.floor(next() * Math.max(1, out.length));
  if (op === 0 && out.length > 0) out[at] = Math.floor(next() * 256);
  else if (op === 1) return out.subarray(0, at);
  else if (op === 2 && out.length > 4) out.writeUInt16BE(Math.floor(next() * 65536), Math.min(at, out.length - 2));
  else if (op === 3) return Buffer.concat([out, Buffer.alloc(Math.floor(next() * 40), Math.floor(next() * 256))]);
  else if (out.length > 0) out[at]! ^= 1 << Math.floor(next() * 8);
  return out;
}

test('fuzz: malformed IP and ESP bursts never crash and get the userspace verdicts (3,000 inputs each way)', { skip }, () => {
  const t6: ModeConfig = { mode: 'tunnel', src: A('2001:db8::1'), dst: A('2001:db8::2') };
  const sas = [sa(0x4800, GCM128, { mode: 'transport' }, { replay: { size: 0 } }), sa(0x4801, NATIVE_SUITES[5]!.algorithms, t6, { replay: { size: 0 }, selectors: [{ src: prefix('10.9.0.0/16'), dst: prefix('0.0.0.0/0') }] })];
  const u = install(userspace, sas);
  const n = install(native, sas);
  const next = rng(4242);
  const seeds = [...sizes.map(v4), ...sizes.map(v6), udp4('10.9.0.1', '10.2.0.1', 50, { options: Buffer.from([1, 1, 1, 0]) })];
  let decrypted = 0;
  for (let round = 0; round < 100; round++) {
    const burst = Array.from({ length: 30 }, () => mutate(seeds[Math.floor(next() * seeds.length)]!, next));
    const uf = u.tx.encryptBurst(burst);
    assert.deepEqual(n.tx.encryptBurst(burst).map(frameView), uf.map(frameView));
    // Inbound: mutate the userspace frames (outer addresses too) and open them on both.
    const frames = inbound(uf, round % 2 === 1).map((f): InboundFrame => {
      const r = next();
      if (r < 0.6) return { ...f, esp: mutate(f.esp, next) };
      if (r < 0.7) return frameFromUdp(f.esp, f.outer.src.subarray(0, 3), A('::1'));
      return f;
    });
    const want = u.rx.decryptBurst(frames).map(plainView);
    assert.deepEqual(n.rx.decryptBurst(frames).map(plainView), want);
    decrypted += want.filter((v) => /^[0-9a-f]+$/.test(v)).length;
  }
  compareStats(u, n);
  assert.ok(decrypted > 100, `some inputs decrypt (${decrypted})`);
});

test('EVP fallback (GKM_NATIVE_NO_FAST_GCM=1): the equivalence tests pass on OpenSSL EVP alone', { skip }, () => {
  const env: NodeJS.ProcessEnv = { ...process.env, GKM_NATIVE_NO_FAST_GCM: '1' };
  delete env['NODE_TEST_CONTEXT']; // a test run of its own, reporting on stdout
  const addon = fileURLToPath(new URL('../../../src/datapath/providers/native/addon.ts', import.meta.url));
  const probe = `import { loadNativeAddon } from ${JSON.stringify(addon)}; console.log(loadNativeAddon().info().fastGcm);`;
  const info = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { env, encoding: 'utf8' });
  assert.equal(info.stdout.trim(), 'false', info.stderr);
  const file = fileURLToPath(new URL('./native-provider.test.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', file], { env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /# fail 0/);
  assert.match(r.stdout, /# pass [1-9]/);
});

test('hostile addon arguments throw ERR_GKM_NATIVE_ARGS; results and dummies stay exact', { skip }, () => {
  const addon = loadNativeAddon();
  const engine = addon.dpCreate();
  const io = new Float64Array(4);
  const out = Buffer.alloc(4096);
  const res = new Int32Array(5 * 4);
  const acc = new Float64Array(16);
  const argsError = (fn: () => unknown): void => {
    assert.throws(fn, (e: unknown) => (e as { code?: string }).code === 'ERR_GKM_NATIVE_ARGS');
  };
  const params = new Uint32Array(20);
  params[0] = 1;
  params[1] = 1; // tunnel without endpoints
  params[2] = 0x4900;
  params[8] = 16;
  params[12] = 2;
  params[17] = 1; // no selector list: every flow
  argsError(() => addon.dpAdd(engine, 'aes-128-gcm', Buffer.alloc(20), params, new Uint8Array(72)));
  params[1] = 0;
  argsError(() => addon.dpAdd(engine, 'aes-128-gcm', Buffer.alloc(19), params, new Uint8Array(72)));
  argsError(() => addon.dpAdd(engine, 'aes-128-gcm', Buffer.alloc(20), params, new Uint8Array(71)));
  argsError(() => addon.dpAdd(engine, 'aes-128-gcm', Buffer.alloc(20), params, new Uint8Array(72 + 75)));
  const slot = addon.dpAdd(engine, 'aes-128-gcm', Buffer.alloc(20), params, new Uint8Array(72));
  const pkt = [v4(10)];
  argsError(() => addon.dpEncrypt({} as never, pkt, 0, 1, 0, out, io, res, acc));
  argsError(() => addon.dpEncrypt(engine, pkt, 1, 1, 0, out, io, res, acc)); // past the array
  argsError(() => addon.dpEncrypt(engine, pkt, 0, 1, 0, out, io, new Int32Array(4), acc));
  argsError(() => addon.dpEncrypt(engine, pkt, 0, 1, 0, out, Float64Array.of(5000, 0, 0, 0), res, acc));
  argsError(() => addon.dpEncrypt(engine, pkt, 0, 1, NaN, out, io, res, acc));
  argsError(() => addon.dpEncrypt(engine, [out.subarray(100, 150)], 0, 1, 0, out, io, res, acc)); // input inside the free output
  argsError(() => addon.dpSet(engine, slot + 1, new Float64Array(5)));
  argsError(() => addon.dpSet(engine, slot, Float64Array.of(0, NaN, 0, 0, 0)));
  argsError(() => addon.dpDecrypt(engine, pkt, 0, 1, 0, out, io, new Int32Array(6), acc, new Uint8Array(35), new Float64Array(1), null));
  assert.equal(addon.dpEncrypt(engine, pkt, 0, 1, 0, out, io, res, acc), 1);
  assert.equal(res[0], 0);
  assert.ok(addon.dpRemove(engine, slot));
  assert.equal(addon.dpRemove(engine, slot), false);
  // Output too small for a packet: nothing is consumed, the needed size is reported.
  const slot2 = addon.dpAdd(engine, 'aes-128-gcm', Buffer.alloc(20), params, new Uint8Array(72));
  io.fill(0);
  assert.equal(addon.dpEncrypt(engine, [v4(1000)], 0, 1, 0, Buffer.alloc(200), io, res, acc), 0);
  assert.ok(io[1]! > 1000);
  const st = new BigUint64Array(3);
  addon.dpSender(engine, slot2, st, false);
  assert.equal(st[0], 0n);

  // Dummies on a fast SA: the same bytes and counters as the userspace provider.
  const t4: ModeConfig = { mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2') };
  const sas = [sa(0x4901, GCM128, t4, { tfcPadTo: 64 })];
  const u = install(userspace, sas);
  const n = install(native, sas);
  assert.deepEqual((n.tx as NativeProvider).dummy(n.out[0]!, 10), (u.tx as UserspaceProvider).dummy(u.out[0]!, 10));
  const frames = [frameFromUdp((n.tx as NativeProvider).dummy(n.out[0]!, 0), A('192.0.2.1'), A('192.0.2.2'))];
  const [r] = n.rx.decryptBurst(frames);
  assert.ok(r === null && !isGkmError(r));
  assert.equal(n.rx.stats(n.inn[0]!).dummies, 1);
  assert.equal(n.tx.stats(n.out[0]!).dummies, 2);
});
