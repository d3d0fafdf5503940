/** One-line human descriptions of member events, for the log (SPIs and names only). */
import { endpointText } from '../ikev2/sa/types.ts';
import type { MemberEvent } from './events.ts';

const suiteText = (s: Readonly<Record<string, string>> | undefined): string => Object.values(s ?? {}).join(' ');
const named = (conn: string | undefined, id: string): string => (conn ? `${conn}[${id}]` : id);

export function describeEvent(e: MemberEvent): string {
  switch (e.event) {
    case 'ready':
      return `ready on ${e.sockets.join(', ')}${e.control ? `, control ${e.control}` : ''}`;
    case 'ike_up': {
      const i = e.ike;
      const nat = i.natLocal || i.natRemote ? ` NAT(${[i.natLocal ? 'local' : '', i.natRemote ? 'remote' : ''].filter(Boolean).join('+')})` : '';
      return `IKE SA ${named(i.name, i.id)} up as ${i.role}: ${endpointText(i.local)} <-> ${endpointText(i.remote)}, ${i.localId ?? '?'} <-> ${i.remoteId ?? '?'}, ${suiteText(i.suite)}${nat}`;
    }
    case 'child_up': {
      const c = e.child;
      const resource = c.resourceId === undefined ? '' : `, resource ${c.resourceId || 'fallback'}`;
      return `Child SA ${e.conn ? `${e.conn}/` : ''}${c.name} up on ${e.ikeSaId}: SPIs ${c.inboundSpi}_i ${c.outboundSpi}_o, ${c.mode}${c.encapsulated ? ' UDP-encapsulated' : ''}, ${suiteText(c.suite)}, ${c.localTs.join(',')} === ${c.remoteTs.join(',')}${resource}`;
    }
    case 'rekeyed':
      return `${e.what === 'ike' ? 'IKE' : 'Child'} SA ${e.old} rekeyed to ${e.new}${e.conn ? ` (${e.conn})` : ''}`;
    case 'deleted':
      return e.what === 'ike'
        ? `IKE SA ${named(e.conn, e.ikeSaId)} deleted (${e.reason})`
        : `Child SA ${e.child?.name ?? ''} ${e.child?.inboundSpi ?? ''}_i of ${e.ikeSaId} deleted (${e.reason})`;
    case 'error':
      return `error ${e.code}${e.notifyName ? ` (${e.notifyName}${e.notify !== undefined ? ` ${e.notify}` : ''})` : ''}${e.ikeSaId ? ` on ${named(e.conn, e.ikeSaId)}` : ''}: ${e.message}`;
    case 'stopped':
      return 'stopped';
  }
}
