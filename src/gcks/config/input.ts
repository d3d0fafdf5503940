/**
 * Reading untrusted JSON-shaped input (configuration files, policy documents, admin API
 * bodies) into typed values, each failure a GkmError of the caller's code with the field's
 * path (e.g. "dataSecuritySas[0].destination.address") and what was expected.
 */
import { GkmError, type ErrorCode } from '../../ikev2/errors.ts';

export class InputReader {
  constructor(
    readonly code: ErrorCode,
    readonly base = '',
  ) {}

  fail(field: string, detail: string, code: ErrorCode = this.code): never {
    throw new GkmError(code, { field: this.path(field), detail });
  }

  path(field: string): string {
    return this.base === '' ? field : field === '' ? this.base : field.startsWith('[') ? `${this.base}${field}` : `${this.base}.${field}`;
  }

  /** A reader for a nested field. */
  at(field: string): InputReader {
    return new InputReader(this.code, this.path(field));
  }

  /** A plain object whose keys are all in `allowed` (typos are errors, not ignored). */
  object(v: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(field, 'must be an object');
    const unknown = Object.keys(v).filter((k) => !allowed.includes(k));
    if (unknown.length > 0) this.fail(field, `unknown field(s) ${unknown.join(', ')}; expected ${allowed.join(', ')}`);
    return v as Record<string, unknown>;
  }

  array(v: unknown, field: string, opts: { readonly min?: number; readonly max?: number } = {}): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'must be an array');
    if (opts.min !== undefined && v.length < opts.min) this.fail(field, `needs at least ${opts.min} element(s)`);
    if (opts.max !== undefined && v.length > opts.max) this.fail(field, `at most ${opts.max} element(s)`);
    return v;
  }

  string(v: unknown, field: string, opts: { readonly pattern?: RegExp; readonly max?: number; readonly what?: string } = {}): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(field, 'must be a non-empty string');
    if (opts.max !== undefined && v.length > opts.max) this.fail(field, `at most ${opts.max} characters`);
    if (opts.pattern && !opts.pattern.test(v)) this.fail(field, `${JSON.stringify(v)} is not ${opts.what ?? `of the form ${opts.pattern}`}`);
    return v;
  }

  integer(v: unknown, field: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(field, `${JSON.stringify(v)} is not an integer in ${min}..${max}`);
    return v;
  }

  boolean(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, 'must be true or false');
    return v;
  }

  oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
    if (typeof v !== 'string' || !values.includes(v as T)) this.fail(field, `${JSON.stringify(v)} is not one of ${values.join(', ')}`);
    return v as T;
  }

  /** `read(v)` when `v` is present, else `fallback`. */
  optional<T, F = undefined>(v: unknown, read: (v: unknown) => T, fallback?: F): T | F {
    return v === undefined ? (fallback as F) : read(v);
  }
}
