/**
 * XFRM netlink messages against layouts computed by hand from include/uapi/linux/xfrm.h
 * (x86_64, little-endian host order; __be fields big-endian), the SaConfig mapping, reply
 * parsing, and the provider driven by a fake kernel. The kernel itself: xfrm-kernel.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { isGkmError } from '../../../src/ikev2/errors.ts';
import { EncrId, IntegId, SnId } from '../../../src/ikev2/registry/transform.ts';
import { parseAddress as A } from '../../../src/datapath/address.ts';
import type { SaConfig } from '../../../src/datapath/provider.ts';
import { prefix } from '../../../src/datapath/selector.ts';
import { isProviderUnavailable } from '../../../src/datapath/providers/errors.ts';
import {
  delPolicy,
  delSa,
  getSa,
  newAe,
  newPolicy,
  newSa,
  parseSaState,
  type XfrmPolicy,
  type XfrmSa,
} from '../../../src/datapath/providers/xfrm/messages.ts';
import { policiesFor, saFromConfig, xfrmSelector } from '../../../src/datapath/providers/xfrm/model.ts';
import { attr, nlmsg, NetlinkParseError, parseAck, parseAttrs, parseMessages, Struct } from '../../../src/datapath/providers/xfrm/netlink.ts';
import { XfrmProvider } from '../../../src/datapath/providers/xfrm/provider.ts';
import { messageAttrs } from '../../../src/datapath/providers/xfrm/socket.ts';
import { NLMSG_ERROR, NLM_F_ACK_TLVS, Size, Xfrma, XfrmMsg } from '../../../src/datapath/providers/xfrm/uapi.ts';
import { throwsCode } from '../helpers.ts';

const skip = endianness() === 'LE' ? false : 'golden bytes are written for little-endian hosts';
const h = (...parts: string[]): string => parts.join('').replace(/\s+/g, '');
const z = (n: number): string => '00'.repeat(n);
const name64 = (s: string): string => Buffer.from(s, 'latin1').toString('hex') + z(64 - s.length);
const seqBytes = (n: number): string => h(Buffer.from(Uint32Array.of(n).buffer).toString('hex'));
const LFT_INF = 'ff'.repeat(32) + z(32); // four XFRM_INF limits, no expiry times

const v4sa: XfrmSa = {
  src: A('10.0.0.1'),
  dst: A('10.0.0.2'),
  spi: 0x1000,
  reqid: 7,
  mode: 'tunnel',
  aead: { name: 'rfc4106(gcm(aes))', key: Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex'), icvBits: 128 },
  replayWindow: 1024,
  esn: true,
  encap: { sport: 4500, dport: 4500 },
  offload: { ifindex: 3, packet: true },
  dir: 'in',
  ifId: 5,
};

test('NEWSA: inbound GCM, ESN window 1024, espinudp, packet offload, if_id, SA_DIR', { skip }, () => {
  const want = h(
    'a4010000 1000 0500', seqBytes(1), '00000000', // nlmsghdr: 420 bytes, XFRM_MSG_NEWSA, REQUEST|ACK
    z(56), // xfrm_selector: any
    '0a000002', z(12), '00001000', '32 000000', // xfrm_id: daddr, spi (be32), IPPROTO_ESP
    '0a000001', z(12), // saddr
    LFT_INF, z(32), z(12), // lft, curlft, stats
    '00000000 07000000 0200 01 00 80', z(7), // seq, reqid 7, AF_INET, tunnel, replay_window 0 (ESN attr), XFRM_STATE_ESN
    '6000 1200', name64('rfc4106(gcm(aes))'), 'a0000000 80000000', '0102030405060708090a0b0c0d0e0f1011121314', // ALG_AEAD: 160-bit key, 128-bit ICV
    '1c00 0400', '0200 1194 1194 0000', z(16), // ENCAP: UDP_ENCAP_ESPINUDP, 4500/4500, oa any
    '0c00 1c00', '03000000 06 000000', // OFFLOAD_DEV (28): ifindex 3, INBOUND|PACKET
    '1c00 1700', '20000000', z(16), '00040000', // REPLAY_ESN_VAL: bmp_len 32, window 1024 (bitmap left to the kernel)
    '0800 1f00 05000000', // IF_ID (31)
    '0500 2100 01 000000', // SA_DIR (33): XFRM_SA_DIR_IN
  );
  assert.equal(newSa(v4sa, 1).toString('hex'), want);
});

test('NEWSA: outbound IPv6 transport ChaCha20-Poly1305, oseq, OSEQ_MAY_WRAP, TFC pad', { skip }, () => {
  const key = Buffer.from(Array.from({ length: 36 }, (_, i) => i));
  const sa: XfrmSa = {
    src: A('2001:db8::1'),
    dst: A('2001:db8::2'),
    spi: 0x2000,
    reqid: 9,
    mode: 'transport',
    aead: { name: 'rfc7539esp(chacha20,poly1305)', key, icvBits: 128 },
    oseq: 5,
    extraFlags: 2,
    tfcPad: 100,
    dir: 'out',
  };
  const want = h(
    '88010000 1000 0500', seqBytes(77), '00000000', // 392 bytes
    z(56),
    '20010db8', z(11), '02', '00002000', '32 000000',
    '20010db8', z(11), '01',
    LFT_INF, z(32), z(12),
    '00000000 09000000 0a00 00 00 00', z(7), // AF_INET6, transport, no window, no flags
    '7000 1200', name64('rfc7539esp(chacha20,poly1305)'), '20010000 80000000', key.toString('hex'), // 288-bit key
    '1000 0a00', '05000000 00000000 00000000', // REPLAY_VAL: oseq 5
    '0800 1800 02000000', // SA_EXTRA_FLAGS: XFRM_SA_XFLAG_OSEQ_MAY_WRAP
    '0800 1600 64000000', // TFCPAD 100
    '0500 2100 02 000000', // SA_DIR out
  );
  assert.equal(newSa(sa, 77).toString('hex'), want);
});

test('DELSA / GETSA: xfrm_usersa_id + XFRMA_SRCADDR', { skip }, () => {
  const body = h('0a000002', z(12), '00001000 0200 32 00', '1400 0d00', '0a000001', z(12));
  assert.equal(delSa(v4sa, 2).toString('hex'), h('3c000000 1100 0500', seqBytes(2), z(4), body));
  assert.equal(getSa(v4sa, 3).toString('hex'), h('3c000000 1200 0500', seqBytes(3), z(4), body));
});

const policy: XfrmPolicy = {
  selector: xfrmSelector({ src: prefix('10.1.0.0/24'), dst: prefix('10.2.0.0/24'), protocol: 17, dstPorts: [5000, 5000] }),
  dir: 'out',
  priority: 100,
  templates: [{ src: A('10.0.0.1'), dst: A('10.0.0.2'), reqid: 7, mode: 'tunnel' }],
};
const SEL = h('0a020000', z(12), '0a010000', z(12), '1388 ffff 0000 0000 0200 18 18 11 000000', z(8)); // dport 5000/ffff, AF_INET, /24 /24, UDP

test('NEWPOLICY / DELPOLICY: xfrm_userpolicy_info + XFRMA_TMPL, xfrm_userpolicy_id', { skip }, () => {
  const tmpl = h('0a000002', z(12), '00000000 32 000000', '0200 0000', '0a000001', z(12), '07000000 01 00 00 00', 'ffffffff'.repeat(3));
  assert.equal(
    newPolicy(policy, 4).toString('hex'),
    h('fc000000 1300 0500', seqBytes(4), z(4), SEL, LFT_INF, z(32), '64000000 00000000 01 00 00 00', z(4), '4400 0500', tmpl),
  );
  assert.equal(delPolicy(policy, 5).toString('hex'), h('50000000 1400 0500', seqBytes(5), z(4), SEL, '00000000 01', z(3)));
  const offloaded = newPolicy({ ...policy, dir: 'in', offload: { ifindex: 2, packet: true }, ifId: 9 }, 6);
  assert.equal(offloaded.subarray(-20).toString('hex'), h('0c00 1c00 02000000 06 000000', '0800 1f00 09000000'));
});

test('NEWAE: REPLACE, xfrm_aevent_id, ESN value with its bitmap (or the legacy replay state)', { skip }, () => {
  const id = h('0a000002', z(12), '00001000 0200 32 00', '0a000001', z(12), '02000000 07000000'); // XFRM_AE_RVAL, reqid 7
  const esn = newAe(v4sa, 7, { window: 32, seq: 5, seqHi: 1 }, 1, 8);
  assert.equal(esn.toString('hex'), h('60000000 1e00 0501', seqBytes(8), z(4), id, '2000 1700 01000000 00000000 05000000 00000000 01000000 20000000', z(4)));
  const legacy = newAe(v4sa, 7, { window: 0, oseq: 99 }, null, 9);
  assert.equal(legacy.subarray(16 + 48).toString('hex'), h('1000 0a00 63000000 00000000 00000000'));
});

test('SaConfig to XFRM: modes, replay, SN value 2, encap, lifetimes, selectors', () => {
  const keys = { encr: Buffer.alloc(20, 1) };
  const gcm = { encr: EncrId.AES_GCM_16, keyBits: 128 };
  const base = { spi: 0x3000, algorithms: gcm, keys } as const;
  const tunnel = saFromConfig({ ...base, direction: 'in', mode: { mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2') }, sn: SnId.ESN64, replay: { size: 2048 }, encap: { sport: 4500, dport: 4500 } }, { reqid: 1 });
  assert.deepEqual([tunnel.mode, tunnel.esn, tunnel.replayWindow, tunnel.dir, tunnel.aead.name, tunnel.aead.icvBits], ['tunnel', true, 2048, 'in', 'rfc4106(gcm(aes))', 128]);
  const beet = saFromConfig({ ...base, direction: 'out', mode: { mode: 'beet', outer: { src: A('203.0.113.1'), dst: A('203.0.113.2') }, inner: { src: A('10.9.0.1'), dst: A('10.9.0.2') } }, seqStart: 11, tfcPadTo: 200, lifetime: { soft: { bytes: 1e6 }, hard: { seconds: 3600 } } }, { reqid: 2, saDir: false });
  assert.deepEqual([beet.mode, beet.replayWindow, beet.oseq, beet.tfcPad, beet.dir, beet.selector?.srcPrefix], ['beet', 0, 10, 200, undefined, 32]);
  assert.deepEqual(beet.lifetime, { softBytes: 1_000_000n, hardAddSeconds: 3600n });
  const group = saFromConfig({ ...base, direction: 'out', mode: { mode: 'tunnel-preserve' }, src: A('10.0.0.7'), dst: A('239.1.1.1'), sn: SnId.UNSPECIFIED32 }, { reqid: 3 });
  assert.deepEqual([group.mode, group.extraFlags, group.dst.toString('hex')], ['tunnel', 2, 'ef010101']);
  const chacha = saFromConfig({ ...base, algorithms: { encr: EncrId.CHACHA20_POLY1305 }, keys: { encr: Buffer.alloc(36) }, direction: 'in', mode: { mode: 'transport' }, src: A('10.0.0.1'), dst: A('10.0.0.2') }, { reqid: 4 });
  assert.equal(chacha.aead.name, 'rfc7539esp(chacha20,poly1305)');
  const gmac = saFromConfig({ ...base, algorithms: { encr: EncrId.NULL_AUTH_AES_GMAC, keyBits: 128 }, direction: 'in', mode: { mode: 'transport' }, src: A('10.0.0.1'), dst: A('10.0.0.2') }, { reqid: 5 });
  assert.equal(gmac.aead.name, 'rfc4543(gcm(aes))');

  throwsCode(() => saFromConfig({ ...base, direction: 'in', mode: { mode: 'transport' } }, { reqid: 1 }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => saFromConfig({ ...base, direction: 'out', mode: { mode: 'transport' }, src: A('10.0.0.1'), dst: A('10.0.0.2'), senderIdBits: 8, senderId: 1 }, { reqid: 1 }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => saFromConfig({ ...base, direction: 'in', mode: { mode: 'transport' }, src: A('10.0.0.1'), dst: A('10.0.0.2'), sn: SnId.ESN64, replay: { size: 0 } }, { reqid: 1 }), 'GKM_ESP_BAD_CONFIG');
  const cbc = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 };
  throwsCode(() => saFromConfig({ ...base, algorithms: cbc, direction: 'in', mode: { mode: 'transport' }, src: A('10.0.0.1'), dst: A('10.0.0.2') }, { reqid: 1 }), 'GKM_CRYPTO_UNSUPPORTED');

  assert.deepEqual(xfrmSelector({ src: prefix('2001:db8::/32'), dst: prefix('ff02::1') }), { src: A('2001:db8::'), dst: A('ff02::1'), srcPrefix: 32, dstPrefix: 128, proto: 0, sport: 0, sportMask: 0, dport: 0, dportMask: 0 });
  throwsCode(() => xfrmSelector({ src: { start: A('10.0.0.1'), end: A('10.0.0.3') }, dst: prefix('10.0.0.0/8') }), 'GKM_ESP_BAD_CONFIG');
  throwsCode(() => xfrmSelector({ src: prefix('10.0.0.0/8'), dst: prefix('10.0.0.0/8'), dstPorts: [1, 2] }), 'GKM_ESP_BAD_CONFIG');
  const out = { ...base, direction: 'out', mode: { mode: 'transport' }, src: A('10.0.0.1'), dst: A('10.0.0.2'), selectors: [{ src: prefix('10.0.0.1'), dst: prefix('10.0.0.2') }] } as const;
  const pols = policiesFor(out, saFromConfig(out, { reqid: 6, offload: { ifindex: 4, packet: true } }));
  assert.deepEqual([pols.length, pols[0]!.dir, pols[0]!.templates[0]!.reqid, pols[0]!.offload?.packet], [1, 'out', 6, true]);
});

/** An ack as the kernel sends it: struct nlmsgerr, capped, with NLMSGERR_ATTR_MSG. */
function ack(seq: number, errno: number, text?: string): Buffer {
  const err = new Struct(20).u32(0, -errno >>> 0).u32(4, 16).u16(8, XfrmMsg.NEWSA).u32(12, seq).buf;
  const flags = 0x100 | (text ? NLM_F_ACK_TLVS : 0);
  return nlmsg(NLMSG_ERROR, flags, seq, text ? [err, attr(1, Buffer.from(`${text}\0`))] : [err]);
}

