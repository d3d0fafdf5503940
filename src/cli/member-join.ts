/**
 * `gkm-member join`: registers with a GCKS for one or more groups (RFC 9838 G-IKEv2), prints
 * the events, keeps the registrations alive, and on SIGINT/SIGTERM leaves every group and
 * deletes the IKE SA. Events go to stdout as JSON lines with --json; logs go to stderr.
 * Nothing printed carries a key: SPIs, algorithm names and labelled fingerprints only.
 */
import { readFileSync } from 'node:fs';
import { UserspaceProvider } from '../datapath/userspace.ts';
import type { Identity } from '../ikev2/sa/identity.ts';
import { Id } from '../ikev2/sa/identity.ts';
import type { ProposalSpec } from '../ikev2/wire/payloads/index.ts';
import { parseIdentity } from '../member/config/identities.ts';
import { parseProposal } from '../member/config/proposals.ts';
import { JoinAgent, parseHostPort, type JoinEvent } from '../member/group/agent.ts';
import type { GroupRole } from '../member/group/sa-database.ts';
import { EXIT, parse, UsageError, type CliIo } from './io.ts';
import { createLogger, LOG_LEVELS, type LogFormat } from './logging.ts';

export const JOIN_USAGE = `usage: gkm-member join --gcks HOST:PORT --group ID --id ID --psk-file FILE [options]

  --gcks HOST:PORT       the GCKS (G-IKEv2 on UDP 848 or 500/4500, or any port)
  --group ID             group to join (IDg); repeat for several groups
  --id ID                our identity (IDi)
  --psk-file FILE        pre-shared key: the file's one line, UTF-8, without the newline
  --gcks-id ID           identity the GCKS must prove (default: any)
  --sender [N]           also send: ask for N Sender-IDs (default 1), install SAs both ways
  --send-only            with --sender: install SAs outbound only (we do not receive)
  --local ADDR:PORT      local address (or * for any) and port (default: any address,
                         an ephemeral port; 500 or 848 also bind 4500 for NAT traversal)
  --ike PROPOSAL         IKE proposal in strongSwan syntax (repeatable; KWAs are added),
                         e.g. aes256gcm16-prfsha256-x25519-ke1_mlkem768
  --datapath NAME        none (default) or userspace: install group SAs in the ESP datapath
  --json                 one JSON event per line on stdout (ready, ike_up, registering,
                         registered, error, excluded, expired, left, deleted, stopped)
  --keylog DIR           write ikev2_decryption_table, esp_sa and keys.json (live keys!)
  --log-level LEVEL      ${LOG_LEVELS.join(', ')} (default info)
  --log-format FMT       text (default) or json, on stderr

IDs: an IP address, or a typed form (keyid:NAME, keyid:#HEX, fqdn:NAME, email:USER@DOMAIN,
ipv4:, ipv6:, @NAME, @@USER@DOMAIN); any other text is an ID_KEY_ID of its UTF-8 bytes
(RFC 9838 §4.2: ID_KEY_ID is the group ID every GCKS supports).
`;

const OPTIONS = {
  gcks: { type: 'string' },
  group: { type: 'string', multiple: true },
  id: { type: 'string' },
  'psk-file': { type: 'string' },
  'gcks-id': { type: 'string' },
  sender: { type: 'boolean' },
  'sender-ids': { type: 'string' },
  'send-only': { type: 'boolean' },
  local: { type: 'string' },
  ike: { type: 'string', multiple: true },
  datapath: { type: 'string' },
  json: { type: 'boolean' },
  keylog: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const WILDCARDS = ['0.0.0.0', '::', '*'];
const TYPED_ID = /^(ipv4|ipv6|fqdn|email|rfc822|keyid|asn1dn):|^@/i;

/** An ID for join: typed forms and addresses as in swanctl, else ID_KEY_ID. */
export function joinIdentity(text: string, flag: string): Identity {
  if (text === '') throw new UsageError(`${flag} is empty`);
  try {
    if (TYPED_ID.test(text) || /^[0-9.]+$|:/.test(text)) {
      const id = parseIdentity(text);
      if (id) return id;
    }
  } catch (e) {
    throw new UsageError(`${flag}: ${(e as Error).message}`);
  }
  return Id.keyId(Buffer.from(text, 'utf8'));
}

/** The PSK file: one line; the PSK is its UTF-8 bytes without the line end. */
export function readPskFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--psk-file: cannot read ${path}: ${(e as Error).message}`);
  }
  const line = text.replace(/\r?\n$/, '');
  if (line.length === 0) throw new UsageError(`--psk-file: ${path} is empty`);
  if (/[\r\n]/.test(line)) throw new UsageError(`--psk-file: ${path} has more than one line`);
  return Buffer.from(line, 'utf8');
}

/** `--sender N` / `--sender=N` → `--sender --sender-ids N` (parseArgs has no optional values). */
function expandSender(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = /^--sender=(.*)$/.exec(a);
    if (eq) out.push('--sender', '--sender-ids', eq[1]!);
    else if (a === '--sender' && /^\d+$/.test(args[i + 1] ?? '')) out.push('--sender', '--sender-ids', args[++i]!);
    else out.push(a);
  }
  return out;
}

function choice<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T, flag: string): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} must be one of ${allowed.join(', ')}`);
}

