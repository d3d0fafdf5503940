/**
 * Process entry of our responder under load (see ./our-responder.ts): our member daemon
 * with one PSK connection accepting any initiator on 127.0.0.1:500/4500, driven by lines
 * on stdin, answered by JSON lines on stdout:
 *   stats          -> { sas, retransmittedRequests, retransmissionsAnswered, rssKiB, heapUsedKiB, heapTotalKiB, externalKiB, arrayBuffersKiB, spaces } (after a full GC)
 *   snapshot PATH  -> { snapshot: PATH } (a V8 heap snapshot)
 *   exit           -> exits at once (no deletes sent; --cpu-prof profiles are written)
 * Usage: node --expose-gc --import tsx our-responder-main.ts CONFIG_FILE
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { loadConfigText } from '../../src/member/config/load.ts';
import { IkeDaemon } from '../../src/member/ike-daemon.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: our-responder-main.ts CONFIG_FILE');
// The daemon sends the answers of one turn together (EngineOptions.coalesceSends) by default;
// GKM_LOAD_COALESCE=0 turns that off for an A/B.
const engineOptions = process.env['GKM_LOAD_COALESCE'] === '0' ? { coalesceSends: false } : {};
const daemon = await IkeDaemon.start({ config: loadConfigText(readFileSync(file, 'utf8'), file), autoStart: false, engineOptions });
const reply = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');
const kib = (n: number): number => Math.round(n / 1024);

function stats(): object {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const sas = daemon.engine.list().filter((sa) => sa.phase === 'established').length;
  // Committed size of each V8 space: the young generation grows under load and is not per SA.
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, kib(s.space_size)]));
  const { retransmittedRequests, retransmissionsAnswered } = daemon.engine.counters;
  return { sas, retransmittedRequests, retransmissionsAnswered, rssKiB: kib(m.rss), heapUsedKiB: kib(m.heapUsed), heapTotalKiB: kib(m.heapTotal), externalKiB: kib(m.external), arrayBuffersKiB: kib(m.arrayBuffers), spaces };
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'stats') reply(stats());
  else if (cmd === 'snapshot' && arg) reply({ snapshot: writeHeapSnapshot(arg) });
  else if (cmd === 'exit') process.exit(0);
  else reply({ error: `unknown command ${line}` });
});
reply({ ready: true, sockets: daemon.sockets });
