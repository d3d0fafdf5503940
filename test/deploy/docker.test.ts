/**
 * No Docker engine runs on the project's machines, so the container files are checked by
 * reading them: the compose file parses and points at real things, and the Dockerfile copies
 * what exists and starts what package.json starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

const stripComments = (text: string): string => text.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');

test('docker-compose.yml parses and publishes the GCKS ports with a data volume and a master key secret', () => {
  const compose = JSON.parse(stripComments(readFileSync('docker-compose.yml', 'utf8')));
  const gcks = compose.services.gcks;
  assert.equal(gcks.build.dockerfile, 'Dockerfile');
  assert.ok(existsSync(gcks.build.dockerfile));
  assert.deepEqual([...gcks.ports].sort(), ['4500:4500/udp', '500:500/udp', '848:848/udp']);
  const [volume, mount] = gcks.volumes[0].split(':');
  assert.equal(mount, '/app/data');
  assert.ok(volume in compose.volumes);
  for (const s of gcks.secrets) assert.ok(s in compose.secrets, `secret ${s} is declared`);
  assert.match(gcks.environment.GCKS_MASTER_KEY_FILE, /^\/run\/secrets\//);
});

test('Dockerfile copies existing paths, exposes the compose ports and runs the start script', () => {
  const lines = stripComments(readFileSync('Dockerfile', 'utf8')).split('\n');
  const copies = lines.filter((l) => l.startsWith('COPY ')).flatMap((l) => l.split(/\s+/).slice(1, -1));
  assert.ok(copies.length > 0);
  for (const path of copies) assert.ok(existsSync(path), `COPY source ${path} exists`);
  const exposed = lines.find((l) => l.startsWith('EXPOSE '))!.split(/\s+/).slice(1).sort();
  assert.deepEqual(exposed, ['4500/udp', '500/udp', '848/udp']);
  const cmd = JSON.parse(lines.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  assert.equal(cmd.join(' '), pkg.scripts.start);
  assert.ok(lines.some((l) => l.startsWith('FROM node:20')), 'Node 20 base image');
});
