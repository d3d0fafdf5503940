/**
 * `gcks`: the group controller/key server's command line.
 *
 *   gcks start [--config FILE] [--keylog DIR] [--linger SECONDS] [--log-format text|json]
 *   gcks group add FILE.json                       a group spec: { name, id, memberCap?, policy }
 *   gcks member add FILE.json [--group NAME ...] [--role R] [--max-sender-ids N]
 *
 * Configuration: docs/gcks.md (JSON file, GCKS_* environment overrides). The admin commands
 * work on the same database as a running GCKS (SQLite WAL); they stand in until the admin API.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isGkmError } from '../ikev2/errors.ts';
import { loadConfig, createLogger, type GcksConfig, type Logger } from '../gcks/config/index.ts';
import { addMember, authorizeMember, createGroup, findMemberByIdentity, parseAuthorizationSpec, parseGroupSpec, parseMemberSpec, SAMPLE_GROUP_NAME, SAMPLE_MEMBER_ID } from '../gcks/groups/index.ts';
import { GcksService, resolveMasterKey } from '../gcks/service.ts';
import { openStore, type Store } from '../store/index.ts';
import { EXIT, parse, processIo, UsageError, type CliIo } from './io.ts';
import { textLine } from './logging.ts';

const USAGE = `usage: gcks <command> [options]

commands:
  start [--config FILE] [--keylog DIR] [--linger SECONDS] [--log-format text|json]
        run the GCKS: registration on UDP 848, 500 and 4500 (GSA_AUTH, GSA_REGISTRATION)
  group add FILE.json
        create a group from { "name", "id": {"type","value"}, "memberCap", "policy" }
  member add FILE.json [--group NAME]... [--role sender|receiver|both] [--max-sender-ids N]
        create a member from { "id": {"type","value"}, "psk" | "pskHex" | "publicKey" } and authorize it

environment: GCKS_CONFIG, GCKS_DB, GCKS_LISTEN, GCKS_PORTS, GCKS_MASTER_KEY_FILE, GCKS_MASTER_KEY,
             GCKS_LOG_LEVEL, GCKS_SAMPLE_GROUP, GCKS_KEYLOG_DIR (see docs/gcks.md)
`;

const ACTOR = 'cli:gcks';

function logger(config: GcksConfig, format: string | undefined, io: CliIo): Logger {
  if (format !== undefined && format !== 'text' && format !== 'json') throw new UsageError('--log-format is text or json');
  const write = (t: string): unknown => io.stderr.write(t);
  return createLogger(config, { write: format === 'json' ? write : (line: string) => write(textLine(line)) });
}

function joinHint(service: GcksService): string {
  const sample = service.firstStart.sampleGroup;
  if (!sample?.created || !sample.pskFile) return '';
  const port = service.sockets.map((s) => /:(\d+)$/.exec(s)?.[1]).find((p) => p === '848') ?? /:(\d+)$/.exec(service.sockets[0] ?? '')?.[1] ?? '848';
  return (
    `\nFirst start: created the sample group "${SAMPLE_GROUP_NAME}" and its member "${SAMPLE_MEMBER_ID}" (PSK in ${sample.pskFile}).\n` +
    `A member joins it with:\n\n  gkm-member join --gcks 127.0.0.1:${port} --group ${SAMPLE_GROUP_NAME} --id ${SAMPLE_MEMBER_ID} --psk-file ${sample.pskFile} --sender\n\n`
  );
}

async function runStart(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { config: { type: 'string' }, keylog: { type: 'string' }, linger: { type: 'string' }, 'log-format': { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const linger = values.linger === undefined ? undefined : Number(values.linger);
  if (linger !== undefined && !(linger >= 0)) throw new UsageError('--linger is a number of seconds (0 keeps IKE SAs)');
  const loaded = loadConfig({ env: io.env, ...(values.config ? { file: values.config } : {}) });
  const config: GcksConfig = values.keylog ? { ...loaded.config, keylogDir: resolve(values.keylog) } : loaded.config;
  const log = logger(config, values['log-format'], io);
  log.info({ sources: loaded.sources }, 'configuration loaded');
  const service = await GcksService.start({ config, log, env: io.env, ...(linger !== undefined ? { lingerMs: linger * 1000 } : {}) });
  io.stdout.write(joinHint(service));
  await new Promise<void>((done) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void service.stop().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return EXIT.ok;
}

/** The store of a configured GCKS, for the admin commands (never generates a master key). */
function openConfiguredStore(io: CliIo): { store: Store; log: Logger } {
  const { config } = loadConfig({ env: io.env });
  const log = logger({ ...config, log: { level: 'warn' } }, undefined, io);
  const master = resolveMasterKey(config, io.env, log);
  if (master.generated) log.warn({ file: master.generated }, 'a new database was created');
  const store = openStore({ path: config.db.path, masterKey: master.key, busyTimeoutMs: config.db.busyTimeoutMs });
  master.key.fill(0);
  return { store, log };
}

const readJson = (file: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
};

async function runGroup(args: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parse(args, {}, true);
  const [verb, file, ...rest] = positionals;
  if (verb !== 'add' || !file || rest.length) throw new UsageError('gcks group add FILE.json');
  const spec = parseGroupSpec(readJson(file));
  const { store } = openConfiguredStore(io);
  try {
    const { group, version } = createGroup(store, spec, ACTOR);
    io.stdout.write(`group ${group.name} created (id ${group.id}, policy v${version})\n`);
  } finally {
    store.close();
  }
  return EXIT.ok;
}

async function runMember(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { group: { type: 'string', multiple: true }, role: { type: 'string' }, 'max-sender-ids': { type: 'string' } }, true);
  const [verb, file, ...rest] = positionals;
  if (verb !== 'add' || !file || rest.length) throw new UsageError('gcks member add FILE.json [--group NAME]...');
  const spec = parseMemberSpec(readJson(file));
  const authz = parseAuthorizationSpec({
    ...(values.role ? { role: values.role } : {}),
    ...(values['max-sender-ids'] !== undefined ? { maxSenderIds: Number(values['max-sender-ids']) } : {}),
  });
  const { store } = openConfiguredStore(io);
  try {
    store.transaction(() => {
      const member = findMemberByIdentity(store, spec.identity) ?? addMember(store, spec, ACTOR);
      for (const name of values.group ?? []) {
        const group = store.groups.getByName(name);
        if (!group) throw new UsageError(`no group ${name}`);
        authorizeMember(store, group.id, member.id, authz, ACTOR);
      }
      io.stdout.write(`member ${member.id} ready${values.group?.length ? `, authorized for ${values.group.join(', ')} as ${authz.role}` : ''}\n`);
    });
  } finally {
    store.close();
  }
  return EXIT.ok;
}

const COMMANDS: Readonly<Record<string, (args: readonly string[], io: CliIo) => Promise<number>>> = { start: runStart, group: runGroup, member: runMember };

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const run = COMMANDS[name];
  if (!run) {
    io.stderr.write(`gcks: unknown command ${JSON.stringify(name)}\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`gcks ${name}: ${e.message}\n${USAGE}`);
      return EXIT.usage;
    }
    const config = isGkmError(e) && (e.code.startsWith('GKM_CONFIG') || e.code.startsWith('GKM_STORE_MASTER') || e.code.endsWith('_INVALID'));
    io.stderr.write(`gcks ${name}: ${isGkmError(e) ? `${e.code}: ` : ''}${(e as Error).message}\n`);
    return config ? EXIT.usage : EXIT.failed;
  }
}
