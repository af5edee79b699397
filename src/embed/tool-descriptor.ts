/**
 * Reads a WebMCP tool descriptor, or a `Tool` object from `getTools()`, the way the platform does:
 * field by field, each once.
 *
 * Checklist:
 * - every field is read once, with an ordinary property read, so a getter (or a class instance
 *   whose fields live on its prototype, as Chrome's `Tool` objects do: spreading one gives `{}`)
 *   shows the guard the same value it shows WebMCP;
 * - `null` is "absent" for every optional field (Chrome 160 reports empty fields as `null`);
 * - a tool's window is `source` (today's name) or `window` (the older one);
 * - a read that throws makes the field absent, never the whole descriptor unreadable.
 */
import { sha256Hex } from '../encoding/sha256-hex.ts';
import { canonicalJson } from '../call/canonical-json.ts';

/** The fields WebMCP defines on a tool descriptor, in the order the guard reads them. */
export const TOOL_FIELDS = [
  'name',
  'title',
  'description',
  'inputSchema',
  'outputSchema',
  'annotations',
  'execute',
] as const;

/** A descriptor read once: a plain object holding each present field. */
export type ReadDescriptor = Record<string, unknown> & { execute?: unknown };

/**
 * Reads `tool`'s fields once into a plain object: WebMCP's own fields, then any other own
 * enumerable field (a polyfill's extensions), so the copy registered in its place loses nothing.
 *
 * @param tool a tool descriptor as a page passes it to `registerTool`
 */
export function readToolDescriptor(tool: object): ReadDescriptor {
  const copy: ReadDescriptor = {};
  for (const key of TOOL_FIELDS) {
    const value = readField(tool, key);
    if (value !== undefined && value !== null) copy[key] = value;
  }
  let extra: string[] = [];
  try {
    extra = Object.keys(tool).filter((key) => !(TOOL_FIELDS as readonly string[]).includes(key));
  } catch {
    // A proxy that refuses ownKeys: the WebMCP fields are all the guard passes on.
  }
  for (const key of extra) {
    const value = readField(tool, key);
    if (value !== undefined) copy[key] = value;
  }
  return copy;
}

/** What the guard needs of a `Tool` from `getTools()`: its name, and whether it is today's form. */
export interface ToolReference {
  /** The tool's name, read once; `null` when it is not a string. */
  name: string | null;
  /** Whether the object carries `source` (today's form, which takes an object input). */
  current: boolean;
}

/**
 * Reads the name of a `Tool` (or the name string the testing shim takes), once.
 *
 * @param tool what an agent passed to `executeTool`
 */
export function readToolReference(tool: unknown): ToolReference {
  if (typeof tool === 'string') return { name: tool, current: false };
  if (tool === null || typeof tool !== 'object') return { name: null, current: false };
  const name = readField(tool, 'name');
  let current = false;
  try {
    current = 'source' in tool;
  } catch {
    current = false;
  }
  return { name: typeof name === 'string' ? name : null, current };
}

/** The descriptor fields a tool pin covers (everything but `execute`). */
const HASHED_FIELDS = [
  'name',
  'title',
  'description',
  'inputSchema',
  'outputSchema',
  'annotations',
] as const;

/**
 * The SHA-256 (lowercase hex) of a descriptor read by {@link readToolDescriptor}: of the JSON text
 * of `{name, title, description, inputSchema, outputSchema, annotations}` with absent fields left
 * out and every object's keys in code-unit order (what `JSON.stringify` writes for each value,
 * so a function or `undefined` inside a schema is left out as JSON leaves it out).
 *
 * @param descriptor the descriptor as read
 */
export async function descriptorSha256(descriptor: ReadDescriptor): Promise<string> {
  const hashed: Record<string, unknown> = {};
  for (const key of HASHED_FIELDS) if (descriptor[key] !== undefined) hashed[key] = descriptor[key];
  // Through JSON first, as JSON.stringify sees the page's values (toJSON, undefined members dropped).
  const bytes = new TextEncoder().encode(canonicalJson(JSON.parse(JSON.stringify(hashed))));
  return sha256Hex(bytes);
}

/**
 * The URL of the script that called the function whose stack `stack` is, read from an `Error`'s
 * stack: the first frame whose URL differs from the innermost frame's (perso's own script).
 * `undefined` when the stack names no other script (inline scripts name their page's URL).
 *
 * @param stack `new Error().stack`, taken inside perso's wrapper
 */
export function callerScriptUrl(stack: string | undefined): string | undefined {
  if (typeof stack !== 'string') return undefined;
  const urls: string[] = [];
  for (const line of stack.split('\n')) {
    const match = /((?:https?|file|blob:https?|about):[^\s()]*?):\d+:\d+\)?\s*$/.exec(line);
    if (match !== null) urls.push(match[1] as string);
  }
  const own = urls[0];
  return urls.find((url) => url !== own);
}

function readField(target: object, key: string): unknown {
  try {
    // A field a descriptor only inherits from Object.prototype (which has none of these) was put
    // there by a script that polluted it: not the page's (a class's own getters still count).
    if (!Object.hasOwn(target, key) && Object.hasOwn(Object.prototype, key)) return undefined;
    return Reflect.get(target, key);
  } catch {
    return undefined;
  }
}
