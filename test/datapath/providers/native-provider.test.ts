/**
 * NativeProvider against UserspaceProvider with identical SAs: the same frames byte for byte
 * in every mode, the same decrypt verdicts for each other's packets (replays, forgeries,
 * unknown SPIs, lifetimes ending mid-burst) and the same counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { EncrId, IntegId, SnId } from '../../../src/ikev2/registry/transform.ts';
import { parseAddress as A } from '../../../src/datapath/address.ts';
import type { ModeConfig } from '../../../src/datapath/modes/index.ts';
import type { EspAlgorithms } from '../../../src/datapath/esp/index.ts';
import { prefix } from '../../../src/datapath/selector.ts';
import type { UserspaceProvider } from '../../../src/datapath/userspace.ts';
import { createProvider } from '../../../src/datapath/providers/index.ts';
import { NativeProvider } from '../../../src/datapath/providers/native/provider.ts';
import { throwsCode, udp4, udp6 } from '../helpers.ts';
import { frameView, hostile, inbound, install, native, plainView, sa, userspace, type Sa } from './equivalence.ts';
import { nativeSkip as skip } from './support.ts';

interface Scenario {
  readonly name: string;
  readonly sas: readonly Sa[];
  readonly packets: () => Buffer[];
  /** Received over UDP (RFC 3948) instead of as raw IP. */
  readonly udp?: boolean;
}

const GCM128: EspAlgorithms = { encr: EncrId.AES_GCM_16, keyBits: 128 };
const GCM256: EspAlgorithms = { encr: EncrId.AES_GCM_16, keyBits: 256 };
const CHACHA: EspAlgorithms = { encr: EncrId.CHACHA20_POLY1305 };
const GMAC: EspAlgorithms = { encr: EncrId.NULL_AUTH_AES_GMAC, keyBits: 128 };

const tunnel4: ModeConfig = { mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2') };
const tunnel6: ModeConfig = { mode: 'tunnel', src: A('2001:db8::1'), dst: A('2001:db8::2') };
const beet: ModeConfig = {
  mode: 'beet',
  outer: { src: A('203.0.113.1'), dst: A('203.0.113.2') },
  inner: { src: A('10.9.0.1'), dst: A('10.9.0.2') },
};
const sizes = [1, 20, 100, 472, 1372];

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'tunnel IPv4, two SAs by selector, unmatched and malformed packets',
    sas: [
      sa(0x1001, GCM128, tunnel4, { selectors: [{ src: prefix('10.1.0.0/16'), dst: prefix('10.2.0.0/16') }] }),
      sa(0x1002, CHACHA, tunnel4, { selectors: [{ src: prefix('10.3.0.0/16'), dst: prefix('10.4.0.0/16') }], tfcPadTo: 256 }),
    ],
    packets: () => [
      ...sizes.map((n) => udp4('10.1.0.1', '10.2.0.1', n)),
      ...sizes.map((n) => udp4('10.3.0.1', '10.4.0.9', n)),
      udp4('10.9.9.9', '10.2.0.1', 10),
      Buffer.from('not an ip packet'),
      udp4('10.1.0.1', '10.2.0.1', 5, { options: Buffer.from([1, 1, 1, 0]) }),
    ],
  },
  { name: 'tunnel IPv6, ESN across 2^32', sas: [sa(0x1003, CHACHA, tunnel6, { sn: SnId.ESN64, seqStart: 0x1_0000_0000 - 4 })], packets: () => sizes.map((n) => udp6('2001:db8:1::1', '2001:db8:2::1', n, { hopByHop: n % 2 === 0 })) },
  { name: 'transport IPv4 and IPv6', sas: [sa(0x1004, GCM256, { mode: 'transport' })], packets: () => [...sizes.map((n) => udp4('10.0.0.1', '10.0.0.2', n)), ...sizes.map((n) => udp6('2001:db8::a', '2001:db8::b', n, { hopByHop: true }))] },
  { name: 'BEET with IPv4 options', sas: [sa(0x1005, GCM128, beet)], packets: () => sizes.map((n, i) => udp4('10.9.0.1', '10.9.0.2', n, i % 2 ? { options: Buffer.from([0x94, 4, 0, 0, 1, 1, 1, 0]) } : {})), udp: true },
  {
    name: 'tunnel-preserve group SA: SN value 2, Sender-ID IVs, per-sender replay',
    sas: [sa(0x1006, GCM128, { mode: 'tunnel-preserve' }, { dst: A('239.1.1.1'), sn: SnId.UNSPECIFIED32, senderIdBits: 16, senderId: 3, perSenderReplay: true, selectors: [{ src: prefix('10.0.0.0/8'), dst: prefix('239.1.1.1') }] })],
    packets: () => sizes.map((n) => udp4('10.0.0.7', '239.1.1.1', n)),
  },
  { name: 'AES-GMAC tunnel', sas: [sa(0x1007, GMAC, tunnel4)], packets: () => sizes.map((n) => udp4('10.1.0.1', '10.2.0.1', n)) },
];

