/** UDP endpoints as the transport sees them: literal IP addresses only, never host names. */
import { isIP } from 'node:net';
import { GkmError } from '../errors.ts';

export type AddressFamily = 'IPv4' | 'IPv6';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: AddressFamily;
}

/** An address and port without a family (the family follows from the address). */
export type AddressPort = Pick<Endpoint, 'address' | 'port'>;

/** The family of a literal IP address; anything else is a configuration error. */
export function familyOf(address: string): AddressFamily {
  switch (isIP(address)) {
    case 4:
      return 'IPv4';
    case 6:
      return 'IPv6';
    default:
      throw new GkmError('GKM_TRANSPORT_CONFIG', { field: 'address', detail: `not a literal IP address: ${JSON.stringify(address)}` });
  }
}

export function endpoint(address: string, port: number): Endpoint {
  return { address, port, family: familyOf(address) };
}

export const sameEndpoint = (a: AddressPort, b: AddressPort): boolean => a.address === b.address && a.port === b.port;

/** Map key for an address/port pair (IPv6 in brackets so that the port stays unambiguous). */
export const endpointKey = (e: AddressPort): string => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);

export const isPort = (p: unknown, allowZero = false): p is number =>
  typeof p === 'number' && Number.isInteger(p) && p >= (allowZero ? 0 : 1) && p <= 0xffff;
