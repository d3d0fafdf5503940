/**
 * pino for the command-line tools: to stderr (stdout is for `--json` events), synchronous
 * so nothing is lost at exit, either as pino's JSON lines or as readable text
 * (`time LEVEL message key=value ...`). Fields that could hold secrets are redacted as a
 * second line of defence; the member never logs them in the first place.
 */
import { pino, type DestinationStream, type Level, type Logger as PinoLogger } from 'pino';

export type LogFormat = 'text' | 'json';
export const LOG_LEVELS: readonly (Level | 'silent')[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);
const REDACT = ['psk', 'secret', 'key', 'keys', 'passphrase', '*.psk', '*.secret', '*.key', '*.keys', '*.passphrase'];

export interface Sink {
  write(text: string): unknown;
}

const scalar = (v: unknown): string => (typeof v === 'string' ? (/[\s"=]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v));

/** One JSON log line → `2024-05-01T12:00:00.000Z INFO  message key=value`. */
export function textLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof o['time'] === 'number' ? new Date(o['time']).toISOString() : '';
  const level = (LEVEL_NAMES[o['level'] as number] ?? String(o['level'])).padEnd(5);
  const fields = Object.entries(o)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${scalar(v)}`);
  return `${time} ${level} ${String(o['msg'] ?? '')}${fields.length ? ' ' + fields.join(' ') : ''}\n`;
}

export function createLogger(opts: { readonly level: string; readonly format: LogFormat; readonly sink?: Sink }): PinoLogger {
  const sink = opts.sink ?? { write: (t: string) => process.stderr.write(t) };
  const destination: DestinationStream = opts.format === 'json' ? sink : { write: (line: string) => sink.write(textLine(line)) };
  return pino({ level: opts.level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } }, destination);
}
