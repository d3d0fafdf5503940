/** Group policy validation (RFC 9838 §2.3.4, §2.5, §2.6, §4.4.2.1): normalized output and typed errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GkmError, isGkmError, type ErrorCode } from '../../../src/ikev2/errors.ts';
import { validateGroupPolicy } from '../../../src/gcks/policy/index.ts';
import { SAMPLE_POLICY } from '../../../src/gcks/groups/index.ts';
import { basePolicy, changed } from './fixtures.ts';

/** assert.throws predicate: code, field path, HTTP 400, no IKE notify. */
const policyError = (code: ErrorCode, field: string | RegExp, detail?: RegExp) => (e: unknown): boolean => {
  assert.ok(isGkmError(e, code), `expected ${code}, got ${String(e)}`);
  const err = e as GkmError;
  if (typeof field === 'string') assert.equal(err.field, field);
  else assert.match(err.field ?? '', field);
  if (detail) assert.match(err.message, detail);
  assert.equal(err.httpStatus, 400);
  assert.equal(err.notify, null);
  return true;
};

test('a valid policy normalizes: defaults filled, addresses canonical, selectors complete', () => {
  const p = validateGroupPolicy(basePolicy());
  const [video, control] = p.dataSecuritySas;
  assert.equal(video?.sequenceNumbers, 'unspecified-32', 'SN 2 for several senders');
  assert.equal(control?.sequenceNumbers, 'sequential-32', 'SN 0 for one sender');
  assert.equal(video?.integrity, null);
  assert.equal(video?.protocol, 'esp');
  assert.deepEqual(video?.source, { address: '0.0.0.0/0', protocol: 17, ports: { start: 0, end: 65535 } });
  assert.deepEqual(video?.destination, { address: '239.1.1.1', protocol: 17, ports: { start: 5004, end: 5004 } });
  assert.deepEqual(control?.destination.address, '239.1.2.0/24');
  assert.equal(p.rekey.method, 'multicast');
  if (p.rekey.method === 'multicast') {
    assert.deepEqual(p.rekey.sa.destination, { address: '239.1.1.100', protocol: 17, ports: { start: 848, end: 848 } });
    assert.deepEqual(p.rekey.sa.authentication, { method: 'signature', algorithm: 'ed25519' });
  }
  assert.deepEqual(validateGroupPolicy(JSON.parse(JSON.stringify(p))), p, 'the normalized form is a fixed point');
  validateGroupPolicy(SAMPLE_POLICY);
});

test('IPv6 groups, address ranges, in-band rekeying, ChaCha20-Poly1305', () => {
  const p = validateGroupPolicy({
    dataSecuritySas: [
      {
        name: 'v6',
        mode: 'transport',
        senders: 'single',
        encryption: { algorithm: 'chacha20-poly1305' },
        sequenceNumbers: 'unspecified-32',
        source: { address: '2001:DB8:0:0::1' },
        destination: { address: 'ff3e::8000:1-ff3e::8000:ff', protocol: 17, ports: { start: 5000, end: 5010 } },
      },
    ],
    rekey: { method: 'inband' },
    groupWide: { senderIdBits: 8 },
  });
  assert.equal(p.dataSecuritySas[0]?.source.address, '2001:db8::1');
  assert.equal(p.dataSecuritySas[0]?.destination.address, 'ff3e::8000:1-ff3e::8000:ff');
  assert.equal(p.dataSecuritySas[0]?.lifetimeSeconds, null, 'optional with in-band rekeying');
  assert.deepEqual(p.groupWide, { activationTimeDelay: 0, deactivationTimeDelay: 0, senderIdBits: 8 });
});

test('tunnel and transport mixed in one group: GKM_POLICY_MIXED_MODES', () => {
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.1.mode', 'transport')), policyError('GKM_POLICY_MIXED_MODES', 'dataSecuritySas[1].mode', /§2\.3\.4/));
});

