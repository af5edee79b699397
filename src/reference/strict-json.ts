/**
 * JSON text read strictly, as docs/policy.md says a policy is read: a key given twice, nesting
 * deeper than 64, a number out of range or a lone surrogate is refused, with where. Plain and
 * small (the reference evaluator's reader, not a fast one).
 */
import { quote } from '../encoding/text.ts';

/** The value, or why the text is refused. */
export type StrictJson = { ok: true; value: unknown } | { ok: false; error: string };

const MAX_DEPTH = 64;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

class JsonError extends Error {}

/** Parses `text` strictly; never throws. */
export function parseStrictJson(text: string): StrictJson {
  let at = 0;
  const fail = (why: string): never => {
    throw new JsonError(`invalid JSON at offset ${at}: ${why}`);
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const string = (): string => {
    // Find the token's end by skipping escapes; JSON.parse then reads that one token exactly.
    let i = at + 1;
    for (; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    if (i >= text.length) fail('unterminated string');
    let value: string;
    try {
      value = JSON.parse(text.slice(at, i + 1)) as string;
    } catch {
      return fail('bad string');
    }
    if (LONE_SURROGATE.test(value)) fail('a lone surrogate in a string');
    at = i + 1;
    return value;
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nesting is deeper than ${MAX_DEPTH} levels`);
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      const out: Record<string, unknown> = {};
      space();
      if (text[at] === '}') return (at++, out);
      for (;;) {
        space();
        if (text[at] !== '"') fail('expected a key');
        const key = string();
        if (Object.hasOwn(out, key)) fail(`duplicate key ${quote(key)}`);
        space();
        if (text[at++] !== ':') fail('expected ":"');
        Object.defineProperty(out, key, {
          value: value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        space();
        if (text[at] === ',') at++;
        else if (text[at] === '}') return (at++, out);
        else fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      at++;
      const out: unknown[] = [];
      space();
      if (text[at] === ']') return (at++, out);
      for (;;) {
        out.push(value(depth + 1));
        space();
        if (text[at] === ',') at++;
        else if (text[at] === ']') return (at++, out);
        else fail('expected "," or "]"');
      }
    }
    if (c === '"') return string();
    for (const [word, literal] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) return ((at += word.length), literal);
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (number === null) return fail('unexpected character');
    at += number[0].length;
    const parsed = Number(number[0]);
    if (!Number.isFinite(parsed)) fail(`number ${number[0]} is out of range`);
    return parsed;
  };
  try {
    const result = value(1);
    space();
    if (at !== text.length) fail('text after the value');
    return { ok: true, value: result };
  } catch (error) {
    if (error instanceof JsonError) return { ok: false, error: error.message };
    throw error;
  }
}
