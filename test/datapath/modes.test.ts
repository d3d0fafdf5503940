import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGkmError, type GkmError } from '../../src/ikev2/errors.ts';
import { EncrId, SnId } from '../../src/ikev2/registry/transform.ts';
import { parseAddress as A } from '../../src/datapath/address.ts';
import { EspReceiver, EspSender } from '../../src/datapath/esp/index.ts';
import { ipChecksum, parseIp, Proto, type ModeConfig } from '../../src/datapath/modes/index.ts';
import type { SaConfig } from '../../src/datapath/provider.ts';
import { prefix } from '../../src/datapath/selector.ts';
import { frameFromIp, frameFromUdp, UserspaceProvider } from '../../src/datapath/userspace.ts';
import { bytes, GCM128, keysFor, rng, SUITES, throwsCode, udp4, udp6 } from './helpers.ts';

const keys = keysFor(GCM128);

/** One provider per side, with an outbound SA on `tx` and its inbound twin on `rx`. */
function pair(mode: ModeConfig, extra: Partial<SaConfig> = {}, algorithms = GCM128) {
  const k = keysFor(algorithms);
  const tx = new UserspaceProvider();
  const rx = new UserspaceProvider();
  const base = { spi: 0x5000, algorithms, keys: k, mode, ...extra };
  const out = tx.addSA({ ...base, direction: 'out' });
  const inn = rx.addSA({ ...base, direction: 'in' });
  const encrypt = (p: Buffer) => {
    const [r] = tx.encryptBurst([p]);
    if (isGkmError(r)) throw r;
    return r!;
  };
  return { tx, rx, out, inn, encrypt };
}

const ok = <T>(r: T | GkmError | null | undefined): T => {
  if (r === null || r === undefined || isGkmError(r)) assert.fail(`unexpected ${String(r)}`);
  return r as T;
};

test('IPv4/IPv6 header codec is strict', () => {
  const good = udp4('10.0.0.1', '10.0.0.2', 10);
  assert.equal(parseIp(good, true).length, good.length);
  const mutate = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(good);
    f(b);
    return b;
  };
  throwsCode(() => parseIp(Buffer.alloc(0), false), 'GKM_IP_MALFORMED');
  throwsCode(() => parseIp(good.subarray(0, 19), false), 'GKM_IP_MALFORMED');
  throwsCode(() => parseIp(mutate((b) => (b[0] = 0x55)), false), 'GKM_IP_MALFORMED'); // version 5
  throwsCode(() => parseIp(mutate((b) => (b[0] = 0x44)), false), 'GKM_IP_MALFORMED'); // IHL 4
  throwsCode(() => parseIp(mutate((b) => b.writeUInt16BE(good.length + 1, 2)), false), 'GKM_IP_MALFORMED');
  throwsCode(() => parseIp(mutate((b) => (b[8] = 1)), false), 'GKM_IP_MALFORMED'); // checksum
  throwsCode(() => parseIp(Buffer.concat([good, Buffer.alloc(4)]), true), 'GKM_IP_MALFORMED'); // trailing
  assert.equal(parseIp(Buffer.concat([good, Buffer.alloc(4)]), false).length, good.length);
  const v6 = udp6('2001:db8::1', '2001:db8::2', 10, { hopByHop: true });
  const i6 = parseIp(v6, true);
  assert.deepEqual([i6.payloadOffset, i6.protocol, i6.protocolField], [48, 17, 40]);
  const v6bad = Buffer.from(v6);
  v6bad[41] = 10; // Hop-by-Hop length beyond the packet
  throwsCode(() => parseIp(v6bad, true), 'GKM_IP_MALFORMED');
  const jumbo = Buffer.from(v6);
  jumbo.writeUInt16BE(0, 4);
  throwsCode(() => parseIp(jumbo, false), 'GKM_IP_MALFORMED');
  const rand = rng(99);
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
    if (b.length > 0) b[0] = rand() < 0.5 ? 0x45 : 0x60;
    try {
      parseIp(b, rand() < 0.5);
    } catch (e) {
      assert.ok(isGkmError(e), String(e));
    }
  }
});

test('transport mode, IPv4 and IPv6 (ESP after Hop-by-Hop), every suite', () => {
  for (const { name, algorithms } of SUITES) {
    const { rx, encrypt } = pair({ mode: 'transport' }, {}, algorithms);
    for (const inner of [udp4('192.0.2.1', '192.0.2.2', 100, { ttl: 9, tos: 0x10 }), udp6('2001:db8::1', '2001:db8::2', 60, { hopByHop: true })]) {
      const f = encrypt(inner);
      const outer = parseIp(f.packet, true);
      assert.equal(outer.protocol, Proto.ESP, name);
      if (outer.version === 4) assert.equal(ipChecksum(f.packet, 0, 20), 0);
      else assert.equal(f.packet[40], Proto.ESP); // HbH next header re-pointed
      assert.deepEqual(ok(rx.decryptBurst([frameFromIp(f.packet)])[0]), inner, name);
    }
  }
});

