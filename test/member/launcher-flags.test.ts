/**
 * The long-running launchers start Node with their `#!` line's flags (bin/node-flags.js):
 * the flags are read back as written, and a script started through such a line runs with them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { launcherNodeFlags } from '../../bin/node-flags.js';

const bin = (name: string): URL => new URL(`../../bin/${name}`, import.meta.url);

test('gkm-member carries --max-semi-space-size=2 --single-threaded-gc; gcks --expose-gc (for its idle-time GC) --max-semi-space-size=32; gkmctl none', () => {
  assert.deepEqual(launcherNodeFlags(bin('gkm-member.js')), ['--max-semi-space-size=2', '--single-threaded-gc']);
  assert.deepEqual(launcherNodeFlags(bin('gcks.js')), ['--expose-gc', '--max-semi-space-size=32']);
  assert.deepEqual(launcherNodeFlags(bin('gkmctl.js')), []);
});

for (const name of ['gkm-member.js', 'gcks.js']) {
  test(`a script started through ${name}'s #! line runs with its flags`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'gkm-launcher-'));
    try {
      const shebang = readFileSync(bin(name), 'utf8').split('\n', 1)[0]!;
      const script = join(dir, 'probe.mjs');
      writeFileSync(script, `${shebang}\nprocess.stdout.write(JSON.stringify(process.execArgv));\n`);
      chmodSync(script, 0o755);
      const execArgv = JSON.parse(execFileSync(script, { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }));
      assert.deepEqual(execArgv, launcherNodeFlags(bin(name)));
      assert.ok(execArgv.length > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
