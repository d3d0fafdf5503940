/**
 * Our numbered proposals are built once per spec list and shared between negotiations (only
 * the SPI differs per SA); the results equal what buildProposal gives per call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EncrId, KeId, PrfId, ProtocolId } from '../../../src/ikev2/registry/index.ts';
import { numberedProposals, withoutKeyExchanges } from '../../../src/ikev2/sa/proposals.ts';
import { buildProposal, type ProposalSpec } from '../../../src/ikev2/wire/payloads/index.ts';

const specs: readonly ProposalSpec[] = [
  { protocolId: ProtocolId.ESP, encr: EncrId.AES_GCM_16, keyLength: 128, ke: [KeId.NONE, KeId.CURVE25519] },
  { protocolId: ProtocolId.ESP, encr: EncrId.CHACHA20_POLY1305, ke: KeId.CURVE25519 },
];

test('numberedProposals: same content as building each time, numbered 1..n, SPI per call', () => {
  const spi1 = randomBytes(4);
  const spi2 = randomBytes(4);
  const a = numberedProposals(specs, spi1);
  const b = numberedProposals(specs, spi2);
  assert.deepEqual(a, specs.map((s, i) => buildProposal({ ...s, number: i + 1, spi: spi1 })));
  assert.deepEqual(b.map((p) => p.number), [1, 2]);
  assert.ok(b.every((p) => p.spi === spi2));
  assert.ok(a.every((p, i) => p.transforms === b[i]!.transforms), 'transforms shared between SAs');
  assert.ok(Object.isFrozen(a[0]!.transforms));
  const ike = numberedProposals([{ protocolId: ProtocolId.IKE, encr: EncrId.AES_GCM_16, keyLength: 256, prf: PrfId.HMAC_SHA2_256, ke: KeId.CURVE25519 }]);
  assert.equal(ike[0]!.spi.length, 0);
  ike.pop(); // the array is the caller's
  assert.equal(numberedProposals(specs).length, 2);
});

test('withoutKeyExchanges drops KE transforms, once per shared transform list', () => {
  const [p] = numberedProposals(specs, randomBytes(4));
  const x = withoutKeyExchanges(p!);
  const y = withoutKeyExchanges(numberedProposals(specs, randomBytes(4))[0]!);
  assert.ok(x.transforms.every((t) => t.transformType !== 4));
  assert.equal(x.transforms.length, p!.transforms.length - 2);
  assert.equal(x.transforms, y.transforms);
  assert.equal(x.spi, p!.spi);
  // A proposal of its own (not frozen) is filtered without being remembered.
  const own = buildProposal({ ...specs[0]!, number: 1 });
  assert.notEqual(withoutKeyExchanges(own).transforms, withoutKeyExchanges(own).transforms);
});
