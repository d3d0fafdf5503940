import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { getKeyWrap } from '../../../src/ikev2/crypto/keywrap.ts';
import { publicKeyToSpki } from '../../../src/ikev2/crypto/spki.ts';
import { NotifyType, PayloadType, ProtocolId, EncrId, TransformType } from '../../../src/ikev2/registry/index.ts';
import { buildGroupKeyBag, buildMemberKeyBag } from '../../../src/ikev2/wire/group-attributes.ts';
import { payloadBody, type Payload } from '../../../src/ikev2/wire/payload.ts';
import { isGroupKeyBag, isMemberKeyBag, type KeyBag } from '../../../src/ikev2/wire/payloads/index.ts';
import { gcmTemplate, keyIdGroup, rekeySaTemplate, type PolicyTemplate, type Tamper } from './support/scripted-gcks.ts';
import { groupWorld, type GroupWorld } from './support/world.ts';

const G1 = keyIdGroup('group-1');

async function registerWith(tamper: Tamper | undefined, o: { role?: 'receiver' | 'both'; def?: Parameters<GroupWorld['gcks']['groups']['set']>[1] } = {}): Promise<GroupWorld> {
  const w = groupWorld({ role: o.role ?? 'receiver' });
  w.gcks.groups.set('group-1', o.def ?? { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.gcks.tamper = tamper;
  w.member.join(G1);
  await w.world.advance();
  return w;
}

function assertRefused(w: GroupWorld, code: string, message: RegExp): void {
  const [err] = w.of('error');
  assert.ok(err, `an error event; saw ${JSON.stringify(w.events.map((e) => e.event))}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
  assert.equal(w.of('registered').length, 0);
  assert.equal(w.db.installed.length, 0, 'nothing handed to the SA database');
  assert.equal(w.member.group(G1)?.registration, undefined, 'no state installed');
}

// --- error notifies from the GCKS ---------------------------------------------------------------

for (const [name, notify, fatal] of [
  ['INVALID_GROUP_ID', NotifyType.INVALID_GROUP_ID, true],
  ['AUTHORIZATION_FAILED', NotifyType.AUTHORIZATION_FAILED, true],
  ['NO_PROPOSAL_CHOSEN', NotifyType.NO_PROPOSAL_CHOSEN, true],
  ['REGISTRATION_FAILED', NotifyType.REGISTRATION_FAILED, false],
] as const) {
  test(`GSA_AUTH answered with ${name}: clear error event (notify ${notify}), the IKE SA stays up, ${fatal ? 'no retry' : 'retried over GSA_REGISTRATION'}`, async () => {
    let fatalCalls = 0;
    const w = groupWorld({ member: { onFatal: () => fatalCalls++ } });
    w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)], refuse: notify });
    w.member.join(G1);
    await w.world.advance();
    const [err] = w.of('error');
    assert.ok(err);
    assert.equal(err.code, 'GKM_GROUP_REFUSED');
    assert.equal(err.notify, notify);
    assert.equal(err.notifyName, name);
    assert.equal(err.fatal, fatal);
    assert.equal(fatalCalls, fatal ? 1 : 0);
    assert.equal(w.gmPeer.engine.get(w.member.ikeSaId!)?.phase, 'established', 'IKE SA remains');
    assert.equal(w.db.installed.length, 0);
    if (!fatal) {
      w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
      await w.world.advance((err.retryInSeconds! + 1) * 1000);
      assert.equal(w.of('registered').length, 1);
      assert.equal(w.gcks.sent.at(-1)!.exchange, 'GSA_REGISTRATION');
    }
  });
}

test('unknown group (the GCKS has no such IDg): INVALID_GROUP_ID', async () => {
  const w = groupWorld();
  w.member.join(keyIdGroup('nope'));
  await w.world.advance();
  assert.equal(w.of('error')[0]?.notifyName, 'INVALID_GROUP_ID');
  assert.equal(w.member.status(keyIdGroup('nope')), 'failed');
});

test('AUTHENTICATION_FAILED from the GCKS (no AUTH): fatal, no IKE SA', async () => {
  const w = groupWorld();
  w.gcks.rejectAuth = NotifyType.AUTHENTICATION_FAILED;
  w.member.join(G1);
  await w.world.advance();
  const [err] = w.of('error');
  assert.equal(err?.notifyName, 'AUTHENTICATION_FAILED');
  assert.equal(err?.fatal, true);
  assert.equal(w.gmPeer.engine.list().length, 0);
});

test('wrong PSK: the GCKS answers AUTHENTICATION_FAILED; fatal', async () => {
  const w = groupWorld({ peer: { localAuth: { method: 'psk', psk: Buffer.from('not the right one at all') } } });
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.member.join(G1);
  await w.world.advance();
  assert.equal(w.of('error')[0]?.notifyName, 'AUTHENTICATION_FAILED');
  assert.equal(w.of('error')[0]?.fatal, true);
  assert.equal(w.gmPeer.engine.list().length, 0);
});

test('the GCKS proves another PSK: AUTH check fails on the GM, the IKE SA is deleted', async () => {
  const w = groupWorld({ peer: { remoteAuth: { method: 'psk', psk: Buffer.from('another secret of decent length') } } });
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.member.join(G1);
  await w.world.advance();
  const [err] = w.of('error');
  assert.equal(err?.code, 'GKM_GROUP_IKE_SA');
  assert.equal(err?.fatal, false);
  assert.match(err!.message, /authentication/);
  assert.equal(w.db.installed.length, 0);
});

// --- malformed GSA / KD -------------------------------------------------------------------------

test('wrong SPI size in the GSA (Rekey SA policy with SPI Size 8): refused, IKE SA torn down with the wire error, nothing installed', async () => {
  const w = await registerWith((parts) => {
    const body = Buffer.from(payloadBody(parts.gsa));
    assert.equal(body[0], ProtocolId.GIKE_UPDATE);
    body[1] = 8;
    return [{ type: 'unknown', wireType: PayloadType.GSA, body } as Payload, parts.kd];
  });
  assertRefused(w, 'GKM_GROUP_IKE_SA', /spiSize|SPI/);
});

test('missing key bag for an ESP SA: refused', async () => {
  const w = await registerWith((parts) => {
    parts.kd = { ...parts.kd, bags: parts.kd.bags.filter((b) => !(isGroupKeyBag(b) && b.protocolId === ProtocolId.ESP)) };
  });
  assertRefused(w, 'GKM_GROUP_BAD_REPLY', /no key bag for ESP SA/);
});

test('key bag for an SPI without policy: refused', async () => {
  const w = await registerWith((parts, { carrier }) => {
    const stray = buildGroupKeyBag(ProtocolId.ESP, Buffer.from('0badf00d', 'hex'), { saKeys: [{ keyId: 0, kwkId: 0, encryptedKey: getKeyWrap(carrier.kwaId).wrap(carrier.gskW, Buffer.alloc(36, 1)) }] }, 'registration');
    parts.kd = { ...parts.kd, bags: [...parts.kd.bags, stray] };
  });
  assertRefused(w, 'GKM_GROUP_BAD_REPLY', /no GSA policy/);
});

test('SA_KEY that unwraps to the wrong length: refused (GKM_GROUP_BAD_KEYS)', async () => {
  const w = await registerWith((parts, { carrier }) => {
    parts.kd = {
      ...parts.kd,
      bags: parts.kd.bags.map((b) =>
        isGroupKeyBag(b) && b.protocolId === ProtocolId.ESP ? buildGroupKeyBag(b.protocolId, b.spi, { saKeys: [{ keyId: 0, kwkId: 0, encryptedKey: getKeyWrap(carrier.kwaId).wrap(carrier.gskW, Buffer.alloc(37, 7)) }] }, 'registration') : b,
      ),
    };
  });
  assertRefused(w, 'GKM_GROUP_BAD_KEYS', /wrong length/);
});

test('SA_KEY wrapped under another key (KW integrity failure): refused', async () => {
  const w = await registerWith((parts, { carrier }) => {
    parts.kd = {
      ...parts.kd,
      bags: parts.kd.bags.map((b) =>
        isGroupKeyBag(b) && b.protocolId === ProtocolId.GIKE_UPDATE ? buildGroupKeyBag(b.protocolId, b.spi, { saKeys: [{ keyId: 0, kwkId: 0, encryptedKey: getKeyWrap(carrier.kwaId).wrap(Buffer.alloc(32, 9), Buffer.alloc(68, 7)) }] }, 'registration') : b,
      ),
    };
  });
  assertRefused(w, 'GKM_GROUP_BAD_KEYS', /failed to unwrap/);
});

test('Sender-ID that does not fit GWP_SENDER_ID_BITS: refused', async () => {
  const w = await registerWith(
    (parts) => {
      parts.kd = { ...parts.kd, bags: parts.kd.bags.map((b) => (isMemberKeyBag(b) ? buildMemberKeyBag({ wrapKeys: [], authKey: memberAuthKey(b), senderIds: [300] }, 'registration') : b)) };
    },
    { role: 'both', def: { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)], senderIdBits: 8 } },
  );
  assertRefused(w, 'GKM_GROUP_BAD_REPLY', /300 does not fit 8 bit/);
});

test('AUTH_KEY of another algorithm than the Signature Algorithm Identifier (ECDSA key, Ed25519 announced): refused', async () => {
  const ecdsa = publicKeyToSpki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  const w = await registerWith((parts) => {
    parts.kd = { ...parts.kd, bags: parts.kd.bags.map((b) => (isMemberKeyBag(b) ? buildMemberKeyBag({ wrapKeys: [], authKey: ecdsa, senderIds: [] }, 'registration') : b)) };
  });
  assertRefused(w, 'GKM_GROUP_BAD_REPLY', /AUTH_KEY does not match/);
});

test('AUTH_KEY missing with GCAUTH Digital Signature: refused', async () => {
  const w = await registerWith((parts) => {
    parts.kd = { ...parts.kd, bags: parts.kd.bags.filter((b) => !isMemberKeyBag(b)) };
  });
  assertRefused(w, 'GKM_GROUP_BAD_REPLY', /AUTH_KEY/);
});

test('GSA without KD: refused', async () => {
  const w = await registerWith((parts) => [parts.gsa]);
  assertRefused(w, 'GKM_GROUP_BAD_REPLY', /0 KD payloads/);
});

test('a policy this GM cannot run (ESP AES-CTR): refused, and the GM tells the GCKS with N(NO_PROPOSAL_CHOSEN)', async () => {
  const ctr: PolicyTemplate = { ...gcmTemplate(1), transforms: gcmTemplate(1).transforms.map((t) => (t.transformType === TransformType.ENCR ? { ...t, transformId: EncrId.AES_CTR } : t)) };
  const w = await registerWith(undefined, { def: { rekeySa: rekeySaTemplate(), dataSecurity: [ctr] } });
  assertRefused(w, 'GKM_GROUP_UNSUPPORTED', /not supported/);
  assert.equal(w.of('error')[0]!.fatal, true);
  assert.deepEqual(w.gcks.leaves, [{ group: 'group-1', notify: NotifyType.NO_PROPOSAL_CHOSEN }]);
});

test('a refused re-registration leaves the current registration in place', async () => {
  const w = await registerWith(undefined);
  const before = w.member.group(G1)!.registration;
  assert.ok(before);
  w.gcks.tamper = (parts) => [parts.gsa];
  w.member.join(G1);
  await w.world.advance();
  assert.equal(w.of('error').length, 1);
  assert.equal(w.member.group(G1)!.registration, before);
  assert.equal(w.member.status(G1), 'registered');
});

function memberAuthKey(b: KeyBag): Buffer {
  const attr = b.attributes.find((a) => a.type === 2);
  return attr && !attr.tv ? attr.data : Buffer.alloc(0);
}
