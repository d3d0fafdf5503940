/**
 * Text generators for strongSwan 5.9.8 configuration: `strongswan.conf` (one charon's
 * daemon settings) and `swanctl.conf` (connections and secrets). Both files share one
 * syntax (nested `name { key = value }` sections), rendered by `renderSettings`.
 * See ../shared/INTEROP.md for why each daemon setting is there.
 */

export type SettingValue = string | number | boolean | readonly string[];
export interface SettingsTree {
  readonly [key: string]: SettingValue | SettingsTree | undefined;
}

/** Plugins that make a complete PSK/certificate peer here (INTEROP.md); libipsec before netlink. */
export const DEFAULT_PLUGINS: readonly string[] = [
  'random', 'nonce', 'openssl', 'aes', 'sha1', 'sha2', 'md5', 'hmac', 'gcm', 'ccm', 'ctr', 'chapoly',
  'cmac', 'xcbc', 'curve25519', 'gmp', 'kdf', 'pem', 'pkcs1', 'pkcs8', 'x509', 'pubkey', 'constraints',
  'revocation', 'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici',
];

/** charon's log groups (strongSwan's `debug_t`); levels -1 (silent) to 4 (keys included). */
export type LogGroup =
  | 'default' | 'dmn' | 'mgr' | 'ike' | 'chd' | 'job' | 'cfg' | 'knl' | 'net' | 'asn' | 'enc' | 'lib' | 'esp' | 'tls';
export type LogLevels = Partial<Record<LogGroup, number>>;

export interface CharonPorts {
  /** charon.port: where IKE starts (500 by default). */
  readonly ike: number;
  /** charon.port_nat_t: where IKE floats after NAT detection (4500 by default). */
  readonly natt: number;
}

/** Retransmission schedule (seconds): timeout * base^n for n = 0..tries. */
export interface Retransmit {
  readonly timeout: number;
  readonly base: number;
  readonly tries: number;
}

export interface CharonSettings {
  readonly dir: string;
  readonly ports: CharonPorts;
  readonly plugins?: readonly string[];
  readonly logLevels?: LogLevels;
  readonly ikesaTableSize?: number;
  readonly retransmit?: Retransmit;
  /**
   * Routing table for kernel-libipsec's routes. Its rule is put after `main` (priority
   * 40000), so routes installed on the host network namespace route nothing.
   */
  readonly routingTable: number;
  /** Restrict charon's address list to these interfaces (default: lo). */
  readonly interfaces?: readonly string[];
  /** Extra settings merged into the `charon { }` section (plugin options, ...). */
  readonly extra?: SettingsTree;
}

const QUOTE_NEEDED = /[{}#="\s,]|^$/;

function renderValue(v: SettingValue): string {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return QUOTE_NEEDED.test(v) ? JSON.stringify(v) : v;
  return v.map((x) => renderValue(x)).join(',');
}

const isTree = (v: SettingValue | SettingsTree): v is SettingsTree =>
  typeof v === 'object' && !Array.isArray(v);

/** Renders a settings tree in strongSwan's syntax; undefined values are left out. */
export function renderSettings(tree: SettingsTree, indent = ''): string {
  let out = '';
  for (const [key, v] of Object.entries(tree)) {
    if (v === undefined) continue;
    if (isTree(v)) out += `${indent}${key} {\n${renderSettings(v, indent + '  ')}${indent}}\n`;
    else out += `${indent}${key} = ${renderValue(v)}\n`;
  }
  return out;
}

/** Deep merge: `b` wins for scalar values, sections are merged. */
export function mergeSettings(a: SettingsTree, b: SettingsTree): SettingsTree {
  const out: Record<string, SettingValue | SettingsTree | undefined> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v !== undefined && prev !== undefined && isTree(v) && isTree(prev) ? mergeSettings(prev, v) : v;
  }
  return out;
}

export const viciUri = (dir: string): string => `unix://${dir}/charon.vici`;
export const charonLogPath = (dir: string): string => `${dir}/charon.log`;

/** The daemon's own strongswan.conf: nothing is read from /etc. */
export function strongswanConf(s: CharonSettings): string {
  const filelog: SettingsTree = {
    default: 1,
    ...s.logLevels,
    path: charonLogPath(s.dir),
    time_format: '%H:%M:%S',
    ike_name: true,
    flush_line: true,
    append: false,
  };
  const charon: SettingsTree = {
    load: (s.plugins ?? DEFAULT_PLUGINS).join(' '),
    port: s.ports.ike,
    port_nat_t: s.ports.natt,
    dos_protection: false,
    ikesa_table_size: s.ikesaTableSize ?? 64,
    install_routes: false,
    install_virtual_ip: false,
    routing_table: s.routingTable,
    routing_table_prio: 40000,
    interfaces_use: (s.interfaces ?? ['lo']).join(','),
    retransmit_timeout: s.retransmit?.timeout,
    retransmit_base: s.retransmit?.base,
    retransmit_tries: s.retransmit?.tries,
    plugins: {
      // Child SA traffic selectors may cover the peer's own address (both are 127.0.0.1).
      'kernel-libipsec': { allow_peer_ts: true },
      vici: { socket: viciUri(s.dir) },
    },
    filelog: { main: filelog },
    syslog: { daemon: { default: -1 } },
  };
  return renderSettings({ charon: s.extra ? mergeSettings(charon, s.extra) : charon });
}