test('a destination that is not multicast: GKM_POLICY_NOT_MULTICAST', () => {
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.0.destination', { address: '192.0.2.1' })), policyError('GKM_POLICY_NOT_MULTICAST', 'dataSecuritySas[0].destination.address'));
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.0.destination', { address: '224.0.0.0/3' })), policyError('GKM_POLICY_NOT_MULTICAST', /destination/), 'a range reaching past 224/4');
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.0.destination', { address: '2001:db8::1' })), policyError('GKM_POLICY_NOT_MULTICAST', /destination/));
  assert.throws(() => validateGroupPolicy(changed('rekey.sa.destination', { address: '10.0.0.1', port: 848 })), policyError('GKM_POLICY_NOT_MULTICAST', 'rekey.sa.destination.address'));
});

test('ESN on a multicast SA, and SN 0 with several senders: GKM_POLICY_SEQUENCE_NUMBERS', () => {
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.1.sequenceNumbers', 'esn-64')), policyError('GKM_POLICY_SEQUENCE_NUMBERS', 'dataSecuritySas[1].sequenceNumbers', /esn-64/));
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.0.sequenceNumbers', 'sequential-32')), policyError('GKM_POLICY_SEQUENCE_NUMBERS', 'dataSecuritySas[0].sequenceNumbers', /unspecified-32/));
  assert.equal(validateGroupPolicy(changed('dataSecuritySas.1.sequenceNumbers', 'unspecified-32')).dataSecuritySas[1]?.sequenceNumbers, 'unspecified-32', 'SN 2 MAY be used by one sender');
});

test('implicit IV with several senders, with SN 2, or on the Rekey SA: GKM_POLICY_IMPLICIT_IV', () => {
  const iiv = { algorithm: 'aes-gcm-16-iiv', keyBits: 256 };
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.0.encryption', iiv)), policyError('GKM_POLICY_IMPLICIT_IV', 'dataSecuritySas[0].encryption.algorithm', /several senders/));
  const single = changed('dataSecuritySas.1.integrity', undefined, changed('dataSecuritySas.1.encryption', iiv));
  assert.equal(validateGroupPolicy(single).dataSecuritySas[1]?.encryption.algorithm, 'aes-gcm-16-iiv', 'one sender with SN 0 may');
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.1.sequenceNumbers', 'unspecified-32', single)), policyError('GKM_POLICY_IMPLICIT_IV', /dataSecuritySas\[1\]/, /sequential-32/));
  assert.throws(() => validateGroupPolicy(changed('rekey.sa.encryption', iiv)), policyError('GKM_POLICY_IMPLICIT_IV', 'rekey.sa.encryption.algorithm'));
});

test('unknown algorithms and key sizes: GKM_POLICY_UNSUPPORTED_ALGORITHM', () => {
  const cases: [string, unknown, string][] = [
    ['dataSecuritySas.0.encryption', { algorithm: 'des' }, 'dataSecuritySas[0].encryption.algorithm'],
    ['dataSecuritySas.0.encryption', { algorithm: 'aes-gcm-16', keyBits: 512 }, 'dataSecuritySas[0].encryption.keyBits'],
    ['dataSecuritySas.0.encryption', { algorithm: 'chacha20-poly1305', keyBits: 128 }, 'dataSecuritySas[0].encryption.keyBits'],
    ['dataSecuritySas.1.integrity', 'hmac-md5-96', 'dataSecuritySas[1].integrity'],
    ['rekey.sa.keyWrap', 'kw-3des', 'rekey.sa.keyWrap'],
    ['rekey.sa.authentication', { method: 'signature', algorithm: 'dsa-sha1' }, 'rekey.sa.authentication.algorithm'],
    ['rekey.sa.encryption', { algorithm: 'null-auth-aes-gmac', keyBits: 128 }, 'rekey.sa.encryption.algorithm'],
    ['rekey.sa.keyWrap', 'kw-5649-128', 'rekey.sa.keyWrap'], // KWK shorter than the 256-bit TEKs
  ];
  for (const [path, value, field] of cases) {
    assert.throws(() => validateGroupPolicy(changed(path, value)), policyError('GKM_POLICY_UNSUPPORTED_ALGORITHM', field), `${path} = ${JSON.stringify(value)}`);
  }
});

