#!/usr/bin/env -S node --expose-gc --max-semi-space-size=32
// Launcher: runs the TypeScript entry point through tsx (no build step), from any cwd.
// --expose-gc: global.gc() for the idle-time compacting GC after registration bursts
// (src/gcks/memory-reclaim.ts); it costs nothing until called.
// --max-semi-space-size=32 (MiB; Node's default is 16): a registration burst allocates
// ~80 KB per registration, nearly all short-lived; a young generation twice as large
// scavenges half as often and won 8 of 9 paired runs (median +4.5% registrations/s). The
// idle reclaim's full GC shrinks it back, so steady-state memory is unchanged; 2 MiB, as
// gkm-member has, cost 5-15% CPU here (docs/performance.md, issue 4).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/gcks.ts');
process.exitCode = await main(process.argv.slice(2));
