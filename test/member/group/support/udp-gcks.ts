/** The scripted GCKS on a real UDP socket on 127.0.0.1 (ephemeral port), for CLI tests. */
import { IkeNode } from '../../../../src/ikev2/node.ts';
import { ScriptedGcks } from './scripted-gcks.ts';

export interface UdpGcks {
  readonly gcks: ScriptedGcks;
  readonly node: IkeNode;
  readonly port: number;
  close(): Promise<void>;
}

export async function startUdpGcks(gcks = new ScriptedGcks()): Promise<UdpGcks> {
  const node = await IkeNode.open({
    transport: { sockets: [{ address: '127.0.0.1', port: 0, kind: 'ike', marker: 'auto' }] },
    engine: { responder: gcks.responderPolicy(), options: { livenessIntervalMs: 0 } },
  });
  for (const h of gcks.handlers()) node.engine.registerResponder(h);
  return { gcks, node, port: node.transport.sockets()[0]!.local.port, close: () => node.close() };
}