// ---------------------------------------------------------------- swanctl.conf

export interface ChildSpec {
  readonly name: string;
  /** Traffic selectors; default `dynamic` (the IKE address, 127.0.0.1/32 here). */
  readonly localTs?: readonly string[];
  readonly remoteTs?: readonly string[];
  /** e.g. `aes128gcm16` (no PFS on rekey) or `aes128gcm16-x25519` (PFS). */
  readonly espProposals?: readonly string[];
  readonly mode?: 'tunnel' | 'transport';
  /** Durations in swanctl syntax, e.g. `10s`, `1h`; `0` disables. */
  readonly rekeyTime?: string;
  readonly lifeTime?: string;
  readonly dpdAction?: 'clear' | 'trap' | 'restart';
  readonly closeAction?: 'none' | 'clear' | 'trap' | 'start';
}

export interface ConnectionSpec {
  readonly name: string;
  readonly localAddrs: readonly string[];
  readonly remoteAddrs: readonly string[];
  readonly localPort?: number;
  readonly remotePort?: number;
  /** IKE proposals, e.g. `aes128gcm16-prfsha256-x25519`. */
  readonly proposals: readonly string[];
  readonly localId: string;
  readonly remoteId: string;
  readonly children: readonly ChildSpec[];
  readonly dpdDelay?: string;
  readonly rekeyTime?: string;
  readonly reauthTime?: string;
  readonly mobike?: boolean;
  /** Extra swanctl settings for this connection. */
  readonly extra?: SettingsTree;
}

export interface PskSecret {
  readonly name: string;
  readonly ids: readonly string[];
  readonly secret: string;
}

function childSection(c: ChildSpec): SettingsTree {
  return {
    local_ts: c.localTs ?? ['dynamic'],
    remote_ts: c.remoteTs ?? ['dynamic'],
    esp_proposals: c.espProposals ?? ['aes128gcm16'],
    mode: c.mode ?? 'tunnel',
    rekey_time: c.rekeyTime,
    life_time: c.lifeTime,
    dpd_action: c.dpdAction,
    close_action: c.closeAction,
  };
}

function connectionSection(c: ConnectionSpec): SettingsTree {
  const section: SettingsTree = {
    version: 2,
    local_addrs: c.localAddrs,
    remote_addrs: c.remoteAddrs,
    local_port: c.localPort,
    remote_port: c.remotePort,
    proposals: c.proposals,
    mobike: c.mobike ?? false,
    dpd_delay: c.dpdDelay,
    rekey_time: c.rekeyTime,
    reauth_time: c.reauthTime,
    local: { auth: 'psk', id: c.localId },
    remote: { auth: 'psk', id: c.remoteId },
    children: Object.fromEntries(c.children.map((ch) => [ch.name, childSection(ch)])),
  };
  return c.extra ? mergeSettings(section, c.extra) : section;
}

function secretSection(s: PskSecret): SettingsTree {
  const ids = Object.fromEntries(s.ids.map((id, i) => [`id-${i + 1}`, id]));
  return { ...ids, secret: s.secret };
}

export interface SwanctlConf {
  readonly connections: readonly ConnectionSpec[];
  readonly secrets: readonly PskSecret[];
}

export function swanctlConf(conf: SwanctlConf): string {
  return renderSettings({
    connections: Object.fromEntries(conf.connections.map((c) => [c.name, connectionSection(c)])),
    secrets: Object.fromEntries(conf.secrets.map((s) => [`ike-${s.name}`, secretSection(s)])),
  });
}

// ------------------------------------------------------- connections between two peers

/** One end of a connection: the address and port IKE uses there and its identity. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly id: string;
}

/** A connection described once, from which each end's swanctl view is derived. */
export interface LinkSpec {
  readonly name: string;
  readonly proposals: readonly string[];
  readonly espProposals?: readonly string[];
  /** Traffic selectors as seen from the first end (mirrored for the other). */
  readonly localTs?: readonly string[];
  readonly remoteTs?: readonly string[];
  readonly dpdDelay?: string;
  readonly dpdAction?: ChildSpec['dpdAction'];
  readonly rekeyTime?: string;
  readonly childRekeyTime?: string;
  readonly mode?: ChildSpec['mode'];
}

/** `link` as configured at `local` talking to `remote`; `mirrored` for the second end. */
export function connectionBetween(link: LinkSpec, local: Endpoint, remote: Endpoint, mirrored = false): ConnectionSpec {
  return {
    name: link.name,
    localAddrs: [local.address],
    remoteAddrs: [remote.address],
    localPort: local.port,
    remotePort: remote.port,
    proposals: link.proposals,
    localId: local.id,
    remoteId: remote.id,
    dpdDelay: link.dpdDelay,
    rekeyTime: link.rekeyTime,
    children: [
      {
        name: link.name,
        localTs: mirrored ? link.remoteTs : link.localTs,
        remoteTs: mirrored ? link.localTs : link.remoteTs,
        espProposals: link.espProposals,
        dpdAction: link.dpdAction,
        rekeyTime: link.childRekeyTime,
        mode: link.mode,
      },
    ],
  };
}
