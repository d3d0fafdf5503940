/**
 * Address settings: `local_addrs` are literal IP addresses (we bind them); `remote_addrs`
 * may also be prefixes (192.0.2.0/24) or ranges (192.0.2.1-192.0.2.9), which only a
 * responder can use. Host names are refused: nothing here resolves DNS.
 */
import { BlockList, isIP } from 'node:net';

export const ANY_ADDR = '%any';

const family = (ip: string): 'ipv4' | 'ipv6' => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

function literal(text: string): string {
  if (isIP(text) === 0) throw new Error(`not a literal IP address: ${JSON.stringify(text)} (host names are not resolved)`);
  return text;
}

/** Checks a `local_addrs` item. */
export function checkLocalAddress(text: string): void {
  literal(text);
}

/** Adds one `remote_addrs` item to a block list (throws on a malformed one). */
function addRemote(list: BlockList, text: string): void {
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const [a, b] = [literal(text.slice(0, dash).trim()), literal(text.slice(dash + 1).trim())];
    if (family(a) !== family(b)) throw new Error(`range ${text} mixes IPv4 and IPv6`);
    list.addRange(a, b, family(a));
    return;
  }
  const [base, len] = text.split('/') as [string, string | undefined];
  literal(base);
  if (len === undefined) {
    list.addAddress(base, family(base));
    return;
  }
  const bits = /^\d+$/.test(len) ? Number(len) : NaN;
  if (!(bits >= 0 && bits <= (family(base) === 'ipv4' ? 32 : 128))) throw new Error(`bad prefix length in ${text}`);
  list.addSubnet(base, bits, family(base));
}

/** Checks a `remote_addrs` item. */
export function checkRemoteAddress(text: string): void {
  addRemote(new BlockList(), text);
}

/** Whether `ip` is one of `remoteAddrs` (empty = any). The items were checked before. */
export function remoteAddressMatcher(remoteAddrs: readonly string[]): (ip: string) => boolean {
  if (remoteAddrs.length === 0) return () => true;
  const list = new BlockList();
  for (const a of remoteAddrs) addRemote(list, a);
  return (ip) => isIP(ip) !== 0 && list.check(ip, family(ip));
}

/** The address we initiate to: the first literal address of `remote_addrs`. */
export const initiationTarget = (remoteAddrs: readonly string[]): string | undefined => remoteAddrs.find((a) => isIP(a) !== 0);
