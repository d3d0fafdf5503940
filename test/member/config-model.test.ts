import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IdType, KeId, TsType } from '../../src/ikev2/registry/index.ts';
import { Id, identityText, subjectDer } from '../../src/ikev2/sa/identity.ts';
import { ConfigError } from '../../src/member/config/errors.ts';
import { buildSettings } from '../../src/member/config/build.ts';
import { loadConfigFile, loadConfigText, decodeSecret } from '../../src/member/config/load.ts';
import { parseIdentity } from '../../src/member/config/identities.ts';
import { parseTrafficSelector, resolveTrafficSelector } from '../../src/member/config/traffic-selectors.ts';
import { peerConfig, responderPolicy } from '../../src/member/peers.ts';
import { makeCert } from '../ikev2/sa/support/certs.ts';
import { tempDir } from './support.ts';

const MINIMAL = `connections {
  gw {
    remote_addrs = 192.0.2.1
    local { auth = psk }
    remote { auth = psk }
  }
}
secrets {
  ike-any { secret = 0x0102030405060708 }
}
`;

/** The issues of a failing configuration as `line:column: message`. */
function issuesOf(text: string, load = false, file = '/etc/gkm/x.conf'): string[] {
  try {
    if (load) loadConfigText(text, file);
    else buildSettings(text, file);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => `${i.pos.line}:${i.pos.column}: ${i.message}`);
  }
  assert.fail('no error');
}

test('defaults follow swanctl.conf: ports 500, lifetimes, dynamic selectors, auth pubkey', () => {
  const { settings, warnings } = buildSettings(MINIMAL.replace('children', 'children'), 'x.conf');
  const c = settings.connections[0]!;
  assert.equal(c.name, 'gw');
  assert.deepEqual([c.localPort, c.remotePort, c.localAddrs, c.remoteAddrs], [500, 500, [], ['192.0.2.1']]);
  assert.deepEqual([c.rekeyTime, c.overTime, c.randTime, c.dpdDelay, c.fragmentation, c.keyingtries], [14_400, 1440, 1440, 0, true, 1]);
  assert.equal(c.proposals.length, 3, 'the default IKE proposals');
  // Hybrid X25519 + ML-KEM-768 first (RFC 9370 ADDKE1 = 36), classic ones after it.
  assert.deepEqual(c.proposals[0]!.addke?.flat(), [36]);
  assert.ok(c.proposals.slice(1).every((p) => (p.addke ?? []).length === 0));
  assert.deepEqual(c.children, []);
  assert.deepEqual(warnings, ['x.conf:9:22: secrets.ike-any.secret: secret written inline in the configuration; prefer file = PATH readable only by the daemon']);
  const child = buildSettings(MINIMAL.replace('remote { auth = psk }', 'remote { auth = psk }\n    children {\n      net {\n      }\n    }'), 'x.conf').settings.connections[0]!.children[0]!;
  assert.deepEqual([child.mode, child.rekeyTime, child.lifeTime, child.randTime, child.startAction, child.perResource], ['tunnel', 3600, 3960, 360, 'none', 0]);
  assert.equal(c.optimizedRekey, false);
  assert.deepEqual(child.localTs.map((t) => t.range), ['dynamic']);
  assert.equal(child.espProposals.length, 2, 'the default ESP proposals');
});

