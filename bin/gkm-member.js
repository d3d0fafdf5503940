#!/usr/bin/env -S node --max-semi-space-size=2 --single-threaded-gc
// Launcher: runs the TypeScript entry point through tsx (no build step), from any cwd.
// --max-semi-space-size=2 (MiB): V8's young generation otherwise grows to 32 MiB under an
// IKE load and stays committed (docs/performance.md, issue 3; bin/node-flags.js).
// --single-threaded-gc: no parallel/concurrent GC helper threads; on 2 shared cores their
// CPU costs more than the pauses they shorten (hybrid IKE SAs: ~10% less CPU per SA over
// both processes, same memory; docs/performance.md and docs/decisions.md, 2026-11-22 17:16 UTC).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/gkm-member.ts');
process.exitCode = await main(process.argv.slice(2));
