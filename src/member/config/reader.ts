/**
 * Typed reads from a parsed section. Every read marks its key as known; `finish()` reports
 * the keys nobody asked for, so a typo is an error at its position rather than a setting
 * silently ignored. Bad values are recorded in the IssueList and replaced by the default,
 * so one pass reports every problem of a file.
 */
import type { IssueList, SourcePos } from './errors.ts';
import type { Entry, Section, Setting, ValueItem } from './syntax.ts';

export interface Located<T> {
  readonly value: T;
  readonly pos: SourcePos;
}

const DURATION = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };
const BOOLEANS: Readonly<Record<string, boolean>> = { yes: true, true: true, no: false, false: false };

export class SectionReader {
  readonly #section: Section;
  readonly #used = new Set<string>();
  readonly issues: IssueList;
  /** Dotted path for messages, e.g. `connections.gw.local`. */
  readonly path: string;

  constructor(section: Section, issues: IssueList, path = section.name) {
    this.#section = section;
    this.issues = issues;
    this.path = path;
  }

  get name(): string {
    return this.#section.name;
  }

  get pos(): SourcePos {
    return this.#section.pos;
  }

  #entry(key: string): Entry | undefined {
    this.#used.add(key);
    return this.#section.entries.find((e) => (e.kind === 'setting' ? e.key : e.name) === key);
  }

  setting(key: string): Setting | undefined {
    const e = this.#entry(key);
    if (e?.kind === 'section') {
      this.issues.error(e.pos, `${this.#where(key)} is a setting (key = value), not a section`);
      return undefined;
    }
    return e;
  }

  section(key: string): SectionReader | undefined {
    const e = this.#entry(key);
    if (e?.kind === 'setting') {
      this.issues.error(e.pos, `${this.#where(key)} is a section (${key} { ... }), not a setting`);
      return undefined;
    }
    return e && new SectionReader(e, this.issues, this.#where(key));
  }

  /** Every entry as a named subsection (connections, children, secrets); settings are errors. */
  subsections(): SectionReader[] {
    const out: SectionReader[] = [];
    for (const e of this.#section.entries) {
      this.#used.add(e.kind === 'setting' ? e.key : e.name);
      if (e.kind === 'setting') this.issues.error(e.pos, `${this.#where(e.key)}: expected a section (${e.key} { ... }), not a setting`);
      else out.push(new SectionReader(e, this.issues, this.#where(e.name)));
    }
    return out;
  }

  /** All items of a list setting (empty when absent). */
  list(key: string): readonly ValueItem[] {
    return this.setting(key)?.items ?? [];
  }

  /** A single-valued setting, or undefined when absent. */
  string(key: string): Located<string> | undefined {
    const s = this.setting(key);
    if (!s) return undefined;
    const [first, second] = s.items;
    if (!first) {
      this.issues.error(s.valuePos, `${this.#where(key)} needs a value`);
      return undefined;
    }
    if (second) this.issues.error(second.pos, `${this.#where(key)} takes one value, not a list`);
    return { value: first.text, pos: first.pos };
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(key);
    if (!v) return fallback;
    if ((allowed as readonly string[]).includes(v.value)) return v.value as T;
    this.issues.error(v.pos, `${this.#where(key)} must be one of ${allowed.join(', ')}; found ${JSON.stringify(v.value)}`);
    return fallback;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.string(key);
    if (!v) return fallback;
    const b = BOOLEANS[v.value];
    if (b === undefined) this.issues.error(v.pos, `${this.#where(key)} must be yes or no; found ${JSON.stringify(v.value)}`);
    return b ?? fallback;
  }

  int(key: string, range: { readonly min: number; readonly max: number }, fallback: number): number {
    const v = this.string(key);
    if (!v) return fallback;
    const n = /^\d+$/.test(v.value) ? Number(v.value) : NaN;
    if (Number.isInteger(n) && n >= range.min && n <= range.max) return n;
    this.issues.error(v.pos, `${this.#where(key)} must be an integer in ${range.min}..${range.max}; found ${JSON.stringify(v.value)}`);
    return fallback;
  }

  /** swanctl durations: `90`, `90s`, `15m`, `4h`, `1d` (seconds when no unit). */
  duration(key: string, fallback: number): number {
    const v = this.string(key);
    if (!v) return fallback;
    const m = DURATION.exec(v.value);
    if (m) return Number(m[1]) * UNIT_SECONDS[m[2] ?? '']!;
    this.issues.error(v.pos, `${this.#where(key)} must be a duration such as 30s, 15m, 4h or 1d; found ${JSON.stringify(v.value)}`);
    return fallback;
  }

  /** Settings whose key passes `test` (swanctl's `id`, `id-1`, `id_gw` ...), in file order. */
  settingsWhere(test: (key: string) => boolean): Setting[] {
    const out: Setting[] = [];
    for (const e of this.#section.entries) {
      if (e.kind !== 'setting' || !test(e.key)) continue;
      this.#used.add(e.key);
      out.push(e);
    }
    return out;
  }

  /** Whether the key is present (marks it known). */
  has(key: string): boolean {
    return this.#entry(key) !== undefined;
  }

  /**
   * A swanctl setting we accept but do not implement: a warning unless its value is one of
   * `harmless` (the behaviour we have anyway).
   */
  ignored(key: string, harmless: readonly string[], note: string): void {
    const s = this.setting(key);
    if (!s) return;
    const value = s.items.map((i) => i.text).join(',');
    if (!harmless.includes(value)) this.issues.warn(s.pos, `${this.#where(key)} = ${value} is ignored: ${note}`);
  }

  /** Reports every entry no read asked for. */
  finish(): void {
    const known = [...this.#used].filter((k) => k !== '').sort();
    for (const e of this.#section.entries) {
      const key = e.kind === 'setting' ? e.key : e.name;
      if (this.#used.has(key)) continue;
      const what = e.kind === 'setting' ? 'setting' : 'section';
      this.issues.error(e.pos, `unknown ${what} ${key} in ${this.path || 'the top level'}${known.length ? ` (known: ${known.join(', ')})` : ''}`);
    }
  }

  #where(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }
}
