/**
 * The member's control protocol: line-delimited JSON over a local unix socket. One request
 * object per line, one response per request, matched by the optional `id`:
 *
 *   {"id":1,"cmd":"list"}
 *   {"id":2,"cmd":"initiate","conn":"gw","child":"net","wait":true,"timeoutMs":30000}
 *   {"id":3,"cmd":"rekey","what":"child","sa":"c0ffee01"}
 *   {"id":4,"cmd":"terminate","what":"ike","sa":"gw"}        (IKE SA id or connection name)
 *
 *   {"id":1,"ok":true,"result":{...}}
 *   {"id":3,"ok":false,"error":{"code":"NOT_SUPPORTED","message":"..."}}
 */
import { join } from 'node:path';

export type SaKind = 'ike' | 'child';

export type ControlCommand =
  | { readonly cmd: 'list' }
  | { readonly cmd: 'initiate'; readonly conn: string; readonly child?: string; readonly wait?: boolean; readonly timeoutMs?: number }
  | { readonly cmd: 'rekey'; readonly what: SaKind; readonly sa: string }
  | { readonly cmd: 'terminate'; readonly what: SaKind; readonly sa: string };

export type ControlRequest = ControlCommand & { readonly id?: string | number };

export type ControlErrorCode = 'BAD_REQUEST' | 'NOT_FOUND' | 'NOT_SUPPORTED' | 'FAILED' | 'TIMEOUT' | 'INTERNAL' | (string & {});

export type ControlResponse =
  | { readonly id?: string | number; readonly ok: true; readonly result: unknown }
  | { readonly id?: string | number; readonly ok: false; readonly error: { readonly code: ControlErrorCode; readonly message: string } };

export class ControlError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** Longest request line accepted. */
export const MAX_LINE = 64 * 1024;

const bad = (message: string): ControlError => new ControlError('BAD_REQUEST', message);

function field<T>(o: Record<string, unknown>, key: string, type: 'string' | 'boolean' | 'number', required: boolean): T | undefined {
  const v = o[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== type || (type === 'string' && v === '')) throw bad(`${key} must be a ${required ? 'non-empty ' : ''}${type}`);
  return v as T;
}

function kind(o: Record<string, unknown>): SaKind {
  const w = o['what'];
  if (w !== 'ike' && w !== 'child') throw bad('what must be "ike" or "child"');
  return w;
}

/** The id of a request line, if it can be read (for error responses). */
export function requestId(o: unknown): string | number | undefined {
  const id = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)['id'] : undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** Checks one decoded request line. Throws ControlError('BAD_REQUEST'). */
export function parseRequest(line: string): ControlRequest {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    throw bad('not a JSON object');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('not a JSON object');
  const r = o as Record<string, unknown>;
  const id = requestId(r);
  const withId = id === undefined ? {} : { id };
  switch (r['cmd']) {
    case 'list':
      return { ...withId, cmd: 'list' };
    case 'initiate': {
      const child = field<string>(r, 'child', 'string', false);
      const wait = field<boolean>(r, 'wait', 'boolean', false);
      const timeoutMs = field<number>(r, 'timeoutMs', 'number', false);
      if (timeoutMs !== undefined && !(timeoutMs > 0)) throw bad('timeoutMs must be positive');
      return {
        ...withId,
        cmd: 'initiate',
        conn: field<string>(r, 'conn', 'string', true)!,
        ...(child === undefined ? {} : { child }),
        ...(wait === undefined ? {} : { wait }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      };
    }
    case 'rekey':
    case 'terminate':
      return { ...withId, cmd: r['cmd'], what: kind(r), sa: field<string>(r, 'sa', 'string', true)! };
    default:
      throw bad(`unknown cmd ${JSON.stringify(r['cmd'])}: list, initiate, rekey or terminate`);
  }
}

/** $XDG_RUNTIME_DIR/gkm-member/control.sock, else /tmp/gkm-member-<uid>/control.sock. */
export function defaultControlPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['XDG_RUNTIME_DIR'] ? join(env['XDG_RUNTIME_DIR'], 'gkm-member') : `/tmp/gkm-member-${process.getuid?.() ?? 'user'}`;
  return join(dir, 'control.sock');
}
