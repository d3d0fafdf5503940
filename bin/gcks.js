#!/usr/bin/env -S node --max-semi-space-size=2
// Launcher: runs the TypeScript entry point through tsx (no build step), from any cwd.
// --max-semi-space-size=2 (MiB): V8's young generation otherwise grows to 32 MiB under an
// IKE load and stays committed (docs/performance.md, issue 3; bin/node-flags.js).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/gcks.ts');
process.exitCode = await main(process.argv.slice(2));