function ikeProposals(texts: readonly string[] | undefined): ProposalSpec[] | undefined {
  if (!texts?.length) return undefined;
  return texts.map((text) => {
    const problems: string[] = [];
    const p = parseProposal(text, 'ike', (_offset, message) => problems.push(message));
    if (!p) throw new UsageError(`--ike: ${problems.join('; ')}`);
    return p;
  });
}

/** Resolves when the agent has stopped (a signal, `stopSignal`, or every group refused for good). */
export async function runJoin(args: readonly string[], io: CliIo, stopSignal?: AbortSignal): Promise<number> {
  const { values: v } = parse(expandSender(args), OPTIONS);
  if (v.help) {
    io.stdout.write(JOIN_USAGE);
    return EXIT.ok;
  }
  for (const flag of ['gcks', 'id', 'psk-file'] as const) if (!v[flag]) throw new UsageError(`--${flag} is required`);
  if (!v.group?.length) throw new UsageError('--group is required');
  if (v['send-only'] && !v.sender) throw new UsageError('--send-only needs --sender');
  const senderIds = v['sender-ids'] === undefined ? 1 : Number(v['sender-ids']);
  if (!Number.isInteger(senderIds) || senderIds < 1 || senderIds > 0xffff) throw new UsageError('--sender N: N must be 1..65535');
  const role: GroupRole = !v.sender ? 'receiver' : v['send-only'] ? 'sender' : 'both';
  let gcks, local;
  try {
    gcks = parseHostPort(v.gcks!, '--gcks');
    local = v.local === undefined ? undefined : parseHostPort(v.local, '--local');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const level = choice(v['log-level'], LOG_LEVELS, 'info', '--log-level');
  const format = choice<LogFormat>(v['log-format'], ['text', 'json'], 'text', '--log-format');
  const datapath = choice(v.datapath, ['none', 'userspace'], 'none', '--datapath');
  const logger = createLogger({ level, format, sink: io.stderr });
  const groups = v.group.map((g) => joinIdentity(g, '--group'));
  const proposals = ikeProposals(v.ike);

  let fatal = false;
  let requested: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => (requested = resolve));
  const emit = v.json ? (e: JoinEvent) => void io.stdout.write(JSON.stringify(e) + '\n') : undefined;
  const agent = await JoinAgent.start({
    gcks,
    ...(local ? { local: WILDCARDS.includes(local.host) ? { port: local.port } : { address: local.host, port: local.port } } : {}),
    groups,
    id: joinIdentity(v.id!, '--id'),
    psk: readPskFile(v['psk-file']!),
    ...(v['gcks-id'] ? { gcksId: joinIdentity(v['gcks-id'], '--gcks-id') } : {}),
    role,
    ...(role !== 'receiver' ? { senderIds } : {}),
    ...(proposals ? { ikeProposals: proposals } : {}),
    ...(v.keylog !== undefined ? { keyLogDir: v.keylog } : {}),
    ...(datapath === 'userspace' ? { datapath: new UserspaceProvider() } : {}),
    logger,
    ...(emit ? { onEvent: emit } : {}),
    onFatal: () => {
      fatal = true;
      logger.error({}, 'every group refused the registration; stopping');
      requested();
    },
  });
  let stopping = false;
  const onSignal = (reason: string): void => {
    if (stopping) return logger.warn({ reason }, 'already shutting down');
    stopping = true;
    logger.info({ reason }, 'leaving the group(s) and shutting down');
    requested();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  stopSignal?.addEventListener('abort', () => onSignal('requested'), { once: true });
  await stopRequested;
  await agent.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return fatal ? EXIT.failed : EXIT.ok;
}
