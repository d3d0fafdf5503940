#!/usr/bin/env -S node --expose-gc
// Launcher: runs the TypeScript entry point through tsx (no build step), from any cwd.
// --expose-gc: global.gc() for the idle-time compacting GC after registration bursts
// (src/gcks/memory-reclaim.ts); it costs nothing until called.
// No --max-semi-space-size here, unlike gkm-member: in paired runs the GCKS's registration
// bursts made a 2 MiB young generation cost 5-15% CPU and no memory (docs/performance.md, issue 4).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/gcks.ts');
process.exitCode = await main(process.argv.slice(2));