for (const s of SCENARIOS) {
  test(`native provider = userspace provider: ${s.name}`, { skip }, () => {
    const u = install(userspace, s.sas);
    const n = install(native, s.sas);
    const packets = s.packets();
    for (const burst of [packets.slice(0, 3), packets.slice(3), packets]) {
      const uf = u.tx.encryptBurst(burst);
      const nf = n.tx.encryptBurst(burst);
      assert.deepEqual(nf.map(frameView), uf.map(frameView));
      // Each side opens the other's packets, with the same hostile extras around them.
      const want = u.rx.decryptBurst(hostile(inbound(nf, s.udp ?? false), burst.length)).map(plainView);
      const got = n.rx.decryptBurst(hostile(inbound(uf, s.udp ?? false), burst.length)).map(plainView);
      assert.deepEqual(got, want);
      assert.ok(want.some((v) => /^[0-9a-f]+$/.test(v)), 'some packets decrypt');
    }
    for (let i = 0; i < s.sas.length; i++) {
      assert.deepEqual(n.tx.stats(n.out[i]!), u.tx.stats(u.out[i]!), 'outbound counters');
      assert.deepEqual(n.rx.stats(n.inn[i]!), u.rx.stats(u.inn[i]!), 'inbound counters');
    }
    assert.ok(packets.length > 0);
  });
}

test('lifetimes that end mid-burst stop the SA at the same packet (encrypt and decrypt)', { skip }, () => {
  const sas = [sa(0x2001, GCM128, tunnel4, { lifetime: { hard: { packets: 5 } } })];
  const u = install(userspace, sas);
  const n = install(native, sas);
  const burst = Array.from({ length: 8 }, (_, i) => udp4('10.1.0.1', '10.2.0.1', 10 + i));
  const uf = u.tx.encryptBurst(burst);
  assert.deepEqual(n.tx.encryptBurst(burst).map(frameView), uf.map(frameView));
  assert.equal(uf.filter((f) => isGkmError(f)).length, 3);
  // Inbound: a fresh pair whose receiver expires after 3 packets.
  const v = install(userspace, [sa(0x2002, GCM128, tunnel4)]);
  const m = install(native, [sa(0x2002, GCM128, tunnel4)]);
  v.rx.deleteSA(v.inn[0]!);
  m.rx.deleteSA(m.inn[0]!);
  const limited = { ...sa(0x2002, GCM128, tunnel4, { lifetime: { hard: { packets: 3 } } }), direction: 'in' as const };
  v.rx.addSA(limited);
  m.rx.addSA(limited);
  const frames = inbound(v.tx.encryptBurst(burst), false);
  assert.deepEqual(m.rx.decryptBurst(frames).map(plainView), v.rx.decryptBurst(frames).map(plainView));
});

test('sequence sync, dummies and capabilities', { skip }, () => {
  const sas = [sa(0x3001, GCM128, tunnel4)];
  const u = install(userspace, sas);
  const n = install(native, sas);
  n.tx.setSeq(n.out[0]!, 1000);
  u.tx.setSeq(u.out[0]!, 1000);
  const p = [udp4('10.1.0.1', '10.2.0.1', 64)];
  assert.deepEqual(n.tx.encryptBurst(p).map(frameView), u.tx.encryptBurst(p).map(frameView));
  assert.equal(n.tx.stats(n.out[0]!).nextSeq, 1001);
  assert.deepEqual((n.tx as NativeProvider).dummy(n.out[0]!, 40), (u.tx as UserspaceProvider).dummy(u.out[0]!, 40));
  n.rx.syncReplay(n.inn[0]!, 5000);
  assert.equal(n.rx.stats(n.inn[0]!).replayTop, 5000);
  throwsCode(() => n.tx.setSeq(n.inn[0]! + 100, 1), 'GKM_ESP_NO_SA');
  throwsCode(() => n.rx.setSeq(n.inn[0]!, 1), 'GKM_ESP_BAD_CONFIG');

  const caps = n.tx.capabilities();
  assert.equal(caps.supports(GCM128) && caps.supports(CHACHA) && caps.supports(GMAC), true);
  const cbc = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 };
  assert.equal(caps.supports(cbc), false);
  throwsCode(() => n.tx.addSA({ ...sa(0x3002, cbc, tunnel4), direction: 'out' }), 'GKM_CRYPTO_UNSUPPORTED');
  n.tx.deleteSA(n.out[0]!);
  throwsCode(() => n.tx.stats(n.out[0]!), 'GKM_ESP_NO_SA');
  n.tx.close();
  n.rx.close();
  assert.equal(createProvider('native').name, 'native');
  assert.equal(createProvider().name, 'userspace');
});

test("createProvider('native') without the addon throws a typed error naming the build command", () => {
  const script = `
    import { createProvider } from ${JSON.stringify(fileURLToPath(new URL('../../../src/datapath/providers/index.ts', import.meta.url)))};
    try { createProvider('native'); console.log('created'); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, provider: e.provider, message: e.message })); }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, GKM_NATIVE_ADDON: '/nonexistent/gkm_native.node' },
    encoding: 'utf8',
  });
  const e = JSON.parse(r.stdout.trim()) as Record<string, string>;
  assert.equal(e['name'], 'ProviderUnavailableError');
  assert.equal(e['code'], 'GKM_PROVIDER_UNAVAILABLE');
  assert.equal(e['provider'], 'native');
  assert.match(e['message']!, /node scripts\/build-native\.mjs/);
});
