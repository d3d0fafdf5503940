/**
 * Parses `swanctl --list-sas --pretty` (vici messages printed one key per line) into
 * typed IKE and Child SA records.
 */

export type ViciValue = string | readonly string[] | ViciSection;
export interface ViciSection {
  readonly [key: string]: ViciValue;
}

/** One printed vici message: its name (`list-sa event`) and body. */
export interface ViciMessage {
  readonly name: string;
  readonly body: ViciSection;
}

/** Parses swanctl's `--pretty` output: `name {`, `key = value`, `key = [` ... `]`, `}`. */
export function parsePrettyVici(text: string): ViciMessage[] {
  const messages: ViciMessage[] = [];
  const stack: Record<string, ViciValue>[] = [];
  let list: string[] | undefined;
  let top: { name: string; body: Record<string, ViciValue> } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (list) {
      if (line === ']') list = undefined;
      else list.push(line);
      continue;
    }
    const current = stack[stack.length - 1];
    let m: RegExpMatchArray | null;
    if (line === '}') {
      stack.pop();
      if (stack.length === 0 && top) {
        messages.push(top);
        top = undefined;
      }
    } else if ((m = line.match(/^(.*?) \{$/))) {
      const section: Record<string, ViciValue> = {};
      if (!current) {
        top = { name: m[1]!, body: section };
      } else {
        current[m[1]!] = section;
      }
      stack.push(section);
    } else if ((m = line.match(/^(.*?) = \[$/)) && current) {
      list = [];
      current[m[1]!] = list;
    } else if ((m = line.match(/^(.*?) = (.*)$/)) && current) {
      current[m[1]!] = m[2]!;
    } else if (current) {
      throw new Error(`unexpected swanctl output line: ${raw}`);
    }
    // Lines outside any message (warnings) are ignored.
  }
  return messages;
}

export interface ChildSa {
  /** Child SA config name and the key vici listed it under (`name-uniqueid`). */
  readonly name: string;
  readonly uniqueId: number;
  readonly reqid: number;
  /** INSTALLED, REKEYING, REKEYED, DELETING, DELETED, ... */
  readonly state: string;
  readonly mode: string;
  readonly protocol: string;
  readonly encap: boolean;
  /** Hex, as vici prints them (8 digits). */
  readonly spiIn: string;
  readonly spiOut: string;
  readonly encrAlg?: string;
  readonly encrKeysize?: number;
  readonly integAlg?: string;
  readonly dhGroup?: string;
  readonly localTs: readonly string[];
  readonly remoteTs: readonly string[];
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export interface IkeSa {
  readonly name: string;
  readonly uniqueId: number;
  readonly version: number;
  /** CONNECTING, ESTABLISHED, REKEYING, REKEYED, DELETING, ... */
  readonly state: string;
  readonly localHost: string;
  readonly localPort: number;
  readonly localId: string;
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly remoteId: string;
  /** This side initiated the IKE SA (vici `initiator = yes`). */
  readonly initiator: boolean;
  /** Hex, as vici prints them (16 digits). */
  readonly spiI: string;
  readonly spiR: string;
  readonly encrAlg?: string;
  readonly encrKeysize?: number;
  readonly integAlg?: string;
  readonly prfAlg?: string;
  readonly dhGroup?: string;
  readonly children: readonly ChildSa[];
}

const str = (s: ViciSection, k: string): string | undefined => {
  const v = s[k];
  return typeof v === 'string' ? v : undefined;
};
const num = (s: ViciSection, k: string): number | undefined => {
  const v = str(s, k);
  return v === undefined ? undefined : Number(v);
};
const strs = (s: ViciSection, k: string): readonly string[] => {
  const v = s[k];
  return Array.isArray(v) ? (v as readonly string[]) : [];
};
const section = (v: ViciValue | undefined): ViciSection =>
  v !== undefined && typeof v === 'object' && !Array.isArray(v) ? (v as ViciSection) : {};

function toChild(s: ViciSection): ChildSa {
  return {
    name: str(s, 'name') ?? '',
    uniqueId: num(s, 'uniqueid') ?? 0,
    reqid: num(s, 'reqid') ?? 0,
    state: str(s, 'state') ?? '',
    mode: str(s, 'mode') ?? '',
    protocol: str(s, 'protocol') ?? '',
    encap: str(s, 'encap') === 'yes',
    spiIn: str(s, 'spi-in') ?? '',
    spiOut: str(s, 'spi-out') ?? '',
    encrAlg: str(s, 'encr-alg'),
    encrKeysize: num(s, 'encr-keysize'),
    integAlg: str(s, 'integ-alg'),
    dhGroup: str(s, 'dh-group'),
    localTs: strs(s, 'local-ts'),
    remoteTs: strs(s, 'remote-ts'),
    bytesIn: num(s, 'bytes-in') ?? 0,
    bytesOut: num(s, 'bytes-out') ?? 0,
  };
}

function toIke(name: string, s: ViciSection): IkeSa {
  return {
    name,
    uniqueId: num(s, 'uniqueid') ?? 0,
    version: num(s, 'version') ?? 0,
    state: str(s, 'state') ?? '',
    localHost: str(s, 'local-host') ?? '',
    localPort: num(s, 'local-port') ?? 0,
    localId: str(s, 'local-id') ?? '',
    remoteHost: str(s, 'remote-host') ?? '',
    remotePort: num(s, 'remote-port') ?? 0,
    remoteId: str(s, 'remote-id') ?? '',
    initiator: str(s, 'initiator') === 'yes',
    spiI: str(s, 'initiator-spi') ?? '',
    spiR: str(s, 'responder-spi') ?? '',
    encrAlg: str(s, 'encr-alg'),
    encrKeysize: num(s, 'encr-keysize'),
    integAlg: str(s, 'integ-alg'),
    prfAlg: str(s, 'prf-alg'),
    dhGroup: str(s, 'dh-group'),
    children: Object.values(section(s['child-sas'])).map((c) => toChild(section(c))),
  };
}

/** IKE SAs from `swanctl --list-sas --pretty` output (one `list-sa event` per IKE SA). */
export function parseListSas(text: string): IkeSa[] {
  return parsePrettyVici(text)
    .filter((m) => m.name === 'list-sa event')
    .flatMap((m) => Object.entries(m.body).map(([name, body]) => toIke(name, section(body))));
}
