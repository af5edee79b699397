/**
 * The call writer: a call's field values, typed, into the engine's request region (one 16-byte slot
 * per field the entry reads, text and JSON bytes after the slots; engine/assembly/slots.ts).
 *
 * Checklist:
 * - only the fields the entry's rules read are written, each as JSON would write it;
 * - a value the engine could misread is refused (an {@link InvalidValue}, a bad request): a
 *   non-finite number anywhere, a lone surrogate, a value JSON cannot write, more than
 *   MAX_FIELD_BYTES of field values in one call;
 * - the region grows through the engine (`reserve`), never by writing past its capacity.
 */
import type { EngineExports } from './engine-exports.ts';
import type { WasmMemory } from './wasm-memory.ts';
import type { EntryPlan } from './policy-plan.ts';
import {
  T_FALSE,
  T_JSON,
  T_MISSING,
  T_NULL,
  T_NUMBER,
  T_STRING,
  T_TRUE,
} from './engine-boundary.ts';
import { readPath } from './call-values.ts';
import { HIDDEN_NULL, hiddenNullAt, refuseHiddenNull } from './hidden-null.ts';

/** Most bytes of field values one call may hand the engine (the original ABI's input limit). */
export const MAX_FIELD_BYTES = 1 << 20;

/** Marks a field value the fast path cannot encode; the call is an `invalid_request` Deny. */
export class InvalidValue {
  constructor(readonly message: string) {}
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` has no lone surrogate (it would not survive UTF-8 encoding unchanged). */
export function isWellFormed(s: string): boolean {
  const native = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed;
  return native !== undefined ? native.call(s) : !LONE_SURROGATE.test(s);
}

/** Writes calls into one instance's request region. */
export class CallWriter {
  readonly #x: EngineExports;
  readonly #mem: WasmMemory;
  #region = 0;
  #regionCap = 0;

  constructor(exports: EngineExports, mem: WasmMemory) {
    this.#x = exports;
    this.#mem = mem;
  }

  /** The region's address (valid after {@link sync}). */
  get region(): number {
    return this.#region;
  }

  /** Writes the entry's fields into the region; an InvalidValue when one cannot be encoded. */
  write(
    entry: EntryPlan,
    roots: readonly [unknown, unknown, unknown],
    dataStart: number,
  ): InvalidValue | null {
    const mem = this.#mem;
    mem.views();
    const fields = entry.fields;
    let region = this.#region;
    let dv = mem.dv;
    let at = dataStart;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const path = f.path;
      const v = readPath(roots[f.source], path);
      const s = region + f.slot;
      switch (typeof v) {
        case 'undefined':
          dv.setUint8(s, T_MISSING);
          continue;
        case 'boolean':
          dv.setUint8(s, v ? T_TRUE : T_FALSE);
          continue;
        case 'number':
          if (!Number.isFinite(v))
            return new InvalidValue(
              `${f.name} is ${String(v)}, not a finite number; pass finite numbers only`,
            );
          dv.setUint8(s, T_NUMBER);
          dv.setFloat64(s + 8, v, true);
          continue;
        case 'string':
        case 'object': {
          let text: string;
          let tag: number;
          if (typeof v === 'string') {
            text = v;
            tag = T_STRING;
          } else if (v === null) {
            dv.setUint8(s, T_NULL);
            continue;
          } else {
            try {
              text = JSON.stringify(v, refuseHiddenNull);
            } catch (e) {
              const name = f.name;
              if (e !== HIDDEN_NULL) return new InvalidValue(`${name} is not JSON-serialisable`);
              // The policy would read null where the tool gets Infinity (or NaN, or undefined).
              const at = hiddenNullAt(v);
              return new InvalidValue(
                at === null
                  ? `${name} holds a value that is not JSON; pass finite numbers and plain data`
                  : `${name}${at.path} ${at.what}`,
              );
            }
            tag = T_JSON;
          }
          if (at - dataStart + text.length > MAX_FIELD_BYTES) {
            return new InvalidValue(
              `the values the policy reads are larger than ${MAX_FIELD_BYTES} bytes; send smaller arguments`,
            );
          }
          const max = text.length * 3;
          if (at + max > this.#regionCap) {
            region = this.#grow(at - dataStart + max);
            dv = mem.dv;
          }
          const len = mem.encode(text, region + at);
          // As many bytes as units: ASCII, well-formed. Otherwise a lone surrogate is refused.
          if (len !== text.length && tag === T_STRING && !isWellFormed(text))
            return new InvalidValue(`${f.name} is not well-formed UTF-16`);
          const slot = region + f.slot;
          dv.setUint8(slot, tag);
          dv.setUint32(slot + 4, len, true);
          dv.setUint32(slot + 8, at, true);
          at += len;
          continue;
        }
        default:
          return new InvalidValue(`${f.name} is a ${typeof v}, not a JSON value`);
      }
    }
    return null;
  }

  /** Re-reads where the request region is and how large it is (after a load, or a raw ABI call). */
  sync(): void {
    this.#region = this.#x.region();
    this.#mem.views();
    this.#regionCap = this.#mem.dv.getUint32(this.#region + 8, true);
  }

  #grow(dataBytes: number): number {
    this.#region = this.#x.reserve(dataBytes);
    this.#mem.views();
    this.#regionCap = this.#mem.dv.getUint32(this.#region + 8, true);
    if (this.#regionCap < dataBytes)
      throw new Error(`engine could not reserve ${dataBytes} bytes for the request`);
    return this.#region;
  }
}
