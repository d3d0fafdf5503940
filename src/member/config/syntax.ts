/**
 * The swanctl-like settings syntax of the member's configuration file, parsed strictly
 * with line and column in every error:
 *
 *   # comment
 *   connections {
 *     gw {                                # section: name { ... }
 *       remote_addrs = 192.0.2.1          # setting: key = value
 *       proposals = aes256gcm16-prfsha256-x25519, aes128gcm16-prfsha256-ecp256
 *       local { auth = psk }              # a value ends at a newline, '#' or '}'
 *       secret = "quoted, with \"escapes\" and # signs"
 *     }
 *   }
 *
 * Values are lists: items separated by commas (a trailing comma continues the list on the
 * next line). An unquoted item runs to the next comma, newline, '#' or '}' and is trimmed,
 * so it may contain inner spaces. Unlike strongSwan, a key or section appears at most once
 * per section, and `include` is not supported: a config is one file.
 */
import { ConfigError, type SourcePos } from './errors.ts';

export interface ValueItem {
  readonly text: string;
  readonly pos: SourcePos;
  readonly quoted: boolean;
}

export interface Setting {
  readonly kind: 'setting';
  readonly key: string;
  readonly pos: SourcePos;
  readonly items: readonly ValueItem[];
  /** Where the value starts (after '='). */
  readonly valuePos: SourcePos;
}

export interface Section {
  readonly kind: 'section';
  readonly name: string;
  readonly pos: SourcePos;
  readonly entries: readonly Entry[];
}

export type Entry = Setting | Section;

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r' };

class Scanner {
  #at = 0;
  #line = 1;
  #column = 1;

  constructor(
    readonly text: string,
    readonly file: string,
  ) {}

  get pos(): SourcePos {
    return { line: this.#line, column: this.#column };
  }

  get done(): boolean {
    return this.#at >= this.text.length;
  }

  peek(): string {
    return this.text[this.#at] ?? '';
  }

  next(): string {
    const c = this.text[this.#at++] ?? '';
    if (c === '\n') {
      this.#line++;
      this.#column = 1;
    } else {
      this.#column++;
    }
    return c;
  }

  fail(pos: SourcePos, message: string): never {
    throw new ConfigError([{ file: this.file, pos, message }]);
  }

  /** Skips spaces and tabs (and newlines and comments when `newlines`). */
  skip(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.next();
      else if (newlines && c === '#') this.skipComment();
      else return;
    }
  }

  skipComment(): void {
    while (!this.done && this.peek() !== '\n') this.next();
  }
}

/** Parses a whole file into its top-level entries. Throws ConfigError on the first syntax error. */
export function parseSettings(text: string, file = '<config>'): Section {
  const s = new Scanner(text.startsWith('\ufeff') ? text.slice(1) : text, file);
  const entries = parseBody(s, undefined);
  return { kind: 'section', name: '', pos: { line: 1, column: 1 }, entries };
}

function parseBody(s: Scanner, open: { name: string; pos: SourcePos } | undefined): Entry[] {
  const entries: Entry[] = [];
  const seen = new Map<string, SourcePos>();
  for (;;) {
    s.skip(true);
    if (s.done) {
      if (open) s.fail(open.pos, `section ${open.name} is not closed: '}' missing`);
      return entries;
    }
    if (s.peek() === '}') {
      if (!open) s.fail(s.pos, "unexpected '}': no section is open");
      s.next();
      return entries;
    }
    const entry = parseEntry(s);
    const key = entry.kind === 'setting' ? entry.key : entry.name;
    const first = seen.get(key);
    if (first) s.fail(entry.pos, `${key} given twice (first at line ${first.line}, column ${first.column})`);
    seen.set(key, entry.pos);
    entries.push(entry);
  }
}

function parseName(s: Scanner): string {
  let name = '';
  while (NAME_CHAR.test(s.peek())) name += s.next();
  if (name === '') s.fail(s.pos, `expected a name, found ${describe(s.peek())}`);
  return name;
}

function parseEntry(s: Scanner): Entry {
  const pos = s.pos;
  const name = parseName(s);
  s.skip(false);
  const c = s.peek();
  if (c === '{') {
    s.next();
    return { kind: 'section', name, pos, entries: parseBody(s, { name, pos }) };
  }
  if (c === '=') {
    s.next();
    s.skip(false);
    const valuePos = s.pos;
    return { kind: 'setting', key: name, pos, items: parseValue(s), valuePos };
  }
  if (name === 'include') s.fail(pos, 'include is not supported: put everything in one file');
  return s.fail(s.pos, `expected '=' or '{' after ${name}, found ${describe(c)}`);
}

/** Items up to the end of the line, '#' or '}' (which is left for the section). */
function parseValue(s: Scanner): ValueItem[] {
  const items: ValueItem[] = [];
  for (;;) {
    s.skip(false);
    const c = s.peek();
    if (s.done || c === '\n' || c === '#' || c === '}') return items; // only before the first item
    if (c === ',') s.fail(s.pos, items.length > 0 ? "expected a value after ','" : "expected a value before ','");
    const item = c === '"' ? parseQuoted(s) : parseUnquoted(s);
    items.push(item);
    s.skip(false);
    if (s.peek() !== ',') return items;
    s.next();
    s.skip(true); // a trailing comma continues the list on the next line
    if (s.done || s.peek() === '}') s.fail(s.pos, "expected a value after ','");
  }
}

function parseUnquoted(s: Scanner): ValueItem {
  const pos = s.pos;
  let text = '';
  for (;;) {
    const c = s.peek();
    if (s.done || c === '\n' || c === '#' || c === '}' || c === ',') break;
    if (c === '{') s.fail(s.pos, "unexpected '{' in a value: quote the value or start a section on its own line");
    if (c === '"') s.fail(s.pos, 'unexpected \'"\' inside an unquoted value: quote the whole value');
    if (c === ';') s.fail(s.pos, "unexpected ';': put each setting on its own line, or quote the value");
    text += s.next();
  }
  return { text: text.trimEnd(), pos, quoted: false };
}

function parseQuoted(s: Scanner): ValueItem {
  const pos = s.pos;
  s.next();
  let text = '';
  for (;;) {
    if (s.done) s.fail(pos, 'string is not closed: \'"\' missing');
    const c = s.next();
    if (c === '"') break;
    if (c !== '\\') {
      text += c;
      continue;
    }
    const escPos = s.pos;
    const e = s.next();
    const v = ESCAPES[e];
    if (v === undefined) s.fail({ line: escPos.line, column: escPos.column - 1 }, `unknown escape \\${e}`);
    text += v;
  }
  s.skip(false);
  const c = s.peek();
  if (!(s.done || c === '\n' || c === '#' || c === '}' || c === ',')) s.fail(s.pos, `unexpected ${describe(c)} after a quoted value`);
  return { text, pos, quoted: true };
}

function describe(c: string): string {
  if (c === '') return 'the end of the file';
  if (c === '\n') return 'the end of the line';
  return `'${c}'`;
}
