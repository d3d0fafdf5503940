import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncrId, KeId, PrfId } from '../../../src/ikev2/registry/index.ts';
import { decodeMessage } from '../../../src/ikev2/wire/index.ts';
import { esp, eventsOf, ike, mirror, child, pair } from './support/harness.ts';

const ENCRS = {
  aes128gcm16: { id: EncrId.AES_GCM_16, keyLength: 128 },
  aes256gcm16: { id: EncrId.AES_GCM_16, keyLength: 256 },
  chacha20poly1305: { id: EncrId.CHACHA20_POLY1305 },
} as const;
const KES = { x25519: KeId.CURVE25519, ecp256: KeId.ECP256, ecp384: KeId.ECP384 } as const;

for (const [encrName, encr] of Object.entries(ENCRS)) {
  for (const [keName, ke] of Object.entries(KES)) {
    test(`PSK IKE_SA_INIT + IKE_AUTH with ${encrName}-prfsha256-${keName} and an ESP Child SA`, async () => {
      const proposals = [ike(encr, ke, PrfId.HMAC_SHA2_256)];
      const c = child({ proposals: [esp(encr)] });
      const { world, i, r, start } = pair({ initiator: { proposals, children: [c] }, responder: { proposals, children: [mirror(c)] }, responderInit: { proposals } });
      const sa = start();
      await world.advance();
      assert.equal(sa.phase, 'established');
      const rsa = r.engine.get(sa.spiR.toString('hex'));
      assert.equal(rsa?.phase, 'established');
      assert.equal(eventsOf(i, 'ike_up').length, 1);
      assert.equal(eventsOf(r, 'ike_up').length, 1);
      assert.deepEqual(eventsOf(i, 'error'), []);
      assert.deepEqual(eventsOf(r, 'error'), []);
      // Exactly four datagrams: IKE_SA_INIT and IKE_AUTH, no retransmission.
      assert.equal(world.net.sent.length, 4);
      assert.deepEqual(world.net.sent.map((p) => decodeMessage(p.datagram).header.messageId), [0, 0, 1, 1]);
      // Child SAs agree crosswise.
      const [ci] = i.sink.installed;
      const [cr] = r.sink.installed;
      assert.ok(ci && cr);
      assert.equal(ci.inbound.spi, cr.outbound.spi);
      assert.equal(ci.outbound.spi, cr.inbound.spi);
      assert.ok(ci.outbound.encKey.equals(cr.inbound.encKey));
      assert.ok(ci.inbound.encKey.equals(cr.outbound.encKey));
      assert.equal(ci.suite.encrId, encr.id);
      assert.equal(ci.mode, 'tunnel');
      assert.equal(eventsOf(i, 'child_up')[0]?.child.inboundSpi, ci.inbound.spi.toString(16).padStart(8, '0'));
      // Events never carry keys.
      const text = JSON.stringify([...i.events, ...r.events]);
      assert.ok(!text.includes(ci.outbound.encKey.toString('hex')));
    });
  }
}
