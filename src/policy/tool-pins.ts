/**
 * Tool pins: a policy may pin, per tool, the SHA-256 of the tool's descriptor and the URL of the
 * script that registered it (top-level key `"tool_pins"`, reported by the engine, checked by hosts). A
 * third-party tag that swaps a tool's description or schema, or registers a tool of the same name
 * from another script, then gets its calls refused.
 *
 * ```json
 * "tool_pins": { "process_refund": { "descriptor_sha256": "<64 hex>", "script_url": "https://shop.example/app.js" } }
 * ```
 *
 * Checklist:
 * - a malformed `tool_pins` is an error naming the path, the value and the fix; a host then
 *   refuses every call it would have checked against pins;
 * - a pinned tool whose facts are unknown (the host could not hash it or read the stack) is refused;
 * - a tool without a pin is not affected.
 */
import type { ToolFacts } from '../audit/audit-record.ts';
import { quote, quoteName, showJson } from '../encoding/text.ts';

/** The policy key. */
export const TOOL_PINS_KEY = 'tool_pins';

/** One tool's pins. */
export interface ToolPin {
  /** SHA-256 (lowercase hex) of the tool's canonical descriptor. */
  readonly descriptorSha256?: string;
  /** The exact URL of the script that registered the tool. */
  readonly scriptUrl?: string;
}

/** A policy's pins, by tool name; or why they cannot be read. */
export type ToolPinsResult =
  | { ok: true; pins: Readonly<Record<string, ToolPin>> }
  | { ok: false; error: string };

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Validates a policy's `tool_pins`, as the engine reported them (`PolicyInfo.toolPins`); `null`
 * when the policy has none.
 *
 * @param given the value of the policy's `tool_pins` key, `undefined` when it has no such key
 */
export function readToolPins(given: unknown): ToolPinsResult | null {
  if (given === undefined) return null;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    return {
      ok: false,
      error: `${TOOL_PINS_KEY}: expected an object of tool name to pins, got ${showJson(given)}`,
    };
  }
  const pins: Record<string, ToolPin> = Object.create(null);
  for (const [tool, value] of Object.entries(given)) {
    const path = `${TOOL_PINS_KEY}.${tool}`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return {
        ok: false,
        error: `${path}: expected {"descriptor_sha256": "<64 hex digits>", "script_url": "<absolute URL>"}, got ${showJson(value)}`,
      };
    }
    const pin: { descriptorSha256?: string; scriptUrl?: string } = {};
    for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'descriptor_sha256') {
        if (typeof field !== 'string' || !HEX64.test(field)) {
          return {
            ok: false,
            error: `${path}.descriptor_sha256: expected 64 lowercase hex digits (the descriptorSha256 perso reports for the tool), got ${showJson(field)}`,
          };
        }
        pin.descriptorSha256 = field;
      } else if (key === 'script_url') {
        if (typeof field !== 'string' || !isAbsoluteUrl(field)) {
          return {
            ok: false,
            error: `${path}.script_url: expected the absolute URL of the script that registers the tool, got ${showJson(field)}`,
          };
        }
        pin.scriptUrl = field;
      } else {
        return {
          ok: false,
          error: `${path}: unknown key ${quote(key)}; expected "descriptor_sha256" or "script_url"`,
        };
      }
    }
    if (pin.descriptorSha256 === undefined && pin.scriptUrl === undefined) {
      return {
        ok: false,
        error: `${path}: pins nothing; give "descriptor_sha256", "script_url" or both`,
      };
    }
    pins[tool] = Object.freeze(pin);
  }
  return { ok: true, pins: Object.freeze(pins) };
}

/**
 * Checks a tool's facts against its pin: `null` when they match (or nothing is pinned), else the
 * reason to refuse the call.
 *
 * @param tool the tool's name
 * @param pin its pin, if the policy has one
 * @param facts what the host saw when the tool was registered
 */
export function checkToolPin(
  tool: string,
  pin: ToolPin | undefined,
  facts: ToolFacts | undefined,
): string | null {
  if (pin === undefined) return null;
  const name = quoteName(tool);
  if (pin.descriptorSha256 !== undefined && facts?.descriptorSha256 !== pin.descriptorSha256) {
    return facts?.descriptorSha256 === undefined
      ? `tool ${name} is pinned by descriptor_sha256 but its descriptor is unknown here; it is not run`
      : `tool ${name} does not match its pin: its descriptor's SHA-256 is ${facts.descriptorSha256}, the policy pins ${pin.descriptorSha256}; a script changed its name, description, schema or annotations; check the page's scripts, then update tool_pins`;
  }
  if (pin.scriptUrl !== undefined && facts?.scriptUrl !== pin.scriptUrl) {
    return facts?.scriptUrl === undefined
      ? `tool ${name} is pinned by script_url but the script that registered it is unknown here; it is not run`
      : `tool ${name} does not match its pin: it was registered by ${quote(facts.scriptUrl, 200)}, the policy pins ${quote(pin.scriptUrl, 200)}; check the page's scripts, then update tool_pins`;
  }
  return null;
}

function isAbsoluteUrl(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}
