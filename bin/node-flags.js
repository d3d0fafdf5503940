// The Node/V8 flags a long-running launcher (gkm-member, gcks) starts with are on its `#!`
// line (`#!/usr/bin/env -S node FLAGS`), the one place they are written down. V8 sizes its
// heap at start-up, so they cannot be set from inside the process (v8.setFlagsFromString
// does not resize the young generation). `node bin/X.js` skips the `#!` line: use
// NODE_OPTIONS there. Benchmarks read the flags from here to start a daemon as users do.
import { readFileSync } from 'node:fs';

const SHEBANG = /^#!\/usr\/bin\/env -S node((?: --[a-z0-9-]+(?:=\S+)?)*)\s*$/;

/** The Node flags on the `#!` line of a launcher (a file URL or path); [] without any. */
export function launcherNodeFlags(launcher) {
  const first = readFileSync(launcher, 'utf8').split('\n', 1)[0];
  const m = SHEBANG.exec(first);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}