test('tunnel mode: v4-in-v4, v6-in-v6, v4-in-v6, with TFC padding', () => {
  for (const [src, dst] of [['198.51.100.1', '198.51.100.2'], ['2001:db8:f::1', '2001:db8:f::2']] as const) {
    const { rx, encrypt } = pair({ mode: 'tunnel', src: A(src), dst: A(dst) }, { tfcPadTo: 300 });
    for (const inner of [udp4('10.1.0.1', '10.2.0.1', 33), udp6('fd00::1', 'fd00::2', 100)]) {
      const f = encrypt(inner);
      const outer = parseIp(f.packet, true);
      assert.deepEqual([outer.src, outer.dst], [A(src), A(dst)]);
      assert.equal(f.packet.length - f.espOffset, 8 + 8 + 304 + 16); // TFC-padded to 300
      assert.deepEqual(ok(rx.decryptBurst([frameFromIp(f.packet)])[0]), inner);
      // ESP in UDP: only the ESP bytes and the socket addresses.
      const again = encrypt(inner);
      assert.deepEqual(ok(rx.decryptBurst([frameFromUdp(again.packet.subarray(again.espOffset), A(src), A(dst))])[0]), inner);
    }
  }
});

test('tunnel mode with address preservation (RFC 5374): outer copied from inner', () => {
  const sel = [{ src: prefix('10.0.0.0/8'), dst: prefix('239.0.0.0/8') }];
  const { rx, encrypt, inn } = pair({ mode: 'tunnel-preserve' }, { dst: A('239.1.1.1'), selectors: sel, sn: SnId.UNSPECIFIED32, senderIdBits: 16, senderId: 3, perSenderReplay: true });
  const inner = udp4('10.0.0.7', '239.1.1.1', 64, { ttl: 4 });
  const f = encrypt(inner);
  const outer = parseIp(f.packet, true);
  assert.deepEqual([outer.src, outer.dst, outer.ttl], [A('10.0.0.7'), A('239.1.1.1'), 4]);
  assert.equal(f.packet.readUInt16BE(f.espOffset + 8), 3, 'Sender-ID in the IV');
  assert.deepEqual(ok(rx.decryptBurst([frameFromIp(f.packet)])[0]), inner);
  // Outer addresses that differ from the inner ones are refused.
  const g = encrypt(inner);
  const r = rx.decryptBurst([frameFromUdp(g.packet.subarray(g.espOffset), A('10.0.0.8'), A('239.1.1.1'))])[0];
  assert.ok(isGkmError(r) && r.code === 'GKM_ESP_POLICY_MISMATCH');
  assert.equal(rx.stats(inn).policyDrops, 1);
});

test('BEET: IPv4 options travel behind the pseudo-header (NH 94); inner addresses from the SA', () => {
  const beet: ModeConfig = {
    mode: 'beet',
    outer: { src: A('203.0.113.1'), dst: A('203.0.113.2') },
    inner: { src: A('10.9.0.1'), dst: A('10.9.0.2') },
  };
  for (const optLen of [0, 4, 8, 12, 40]) {
    const options = Buffer.alloc(optLen, 1); // NOPs...
    if (optLen) options[optLen - 1] = 0; // ...ending with End of Options
    const inner = udp4('10.9.0.1', '10.9.0.2', 50, { options, ttl: 17, tos: 0x28, id: 77 });
    const { rx, encrypt } = pair(beet);
    const f = encrypt(inner);
    const outer = parseIp(f.packet, true);
    assert.deepEqual([outer.src, outer.dst, outer.ttl, outer.tos, outer.id], [A('203.0.113.1'), A('203.0.113.2'), 17, 0x28, 77]);
    // Look inside: ESP NH and the pseudo-header.
    const peek = new EspReceiver({ spi: 0x5000, algorithms: GCM128, keys });
    const p = ok(peek.decapsulate(f.packet.subarray(f.espOffset)));
    if (optLen === 0) {
      assert.equal(p.nextHeader, 17);
      assert.equal(p.payload.length, 8 + 50);
    } else {
      const pad = 4 - (optLen & 4);
      assert.equal(p.nextHeader, Proto.BEETPH);
      assert.deepEqual([...p.payload.subarray(0, 4)], [17, optLen >> 3, pad, 0]);
      assert.ok(p.payload.subarray(4, 4 + pad).every((b) => b === 1));
      assert.deepEqual(p.payload.subarray(4 + pad, 4 + pad + optLen), options);
      assert.equal((4 + pad + optLen) % 8, 0);
    }
    assert.deepEqual(ok(rx.decryptBurst([frameFromIp(f.packet)])[0]), inner, `options ${optLen}`);
  }
});

