import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameFromIp, UserspaceProvider } from '../../../src/datapath/userspace.ts';
import { ProviderSaDatabase } from '../../../src/member/group/sa-database.ts';
import { udp4 } from '../../datapath/helpers.ts';
import { cbcTemplate, gcmTemplate, keyIdGroup, rekeySaTemplate } from './support/scripted-gcks.ts';
import { groupWorld } from './support/world.ts';

const G1 = keyIdGroup('group-1');

test('userspace SA database: a sender installs both directions (RFC 6054 Sender-ID, tunnel with address preservation); a packet to the group round-trips; leaving removes the SAs', async () => {
  const provider = new UserspaceProvider();
  const w = groupWorld({ role: 'both', member: { saDatabase: new ProviderSaDatabase(provider) } });
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1), cbcTemplate(2)], senderIdBits: 8 });
  w.gcks.nextSenderId = 0x2a;
  w.member.join(G1);
  await w.world.advance();
  const [reg] = w.of('registered');
  assert.ok(reg, JSON.stringify(w.events));
  assert.equal(reg.installed, 2);
  const packet = udp4('192.0.2.7', '239.192.0.1', 64);
  const [frame] = provider.encryptBurst([packet]);
  assert.ok(frame && !(frame instanceof Error), String(frame));
  const esp = frame.packet.subarray(frame.espOffset);
  assert.equal(esp.readUInt32BE(0).toString(16).padStart(8, '0'), reg.policy.dataSecuritySas[0]!.spi);
  // IV = Sender-ID (8 bits, ours) || counter (RFC 6054).
  assert.equal(reg.policy.senderIds[0], 0x2a);
  assert.equal(esp[8], 0x2a);
  const [inner] = provider.decryptBurst([frameFromIp(frame.packet)]);
  assert.deepEqual(inner, packet);
  const left = w.member.leave(G1);
  await w.world.advance();
  await left;
  const [after] = provider.encryptBurst([packet]);
  assert.ok(after instanceof Error, 'no outbound SA after leaving');
});

test('userspace SA database: a receiver installs inbound only', async () => {
  const provider = new UserspaceProvider();
  const w = groupWorld({ member: { saDatabase: new ProviderSaDatabase(provider) } });
  w.gcks.groups.set('group-1', { rekeySa: rekeySaTemplate(), dataSecurity: [gcmTemplate(1)] });
  w.member.join(G1);
  await w.world.advance();
  assert.equal(w.of('registered')[0]?.installed, 1);
  const [frame] = provider.encryptBurst([udp4('192.0.2.7', '239.192.0.1', 64)]);
  assert.ok(frame instanceof Error, 'a receiver has no outbound SA');
});