test('cipher and integrity combinations', () => {
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.0.integrity', 'hmac-sha2-256-128')), policyError('GKM_POLICY_INVALID', 'dataSecuritySas[0].integrity', /combined-mode/));
  assert.throws(() => validateGroupPolicy(changed('dataSecuritySas.1.integrity', undefined)), policyError('GKM_POLICY_INVALID', 'dataSecuritySas[1].integrity', /needs an integrity/));
  const cbcRekey = changed('rekey.sa.integrity', 'hmac-sha2-512-256', changed('rekey.sa.encryption', { algorithm: 'aes-cbc', keyBits: 256 }));
  assert.equal(validateGroupPolicy(cbcRekey).rekey.method, 'multicast');
  assert.throws(() => validateGroupPolicy(changed('rekey.sa.encryption', { algorithm: 'aes-cbc', keyBits: 256 })), policyError('GKM_POLICY_INVALID', 'rekey.sa.integrity'));
  assert.equal((validateGroupPolicy(changed('dataSecuritySas.0.encryption', { algorithm: 'aes-gcm-16' })).dataSecuritySas[0]?.encryption.keyBits), 256, 'largest AES size by default');
});

test('whole-policy rules: lifetimes, Sender-ID bits, names, Rekey SA destination, families, composition', () => {
  const cases: [Record<string, unknown>, string | RegExp, RegExp][] = [
    [changed('dataSecuritySas.0.lifetimeSeconds', undefined), 'dataSecuritySas[0].lifetimeSeconds', /GSA_KEY_LIFETIME/],
    [changed('dataSecuritySas.0.lifetimeSeconds', 10), 'dataSecuritySas[0].lifetimeSeconds', /60\.\./],
    [changed('groupWide.senderIdBits', undefined), 'groupWide.senderIdBits', /counter-mode/],
    [changed('groupWide.senderIdBits', 33), 'groupWide.senderIdBits', /1\.\.32/],
    [changed('groupWide.activationTimeDelay', 70000), 'groupWide.activationTimeDelay', /0\.\.65535/],
    [changed('dataSecuritySas.1.name', 'video'), 'dataSecuritySas[1].name', /twice/],
    [changed('dataSecuritySas.1.name', 'Bad Name'), 'dataSecuritySas[1].name', /lower-case/],
    [changed('rekey.sa.destination', { address: '239.1.1.0/24', port: 848 }), 'rekey.sa.destination', /one multicast address/],
    [changed('rekey.sa.destination', { address: '239.1.1.100' }), 'rekey.sa.destination', /one port/],
    [changed('rekey.sa.destination', { address: '239.1.1.100', protocol: 'tcp', port: 848 }), 'rekey.sa.destination', /UDP/],
    [changed('dataSecuritySas.1.source', { address: '2001:db8::1' }), 'dataSecuritySas[1].source.address', /family/],
    [changed('dataSecuritySas.0.destination', { address: '239.1.1.1', port: 5004 }), 'dataSecuritySas[0].destination', /ports need a protocol/],
    [changed('dataSecuritySas.0.destination', { address: '239.1.1.300' }), 'dataSecuritySas[0].destination.address', /not an address/],
    [changed('dataSecuritySas.0.destination', { address: 'any' }), 'dataSecuritySas[0].destination.address', /source selector/],
    [changed('dataSecuritySas.0.colour', 'red'), 'dataSecuritySas[0]', /unknown field\(s\) colour/],
    [changed('rekey', { method: 'inband', sa: {} }), 'rekey.sa', /no Rekey SA/],
    [changed('rekey.sa.authentication', { method: 'implicit', algorithm: 'ed25519' }), 'rekey.sa.authentication.algorithm', /implicit/],
    [{ rekey: { method: 'inband' } }, 'dataSecuritySas', /Data-Security SA or a Rekey SA/],
  ];
  for (const [doc, field, detail] of cases) {
    assert.throws(() => validateGroupPolicy(doc), policyError('GKM_POLICY_INVALID', field, detail), JSON.stringify(doc).slice(0, 200));
  }
  assert.throws(() => validateGroupPolicy('not an object'), policyError('GKM_POLICY_INVALID', /^$/, /must be an object/));
});

test('a Rekey SA alone is a valid group policy (§4.4: at least one GSA policy)', () => {
  const p = validateGroupPolicy(changed('groupWide', {}, changed('dataSecuritySas', [])));
  assert.equal(p.dataSecuritySas.length, 0);
});