test('a complete connection: addresses, ports, proposals, identities, children, lifetimes', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'psk'), 'from a file\n', { mode: 0o600 });
  const text = `connections {
  site {
    version = 2
    local_addrs = 127.0.0.1
    remote_addrs = 10.0.0.0/8, 192.0.2.1-192.0.2.9, 198.51.100.7
    local_port = 4501
    remote_port = 4502
    proposals = aes256gcm16-prfsha256-x25519-ke1_mlkem768, aes128-sha256-ecp256
    rekey_time = 2h
    over_time = 5m
    rand_time = 60
    dpd_delay = 30s
    fragmentation = no
    optimized_rekey = yes
    keyingtries = 0
    mobike = no
    reauth_time = 0
    local {
      auth = psk
      id = @member.example
    }
    remote {
      auth = psk
      id = gw@example.com
    }
    children {
      net {
        local_ts = 10.1.0.0/16, 10.3.0.1-10.3.0.9[tcp/80]
        remote_ts = dynamic[udp/500-600]
        esp_proposals = aes128gcm16-x25519-esn
        mode = transport
        rekey_time = 20m
        life_time = 30m
        rand_time = 1m
        start_action = start
        per_resource = 4
        dpd_action = clear
      }
    }
  }
}
secrets {
  ike-site {
    id = @member.example
    id-gw = gw@example.com
    file = psk
  }
}
`;
  writeFileSync(join(dir, 'site.conf'), text);
  const loaded = loadConfigFile(join(dir, 'site.conf'));
  assert.deepEqual(loaded.warnings, []);
  const c = loaded.connections[0]!;
  assert.deepEqual([c.localAddrs, c.remoteAddrs, c.localPort, c.remotePort], [['127.0.0.1'], ['10.0.0.0/8', '192.0.2.1-192.0.2.9', '198.51.100.7'], 4501, 4502]);
  assert.deepEqual([c.rekeyTime, c.overTime, c.randTime, c.dpdDelay, c.fragmentation, c.optimizedRekey, c.keyingtries], [7200, 300, 60, 30, false, true, 0]);
  assert.deepEqual(c.proposals[0]!.addke, [[KeId.ML_KEM_768]]);
  assert.equal(identityText(c.localIdentity!), 'member.example');
  assert.equal(c.remote.id!.type, IdType.ID_RFC822_ADDR);
  assert.deepEqual(c.localAuth, { method: 'psk', psk: Buffer.from('from a file') });
  assert.deepEqual(c.remoteAuth, c.localAuth);
  const net = c.children[0]!;
  assert.deepEqual([net.mode, net.rekeyTime, net.lifeTime, net.randTime, net.startAction, net.perResource], ['transport', 1200, 1800, 60, 'start', 4]);
  assert.deepEqual(net.espProposals[0]!.ke, [KeId.CURVE25519]);
  assert.deepEqual(net.localTs.map((t) => t.text), ['10.1.0.0/16', '10.3.0.1-10.3.0.9[tcp/80]']);

  // The engine's view, for an IKE SA between two addresses.
  const peer = peerConfig(c, { ip: '127.0.0.1', port: 4501 }, { ip: '198.51.100.7', port: 4502 });
  assert.deepEqual([peer.name, peer.optimizedRekey], ['site', true]);
  assert.deepEqual(peer.ikeLifetime, { lifetimeMs: 7_500_000, rekeyMarginMs: 300_000, jitterMs: 60_000 });
  const child = peer.children![0]!;
  assert.deepEqual(child.lifetime, { lifetimeMs: 1_800_000, rekeyMarginMs: 600_000, jitterMs: 60_000 });
  assert.deepEqual(child.remoteTs, [{ tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 17, startPort: 500, endPort: 600, startAddress: Buffer.from([198, 51, 100, 7]), endAddress: Buffer.from([198, 51, 100, 7]) }]);
  assert.equal(child.mode, 'transport');
  assert.deepEqual([child.perResource, child.perResourceCap], [4, 4]);
});

test('identities in swanctl syntax', () => {
  const cases: [string, number, string][] = [
    ['192.0.2.1', IdType.ID_IPV4_ADDR, 'c0000201'],
    ['2001:db8::1', IdType.ID_IPV6_ADDR, '20010db8000000000000000000000001'],
    ['gw.example', IdType.ID_FQDN, Buffer.from('gw.example').toString('hex')],
    ['@gw', IdType.ID_FQDN, Buffer.from('gw').toString('hex')],
    ['user@example.com', IdType.ID_RFC822_ADDR, Buffer.from('user@example.com').toString('hex')],
    ['@@user', IdType.ID_RFC822_ADDR, Buffer.from('user').toString('hex')],
    ['@#0a1b', IdType.ID_KEY_ID, '0a1b'],
    ['keyid:member-7', IdType.ID_KEY_ID, Buffer.from('member-7').toString('hex')],
    ['fqdn:1.2.3.4', IdType.ID_FQDN, Buffer.from('1.2.3.4').toString('hex')],
    ['ipv4:10.0.0.1', IdType.ID_IPV4_ADDR, '0a000001'],
    ['asn1dn:#3000', IdType.ID_DER_ASN1_DN, '3000'],
  ];
  for (const [text, type, hex] of cases) {
    const id = parseIdentity(text)!;
    assert.deepEqual([id.type, id.data.toString('hex')], [type, hex], text);
  }
  assert.equal(parseIdentity('%any'), undefined);
  assert.throws(() => parseIdentity('C=CH, O=strongSwan'), /textual DN/);
  assert.throws(() => parseIdentity('ipv4:::1'), /not an IPv4 address/);
  assert.throws(() => parseIdentity('@#abc'), /bad hex/);
});

