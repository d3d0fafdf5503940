/**
 * RFC 9370 against a peer without it (issue 3, deliverable 2): strongSwan 5.9.8 knows no
 * ADDKE transform types. Our end offers the default shape, hybrid X25519 + ML-KEM-768 first
 * and X25519 alone second (`DEFAULT_IKE_PROPOSALS`, docs/decisions.md); the legacy peer must
 * end up on the classic proposal whichever end initiates, with no IKE_INTERMEDIATE.
 *
 * Skipped outside CI, with a printed reason, when strongSwan is missing (.ci/run installs it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strongswanSkip } from '../../support/strongswan.ts';
import { link } from './matrix.ts';
import { bothUp, startOursPair, type OursPair } from './ours-pair.ts';

const skip = strongswanSkip();
const CLASSIC = 'aes256gcm16-prfsha256-x25519';
const HYBRID = `${CLASSIC}-ke1_mlkem768`;

describe('RFC 9370 with strongSwan 5.9.8 (no ADDKE): fallback to the classic proposal', { skip }, () => {
  let root = '';
  let pair: OursPair | undefined;
  const p = (): OursPair => pair!;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'gkm-legacy-addke-'));
    const links = ['by-ours', 'by-charon'].map((name, i) => link(40 + i, { name, proposals: [CLASSIC], espProposals: ['aes256gcm16'] }));
    pair = await startOursPair({ root, links, ourLinks: links.map((l) => ({ ...l, proposals: [HYBRID, CLASSIC] })), capture: false });
  });

  after(async () => {
    await pair?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('we initiate: charon picks our second proposal, plain X25519, no IKE_INTERMEDIATE', async () => {
    await p().daemon.initiateAndWait('by-ours');
    const { ours, charon } = await bothUp(p(), 'by-ours');
    assert.equal(ours.role, 'initiator');
    assert.equal(ours.suite['ke'], 'CURVE25519');
    assert.equal(charon.dhGroup, 'CURVE_25519');
  });

  test('charon initiates: our responder skips the proposal that needs ADDKE1 and chooses X25519', async () => {
    await p().charon.initiate({ child: 'by-charon' });
    const { ours } = await bothUp(p(), 'by-charon');
    assert.equal(ours.role, 'responder');
    assert.equal(ours.suite['ke'], 'CURVE25519');
  });
});
