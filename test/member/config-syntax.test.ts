import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/member/config/errors.ts';
import { parseSettings, type Entry, type Section } from '../../src/member/config/syntax.ts';

/** A compact view: sections as objects, settings as their item texts. */
function view(s: Section): unknown {
  const out: Record<string, unknown> = {};
  for (const e of s.entries as Entry[]) out[e.kind === 'setting' ? e.key : e.name] = e.kind === 'setting' ? e.items.map((i) => i.text) : view(e);
  return out;
}

test('sections, settings, lists, comments, quotes and continuation lines', () => {
  const text = [
    '# a comment',
    'connections {',
    '  gw {   # trailing comment',
    '    remote_addrs = 192.0.2.1, 192.0.2.2',
    '    proposals = aes256gcm16-prfsha256-x25519,',
    '                aes128gcm16-prfsha256-ecp256',
    '    local { auth = psk }',
    '    empty =',
    '    spaced = some words here',
    '    quoted = "with, comma # and hash", "esc \\"q\\" \\\\ \\n"',
    '  }',
    '}',
    '',
  ].join('\n');
  assert.deepEqual(view(parseSettings(text)), {
    connections: {
      gw: {
        remote_addrs: ['192.0.2.1', '192.0.2.2'],
        proposals: ['aes256gcm16-prfsha256-x25519', 'aes128gcm16-prfsha256-ecp256'],
        local: { auth: ['psk'] },
        empty: [],
        spaced: ['some words here'],
        quoted: ['with, comma # and hash', 'esc "q" \\ \n'],
      },
    },
  });
});

test('positions of entries and items are 1-based lines and columns', () => {
  const root = parseSettings('a {\n  b = x,  "y"\n}\n');
  const a = root.entries[0] as Section;
  assert.deepEqual(a.pos, { line: 1, column: 1 });
  const b = a.entries[0]!;
  assert.equal(b.kind, 'setting');
  if (b.kind !== 'setting') return;
  assert.deepEqual(b.pos, { line: 2, column: 3 });
  assert.deepEqual(b.items.map((i) => [i.pos.line, i.pos.column, i.quoted]), [[2, 7, false], [2, 11, true]]);
});

test('a byte-order mark and CRLF line ends are accepted', () => {
  assert.deepEqual(view(parseSettings('\ufeffa {\r\n  b = c\r\n}\r\n')), { a: { b: ['c'] } });
});

const ERRORS: readonly { text: string; line: number; column: number; message: RegExp }[] = [
  { text: 'a {\n  b = c\n', line: 1, column: 1, message: /section a is not closed/ },
  { text: 'a = b\n}\n', line: 2, column: 1, message: /unexpected '}'/ },
  { text: 'a b\n', line: 1, column: 3, message: /expected '=' or '\{' after a, found 'b'/ },
  { text: 'a\n', line: 1, column: 2, message: /expected '=' or '\{' after a, found the end of the line/ },
  { text: '= b\n', line: 1, column: 1, message: /expected a name, found '='/ },
  { text: 'x {\n  b$ = 1\n}', line: 2, column: 4, message: /expected '=' or '\{' after b, found '\$'/ },
  { text: 'a = "open\n', line: 1, column: 5, message: /string is not closed/ },
  { text: 'a = "x\\q"\n', line: 1, column: 7, message: /unknown escape \\q/ },
  { text: 'a = "x" y\n', line: 1, column: 9, message: /unexpected 'y' after a quoted value/ },
  { text: 'a = b { c }\n', line: 1, column: 7, message: /unexpected '\{' in a value/ },
  { text: 'a = b"c"\n', line: 1, column: 6, message: /unexpected '"' inside an unquoted value/ },
  { text: 'a = b; c = d\n', line: 1, column: 6, message: /unexpected ';'/ },
  { text: 'a = b,\n', line: 2, column: 1, message: /expected a value after ','/ },
  { text: 's {\n  a = b,\n}\n', line: 3, column: 1, message: /expected a value after ','/ },
  { text: 'a = b, , c\n', line: 1, column: 8, message: /expected a value after ','/ },
  { text: 'a = , c\n', line: 1, column: 5, message: /expected a value before ','/ },
  { text: 'include other.conf\n', line: 1, column: 1, message: /include is not supported/ },
  { text: 'a = 1\nb = 2\na = 3\n', line: 3, column: 1, message: /a given twice \(first at line 1, column 1\)/ },
  { text: 's {\n}\ns {\n}\n', line: 3, column: 1, message: /s given twice/ },
];

for (const c of ERRORS) {
  test(`syntax error at ${c.line}:${c.column}: ${c.message.source}`, () => {
    assert.throws(
      () => parseSettings(c.text, 'x.conf'),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.issues.length, 1);
        const [issue] = e.issues;
        assert.deepEqual([issue!.file, issue!.pos.line, issue!.pos.column], ['x.conf', c.line, c.column], issue!.message);
        assert.match(issue!.message, c.message);
        assert.match(e.message, new RegExp(`^x\\.conf:${c.line}:${c.column}: `));
        return true;
      },
    );
  });
}