test('traffic selectors: prefixes, ranges, single addresses, protocols and ports', () => {
  const r = (t: string) => {
    const s = resolveTrafficSelector(parseTrafficSelector(t), '10.9.9.9');
    return [s.startAddress.join('.'), s.endAddress.join('.'), s.ipProtocol, s.startPort, s.endPort];
  };
  assert.deepEqual(r('10.1.2.3/16'), ['10.1.0.0', '10.1.255.255', 0, 0, 65535]);
  assert.deepEqual(r('10.1.2.3'), ['10.1.2.3', '10.1.2.3', 0, 0, 65535]);
  assert.deepEqual(r('dynamic[tcp/443]'), ['10.9.9.9', '10.9.9.9', 6, 443, 443]);
  assert.deepEqual(r('0.0.0.0/0[17/%any]'), ['0.0.0.0', '255.255.255.255', 17, 0, 65535]);
  assert.equal(resolveTrafficSelector(parseTrafficSelector('2001:db8::/32'), '::1').tsType, TsType.TS_IPV6_ADDR_RANGE);
  for (const [bad, message] of [
    ['10.0.0.0/33', /prefix length/],
    ['10.0.0.9-10.0.0.1', /ends before it starts/],
    ['10.0.0.1-::1', /mixes IPv4 and IPv6/],
    ['host.example', /not an IP address/],
    ['10.0.0.0/8[foo]', /unknown protocol/],
    ['10.0.0.0/8[tcp/99999]', /bad port/],
    ['10.0.0.0/8[/80]', /a port needs a protocol/],
  ] as const) assert.throws(() => parseTrafficSelector(bad), message, bad);
});

test('secret encodings: 0x hex, 0s base64, text', () => {
  assert.deepEqual(decodeSecret('0x00ff'), Buffer.from([0, 255]));
  assert.deepEqual(decodeSecret('0sAP8='), Buffer.from([0, 255]));
  assert.deepEqual(decodeSecret('plain text'), Buffer.from('plain text'));
  assert.throws(() => decodeSecret('0xabc'), /whole hex octets/);
});

test('PSK lookup: the secret naming the peer wins over ours and over a catch-all', () => {
  const conf = (secrets: string) =>
    `connections {\n  a {\n    remote_addrs = 192.0.2.1\n    local {\n      auth = psk\n      id = me@x\n    }\n    remote {\n      auth = psk\n      id = peer@x\n    }\n  }\n}\nsecrets {\n${secrets}}\n`;
  const psk = (text: string) => (loadConfigText(conf(text), 'x.conf').connections[0]!.localAuth as { psk: Buffer }).psk.toString();
  assert.equal(psk('  ike-any { secret = any }\n  ike-me { id = me@x\n secret = mine }\n  ike-peer { id = peer@x\n secret = peers }\n'), 'peers');
  assert.equal(psk('  ike-any { secret = any }\n  ike-me { id = me@x\n secret = mine }\n'), 'mine');
  assert.equal(psk('  ike-other { id = other@x\n secret = no }\n  ike-any { secret = any }\n'), 'any');
  assert.deepEqual(issuesOf(conf('  ike-other { id = other@x\n secret = no }\n'), true), ['2:3: connections.a: no PSK in secrets { ike-* { id = ...; secret = ... } } for its identities']);
});

test('warnings: inline secrets, ignored swanctl settings, loose PSK file permissions', () => {
  const dir = tempDir();
  const pskFile = join(dir, 'psk');
  writeFileSync(pskFile, 'secret\n');
  chmodSync(pskFile, 0o644);
  const text = MINIMAL.replace('remote_addrs = 192.0.2.1', 'remote_addrs = 192.0.2.1\n    mobike = yes').replace(
    'ike-any { secret = 0x0102030405060708 }',
    `ike-any { file = ${pskFile} }\n  ike-other {\n    id = other@x\n    secret = 0x0102\n  }`,
  );
  const { warnings } = loadConfigText(text, join(dir, 'x.conf'));
  assert.equal(warnings.length, 3, warnings.join('\n'));
  assert.match(warnings[0]!, /x\.conf:4:5: connections\.gw\.mobike = yes is ignored: MOBIKE/);
  assert.match(warnings[1]!, /x\.conf:13:14: secrets\.ike-other\.secret: secret written inline/);
  assert.match(warnings[2]!, /x\.conf:10:20: .*psk is readable by group or others \(chmod 600\)/);
});

