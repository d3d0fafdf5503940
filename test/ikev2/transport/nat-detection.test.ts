import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { NotifyType } from '../../../src/ikev2/registry/notify.ts';
import { detectNat, keepaliveNeeded, natDetectionData, ownNatDetection, type AddressPort, type NatDetectionResult } from '../../../src/ikev2/transport/index.ts';
import { notify } from '../../../src/ikev2/wire/payloads/index.ts';
import type { Payload } from '../../../src/ikev2/wire/payload.ts';

const spiI = Buffer.from('8a3f0c1d22e4b501', 'hex');
const zero = Buffer.alloc(8);
const spiR = Buffer.from('5b6c7d8e9fa0b1c2', 'hex');
const at = (address: string, port: number): AddressPort => ({ address, port });

/**
 * The initiator sends from `sentFrom` to `sentTo`; the NAT(s) on the way make the responder
 * see the packet from `seenFrom`, arriving at its own address `arrivedAt`. Returns what the
 * responder concludes from the IKE_SA_INIT request.
 */
function responderView(sentFrom: AddressPort, sentTo: AddressPort, seenFrom: AddressPort, arrivedAt: AddressPort): NatDetectionResult | undefined {
  const own = ownNatDetection({ spiI, spiR: zero, source: sentFrom, destination: sentTo });
  return detectNat({ spiI, spiR: zero, received: { source: [own.source], destination: [own.destination] }, packetSource: seenFrom, packetDestination: arrivedAt });
}

test('the hash is SHA-1(SPIi | SPIr | IP | port) (RFC 7296 §2.23), checked by hand', () => {
  const own = ownNatDetection({ spiI, spiR: zero, source: at('192.0.2.10', 500), destination: at('203.0.113.5', 4500) });
  const byHand = createHash('sha1').update(spiI).update(zero).update(Buffer.from([192, 0, 2, 10])).update(Buffer.from([0x01, 0xf4])).digest();
  assert.deepEqual(own.source, byHand);
  const dst = createHash('sha1').update(spiI).update(zero).update(Buffer.from([203, 0, 113, 5])).update(Buffer.from([0x11, 0x94])).digest();
  assert.deepEqual(own.destination, dst);
});

test('decision table: no NAT, NAT at the initiator, NAT at the responder, both', () => {
  const gm = at('192.0.2.10', 500);
  const gmPrivate = at('10.0.0.2', 500);
  const gmMapped = at('198.51.100.7', 40123);
  const gcks = at('203.0.113.5', 848);
  const gcksPrivate = at('10.1.1.5', 848);
  const rows: [string, NatDetectionResult | undefined, NatDetectionResult][] = [
    ['no NAT', responderView(gm, gcks, gm, gcks), { natLocal: false, natRemote: false }],
    ['initiator behind NAT', responderView(gmPrivate, gcks, gmMapped, gcks), { natLocal: false, natRemote: true }],
    ['port-only NAT (same address, new port)', responderView(gm, gcks, at(gm.address, 1025), gcks), { natLocal: false, natRemote: true }],
    ['responder behind a port forward', responderView(gm, gcks, gm, gcksPrivate), { natLocal: true, natRemote: false }],
    ['both behind NAT', responderView(gmPrivate, gcks, gmMapped, gcksPrivate), { natLocal: true, natRemote: true }],
  ];
  for (const [name, got, want] of rows) assert.deepEqual(got, want, name);
});

