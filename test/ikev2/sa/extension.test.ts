import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyLogWriter } from '../../../src/ikev2/keylog/index.ts';
import { ExchangeType, PayloadType } from '../../../src/ikev2/registry/index.ts';
import { decodeMessage, type AuthPayload, type IdiPayload, type IdrPayload, type Payload } from '../../../src/ikev2/wire/index.ts';
import { localAuthPayloads, verifyPeerAuth } from '../../../src/ikev2/sa/auth.ts';
import { DEFAULT_SIGNATURE_HASHES, type PeerConfig } from '../../../src/ikev2/sa/config.ts';
import { idPayload, identityOf } from '../../../src/ikev2/sa/identity.ts';
import type { InitiatorTask, ResponderHandler, TaskContext } from '../../../src/ikev2/sa/task.ts';
import { authAt, ep, eventsOf, pskInitiator, World, pskResponder } from './support/harness.ts';

const find = <T extends Payload>(p: readonly Payload[], type: number) => p.find((x) => x.type === type) as T;

/** A stand-in for the member's GSA_AUTH task (RFC 9838 §2.3): same AUTH as IKE_AUTH, other exchange. */
class FakeGsaAuth implements InitiatorTask {
  readonly name = 'GSA_AUTH';
  readonly exchangeType = ExchangeType.GSA_AUTH;
  readonly phases = ['keyed'] as const;
  readonly critical = true;
  constructor(private readonly config: PeerConfig) {}
  buildRequest(ctx: TaskContext): Payload[] {
    const idi = idPayload(PayloadType.IDi, this.config.localId);
    const { auth } = localAuthPayloads(ctx.sa, this.config.localAuth, 'initiator', idi);
    return [idi, auth, { type: PayloadType.IDg, idType: 11, data: Buffer.from('group-1') }];
  }
  processResponse(ctx: TaskContext, res: { payloads: readonly Payload[] }) {
    const idr = find<IdrPayload>(res.payloads, PayloadType.IDr);
    verifyPeerAuth(ctx.sa, this.config.remoteAuth, 'responder', { id: idr, auth: find<AuthPayload>(res.payloads, PayloadType.AUTH), certs: [], acceptedHashes: DEFAULT_SIGNATURE_HASHES, at: new Date() });
    ctx.establish({ config: this.config, localId: this.config.localId, remoteId: identityOf(idr) });
    return 'done' as const;
  }
}

test('exchanges plug in without touching the engine: a GSA_AUTH initiator task and responder handler', async () => {
  const world = new World();
  const policy = pskResponder();
  const gcks = world.engine('10.0.0.2', { responder: policy, options: { livenessIntervalMs: 0 } });
  const seen: string[] = [];
  const gsaAuth: ResponderHandler = {
    exchangeType: ExchangeType.GSA_AUTH,
    phases: ['keyed'],
    handle(ctx, req) {
      const idi = find<IdiPayload>(req.payloads, PayloadType.IDi);
      const config = ctx.responderPolicy!.resolvePeer({ id: identityOf(idi), remote: req.remote, local: req.local })!;
      verifyPeerAuth(ctx.sa, config.remoteAuth, 'initiator', { id: idi, auth: find<AuthPayload>(req.payloads, PayloadType.AUTH), certs: [], acceptedHashes: DEFAULT_SIGNATURE_HASHES, at: new Date() });
      ctx.establish({ config, localId: config.localId, remoteId: identityOf(idi) });
      seen.push(find<IdiPayload>(req.payloads, PayloadType.IDg).data.toString());
      const idr = idPayload(PayloadType.IDr, config.localId);
      return { payloads: [idr, localAuthPayloads(ctx.sa, config.localAuth, 'responder', idr).auth] };
    },
  };
  gcks.engine.registerResponder(gsaAuth);
  const member = world.engine('10.0.0.1', { options: { livenessIntervalMs: 0 } });
  const config = pskInitiator({ children: [], authTask: () => new FakeGsaAuth(config) });
  const sa = member.engine.initiate(config, ep('10.0.0.2'), ep('10.0.0.1'));
  await world.advance();
  assert.equal(sa.phase, 'established');
  assert.deepEqual(seen, ['group-1']);
  assert.equal(eventsOf(gcks, 'ike_up').length, 1);
  assert.deepEqual(world.net.sent.map((p) => decodeMessage(p.datagram).header.exchangeType), [34, 34, 39, 39]);
});

test('--keylog: IKE SA and both ESP directions are recorded (Wireshark UAT + keys.json)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keylog-'));
  const keyLog = new KeyLogWriter(dir, () => undefined);
  const world = new World();
  world.engine('10.0.0.2', { responder: pskResponder(), options: { livenessIntervalMs: 0 } });
  const i = world.engine('10.0.0.1', { keyLog, options: { livenessIntervalMs: 0 } });
  const sa = i.engine.initiate(pskInitiator(), ep('10.0.0.2'), ep('10.0.0.1'));
  await world.advance();
  const json = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8')) as { ikeSas: { spiI: string; skEi: string }[]; espSas: { spi: number }[] };
  assert.equal(json.ikeSas[0]?.spiI, sa.spiI.toString('hex'));
  const skEi = authAt(i, sa).keys!.skEi.toString('hex');
  assert.equal(skEi.length, 40, 'SK_ei: AES-128 key and 4-octet salt');
  assert.equal(json.ikeSas[0]?.skEi, skEi);
  assert.deepEqual(json.espSas.map((e) => e.spi).sort(), [i.sink.installed[0]!.inbound.spi, i.sink.installed[0]!.outbound.spi].sort());
  assert.match(readFileSync(join(dir, 'ikev2_decryption_table'), 'utf8'), new RegExp(sa.spiI.toString('hex')));
  // Keys never appear in events.
  assert.ok(!JSON.stringify(i.events).includes(skEi));
});


