import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  FETCH_FILES_FIX,
  errorText,
  escapeControls,
  fileErrorText,
  formatDiagnostic,
  formatDiagnostics,
  notLoaded,
  quote,
  quoteName,
  showJson,
  truncate,
} from '../src/encoding/text.ts';

const CLEF = '\u{1d11e}'; // 𝄞, a surrogate pair
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** True when the text survives UTF-8 (no lone surrogate). */
function wellFormed(text: string): boolean {
  return decoder.decode(encoder.encode(text)) === text;
}

describe('truncate', () => {
  test('keeps a text at or under the limit as it is', () => {
    assert.equal(truncate('abc', 3), 'abc');
    assert.equal(truncate('', 0), '');
  });

  test('cuts at the limit and marks the cut', () => {
    assert.equal(truncate('abcdef', 4), 'abcd…');
  });

  test('a cut that would split a surrogate pair keeps the whole pair out', () => {
    const text = `${'a'.repeat(63)}${CLEF}tail`;
    const cut = truncate(text, 64);
    assert.equal(cut, `${'a'.repeat(63)}…`);
    assert.ok(wellFormed(cut));
  });

  test('a cut just after a pair keeps the pair', () => {
    assert.equal(truncate(`a${CLEF}bc`, 3), `a${CLEF}…`);
  });

  test('every cut of a text of pairs is well-formed', () => {
    const text = CLEF.repeat(20);
    for (let max = 1; max <= 40; max++) assert.ok(wellFormed(truncate(text, max)), `max ${max}`);
  });
});

describe('escapeControls', () => {
  test('plain text, quotes and backslashes are left alone', () => {
    assert.equal(escapeControls(`it's "C:\\x" é ${CLEF}`), `it's "C:\\x" é ${CLEF}`);
  });

  test('line breaks and tabs are written as JSON escapes', () => {
    assert.equal(escapeControls('a\nb\rc\td'), 'a\\nb\\rc\\td');
  });

  test('terminal controls (ESC, DEL, C1) cannot reach the terminal', () => {
    assert.equal(escapeControls('\u001b[31mred\u007f\u009b'), '\\u001b[31mred\\u007f\\u009b');
  });

  test('line and paragraph separators are escaped', () => {
    assert.equal(escapeControls('a\u2028b\u2029c'), 'a\\u2028b\\u2029c');
  });

  test('bidirectional controls are escaped (a value cannot reorder what a reader sees)', () => {
    const bidi = '\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069';
    const escaped = escapeControls(`x${bidi}y`);
    assert.equal(
      escaped,
      'x\\u061c\\u200e\\u200f\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069y',
    );
  });

  test('lone surrogates are escaped, pairs kept', () => {
    assert.equal(escapeControls(`\ud834a${CLEF}\udd1e`), `\\ud834a${CLEF}\\udd1e`);
    assert.ok(wellFormed(escapeControls('\ud834\ud834\udd1e\udd1e')));
  });
});

describe('quote', () => {
  test('JSON-quotes a value', () => {
    assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
  });

  test('cuts before quoting, so the closing quote is always there', () => {
    assert.equal(quote('x'.repeat(100), 8), '"xxxxxxxx…"');
    assert.equal(quote(`${'a'.repeat(63)}${CLEF}`), `"${'a'.repeat(63)}…"`);
  });

  test('the result is still a JSON string, with controls and bidi escaped', () => {
    const text = 'a\n\u202eb\u0085';
    const quoted = quote(text);
    assert.equal(quoted, '"a\\n\\u202eb\\u0085"');
    assert.equal(JSON.parse(quoted), text);
  });
});

describe('quoteName', () => {
  test('single-quotes a name as the engine does', () => {
    assert.equal(quoteName('view_customer'), "'view_customer'");
  });

  test("escapes ', \\ and controls so a name cannot close the quoting or start a line", () => {
    assert.equal(quoteName("x'\nwhy: \\"), "'x\\'\\nwhy: \\\\'");
  });

  test('cuts at 64 units by default, on a character boundary', () => {
    assert.equal(quoteName('n'.repeat(65)), `'${'n'.repeat(64)}…'`);
    assert.equal(quoteName(`${'n'.repeat(63)}${CLEF}`), `'${'n'.repeat(63)}…'`);
  });
});

describe('showJson', () => {
  test('shows a value as compact JSON, cut', () => {
    assert.equal(showJson({ a: [1, 2] }), '{"a":[1,2]}');
    assert.equal(showJson('x'.repeat(10), 4), '"xxx…');
  });

  test('a value without a JSON form is shown as a string', () => {
    assert.equal(showJson(undefined), 'undefined');
  });

  test('a value JSON cannot write (a cycle, a bigint) does not throw', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    assert.equal(showJson(cycle), '(not JSON)');
    assert.equal(showJson(1n), '(not JSON)');
  });
});