/** Every model error, with the position it is reported at. */
const MODEL_ERRORS: readonly { name: string; text: string; expect: string[]; load?: boolean }[] = [
  { name: 'no connections', text: 'secrets {\n}\n', expect: ['1:1: no connections { name { ... } } configured'] },
  { name: 'unknown top-level section', text: MINIMAL + 'pools {\n}\n', expect: ['11:1: unknown section pools in the top level (known: connections, secrets)'] },
  { name: 'unknown setting', text: MINIMAL.replace('remote_addrs', 'remote_adrs'), expect: [/^3:5: unknown setting remote_adrs in connections\.gw \(known: .*remote_addrs.*\)$/] as unknown as string[] },
  { name: 'a setting where a section belongs', text: MINIMAL.replace('local { auth = psk }', 'local = psk'), expect: ['2:3: connections.gw: a local { auth = ... } section is required', '4:5: connections.gw.local is a section (local { ... }), not a setting'] },
  { name: 'a setting among connections', text: 'connections {\n  gw = 1\n}\n', expect: ['2:3: connections.gw: expected a section (gw { ... }), not a setting'] },
  { name: 'IKEv1', text: MINIMAL.replace('remote_addrs', 'version = 1\n    remote_addrs'), expect: ['3:5: connections.gw.version: only IKEv2 (version = 2) is supported'] },
  { name: 'port out of range', text: MINIMAL.replace('remote_addrs', 'local_port = 70000\n    remote_addrs'), expect: ['3:18: connections.gw.local_port must be an integer in 1..65535; found "70000"'] },
  { name: 'host name in local_addrs', text: MINIMAL.replace('remote_addrs', 'local_addrs = gw.example\n    remote_addrs'), expect: ['3:19: connections.gw.local_addrs: not a literal IP address: "gw.example" (host names are not resolved)'] },
  { name: '%any mixed with addresses', text: MINIMAL.replace('remote_addrs = 192.0.2.1', 'remote_addrs = %any, 192.0.2.1'), expect: ['3:20: connections.gw.remote_addrs: %any cannot be combined with addresses'] },
  { name: 'bad prefix in remote_addrs', text: MINIMAL.replace('192.0.2.1', '192.0.2.0/33'), expect: ['3:20: connections.gw.remote_addrs: bad prefix length in 192.0.2.0/33'] },
  { name: 'unknown proposal keyword', text: MINIMAL.replace('remote_addrs', 'proposals = aes256gcm16-prfsha256-curve9\n    remote_addrs'), expect: ['3:39: connections.gw.proposals: unknown algorithm keyword "curve9"'] },
  { name: 'fragmentation = force', text: MINIMAL.replace('remote_addrs', 'fragmentation = force\n    remote_addrs'), expect: ['3:5: connections.gw.fragmentation = force is not supported (use yes)'] },
  { name: 'bad duration', text: MINIMAL.replace('remote_addrs', 'rekey_time = 5x\n    remote_addrs'), expect: ['3:18: connections.gw.rekey_time must be a duration such as 30s, 15m, 4h or 1d; found "5x"'] },
  { name: 'bad boolean-like choice', text: MINIMAL.replace('local { auth = psk }', 'local { auth = eap }'), expect: ['4:20: connections.gw.local.auth must be one of psk, pubkey; found "eap"'] },
  { name: 'pubkey without certs', text: MINIMAL.replace('local { auth = psk }', 'local { auth = pubkey }'), expect: ['4:5: connections.gw.local: auth = pubkey needs certs or pubkeys (the private key comes from secrets)'] },
  { name: 'pubkey peer without anchors', text: MINIMAL.replace('remote { auth = psk }', 'remote { auth = pubkey }'), expect: ['5:5: connections.gw.remote: auth = pubkey needs cacerts or pubkeys to verify the peer'] },
  { name: 'textual DN', text: MINIMAL.replace('remote { auth = psk }', 'remote {\n      auth = psk\n      id = "C=CH, O=x"\n    }'), expect: [/^7:12: connections\.gw\.remote\.id: textual DN "C=CH, O=x" is not supported/] as unknown as string[] },
  { name: 'a list where one value belongs', text: MINIMAL.replace('local { auth = psk }', 'local { auth = psk, pubkey }'), expect: ['4:25: connections.gw.local.auth takes one value, not a list'] },
  {
    name: 'child errors: beet, trap, life_time, per_resource, selector',
    text: MINIMAL.replace(
      'remote { auth = psk }',
      'remote { auth = psk }\n    children {\n      net {\n        mode = beet\n        start_action = trap\n        rekey_time = 1h\n        life_time = 30m\n        per_resource = 0\n        local_ts = 10.0.0.0/40\n      }\n    }',
    ),
    expect: [
      '8:16: connections.gw.children.net.mode = beet is not supported: BEET mode is not negotiated by the IKE engine yet',
      '9:24: connections.gw.children.net.start_action = trap is not supported: trap policies need kernel IPsec, which this daemon does not drive',
      '11:9: connections.gw.children.net.life_time (1800s) must be longer than rekey_time (3600s)',
      '12:24: connections.gw.children.net.per_resource must be cpus or an integer in 1..1024; found "0"',
      '13:20: connections.gw.children.net.local_ts: bad prefix length in 10.0.0.0/40',
    ],
  },
  { name: 'unsupported secret type', text: MINIMAL.replace('ike-any', 'eap-any'), expect: ['9:3: secrets.eap-any: unsupported secret type (use ike<suffix> for a PSK, private<suffix> for a key file)'] },
  { name: 'secret without a value', text: MINIMAL.replace('ike-any { secret = 0x0102030405060708 }', 'ike-any { id = 1.2.3.4 }'), expect: ['9:3: secrets.ike-any: secret = ... or file = PATH is required'] },
  { name: 'secret and file', text: MINIMAL.replace('ike-any { secret = 0x0102030405060708 }', 'ike-any {\n    secret = x\n    file = y\n  }'), expect: ['11:12: secrets.ike-any: give either secret or file, not both'] },
  { name: 'missing PSK file', text: MINIMAL.replace('ike-any { secret = 0x0102030405060708 }', 'ike-any { file = /nonexistent/psk }'), load: true, expect: ['9:20: cannot read /nonexistent/psk: ENOENT'] },
  { name: 'bad 0x secret', text: MINIMAL.replace('0x0102030405060708', '0x0g'), load: true, expect: ['9:22: 0x secret is not whole hex octets'] },
];

