#!/usr/bin/env node
// Launcher: runs the TypeScript entry point through tsx (no build step), from any cwd.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/gcks.ts');
process.exitCode = await main(process.argv.slice(2));
