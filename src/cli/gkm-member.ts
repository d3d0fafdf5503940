/**
 * `gkm-member`: the member agent's command line. Subcommands:
 *   ike    unicast IKEv2 connections from a swanctl-like file (member-ike.ts)
 *   join   G-IKEv2 group registration with a GCKS (member-join.ts)
 */
import { isGkmError } from '../ikev2/errors.ts';
import { ConfigError } from '../member/config/errors.ts';
import { EXIT, processIo, UsageError, type CliIo } from './io.ts';
import { IKE_USAGE, runIke } from './member-ike.ts';
import { JOIN_USAGE, runJoin } from './member-join.ts';

type Subcommand = (args: readonly string[], io: CliIo) => Promise<number>;

const SUBCOMMANDS: Readonly<Record<string, { readonly run: Subcommand; readonly usage: string }>> = {
  ike: { run: runIke, usage: IKE_USAGE },
  join: { run: runJoin, usage: JOIN_USAGE },
};

const USAGE = `usage: gkm-member <command> [options]

commands:
  ike     run unicast IKEv2 connections (gkm-member ike --help)
  join    register with a G-IKEv2 GCKS for groups (gkm-member join --help)
`;

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub) {
    io.stderr.write(`gkm-member: unknown command ${JSON.stringify(name)}\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await sub.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`gkm-member ${name}: ${e.message}\n${sub.usage}`);
      return EXIT.usage;
    }
    if (e instanceof ConfigError) {
      io.stderr.write(`gkm-member ${name}: configuration error\n${e.message}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`gkm-member ${name}: ${isGkmError(e) ? `${e.code}: ` : ''}${(e as Error).message}\n`);
    return EXIT.failed;
  }
}