for (const c of MODEL_ERRORS) {
  test(`configuration error: ${c.name}`, () => {
    const got = issuesOf(c.text, c.load);
    assert.equal(got.length, c.expect.length, got.join('\n'));
    c.expect.forEach((want, i) => (typeof want === 'string' ? assert.equal(got[i], want) : assert.match(got[i]!, want as RegExp)));
  });
}

test('all problems of a file are reported at once, in file order', () => {
  const text = MINIMAL.replace('remote_addrs = 192.0.2.1', 'remote_addrs = 192.0.2.1\n    local_port = 0\n    bogus = 1\n    proposals = nope');
  const got = issuesOf(text);
  assert.deepEqual(got.map((g) => g.split(': ')[0]), ['4:18', '5:5', '6:17']);
});

test('pubkey: certificate chain and private key files, identity from the certificate subject', () => {
  const dir = tempDir();
  const ca = makeCert({ subject: 'Test CA', ca: true });
  const ee = makeCert({ subject: 'member', issuer: ca, dns: 'member.example' });
  const other = makeCert({ subject: 'other', issuer: ca });
  writeFileSync(join(dir, 'ca.pem'), ca.cert.toString());
  writeFileSync(join(dir, 'member.pem'), ee.cert.toString() + ca.cert.toString());
  writeFileSync(join(dir, 'other.key'), other.key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'member.der'), ee.key.export({ type: 'pkcs8', format: 'der' }), { mode: 0o600 });
  const text = `connections {
  gw {
    remote_addrs = 192.0.2.1
    local {
      auth = pubkey
      certs = member.pem
    }
    remote {
      auth = pubkey
      id = gw.example
      cacerts = ca.pem
    }
  }
}
secrets {
  private-other { file = other.key }
  private-member { file = member.der }
}
`;
  const c = loadConfigText(text, join(dir, 'x.conf')).connections[0]!;
  assert.equal(c.localAuth.method, 'signature');
  if (c.localAuth.method !== 'signature' || c.remoteAuth.method !== 'signature') return;
  assert.equal(c.localAuth.certificates?.length, 2);
  assert.ok(c.localAuth.privateKey.equals(ee.key));
  assert.deepEqual(c.localIdentity, Id.dn(subjectDer(ee.cert)!));
  assert.equal(c.remoteAuth.trustedCas?.[0]?.fingerprint256, ca.cert.fingerprint256);
  // Without a matching key, and with an unreadable certificate:
  const noKey = text.replace('  private-member { file = member.der }\n', '');
  const file = join(dir, 'x.conf');
  assert.deepEqual(issuesOf(noKey, true, file), ['2:3: connections.gw: no private key in secrets { private-* { file = ... } } matches the local certificate or public key']);
  assert.deepEqual(issuesOf(text.replace('cacerts = ca.pem', 'cacerts = other.key'), true, file).map((m) => m.replace(dir, 'DIR')), ['11:17: DIR/other.key: not a valid certificate: nothing found']);
});