test('acks and replies are parsed with bounds checks', () => {
  const a = parseAck(parseMessages(ack(5, 38, 'Requested AEAD algorithm not found'))[0]!);
  assert.deepEqual(a, { errno: 38, code: 'ENOSYS', message: 'Requested AEAD algorithm not found' });
  assert.deepEqual(parseAck(parseMessages(ack(6, 0))[0]!), { errno: 0, code: 'OK' });
  const good = ack(5, 22, 'x');
  for (const cut of [3, 15, 17]) assert.throws(() => parseMessages(good.subarray(0, cut)), NetlinkParseError);
  const lying = Buffer.from(good);
  lying.writeUInt32LE(4000, 0);
  assert.throws(() => parseMessages(lying), NetlinkParseError);
  assert.throws(() => parseAttrs(Buffer.from('0900010041', 'hex'), 0), NetlinkParseError);

  // A GETSA answer: xfrm_usersa_info with counters, then the ESN replay state.
  const info = newSa({ ...v4sa, offload: undefined }, 1).subarray(16);
  const fixed = Buffer.from(info.subarray(0, Size.usersaInfo));
  fixed.writeBigUInt64LE(1500n, 160);
  fixed.writeBigUInt64LE(3n, 168);
  fixed.writeUInt32LE(2, 196);
  fixed.writeUInt32LE(1, 200);
  const esn = attr(Xfrma.REPLAY_ESN_VAL, new Struct(24).u32(0, 32).u32(8, 7).u32(16, 1).u32(20, 1024).buf);
  const m = parseMessages(nlmsg(XfrmMsg.NEWSA, 0, 1, [fixed, esn]))[0]!;
  const s = parseSaState(m.payload, messageAttrs(m, Size.usersaInfo));
  assert.deepEqual([s.spi, s.reqid, s.bytes, s.packets, s.replayDrops, s.integrityFailed, s.seq, s.replayWindow], [0x1000, 7, 1500n, 3n, 2, 1, 0x1_0000_0007, 1024]);
  assert.throws(() => parseSaState(m.payload.subarray(0, 100), new Map()), RangeError);
});

