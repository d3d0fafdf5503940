/**
 * The sample group created on first start, so that a fresh GCKS can be joined at once:
 *
 *   IDg       KEY_ID "sample-group"
 *   ESP       AES-GCM-16-256, several senders (SN 2), tunnel mode with address
 *             preservation, to 239.192.0.1 (UDP, any port), 1 h
 *   Rekey SA  multicast to 239.192.0.100:848, AES-GCM-16-256, KW_5649_256, GSA_REKEY
 *             signed with Ed25519 (key generated, stored sealed), 24 h
 *   GW        ATD 5 s, DTD 10 s, 8 Sender-ID bits
 *   member    KEY_ID "sample-member", sender and receiver, up to 4 Sender-IDs; its PSK is
 *             written next to the database as sample-member.psk (0600)
 *
 * PSK file format: one line; the PSK is the UTF-8 bytes of the line without its newline.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IdType } from '../../ikev2/registry/misc.ts';
import type { Store } from '../../store/index.ts';
import { createGroup } from './groups.ts';
import { addMember, authorizeMember } from './members.ts';

export const SAMPLE_GROUP_NAME = 'sample-group';
export const SAMPLE_MEMBER_ID = 'sample-member';
export const SAMPLE_PSK_FILE = 'sample-member.psk';
const ACTOR = 'gcks:first-start';

export const SAMPLE_POLICY = {
  dataSecuritySas: [
    {
      name: 'sample-data',
      mode: 'tunnel',
      senders: 'multiple',
      encryption: { algorithm: 'aes-gcm-16', keyBits: 256 },
      destination: { address: '239.192.0.1', protocol: 'udp' },
      lifetimeSeconds: 3600,
    },
  ],
  rekey: {
    method: 'multicast',
    sa: {
      destination: { address: '239.192.0.100', port: 848 },
      encryption: { algorithm: 'aes-gcm-16', keyBits: 256 },
      keyWrap: 'kw-5649-256',
      authentication: { method: 'signature', algorithm: 'ed25519' },
      lifetimeSeconds: 86400,
    },
  },
  groupWide: { activationTimeDelay: 5, deactivationTimeDelay: 10, senderIdBits: 8 },
} as const;

export interface SampleGroupResult {
  /** False when the group existed already (nothing was changed). */
  readonly created: boolean;
  readonly groupId: number;
  /** The PSK file written when the sample member was created (null in memory / member kept). */
  readonly pskFile: string | null;
}

/** Write `text` to a file, owner-only. */
function writeSecretFile(path: string, text: string): void {
  const fd = openSync(path, 'w', 0o600);
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Create the sample group and member unless a group named "sample-group" exists. `dir`: where
 * the PSK file goes (default: the database's directory; required for an in-memory store).
 */
export function ensureSampleGroup(store: Store, opts: { readonly dir?: string } = {}): SampleGroupResult {
  const existing = store.groups.getByName(SAMPLE_GROUP_NAME);
  if (existing) return { created: false, groupId: existing.id, pskFile: null };
  const psk = randomBytes(32).toString('base64url');
  const { group, memberCreated } = store.transaction(() => {
    const created = createGroup(
      store,
      { name: SAMPLE_GROUP_NAME, identity: { idType: IdType.ID_KEY_ID, data: Buffer.from(SAMPLE_GROUP_NAME) }, memberCap: 1000, policy: SAMPLE_POLICY },
      ACTOR,
    );
    const identity = { idType: IdType.ID_KEY_ID, data: Buffer.from(SAMPLE_MEMBER_ID) };
    // A sample member left from an earlier sample group keeps its PSK (and its file).
    const existingMember = store.members.findByIdentity(identity);
    const member = existingMember ?? addMember(store, { identity, credential: { kind: 'psk', psk: Buffer.from(psk, 'utf8') } }, ACTOR);
    authorizeMember(store, created.group.id, member.id, { role: 'both', maxSenderIds: 4 }, ACTOR);
    return { ...created, memberCreated: existingMember === undefined };
  });
  const dir = opts.dir ?? (store.path === ':memory:' ? undefined : dirname(store.path));
  if (dir === undefined || !memberCreated) return { created: true, groupId: group.id, pskFile: null };
  const pskFile = join(dir, SAMPLE_PSK_FILE);
  writeSecretFile(pskFile, `${psk}\n`);
  return { created: true, groupId: group.id, pskFile };
}
