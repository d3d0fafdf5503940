/**
 * `gkm-member ike --config FILE`: runs the unicast IKE daemon until SIGINT/SIGTERM.
 * Events go to stdout as JSON lines with --json; logs go to stderr.
 */
import { UserspaceProvider } from '../datapath/userspace.ts';
import { loadConfigFile } from '../member/config/load.ts';
import { defaultControlPath } from '../member/control/protocol.ts';
import type { MemberEvent } from '../member/events.ts';
import { IkeDaemon } from '../member/ike-daemon.ts';
import { EXIT, parse, UsageError, type CliIo } from './io.ts';
import { createLogger, LOG_LEVELS, type LogFormat } from './logging.ts';

export const IKE_USAGE = `usage: gkm-member ike --config FILE [options]

  -c, --config FILE      connections and secrets (swanctl-like syntax; docs/member.md)
      --check            load and check the configuration, print warnings, exit
      --json             one JSON event per line on stdout (ready, ike_up, child_up,
                         rekeyed, deleted, error, stopped)
      --keylog DIR       write ikev2_decryption_table, esp_sa and keys.json (live keys!)
      --control PATH     control socket (default $XDG_RUNTIME_DIR/gkm-member/control.sock,
                         else /tmp/gkm-member-<uid>/control.sock)
      --no-control       no control socket
      --no-start         do not initiate start_action = start connections
      --datapath NAME    none (default) or userspace: install Child SAs in the userspace ESP datapath
      --log-level LEVEL  ${LOG_LEVELS.join(', ')} (default info)
      --log-format FMT   text (default) or json, on stderr
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  check: { type: 'boolean' },
  json: { type: 'boolean' },
  keylog: { type: 'string' },
  control: { type: 'string' },
  'no-control': { type: 'boolean' },
  'no-start': { type: 'boolean' },
  datapath: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function choice<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, flag: string): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} must be one of ${allowed.join(', ')}`);
}

/** Resolves when the daemon has stopped (after a signal, or `stopSignal` for tests). */
export async function runIke(args: readonly string[], io: CliIo, stopSignal?: AbortSignal): Promise<number> {
  const { values: v } = parse(args, OPTIONS);
  if (v.help) {
    io.stdout.write(IKE_USAGE);
    return EXIT.ok;
  }
  if (!v.config) throw new UsageError('--config FILE is required');
  if (v.control !== undefined && v['no-control']) throw new UsageError('--control and --no-control exclude each other');
  const level = choice(v['log-level'], LOG_LEVELS, 'info', '--log-level');
  const format = choice<LogFormat>(v['log-format'], ['text', 'json'], 'text', '--log-format');
  const datapath = choice(v.datapath, ['none', 'userspace'], 'none', '--datapath');
  const logger = createLogger({ level, format, sink: io.stderr });

  const config = loadConfigFile(v.config);
  if (v.check) {
    for (const w of config.warnings) io.stderr.write(`warning: ${w}\n`);
    io.stdout.write(`${v.config}: ${config.connections.length} connection(s) OK\n`);
    return EXIT.ok;
  }
  const emit = v.json ? (e: MemberEvent) => void io.stdout.write(JSON.stringify(e) + '\n') : undefined;
  const daemon = await IkeDaemon.start({
    config,
    logger,
    ...(v.keylog !== undefined ? { keyLogDir: v.keylog } : {}),
    ...(v['no-control'] ? {} : { controlPath: v.control ?? defaultControlPath(io.env) }),
    ...(datapath === 'userspace' ? { datapath: new UserspaceProvider() } : {}),
    ...(emit ? { onEvent: emit } : {}),
    autoStart: !v['no-start'],
  });
  // Until stop() is done, a repeated signal (e.g. from a supervisor and a shell) is only noted.
  let stopping = false;
  let requested: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => (requested = resolve));
  const onSignal = (reason: string): void => {
    if (stopping) return logger.warn({ reason }, 'already shutting down');
    stopping = true;
    logger.info({ reason }, 'shutting down');
    requested();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  stopSignal?.addEventListener('abort', () => onSignal('requested'), { once: true });
  await stopRequested;
  await daemon.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return EXIT.ok;
}
