/**
 * Key-log directory: Wireshark's `ikev2_decryption_table` and `esp_sa` UAT files plus a
 * `keys.json` with every IKE SA (SPIs, negotiated transforms, SK_d/a/e/p) and Child or
 * group SA (SPIs, keys), so key downloads can be checked offline. Off by default: whoever
 * turns it on is warned, since these files hold live keys. Files are written 0600, each
 * replaced atomically (write to a temporary name, then rename), so readers never see a
 * half-written file. Nothing here logs a key.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { espSaLine, ikev2DecryptionTableLine, type EspSaKeyRecord, type IkeSaKeyRecord } from './wireshark.ts';

export const KEYLOG_FILES = {
  ikev2: 'ikev2_decryption_table',
  esp: 'esp_sa',
  json: 'keys.json',
} as const;

function toJson(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = Buffer.isBuffer(v) ? v.toString('hex') : v;
  return out;
}

export class KeyLogWriter {
  private readonly ikeSas = new Map<string, IkeSaKeyRecord>();
  private readonly espSas = new Map<string, EspSaKeyRecord>();

  constructor(
    readonly dir: string,
    warn: (msg: string) => void = (m) => process.emitWarning(m, 'KeyLogWarning'),
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    warn(`key log enabled: live IKE and ESP keys are written to ${dir}; use only for debugging`);
  }

  recordIkeSa(r: IkeSaKeyRecord): void {
    this.ikeSas.set(`${r.spiI.toString('hex')}:${r.spiR.toString('hex')}`, r);
    this.flush();
  }

  recordEspSa(r: EspSaKeyRecord): void {
    this.espSas.set(`${r.dst}:${r.spi}`, r);
    this.flush();
  }

  /** Forget an SA (deleted or expired) and rewrite the files without it. */
  forgetIkeSa(spiI: Buffer, spiR: Buffer): void {
    if (this.ikeSas.delete(`${spiI.toString('hex')}:${spiR.toString('hex')}`)) this.flush();
  }

  private write(name: string, text: string): void {
    const path = join(this.dir, name);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, path);
  }

  flush(): void {
    const ike = [...this.ikeSas.values()];
    const esp = [...this.espSas.values()];
    this.write(KEYLOG_FILES.ikev2, ike.map((r) => ikev2DecryptionTableLine(r) + '\n').join(''));
    this.write(KEYLOG_FILES.esp, esp.map((r) => espSaLine(r) + '\n').join(''));
    const json = {
      format: 'gkm-ikev2 keylog v1',
      ikeSas: ike.map((r) => toJson(r)),
      espSas: esp.map((r) => toJson(r)),
    };
    this.write(KEYLOG_FILES.json, JSON.stringify(json, null, 2) + '\n');
  }
}
