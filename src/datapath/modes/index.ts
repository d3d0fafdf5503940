/** Modes: transport, tunnel, tunnel with address preservation (RFC 5374), BEET. */
import type { Address } from '../address.ts';
import { BeetMode, type BeetAddresses } from './beet.ts';
import { TransportMode } from './transport.ts';
import { TunnelMode, type TunnelEndpoints } from './tunnel.ts';
import type { ModeHandler } from './types.ts';

export type ModeConfig =
  | { readonly mode: 'transport' }
  | ({ readonly mode: 'tunnel' } & TunnelEndpoints)
  | { readonly mode: 'tunnel-preserve' }
  | ({ readonly mode: 'beet' } & BeetAddresses);

export function createMode(c: ModeConfig): ModeHandler {
  switch (c.mode) {
    case 'transport':
      return new TransportMode();
    case 'tunnel':
      return new TunnelMode(c);
    case 'tunnel-preserve':
      return new TunnelMode(null);
    case 'beet':
      return new BeetMode(c);
  }
}

export type { Address };
export { BeetMode, TransportMode, TunnelMode };
export type { BeetAddresses, TunnelEndpoints };
export * from './ip.ts';
export { outerOfAddresses, outerOfPacket } from './outer.ts';
export type { EspEncapsulator, EspFrame, EspMode, InnerPacket, ModeHandler, OuterView } from './types.ts';