test('spoofed or forged hashes read as NAT, never as "no NAT"', () => {
  const gm = at('192.0.2.10', 500);
  const gcks = at('203.0.113.5', 500);
  // The packet's source was rewritten (or spoofed) after the hash was made.
  assert.deepEqual(responderView(at('192.0.2.99', 500), gcks, gm, gcks), { natLocal: false, natRemote: true });
  // strongSwan's encap=yes / our forceEncapsulation: a random SOURCE hash fakes a NAT on the sender's side.
  const forced = ownNatDetection({ spiI, spiR: zero, source: gm, destination: gcks, forceEncapsulation: true });
  assert.notDeepEqual(forced.source, ownNatDetection({ spiI, spiR: zero, source: gm, destination: gcks }).source);
  assert.deepEqual(
    detectNat({ spiI, spiR: zero, received: { source: [forced.source], destination: [forced.destination] }, packetSource: gm, packetDestination: gcks }),
    { natLocal: false, natRemote: true },
  );
  // Hashes replayed from another exchange (other SPIs) match nothing.
  const other = ownNatDetection({ spiI: Buffer.alloc(8, 7), spiR: zero, source: gm, destination: gcks });
  assert.deepEqual(
    detectNat({ spiI, spiR: zero, received: { source: [other.source], destination: [other.destination] }, packetSource: gm, packetDestination: gcks }),
    { natLocal: true, natRemote: true },
  );
  // Wrong sizes (a hostile peer; the codec would refuse them) never match and never throw.
  const right = ownNatDetection({ spiI, spiR: zero, source: gm, destination: gcks });
  assert.deepEqual(
    detectNat({ spiI, spiR: zero, received: { source: [right.source.subarray(0, 19), Buffer.alloc(0)], destination: [Buffer.concat([right.destination, Buffer.alloc(1)])] }, packetSource: gm, packetDestination: gcks }),
    { natLocal: true, natRemote: true },
  );
});

test('several SOURCE hashes (multi-homed sender): one match means no NAT on its side', () => {
  const gm = at('192.0.2.10', 500);
  const gcks = at('203.0.113.5', 500);
  const a = ownNatDetection({ spiI, spiR: zero, source: at('198.18.0.1', 500), destination: gcks });
  const b = ownNatDetection({ spiI, spiR: zero, source: gm, destination: gcks });
  assert.deepEqual(
    detectNat({ spiI, spiR: zero, received: { source: [a.source, b.source], destination: [b.destination] }, packetSource: gm, packetDestination: gcks }),
    { natLocal: false, natRemote: false },
  );
});

test('the IKE_SA_INIT response is judged with both SPIs; IPv6 works the same', () => {
  const gm = at('2001:db8::10', 500);
  const gcks = at('2001:db8:1::5', 500);
  const resp = ownNatDetection({ spiI, spiR, source: gcks, destination: gm });
  assert.deepEqual(detectNat({ spiI, spiR, received: { source: [resp.source], destination: [resp.destination] }, packetSource: gcks, packetDestination: gm }), { natLocal: false, natRemote: false });
  assert.deepEqual(
    detectNat({ spiI, spiR: zero, received: { source: [resp.source], destination: [resp.destination] }, packetSource: gcks, packetDestination: gm }),
    { natLocal: true, natRemote: true },
    'hashed with SPIr, checked without it',
  );
});

test('either notify type missing: no NAT-T (undefined), so no float and no keepalive', () => {
  const h = Buffer.alloc(20, 1);
  const base = { spiI, spiR: zero, packetSource: at('192.0.2.1', 500), packetDestination: at('192.0.2.2', 500) };
  assert.equal(detectNat({ ...base, received: { source: [], destination: [] } }), undefined);
  assert.equal(detectNat({ ...base, received: { source: [h], destination: [] } }), undefined);
  assert.equal(detectNat({ ...base, received: { source: [], destination: [h] } }), undefined);
  assert.equal(keepaliveNeeded(undefined), false);
  assert.equal(keepaliveNeeded({ natLocal: false, natRemote: true }), false, 'only the side behind the NAT keeps it open');
  assert.equal(keepaliveNeeded({ natLocal: true, natRemote: false }), true);
});

test('natDetectionData picks both notify types out of a payload list, ignoring everything else', () => {
  const s1 = Buffer.alloc(20, 1);
  const s2 = Buffer.alloc(20, 2);
  const d = Buffer.alloc(20, 3);
  const payloads: Payload[] = [
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, s1),
    notify(NotifyType.COOKIE, Buffer.alloc(8)),
    { type: 'unknown', wireType: 200, body: Buffer.alloc(4) },
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, d, 3, Buffer.alloc(4, 9)), // protocol/SPI ignored (RFC 7296 §3.10)
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, s2),
  ];
  assert.deepEqual(natDetectionData(payloads), { source: [s1, s2], destination: [d] });
  assert.deepEqual(natDetectionData([]), { source: [], destination: [] });
});