/** A scripted kernel: answers each request type with an errno, records what it got. */
function fakeKernel(answers: Partial<Record<number, number>> = {}) {
  const seen: number[] = [];
  const transport = (req: Buffer): Buffer => {
    const m = parseMessages(req)[0]!;
    seen.push(m.type);
    const errno = answers[m.type] ?? 0;
    if (m.type === XfrmMsg.GETSA && errno === 0) {
      const info = newSa({ ...v4sa, dir: 'out', replayWindow: 0, esn: false, oseq: 41 }, m.seq).subarray(16);
      return Buffer.concat([nlmsg(XfrmMsg.NEWSA, 0, m.seq, [info]), ack(m.seq, 0)]);
    }
    return ack(m.seq, errno, errno ? 'scripted' : undefined);
  };
  return { seen, transport };
}

test('xfrm provider over a scripted kernel: install, policies, stats, sync, removal, errors', () => {
  const k = fakeKernel();
  const p = new XfrmProvider({ transport: k.transport, offload: { ifindex: 2, packet: true } });
  const cfg: SaConfig = {
    direction: 'out',
    spi: 0x4000,
    algorithms: { encr: EncrId.AES_GCM_16, keyBits: 256 },
    keys: { encr: Buffer.alloc(36, 9) },
    mode: { mode: 'tunnel', src: A('192.0.2.1'), dst: A('192.0.2.2') },
    selectors: [{ src: prefix('10.1.0.0/16'), dst: prefix('10.2.0.0/16') }, { src: prefix('10.3.0.0/16'), dst: prefix('10.4.0.0/16') }],
  };
  const h1 = p.addSA(cfg);
  assert.deepEqual(k.seen, [XfrmMsg.NEWSA, XfrmMsg.NEWPOLICY, XfrmMsg.NEWPOLICY]);
  assert.deepEqual([p.capabilities().offload, p.offloadOk()], ['packet', false]);
  assert.equal(p.stats(h1).nextSeq, 42);
  p.setSeq(h1, 100);
  assert.equal(k.seen.at(-1), XfrmMsg.NEWAE);
  throwsCode(() => p.syncReplay(h1, 5), 'GKM_ESP_BAD_CONFIG');
  assert.ok(p.encryptBurst([Buffer.alloc(20)]).every((r) => isGkmError(r, 'GKM_ESP_BAD_CONFIG')));
  k.seen.length = 0;
  p.deleteSA(h1);
  assert.deepEqual(k.seen, [XfrmMsg.DELPOLICY, XfrmMsg.DELPOLICY, XfrmMsg.DELSA]);
  throwsCode(() => p.stats(h1), 'GKM_ESP_NO_SA');

  // No ESP in the kernel: a typed "unavailable"; a refused message: a config error.
  const noEsp = new XfrmProvider({ transport: fakeKernel({ [XfrmMsg.NEWSA]: 38 }).transport });
  assert.throws(() => noEsp.addSA(cfg), (e: unknown) => isProviderUnavailable(e) && /ENOSYS \(scripted\)/.test(e.message));
  throwsCode(() => new XfrmProvider({ transport: fakeKernel({ [XfrmMsg.NEWSA]: 22 }).transport }).addSA(cfg), 'GKM_ESP_BAD_CONFIG');
  // A policy the kernel refuses rolls back the SA and the policies added before it.
  const partial = fakeKernel();
  let policies = 0;
  const refuseSecond = (req: Buffer): Buffer => {
    const m = parseMessages(req)[0]!;
    if (m.type === XfrmMsg.NEWPOLICY && ++policies === 2) return ack(m.seq, 22, 'scripted');
    return partial.transport(req);
  };
  throwsCode(() => new XfrmProvider({ transport: refuseSecond }).addSA(cfg), 'GKM_ESP_BAD_CONFIG');
  assert.deepEqual(partial.seen, [XfrmMsg.NEWSA, XfrmMsg.NEWPOLICY, XfrmMsg.DELPOLICY, XfrmMsg.DELSA]);
});
