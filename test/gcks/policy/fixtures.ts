/** Policy documents for tests: a valid base and a way to change one field. */

/** A valid multicast-rekey policy with two ESP SAs. */
export function basePolicy(): Record<string, unknown> {
  return {
    dataSecuritySas: [
      {
        name: 'video',
        mode: 'tunnel',
        senders: 'multiple',
        encryption: { algorithm: 'aes-gcm-16', keyBits: 256 },
        destination: { address: '239.1.1.1', protocol: 'udp', port: 5004 },
        lifetimeSeconds: 3600,
      },
      {
        name: 'control',
        mode: 'tunnel',
        senders: 'single',
        encryption: { algorithm: 'aes-cbc', keyBits: 128 },
        integrity: 'hmac-sha2-256-128',
        source: { address: '192.0.2.10' },
        destination: { address: '239.1.2.0/24' },
        lifetimeSeconds: 7200,
      },
    ],
    rekey: {
      method: 'multicast',
      sa: {
        destination: { address: '239.1.1.100', port: 848 },
        encryption: { algorithm: 'aes-gcm-16', keyBits: 256 },
        keyWrap: 'kw-5649-256',
        authentication: { method: 'signature', algorithm: 'ed25519' },
        lifetimeSeconds: 86400,
      },
    },
    groupWide: { activationTimeDelay: 3, deactivationTimeDelay: 6, senderIdBits: 12 },
  };
}

/** `basePolicy()` with the value at a dotted path ("dataSecuritySas.0.mode") replaced or deleted (undefined). */
export function changed(path: string, value: unknown, doc: Record<string, unknown> = basePolicy()): Record<string, unknown> {
  const keys = path.split('.');
  let at: Record<string, unknown> = doc;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return doc;
}