describe('errorText', () => {
  test("an error's message, first letter lowercased, trailing period dropped", () => {
    assert.equal(errorText(new Error('Boom.')), 'boom');
  });

  test('an acronym or an identifier at the start keeps its case', () => {
    assert.equal(errorText(new SyntaxError('JSON is broken')), 'JSON is broken');
    assert.equal(errorText(new Error('QuotaExceededError: full')), 'QuotaExceededError: full');
    assert.equal(errorText(new Error('WebAssembly.compile(): bad')), 'WebAssembly.compile(): bad');
    assert.equal(errorText(new Error('Boom')), 'boom');
  });

  test('only the first line of a multi-line message', () => {
    const error = new TypeError(
      'Converting circular structure to JSON\n    --> starting at object',
    );
    assert.equal(errorText(error), 'converting circular structure to JSON');
  });

  test("a name other than ECMAScript's comes first (it says what happened)", () => {
    assert.equal(
      errorText(new DOMException('signal timed out', 'TimeoutError')),
      'TimeoutError: signal timed out',
    );
    assert.equal(errorText(new DOMException('', 'AbortError')), 'AbortError');
  });

  test('an error-like object from another realm or a worker reply is read by its message', () => {
    assert.equal(errorText({ name: 'Error', message: 'from the worker' }), 'from the worker');
  });

  test('a thrown string, number or undefined', () => {
    assert.equal(errorText('plain'), 'plain');
    assert.equal(errorText(42), '42');
    assert.equal(errorText(undefined), 'undefined');
  });

  test('an empty message still says something', () => {
    assert.equal(errorText(new Error()), 'an error without a message');
  });

  test('a thrown value whose message getter throws does not throw', () => {
    const hostile = {
      get message(): string {
        throw new Error('gotcha');
      },
    };
    assert.equal(errorText(hostile), 'a thrown value that cannot be read');
  });

  test('a thrown object without a string form does not throw', () => {
    assert.equal(errorText(Object.create(null)), 'a thrown value that cannot be read');
  });

  test('a thrown Proxy that throws on every read does not throw', () => {
    const trap = () => {
      throw new Error('trap');
    };
    const proxy = new Proxy({}, { get: trap, getPrototypeOf: trap, has: trap });
    assert.equal(errorText(proxy), 'a thrown value that cannot be read');
  });

  test('controls and bidi characters in a message are escaped', () => {
    assert.equal(errorText(new Error('bad \u001b[2J\u202e')), 'bad \\u001b[2J\\u202e');
  });

  test('a long message is cut to 1000 units on a character boundary', () => {
    const text = errorText(new Error(`${'x'.repeat(999)}${CLEF}${'y'.repeat(100)}`));
    assert.equal(text, `${'x'.repeat(999)}…`);
    assert.ok(wellFormed(text));
  });
});

describe('fileErrorText', () => {
  test("Node's error code when there is one, else the error text", () => {
    const missing = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: 'ENOENT',
    });
    assert.equal(fileErrorText(missing), 'ENOENT');
    assert.equal(fileErrorText(new Error('Disk on fire.')), 'disk on fire');
    assert.equal(fileErrorText(null), 'null');
  });
});

describe('formatDiagnostic', () => {
  const errors = [
    { path: 'rules[0].tool_name', message: 'expected a string' },
    { path: 'roles', message: 'unknown role "x"' },
    { path: 'tools', message: 'expected an array' },
  ];

  test('path: message', () => {
    assert.equal(formatDiagnostic(errors[0]!), 'rules[0].tool_name: expected a string');
  });

  test('a key with a line break or bidi control in the path stays on one line, escaped', () => {
    assert.equal(
      formatDiagnostic({ path: 'roles.a\n\u202eb', message: 'unknown role' }),
      'roles.a\\n\\u202eb: unknown role',
    );
  });

  test('several on one line, `; `-separated', () => {
    assert.equal(
      formatDiagnostics(errors),
      'rules[0].tool_name: expected a string; roles: unknown role "x"; tools: expected an array',
    );
  });

  test('at most max, then how many more', () => {
    assert.equal(formatDiagnostics(errors, 1), 'rules[0].tool_name: expected a string; and 2 more');
  });
});

describe('notLoaded', () => {
  test('names the part and what the import rejected with, as errorText reads it', () => {
    const error = new TypeError('Failed to fetch dynamically imported module: /x.js\nat line 2');
    assert.equal(
      notLoaded('the batch code', error),
      'the batch code did not load (failed to fetch dynamically imported module: /x.js)',
    );
    assert.equal(
      `${notLoaded('the reader', 'gone\u001b[2J')}; ${FETCH_FILES_FIX}`,
      "the reader did not load (gone\\u001b[2J); check that the page can fetch perso's files",
    );
  });
});
