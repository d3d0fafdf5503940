import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatPath, followPeer, initialSocketKind, shouldFloat, type PeerPath, type PortPlan } from '../../../src/ikev2/transport/index.ts';

const noNat = { natLocal: false, natRemote: false };

test('shouldFloat: after IKE_SA_INIT when NAT-D was exchanged, NAT or not (strongSwan); never without NAT-D', () => {
  assert.equal(shouldFloat(undefined), false, 'peer sent no NAT-D notifies');
  assert.equal(shouldFloat(noNat), true, 'both support NAT-T: float so IKE_AUTH runs on the final ports');
  assert.equal(shouldFloat({ natLocal: true, natRemote: false }), true);
  assert.equal(shouldFloat({ natLocal: false, natRemote: true }), true);
  assert.equal(shouldFloat(noNat, { withoutNat: false }), false, 'RFC 7296 minimum: only on a NAT');
  assert.equal(shouldFloat({ natLocal: true, natRemote: true }, { withoutNat: false }), true);
});

test('floatPath 500 -> 4500: remote 500 becomes 4500, we leave from our NAT-T socket', () => {
  assert.deepEqual(floatPath({ localKind: 'ike', localPort: 500, remotePort: 500 }), { localKind: 'natt', remotePort: 4500 });
  // The response came through a NAT that remapped 500: we used 500, so the peer is on 4500 now.
  assert.deepEqual(floatPath({ localKind: 'ike', localPort: 500, remotePort: 31337 }), { localKind: 'natt', remotePort: 4500 });
});

test('floatPath 848 -> 4500: registration moves to 4500 also when it started on 848 (RFC 9838 §2.1.1)', () => {
  assert.deepEqual(floatPath({ localKind: 'ike', localPort: 40001, remotePort: 848 }), { localKind: 'natt', remotePort: 4500 });
  assert.deepEqual(floatPath({ localKind: 'ike', localPort: 848, remotePort: 848 }), { localKind: 'natt', remotePort: 4500 });
});

test('floatPath with custom ports keeps the remote port (strongSwan floats the remote only from 500)', () => {
  assert.deepEqual(floatPath({ localKind: 'natt', localPort: 41000, remotePort: 20500 }), { localKind: 'natt', remotePort: 20500 });
  const plan: PortPlan = { plainPorts: [20500, 20848], peerNattPort: 24500 };
  assert.deepEqual(floatPath({ localKind: 'ike', localPort: 41000, remotePort: 20848 }, plan), { localKind: 'natt', remotePort: 24500 }, 'tests simulate 848 -> 4500 on high ports');
});

test('initialSocketKind: plain ports start plain; any other port starts on NAT-T with the marker (INTEROP.md)', () => {
  assert.equal(initialSocketKind(500), 'ike');
  assert.equal(initialSocketKind(848), 'ike');
  assert.equal(initialSocketKind(4500), 'natt');
  assert.equal(initialSocketKind(20500), 'natt', 'strongSwan with port = 20500 expects the marker from the first message');
  assert.equal(initialSocketKind(20500, { plainPorts: [20500], peerNattPort: 24500 }), 'ike');
});

test('followPeer: the responder follows the last authenticated, new request (RFC 7296 §2.23)', () => {
  const current: PeerPath = { local: { address: '203.0.113.5', port: 848 }, remote: { address: '198.51.100.7', port: 40123 } };
  const floated = { local: { address: '203.0.113.5', port: 4500 }, remote: { address: '198.51.100.7', port: 40200 } };
  const ok = { integrityVerified: true, fresh: true, messageId: 2 };

  const moved = followPeer(current, { ...floated, ...ok }, { natLocal: false, natRemote: true });
  assert.deepEqual(moved, { ...floated, changed: true }, 'IKE_AUTH on 4500 from the new NAT mapping');

  const same = followPeer(current, { ...current, ...ok }, noNat);
  assert.equal(same.changed, false);
  assert.equal(same.local, current.local, 'unchanged paths keep their objects');

  for (const bad of [{ integrityVerified: false, fresh: true }, { integrityVerified: true, fresh: false }, { integrityVerified: false, fresh: false }].map((b) => ({ ...b, messageId: 1 }))) {
    assert.deepEqual(followPeer(current, { ...floated, ...bad }, noNat), { ...current, changed: false }, JSON.stringify(bad));
  }
  assert.deepEqual(followPeer(current, { ...floated, ...ok }, undefined), { ...floated, changed: true }, 'no NAT-D: follow anyway');
});

test('followPeer behind a NAT: only the float request (Message ID 1) moves the peer (RFC 7296 §2.23, strongSwan)', () => {
  const current: PeerPath = { local: { address: '10.1.1.5', port: 500 }, remote: { address: '192.0.2.10', port: 500 } };
  const floated = { local: { address: '10.1.1.5', port: 4500 }, remote: { address: '192.0.2.10', port: 4500 }, integrityVerified: true, fresh: true };
  const natHere = { natLocal: true, natRemote: false };
  assert.deepEqual(followPeer(current, { ...floated, messageId: 1 }, natHere), { local: floated.local, remote: floated.remote, changed: true });
  const later = { local: floated.local, remote: { address: '192.0.2.66', port: 4500 }, integrityVerified: true, fresh: true, messageId: 7 };
  const r = followPeer({ local: floated.local, remote: floated.remote }, later, natHere);
  assert.deepEqual(r, { local: floated.local, remote: floated.remote, changed: false }, 'a later address change is not followed behind a NAT');
});
