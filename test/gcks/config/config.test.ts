/** GCKS configuration (defaults, JSON file, environment) and the logger's redaction. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, DEFAULT_CONFIG, loadConfig } from '../../../src/gcks/config/index.ts';
import { gkmError, tempDir } from '../../store/helpers.ts';

test('defaults: ./data/gcks.db, 500/4500/848 on all addresses, info logs, sample group', () => {
  const { config, sources } = loadConfig({ env: {}, cwd: '/srv/gcks' });
  assert.equal(config.db.path, '/srv/gcks/data/gcks.db');
  assert.deepEqual(config.listen, { addresses: ['0.0.0.0', '::'], ports: [500, 4500, 848] });
  assert.deepEqual([config.masterKeyFile, config.log.level, config.sampleGroup, config.keylogDir, config.eventLoopCpu], [null, 'info', true, null, null]);
  assert.deepEqual(sources, ['defaults']);
  assert.equal(DEFAULT_CONFIG.listen.ports.length, 3, 'defaults are not mutated');
});

test('a JSON file, with paths relative to it; then environment overrides', () => {
  const dir = tempDir('gkm-config-');
  const file = join(dir, 'gcks.json');
  writeFileSync(
    file,
    JSON.stringify({
      db: { path: 'state/gcks.db', busyTimeoutMs: 100 },
      listen: { addresses: ['127.0.0.1'], ports: [18500, 14500] },
      masterKeyFile: 'secrets/master.key',
      log: { level: 'debug' },
      sampleGroup: false,
      keylogDir: 'keylog',
      eventLoopCpu: 1,
    }),
  );
  const fromFile = loadConfig({ env: { GCKS_CONFIG: file }, cwd: '/elsewhere' }).config;
  assert.deepEqual(fromFile, {
    db: { path: join(dir, 'state/gcks.db'), busyTimeoutMs: 100 },
    listen: { addresses: ['127.0.0.1'], ports: [18500, 14500] },
    masterKeyFile: join(dir, 'secrets/master.key'),
    log: { level: 'debug' },
    sampleGroup: false,
    keylogDir: join(dir, 'keylog'),
    eventLoopCpu: 1,
  });
  const env = {
    GCKS_DB: 'other.db',
    GCKS_LISTEN: '::1, 127.0.0.1',
    GCKS_PORTS: '20500,24500,20848',
    GCKS_MASTER_KEY_FILE: '/run/secrets/gcks.key',
    GCKS_LOG_LEVEL: 'warn',
    GCKS_SAMPLE_GROUP: 'true',
    GCKS_KEYLOG_DIR: '/tmp/kl',
    GCKS_EVENT_LOOP_CPU: '0',
  };
  const { config, sources } = loadConfig({ file, env, cwd: '/work' });
  assert.equal(config.db.path, resolve('/work', 'other.db'));
  assert.equal(config.db.busyTimeoutMs, 100, 'file values not overridden stay');
  assert.deepEqual(config.listen, { addresses: ['::1', '127.0.0.1'], ports: [20500, 24500, 20848] });
  assert.deepEqual([config.masterKeyFile, config.log.level, config.sampleGroup, config.keylogDir, config.eventLoopCpu], ['/run/secrets/gcks.key', 'warn', true, '/tmp/kl', 0]);
  assert.deepEqual(sources, ['defaults', `file:${file}`, 'env:GCKS_DB', 'env:GCKS_LISTEN', 'env:GCKS_PORTS', 'env:GCKS_MASTER_KEY_FILE', 'env:GCKS_LOG_LEVEL', 'env:GCKS_SAMPLE_GROUP', 'env:GCKS_KEYLOG_DIR', 'env:GCKS_EVENT_LOOP_CPU']);
  assert.equal(loadConfig({ file, env: { GCKS_EVENT_LOOP_CPU: 'none' } }).config.eventLoopCpu, null, 'none turns the file\'s pinning off');
});

test('invalid configuration: clear GKM_CONFIG_INVALID naming the field', () => {
  const dir = tempDir('gkm-config-');
  const write = (name: string, content: string): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const fileCases: [string, RegExp][] = [
    ['{ not json', /cannot read the JSON config file/],
    [JSON.stringify({ masterKey: 'abc' }), /unknown field\(s\) masterKey/],
    [JSON.stringify({ listen: { ports: [0] } }), /listen\.ports\[0\]/],
    [JSON.stringify({ listen: { ports: [500, 500] } }), /duplicates/],
    [JSON.stringify({ listen: { addresses: ['localhost'] } }), /not an IP address/],
    [JSON.stringify({ log: { level: 'verbose' } }), /log\.level/],
    [JSON.stringify({ db: { path: '' } }), /db\.path/],
    [JSON.stringify({ eventLoopCpu: -1 }), /eventLoopCpu/],
    [JSON.stringify({ eventLoopCpu: 'first' }), /eventLoopCpu/],
  ];
  fileCases.forEach(([content, re], i) => {
    assert.throws(() => loadConfig({ file: write(`c${i}.json`, content), env: {} }), gkmError('GKM_CONFIG_INVALID', re), content);
  });
  assert.throws(() => loadConfig({ file: join(dir, 'absent.json'), env: {} }), gkmError('GKM_CONFIG_INVALID', /ENOENT/));
  const envCases: [Record<string, string>, RegExp][] = [
    [{ GCKS_PORTS: '500,abc' }, /GCKS_PORTS/],
    [{ GCKS_EVENT_LOOP_CPU: '0,1' }, /GCKS_EVENT_LOOP_CPU/],
    [{ GCKS_PORTS: ',' }, /GCKS_PORTS.*at least one/],
    [{ GCKS_LISTEN: '1.2.3' }, /GCKS_LISTEN/],
    [{ GCKS_LOG_LEVEL: 'loud' }, /GCKS_LOG_LEVEL/],
    [{ GCKS_SAMPLE_GROUP: 'yes' }, /GCKS_SAMPLE_GROUP/],
  ];
  for (const [env, re] of envCases) assert.throws(() => loadConfig({ env }), gkmError('GKM_CONFIG_INVALID', re), JSON.stringify(env));
});

/** A logger whose lines are collected. */
function capture(level: 'info' | 'debug' = 'info'): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ log: { level } }, dest as never);
  return { logger, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('logger: fields named key/psk/secret/privateKey… are redacted at any depth, other fields kept', () => {
  const { logger, lines } = capture();
  const psk = 'do-not-log-this-psk';
  logger.info(
    {
      psk,
      key: 'k',
      keyId: 7,
      spi: '0a0b0c0d',
      member: { id: 'alice', secret: 's', credential: { password: 'p' } },
      keys: [{ key: 'k1', keyId: 1 }],
      deep: { a: { b: { c: { privateKey: 'x' } } } },
    },
    'registered',
  );
  const [line] = lines();
  assert.equal(JSON.stringify(line).includes(psk), false);
  assert.deepEqual(line, {
    ...line,
    psk: '[redacted]',
    key: '[redacted]',
    keyId: 7,
    spi: '0a0b0c0d',
    member: { id: 'alice', secret: '[redacted]', credential: { password: '[redacted]' } },
    keys: [{ key: '[redacted]', keyId: 1 }],
    deep: { a: { b: { c: { privateKey: '[redacted]' } } } },
    msg: 'registered',
    service: 'gcks',
  });
});

test('logger: level from the configuration', () => {
  const { logger, lines } = capture('info');
  logger.debug('hidden');
  logger.info('shown');
  assert.deepEqual(lines().map((l) => l.msg), ['shown']);
});
