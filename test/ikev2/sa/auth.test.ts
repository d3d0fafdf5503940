import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { NotifyType } from '../../../src/ikev2/registry/index.ts';
import { Id } from '../../../src/ikev2/sa/identity.ts';
import type { PeerConfig } from '../../../src/ikev2/sa/config.ts';
import { eventsOf, pair } from './support/harness.ts';
import { makeCert, type Issued } from './support/certs.ts';

function ed25519() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey };
}

test('RFC 7427 with Ed25519 raw public keys (RFC 7670) both ways', async () => {
  const a = ed25519();
  const b = ed25519();
  const { world, i, r, start } = pair({
    initiator: { localAuth: { method: 'signature', privateKey: a.privateKey }, remoteAuth: { method: 'signature', publicKeys: [b.publicKey] } },
    responder: { localAuth: { method: 'signature', privateKey: b.privateKey }, remoteAuth: { method: 'signature', publicKeys: [a.publicKey] } },
  });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.equal(eventsOf(r, 'ike_up').length, 1);
  assert.equal(i.sink.installed.length, 1);
});

test('RFC 7427 with Ed25519: an unknown raw key fails AUTH and no SA survives', async () => {
  const a = ed25519();
  const b = ed25519();
  const stranger = ed25519();
  const { world, i, r, start } = pair({
    initiator: { localAuth: { method: 'signature', privateKey: stranger.privateKey }, remoteAuth: { method: 'signature', publicKeys: [b.publicKey] } },
    responder: { localAuth: { method: 'signature', privateKey: b.privateKey }, remoteAuth: { method: 'signature', publicKeys: [a.publicKey] } },
  });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'closed');
  assert.equal(eventsOf(i, 'error')[0]?.notify, NotifyType.AUTHENTICATION_FAILED);
  assert.equal(eventsOf(r, 'error')[0]?.notify, NotifyType.AUTHENTICATION_FAILED);
  assert.equal(r.engine.list().length, 0);
  assert.equal(i.sink.installed.length + r.sink.installed.length, 0);
});

function certPair(ca: Issued, member: Issued, gw: Issued, trusted: Issued = ca): { initiator: Partial<PeerConfig>; responder: Partial<PeerConfig> } {
  return {
    initiator: {
      localAuth: { method: 'signature', privateKey: member.key, certificates: [member.cert] },
      remoteAuth: { method: 'signature', trustedCas: [trusted.cert] },
    },
    responder: {
      localAuth: { method: 'signature', privateKey: gw.key, certificates: [gw.cert] },
      remoteAuth: { method: 'signature', trustedCas: [ca.cert] },
    },
  };
}

const ca = makeCert({ subject: 'Test CA', ca: true });
const member = makeCert({ subject: 'member', dns: 'member.example', issuer: ca });
const gw = makeCert({ subject: 'gw', dns: 'gw.example', issuer: ca });

test('ECDSA P-256 certificates chained to a configured CA, identities from subjectAltName', async () => {
  const { world, i, r, start } = pair(certPair(ca, member, gw));
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual(eventsOf(i, 'error'), []);
  assert.equal(eventsOf(r, 'ike_up')[0]?.ike.remoteId, 'member.example');
});

test('certificate chain through an intermediate CA sent in CERT', async () => {
  const inter = makeCert({ subject: 'Intermediate', ca: true, issuer: ca });
  const leaf = makeCert({ subject: 'member2', dns: 'member.example', issuer: inter });
  const cfg = certPair(ca, leaf, gw);
  const { world, start } = pair({
    ...cfg,
    initiator: { ...cfg.initiator, localAuth: { method: 'signature', privateKey: leaf.key, certificates: [leaf.cert, inter.cert] } },
  });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'established');
});

const failures: [string, () => { initiator: Partial<PeerConfig>; responder: Partial<PeerConfig> }, 'initiator' | 'responder'][] = [
  ['responder certificate from an untrusted CA', () => certPair(ca, member, makeCert({ subject: 'gw', dns: 'gw.example', issuer: makeCert({ subject: 'Other CA', ca: true }) })), 'initiator'],
  ['initiator certificate for another name', () => certPair(ca, makeCert({ subject: 'x', dns: 'other.example', issuer: ca }), gw), 'responder'],
  ['expired initiator certificate', () => certPair(ca, makeCert({ subject: 'm', dns: 'member.example', issuer: ca, notBefore: new Date(Date.now() - 2 * 86400_000), notAfter: new Date(Date.now() - 86400_000) }), gw), 'responder'],
  ['initiator certificate signed by a non-CA end entity', () => certPair(ca, makeCert({ subject: 'm', dns: 'member.example', issuer: gw }), gw), 'responder'],
];

for (const [name, cfg, detector] of failures) {
  test(`AUTHENTICATION_FAILED: ${name}`, async () => {
    const { world, i, r, start } = pair(cfg());
    const sa = start();
    await world.advance();
    assert.equal(sa.phase, 'closed');
    const side = detector === 'initiator' ? i : r;
    assert.ok(eventsOf(side, 'error').some((e) => e.code === 'GKM_IKE_AUTHENTICATION_FAILED'), JSON.stringify(side.events));
    assert.equal(r.engine.list().length, 0, 'responder keeps no SA');
    assert.equal(i.sink.installed.length, 0);
  });
}

test('PSK mismatch: responder answers AUTHENTICATION_FAILED alone and deletes the SA', async () => {
  const { world, i, r, start } = pair({ responder: { remoteAuth: { method: 'psk', psk: Buffer.from('another secret entirely') } } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'closed');
  assert.equal(eventsOf(i, 'error')[0]?.notify, NotifyType.AUTHENTICATION_FAILED);
  assert.equal(r.engine.list().length, 0);
  assert.equal(eventsOf(r, 'ike_up').length, 0);
});

test('initiator cannot verify the responder: INFORMATIONAL AUTHENTICATION_FAILED, both SAs gone', async () => {
  const { world, i, r, start } = pair({ initiator: { remoteAuth: { method: 'psk', psk: Buffer.from('initiator expects another key') } } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'closed');
  assert.ok(eventsOf(i, 'error').some((e) => e.code === 'GKM_IKE_AUTHENTICATION_FAILED'));
  // The responder had authenticated the initiator, then got the notice and closed.
  assert.equal(eventsOf(r, 'ike_up').length, 1);
  assert.deepEqual(eventsOf(r, 'deleted').filter((e) => e.what === 'ike').map((e) => e.reason), ['auth-failed']);
  assert.equal(r.engine.list().length, 0);
  assert.equal(r.sink.removed.length, r.sink.installed.length, 'the Child SA the responder installed is removed');
});

test('unknown identity at the responder: AUTHENTICATION_FAILED', async () => {
  const { world, i, start } = pair({ initiator: { localId: Id.fqdn('stranger.example') } });
  const sa = start();
  await world.advance();
  assert.equal(sa.phase, 'closed');
  assert.equal(eventsOf(i, 'error')[0]?.notify, NotifyType.AUTHENTICATION_FAILED);
});