test('responder policy: IKE_SA_INIT accepts every connection\'s proposals; IKE_AUTH picks by identity and address', () => {
  const text = `connections {
  a {
    remote_addrs = 10.0.0.0/8
    proposals = aes128gcm16-prfsha256-x25519
    local { auth = psk
      id = gw }
    remote { auth = psk
      id = a@x }
  }
  any {
    proposals = aes256gcm16-prfsha384-ecp384, aes128gcm16-prfsha256-x25519
    local { auth = psk
      id = gw }
    remote { auth = psk }
  }
}
secrets {
  ike { secret = s }
}
`;
  const policy = responderPolicy(loadConfigText(text, 'x.conf').connections);
  assert.equal(policy.init.proposals.length, 2);
  const local = { ip: '10.0.0.1', port: 500 };
  const pick = (id: string, ip: string) => policy.resolvePeer({ id: parseIdentity(id)!, remote: { ip, port: 500 }, local })?.name;
  assert.equal(pick('a@x', '10.1.2.3'), 'a');
  assert.equal(pick('a@x', '192.0.2.1'), 'any', 'outside remote_addrs of a');
  assert.equal(pick('b@x', '10.1.2.3'), 'any');
});

test('a swanctl.conf written by the strongSwan harness loads as a member configuration', async () => {
  const { connectionBetween, swanctlConf } = await import('../support/strongswan-conf.ts');
  const link = { name: 'rekey', proposals: ['aes128gcm16-prfsha256-x25519'], espProposals: ['aes128gcm16-x25519'], localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], dpdDelay: '5s', dpdAction: 'clear' as const, rekeyTime: '1h', childRekeyTime: '20m' };
  const text = swanctlConf({
    connections: [connectionBetween(link, { address: '127.0.0.1', port: 15000, id: 'a@gkm.test' }, { address: '127.0.0.1', port: 15001, id: 'b@gkm.test' })],
    secrets: [{ name: 'rekey', ids: ['a@gkm.test', 'b@gkm.test'], secret: 'gkm-interop-psk-not-a-secret' }],
  });
  const loaded = loadConfigText(text, 'swanctl.conf');
  const c = loaded.connections[0]!;
  assert.deepEqual([c.name, c.localPort, c.remotePort, c.rekeyTime, c.dpdDelay], ['rekey', 15000, 15001, 3600, 5]);
  assert.deepEqual([c.children[0]!.name, c.children[0]!.rekeyTime, c.children[0]!.localTs[0]!.text], ['rekey', 1200, '10.1.0.0/16']);
  assert.deepEqual(c.localAuth, { method: 'psk', psk: Buffer.from('gkm-interop-psk-not-a-secret') });
  assert.deepEqual(loaded.warnings.map((w) => w.replace(/^swanctl\.conf:\d+:\d+: /, '')), ['secrets.ike-rekey.secret: secret written inline in the configuration; prefer file = PATH readable only by the daemon']);
});
