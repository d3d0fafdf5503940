/**
 * `gkmctl`: client of the member daemon's control socket.
 *
 *   gkmctl [--socket PATH] [--json] list
 *   gkmctl initiate CONN [--child NAME] [--no-wait] [--timeout SECONDS]
 *   gkmctl rekey ike|child ID
 *   gkmctl terminate ike|child ID
 *
 * IDs: an IKE SA id (our SPI, hex) or a connection name; a Child SA's SPI (hex, either
 * direction) or a child name.
 */
import { ControlClient } from '../member/control/client.ts';
import { ControlError, defaultControlPath, type ControlCommand, type SaKind } from '../member/control/protocol.ts';
import { endpointText, type Endpoint } from '../ikev2/sa/types.ts';
import { EXIT, parse, processIo, UsageError, type CliIo } from './io.ts';

const USAGE = `usage: gkmctl [--socket PATH] [--json] <command>

commands:
  list                                    IKE and Child SAs with SPIs, states, ages, counters
  initiate CONN [--child NAME] [--no-wait] [--timeout SECONDS]
  rekey ike|child ID                      ID: IKE SA id or connection; Child SA SPI or name
  terminate ike|child ID
`;

const OPTIONS = {
  socket: { type: 'string', short: 's' },
  json: { type: 'boolean' },
  child: { type: 'string' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function command(positionals: readonly string[], v: { child?: string; 'no-wait'?: boolean; timeout?: string }): ControlCommand {
  const [cmd, a, b, ...extra] = positionals;
  const none = (...xs: (string | undefined)[]): void => {
    if (xs.some((x) => x !== undefined) || extra.length > 0) throw new UsageError(`too many arguments for ${cmd}`);
  };
  switch (cmd) {
    case 'list':
      none(a, b);
      return { cmd };
    case 'initiate': {
      if (!a) throw new UsageError('initiate needs a connection name');
      none(b);
      const seconds = v.timeout === undefined ? undefined : Number(v.timeout);
      if (seconds !== undefined && !(seconds > 0)) throw new UsageError('--timeout must be a positive number of seconds');
      return { cmd, conn: a, ...(v.child ? { child: v.child } : {}), wait: !v['no-wait'], ...(seconds ? { timeoutMs: seconds * 1000 } : {}) };
    }
    case 'rekey':
    case 'terminate': {
      if (a !== 'ike' && a !== 'child') throw new UsageError(`${cmd} needs ike or child, then an id`);
      if (!b) throw new UsageError(`${cmd} ${a} needs an id`);
      none();
      return { cmd, what: a as SaKind, sa: b };
    }
    default:
      throw new UsageError(cmd === undefined ? 'a command is required' : `unknown command ${JSON.stringify(cmd)}`);
  }
}

type Row = Record<string, unknown>;
const str = (v: unknown): string => (v === undefined || v === null ? '-' : String(v));
const suite = (v: unknown): string => Object.values((v ?? {}) as Record<string, string>).join(' ');
const ep = (v: unknown): string => (v && typeof v === 'object' ? endpointText(v as Endpoint) : '-');

/** `list` for people: one block per IKE SA, one line per Child SA. */
function listText(result: unknown): string {
  const r = result as { connections: Row[]; ikeSas: Row[] };
  const out: string[] = [];
  for (const c of r.connections) out.push(`${str(c['name'])}: ${(c['localAddrs'] as string[]).join(',') || '%any'}[${str(c['localPort'])}] ... ${(c['remoteAddrs'] as string[]).join(',') || '%any'}[${str(c['remotePort'])}]`);
  for (const sa of r.ikeSas) {
    out.push(
      `${str(sa['conn'])}[${str(sa['id'])}]: ${str(sa['state'])} ${str(sa['ageSeconds'])}s ago, ${str(sa['role'])}, ${ep(sa['local'])} <-> ${ep(sa['remote'])}`,
      `  ${str(sa['localId'])} <-> ${str(sa['remoteId'])}, SPIs ${str(sa['spiI'])}_i ${str(sa['spiR'])}_r, ${suite(sa['suite'])}, idle ${str(sa['idleSeconds'])}s`,
    );
    for (const c of (sa['children'] ?? []) as Row[]) {
      const counters = c['counters'] as { inbound: Row; outbound: Row } | undefined;
      const traffic = counters ? `, ${str(counters.inbound['bytes'])} bytes_i (${str(counters.inbound['packets'])} pkts), ${str(counters.outbound['bytes'])} bytes_o (${str(counters.outbound['packets'])} pkts)` : '';
      out.push(
        `  ${str(c['name'])}: ${str(c['state'])} ${str(c['ageSeconds'])}s ago, ${str(c['mode'])}${c['encapsulated'] ? ' UDP-encap' : ''}, SPIs ${str(c['inboundSpi'])}_i ${str(c['outboundSpi'])}_o, ${suite(c['suite'])}${traffic}`,
        `    ${(c['localTs'] as string[]).join(',')} === ${(c['remoteTs'] as string[]).join(',')}`,
      );
    }
  }
  if (r.ikeSas.length === 0) out.push('no IKE SAs');
  return out.join('\n') + '\n';
}

function resultText(cmd: ControlCommand, result: unknown): string {
  if (cmd.cmd === 'list') return listText(result);
  if (cmd.cmd === 'initiate') {
    const r = result as { ikeSaId: string; events?: Row[] };
    const lines = [`initiated ${cmd.conn}: IKE SA ${r.ikeSaId}`];
    for (const e of r.events ?? []) {
      if (e['event'] === 'ike_up') lines.push('  IKE SA established');
      if (e['event'] === 'child_up') lines.push(`  Child SA ${str((e['child'] as Row)['name'])} installed: SPIs ${str((e['child'] as Row)['inboundSpi'])}_i ${str((e['child'] as Row)['outboundSpi'])}_o`);
      if (e['event'] === 'error') lines.push(`  error: ${str(e['notifyName'] ?? e['code'])}: ${str(e['message'])}`);
    }
    return lines.join('\n') + '\n';
  }
  const ids = Object.values(result as Record<string, string[]>)[0] ?? [];
  return `${cmd.cmd} ${cmd.what}: ${ids.join(', ')}\n`;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let cmd: ControlCommand;
  let v: ReturnType<typeof parse<typeof OPTIONS>>['values'];
  try {
    const parsed = parse(argv, OPTIONS, true);
    v = parsed.values;
    if (v.help) {
      io.stdout.write(USAGE);
      return EXIT.ok;
    }
    cmd = command(parsed.positionals, v);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`gkmctl: ${e.message}\n${USAGE}`);
    return EXIT.usage;
  }
  const path = v.socket ?? defaultControlPath(io.env);
  let client: ControlClient | undefined;
  try {
    client = await ControlClient.connect(path);
    const result = await client.request(cmd);
    io.stdout.write(v.json ? JSON.stringify(result) + '\n' : resultText(cmd, result));
    return EXIT.ok;
  } catch (e) {
    const code = e instanceof ControlError ? `${e.code}: ` : '';
    io.stderr.write(`gkmctl: ${code}${(e as Error).message}\n`);
    return EXIT.failed;
  } finally {
    client?.close();
  }
}