test('BEET: IPv6 inner over IPv4 outer, and inner rebuilt from the SA addresses', () => {
  const beet: ModeConfig = {
    mode: 'beet',
    outer: { src: A('203.0.113.1'), dst: A('203.0.113.2') },
    inner: { src: A('2001:db8::a'), dst: A('2001:db8::b') },
  };
  const { rx, encrypt } = pair(beet);
  const inner = udp6('2001:db8::a', '2001:db8::b', 30, { hopLimit: 20 });
  const f = encrypt(inner);
  assert.equal(parseIp(f.packet, true).version, 4);
  const back = ok(rx.decryptBurst([frameFromIp(f.packet)])[0]);
  const info = parseIp(back, true);
  assert.deepEqual([info.src, info.dst, info.ttl, info.protocol], [A('2001:db8::a'), A('2001:db8::b'), 20, 17]);
  assert.deepEqual(back.subarray(40), inner.subarray(40));
});

test('BEET: malformed pseudo-headers are rejected', () => {
  const beet: ModeConfig = { mode: 'beet', outer: { src: A('203.0.113.1'), dst: A('203.0.113.2') }, inner: { src: A('10.9.0.1'), dst: A('10.9.0.2') } };
  const rx = new UserspaceProvider();
  const inn = rx.addSA({ direction: 'in', spi: 0x5100, algorithms: GCM128, keys, mode: beet, replay: { size: 0 } });
  const tx = new EspSender({ spi: 0x5100, algorithms: GCM128, keys });
  const send = (payload: Buffer, nh = Proto.BEETPH) => rx.decryptBurst([frameFromUdp(tx.encapsulate(payload, nh), A('203.0.113.1'), A('203.0.113.2'))])[0];
  const udp = udp4('10.9.0.1', '10.9.0.2', 4).subarray(20);
  const cases: Array<[string, Buffer]> = [
    ['truncated', Buffer.from([17, 0])],
    ['optlen 0', Buffer.concat([Buffer.from([17, 0, 8, 0]), Buffer.alloc(4, 1), udp])],
    ['pad 8 (inconsistent)', Buffer.concat([Buffer.from([17, 1, 8, 0]), Buffer.alloc(12, 1), udp])],
    ['odd pad', Buffer.concat([Buffer.from([17, 0, 2, 0]), Buffer.alloc(8, 1), udp])],
    ['too long', Buffer.concat([Buffer.from([17, 6, 4, 0]), Buffer.alloc(52, 1), udp])],
    ['options truncated', Buffer.from([17, 1, 4, 0, 1, 1, 1, 1, 1])],
    ['pad not NOP', Buffer.concat([Buffer.from([17, 1, 4, 0, 0, 1, 1, 1]), Buffer.alloc(8, 1), udp])],
    ['nested', Buffer.concat([Buffer.from([94, 0, 0, 0]), Buffer.alloc(4, 1), udp])],
  ];
  for (const [what, payload] of cases) {
    const r = send(payload);
    assert.ok(isGkmError(r) && r.code === 'GKM_ESP_MALFORMED', `${what}: ${String(r)}`);
  }
  assert.equal(rx.stats(inn).malformed, cases.length);
  // A well-formed one passes: 4 bytes of options, no pad.
  assert.ok(Buffer.isBuffer(send(Buffer.concat([Buffer.from([17, 0, 0, 0]), Buffer.from([1, 1, 1, 0]), udp]))));
});

