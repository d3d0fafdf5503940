#!/usr/bin/env node
// Builds the native datapath addon (native/esp-burst) with the node-gyp that ships inside npm,
// against Node's own headers (which include OpenSSL's): no network, no npm dependency.
// Usage: node scripts/build-native.mjs [--if-needed]
//   --if-needed  skip the build when the addon is newer than every source file
// Environment: NODE_GYP (path to node-gyp.js), GKM_NODEDIR (a dir with include/node/node_api.h).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonDir = join(root, 'native', 'esp-burst');
const output = join(addonDir, 'build', 'Release', 'gkm_native.node');
const prefix = resolve(dirname(process.execPath), '..');

function fail(message) {
  console.error(`build-native: ${message}`);
  process.exit(1);
}

function firstExisting(paths) {
  return paths.find((p) => p && existsSync(p));
}

const nodeGyp = firstExisting([
  process.env.NODE_GYP,
  join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
]);
if (!nodeGyp) fail('node-gyp not found (it ships with npm; set NODE_GYP=/path/to/node-gyp.js)');

// node-gyp would download headers without a nodedir; point it at the installed ones instead.
const nodedir = firstExisting(
  [process.env.GKM_NODEDIR, process.env.npm_config_nodedir, prefix].filter(
    (d) => d && existsSync(join(d, 'include', 'node', 'node_api.h')),
  ),
);
if (!nodedir) fail(`Node headers not found under ${prefix}/include/node (set GKM_NODEDIR); refusing to download them`);

const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
    if (e.name === 'build') return t;
    const p = join(dir, e.name);
    return Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);

if (process.argv.includes('--if-needed') && existsSync(output) && statSync(output).mtimeMs > newest(addonDir)) {
  console.log(`build-native: ${output} is up to date`);
  process.exit(0);
}

const started = performance.now();
const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, `--directory=${addonDir}`, '--loglevel=warn'], {
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (r.status !== 0) fail(`node-gyp failed (exit ${r.status}); needs g++, make and python3`);

const addon = createRequire(import.meta.url)(output);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`build-native: built ${output} in ${seconds}s (${addon.info().openssl}, headers from ${nodedir}/include/node)`);
