/**
 * In-process cost of the GCKS's registration transaction alone (Registrar.join: group and
 * authorization lookup, key engine, KD, store writes, group commit), without IKE: the part
 * of a registration that src/gcks and src/store own. Used by gcks-registration.bench.ts
 * (GCKS_BENCH_JOIN_ONLY=1) to compare changes to that path without the engine's noise.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createGroup } from '../../src/gcks/groups/index.ts';
import { GroupKeys } from '../../src/gcks/keys/group-keys.ts';
import { Registrar } from '../../src/gcks/registration/registrar.ts';
import { IdType, KwaId } from '../../src/ikev2/registry/index.ts';
import { openStore } from '../../src/store/index.ts';
import { gcmTemplate, kekTemplate } from '../../test/gcks/keys/support.ts';

export interface JoinCost {
  readonly joins: number;
  readonly cpuUsPerJoin: number;
  readonly wallUsPerJoin: number;
}

/** `n` joins of fresh PSK members, `concurrency` per event-loop turn (one group commit each). */
export async function measureJoins(policy: unknown, n: number, concurrency: number): Promise<JoinCost> {
  const dir = mkdtempSync(join(tmpdir(), 'gcks-join-'));
  const store = openStore({ path: join(dir, 'gcks.db'), masterKey: randomBytes(32) });
  try {
    const idg = { idType: IdType.ID_KEY_ID, data: Buffer.from('join-group') };
    const g = createGroup(store, { name: 'join-group', identity: idg, memberCap: null, policy: policy as never }, 'bench').group.id;
    const members = store.transaction(() =>
      Array.from({ length: n + 1 }, (_, i) => {
        const m = store.members.create({ idType: IdType.ID_KEY_ID, data: Buffer.from(`gm-${i}`) }, { kind: 'psk', psk: randomBytes(32) });
        store.members.authorize(g, m.id, { role: 'both', maxSenderIds: 1 });
        return m;
      }),
    );
    const registrar = new Registrar({ store, log: pino({ level: 'silent' }), rekeySink: { membershipRekey: () => undefined } });
    const joinOne = (i: number) =>
      registrar.join({ member: members[i]!, idg, ike: { spi: randomBytes(16), peer: `127.0.0.1:${1000 + (i % 60000)}`, channel: { kwaId: KwaId.KW_5649_256, gskW: randomBytes(32) } } });
    await joinOne(0); // loads the group's keys
    const cpu = process.cpuUsage();
    const t = performance.now();
    for (let start = 1; start <= n; start += concurrency) {
      const batch: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(n + 1, start + concurrency); i++) batch.push(joinOne(i));
      await Promise.all(batch);
    }
    const used = process.cpuUsage(cpu);
    return { joins: n, cpuUsPerJoin: (used.user + used.system) / n, wallUsPerJoin: ((performance.now() - t) * 1000) / n };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The key engine alone (GroupKeys.register: LKH join, KD with its wraps and the wrap cache,
 * no store): `n` joins of fresh members after `warm` others, each over its own IKE SA's
 * GSK_w (KW_5649_256, one Rekey SA, one ESP SA, tree degree 4), no commit but the forced
 * ones, as in the registration bench. Run:
 *   node --import tsx -e "import('./bench/lib/registrar-join.ts').then(async (m) => console.log(await m.measureKeyEngine(20000)))"
 */
export async function measureKeyEngine(n: number, warm = 2000): Promise<JoinCost & { readonly wrapsPerKd: number }> {
  const keys = new GroupKeys({ rekeySa: kekTemplate(), dataSecurity: [gcmTemplate(1)] });
  const channel = () => ({ kwaId: KwaId.KW_5649_256, gskW: randomBytes(32) });
  for (let i = 0; i < warm; i++) keys.register({ member: -1 - i, ikeSa: channel() });
  const channels = Array.from({ length: n }, channel);
  let wraps = 0;
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    wraps += keys.register({ member: i, ikeSa: channels[i]! }).wraps;
    keys.tree!.takeChanges(); // as GroupKeyStore.record does
  }
  const used = process.cpuUsage(cpu);
  return { joins: n, cpuUsPerJoin: (used.user + used.system) / n, wallUsPerJoin: ((performance.now() - t) * 1000) / n, wrapsPerKd: wraps / n };
}