test('provider: replayed and forged packets dropped and counted; no SA; dummies', () => {
  const { rx, tx, encrypt, inn, out } = pair({ mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2') });
  const inner = udp4('10.0.0.1', '10.0.0.2', 20);
  const f1 = encrypt(inner);
  const f2 = encrypt(inner);
  const forged = Buffer.from(f2.packet);
  forged[forged.length - 5]! ^= 4;
  const res = rx.decryptBurst([frameFromIp(f1.packet), frameFromIp(f1.packet), frameFromIp(forged), frameFromIp(f2.packet)]);
  assert.ok(Buffer.isBuffer(res[0]));
  assert.ok(isGkmError(res[1]) && res[1].code === 'GKM_ESP_REPLAY');
  assert.ok(isGkmError(res[2]) && res[2].code === 'GKM_ESP_AUTH_FAILED');
  assert.ok(Buffer.isBuffer(res[3]));
  const s = rx.stats(inn);
  assert.deepEqual([s.packets, s.replayDrops, s.authFailures, s.replayTop], [2, 1, 1, 2]);
  assert.equal(s.bytes, 2 * inner.length);
  assert.equal(tx.stats(out).nextSeq, 3);
  const d = tx.dummy(out, 40);
  assert.equal(rx.decryptBurst([frameFromUdp(d, A('192.0.2.1'), A('192.0.2.2'))])[0], null);
  assert.equal(rx.stats(inn).dummies, 1);
  const other = Buffer.from(f1.packet);
  other.writeUInt32BE(0x5001, 20);
  const none = rx.decryptBurst([frameFromIp(other)])[0];
  assert.ok(isGkmError(none) && none.code === 'GKM_ESP_NO_SA');
  const noOut = new UserspaceProvider().encryptBurst([inner])[0];
  assert.ok(isGkmError(noOut) && noOut.code === 'GKM_ESP_NO_SA');
  tx.setSeq(out, 100);
  assert.equal(encrypt(inner).packet.readUInt32BE(24), 100);
});

test('provider: inbound selector check and SPI collisions between group and unicast SAs', () => {
  const rx = new UserspaceProvider();
  const group = rx.addSA({ direction: 'in', spi: 0x7000, algorithms: GCM128, keys, mode: { mode: 'tunnel-preserve' }, dst: A('239.2.2.2'), selectors: [{ src: prefix('10.0.0.0/8'), dst: prefix('239.2.2.2') }], sn: SnId.UNSPECIFIED32 });
  const unicastKeys = keysFor(GCM128, 50);
  const unicast = rx.addSA({ direction: 'in', spi: 0x7000, algorithms: GCM128, keys: unicastKeys, mode: { mode: 'transport' } });
  const gtx = new UserspaceProvider();
  gtx.addSA({ direction: 'out', spi: 0x7000, algorithms: GCM128, keys, mode: { mode: 'tunnel-preserve' }, sn: SnId.UNSPECIFIED32 });
  const utx = new UserspaceProvider();
  utx.addSA({ direction: 'out', spi: 0x7000, algorithms: GCM128, keys: unicastKeys, mode: { mode: 'transport' } });
  const g = gtx.encryptBurst([udp4('10.0.0.1', '239.2.2.2', 10)])[0];
  const u = utx.encryptBurst([udp4('192.0.2.9', '192.0.2.1', 10)])[0];
  const bad = gtx.encryptBurst([udp4('172.16.0.1', '239.2.2.2', 10)])[0];
  const res = rx.decryptBurst([g, u, bad].map((f) => frameFromIp(ok(f).packet)));
  assert.ok(Buffer.isBuffer(res[0]) && Buffer.isBuffer(res[1]));
  assert.ok(isGkmError(res[2]) && res[2].code === 'GKM_ESP_POLICY_MISMATCH');
  assert.deepEqual([rx.stats(group).packets, rx.stats(group).policyDrops, rx.stats(unicast).packets], [1, 1, 1]);
});

test('provider: hostile ESP frames only ever produce typed errors', () => {
  const cbc = SUITES.find((s) => s.algorithms.encr === EncrId.AES_CBC)!.algorithms;
  for (const [mode, algorithms] of [[{ mode: 'transport' }, GCM128], [{ mode: 'beet', outer: { src: A('1.1.1.1'), dst: A('1.1.1.2') }, inner: { src: A('10.0.0.1'), dst: A('10.0.0.2') } }, cbc], [{ mode: 'tunnel', src: A('1.1.1.1'), dst: A('1.1.1.2') }, GCM128]] as const) {
    const { rx, encrypt } = pair(mode as ModeConfig, { replay: { size: 0 } }, algorithms);
    const rand = rng(1234);
    for (let i = 0; i < 300; i++) {
      const inner = udp4('10.0.0.1', '10.0.0.2', Math.floor(rand() * 200), rand() < 0.3 ? { options: Buffer.alloc(8, 1) } : {});
      const pkt = Buffer.from(encrypt(inner).packet);
      const n = Math.floor(rand() * 3);
      for (let j = 0; j < n; j++) pkt[Math.floor(rand() * pkt.length)]! ^= 1 << Math.floor(rand() * 8);
      const cut = rand() < 0.2 ? pkt.subarray(0, Math.floor(rand() * pkt.length)) : pkt;
      try {
        const r = rx.decryptBurst([frameFromIp(cut)])[0];
        if (n === 0 && cut === pkt) assert.deepEqual(r, inner);
      } catch (e) {
        assert.ok(isGkmError(e), String(e));
      }
    }
  }
  void bytes;
});
