// Policy errors and warnings at JSON paths, collected (not just the first one).
//
// Invariants:
// - at most 100 errors and 100 warnings: a hostile policy cannot make the lists themselves huge
// - a message quotes the value it found (cut at 64 characters, never inside a surrogate pair)
// - unknown keys only warn

import { JARRAY, JSTRING, JValue, kindName } from './json-value';
import { indexPath, joinAll, jsonString, quote, toJson, truncate } from './json-text';
import { nameIndex } from './policy';

/** A policy error or warning at a JSON path. */
export class Diagnostic {
  constructor(
    public severity: string,
    public path: string,
    public message: string,
  ) {}
}

/** The errors and warnings of one compile, and the checks every part of the compiler shares. */
export class Diagnostics {
  errors: Diagnostic[] = [];
  warnings: Diagnostic[] = [];

  /** Records an error at `path`. */
  error(path: string, message: string): void {
    // Bounded: a hostile policy cannot make the error list itself huge.
    if (this.errors.length < 100) this.errors.push(new Diagnostic('error', path, message));
  }

  /** Records a warning at `path`. */
  warn(path: string, message: string): void {
    if (this.warnings.length < 100) this.warnings.push(new Diagnostic('warning', path, message));
  }

  /** Warns about every key of `obj` not in `known`. */
  unknownKeys(obj: JValue, path: string, known: string[]): void {
    const keys = obj.keys!;
    for (let i = 0; i < keys.length; i++) {
      if (nameIndex(known, keys[i]) < 0) {
        this.warn(
          join(path, keys[i]),
          'unknown key ' + quote(keys[i], 64) + ' is ignored; check its spelling',
        );
      }
    }
  }

  /** `v` as an array of strings, or null with errors recorded (`what`: what was expected). */
  stringList(v: JValue | null, path: string, what: string): string[] | null {
    if (v == null) {
      this.error(path, 'missing; expected ' + what);
      return null;
    }
    if (v.kind != JARRAY) {
      this.error(path, 'expected ' + what + ', got ' + kindName(v.kind));
      return null;
    }
    const items = v.items!;
    const out = new Array<string>();
    let ok = true;
    for (let i = 0; i < items.length; i++) {
      if (items[i].kind != JSTRING) {
        this.error(indexPath(path, i), 'expected a string, got ' + kindName(items[i].kind));
        ok = false;
      } else {
        out.push(items[i].str);
      }
    }
    return ok ? out : null;
  }
}

function join(path: string, key: string): string {
  return path.length == 0 ? key : path + '.' + key;
}

/** A JSON value for a message, cut at 64 UTF-16 units on a character boundary (never inside a surrogate pair). */
export function shownValue(v: JValue): string {
  if (v.kind == JSTRING) return quote(v.str, 64);
  return truncate(toJson(v), 64);
}

/** `{"path": ..., "message": ...}` list as JSON. */
export function diagnosticsJson(list: Diagnostic[]): string {
  const parts = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) {
    parts[i] =
      '{"path":' + jsonString(list[i].path) + ',"message":' + jsonString(list[i].message) + '}';
  }
  return '[' + joinAll(parts, ',') + ']';
}
