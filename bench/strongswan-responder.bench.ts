/**
 * Baseline for issue 3's Performance section: IKE SA establishment rate of a strongSwan
 * 5.9.8 responder (PSK, aes128gcm16-prfsha256-x25519, one Child SA each) under
 * strongSwan's load-tester, with responder CPU per 1,000 SAs and RSS per SA. Our
 * responder is compared with it later through the same `runLoadAgainst`.
 *
 *   npm run bench -- strongswan-responder
 *   GKM_LOAD_SAS=5000 GKM_LOAD_INITIATORS=4 GKM_LOAD_INIT_LIMIT=256 npm run bench -- strongswan-responder
 *   GKM_LOAD_RESPONDER_KERNEL=libipsec ...   # install Child SAs in kernel-libipsec (slow: O(n) per SA)
 *
 * Both charons run on loopback in a network namespace of its own (the load-tester only
 * targets UDP 500), deleted at the end. Needs root and strongSwan; builds the load-tester
 * plugin on first use (bench/strongswan/build-load-tester.sh). Heavy: run it alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strongswanMissing } from '../test/support/strongswan.ts';
import { createNetns } from './strongswan/netns.ts';
import { ensureLoadTester, runLoadAgainst, startStrongswanResponder, type ResponderKernel } from './strongswan/load-tester.ts';
import { envInt, report } from './strongswan/report.ts';

function responderKernel(v: string): ResponderKernel {
  if (v === 'fake' || v === 'libipsec') return v;
  throw new Error(`GKM_LOAD_RESPONDER_KERNEL must be fake or libipsec, got ${v}`);
}

const count = envInt('GKM_LOAD_SAS', 20_000);
const initiators = envInt('GKM_LOAD_INITIATORS', 4);
const initLimit = envInt('GKM_LOAD_INIT_LIMIT', 256);
const kernel = responderKernel(process.env.GKM_LOAD_RESPONDER_KERNEL ?? 'fake');
const keep = Boolean(process.env.GKM_KEEP_STRONGSWAN);

async function main(): Promise<void> {
  const missing = strongswanMissing();
  if (missing) throw new Error(`strongSwan is needed: ${missing}`);
  const plugin = await ensureLoadTester();
  const root = mkdtempSync(join(tmpdir(), 'gkm-load-'));
  const netns = createNetns(`gkm-load-${process.pid}`);
  try {
    const { endpoint, charon } = await startStrongswanResponder(netns.name, join(root, 'responder'), kernel, plugin);
    try {
      console.log(`load: ${count} IKE SAs, ${initiators} initiator threads, ${initLimit} half-open at most`);
      const result = await runLoadAgainst(endpoint, plugin, {
        count,
        initiators,
        initLimit,
        dir: join(root, 'initiator'),
        timeoutMs: Math.max(120_000, count * 10),
        progress: (line) => console.log(`  ${line}`),
      });
      console.log(report(result));
      if (result.established < result.requested) process.exitCode = 1;
    } finally {
      await charon.stop();
    }
  } finally {
    netns.remove();
    if (keep) console.log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

await main();
