/**
 * The embed's configuration, read once from its own `<script>` tag's data attributes:
 *
 * | attribute | meaning |
 * |---|---|
 * | `data-policy` | policy URL (required), relative to the page |
 * | `data-role` | the principal's role (or set it later with `window.perso.setPrincipal`) |
 * | `data-agent-attributes` | JSON object of host-owned facts about the principal |
 * | `data-mode` | `enforce` (the default), `shadow`, or `policy` (the policy's own `mode` decides) |
 * | `data-integrity` | pinned policy hash, `sha256-<base64>` |
 * | `data-public-key` | JSON: a `{keyId, alg, publicKey}` object or an array of them |
 * | `data-policy-id` | the id the policy's signature must name (default: the policy's absolute URL) |
 * | `data-timeout` | ms a tool call waits for the policy to load before it is denied (default 5000) |
 *
 * A bad attribute is a configuration error: the embed then denies every call and says why.
 */
import type { JsonObject } from '../call/decision.ts';
import type { PolicyPublicKey } from '../policy/policy-integrity.ts';
import { quote } from '../encoding/text.ts';

/** A parsed configuration. */
export interface EmbedConfig {
  /** Absolute policy URL. */
  policy: string;
  /** The initial role, if the tag gives one. */
  role: string | null;
  /** The initial agent attributes. */
  agentAttributes: JsonObject | undefined;
  /** The host's mode, if any (`policy`: the fetched policy's `mode` decides). */
  mode: 'enforce' | 'shadow' | 'policy' | undefined;
  /** Pinned hash, if any. */
  integrity: string | undefined;
  /** Trusted signing keys, if any. */
  publicKeys: PolicyPublicKey[] | undefined;
  /** The id signatures must name, if the tag gives one. */
  policyId: string | undefined;
  /** How long a call waits for the policy. */
  timeoutMs: number;
}

/** A configuration, or why there is none. */
export type EmbedConfigResult = { ok: true; config: EmbedConfig } | { ok: false; error: string };

/** Default wait for the policy, in ms. */
export const DEFAULT_POLICY_TIMEOUT_MS = 5000;

/**
 * Reads the configuration from the embed's script tag.
 *
 * @param script `document.currentScript` at the time the embed ran
 * @param baseUri the URL relative policy URLs resolve against
 */
export function readEmbedConfig(
  script: HTMLOrSVGScriptElement | null,
  baseUri: string,
): EmbedConfigResult {
  if (script === null || !(script instanceof HTMLScriptElement)) {
    return {
      ok: false,
      error:
        'perso-embed.js must be loaded by a classic <script src> tag in <head> (not a module, not injected later)',
    };
  }
  // Attributes, not `dataset`: a DOMStringMap falls through to Object.prototype for a missing key,
  // so a polluted Object.prototype.mode ("shadow") would read as the host's data-mode.
  const data = ownDataset(script);
  const policy = data.policy;
  if (policy === undefined || policy.trim() === '') {
    return {
      ok: false,
      error:
        'data-policy is missing; add data-policy="/policy.json" to the perso-embed.js script tag',
    };
  }
  let policyUrl: string;
  try {
    policyUrl = new URL(policy, baseUri).href;
  } catch {
    return {
      ok: false,
      error: `data-policy ${quote(policy, 200)} is not a URL; fix the script tag`,
    };
  }
  const role = data.role === undefined || data.role === '' ? null : data.role;
  let agentAttributes: JsonObject | undefined;
  if (data.agentAttributes !== undefined) {
    const parsed = parseJson(data.agentAttributes);
    if (
      parsed === undefined ||
      parsed === null ||
      typeof parsed !== 'object' ||
      Array.isArray(parsed)
    ) {
      return {
        ok: false,
        error: `data-agent-attributes must be a JSON object, got ${quote(data.agentAttributes)}; fix the script tag`,
      };
    }
    agentAttributes = parsed as JsonObject;
  }
  const mode = data.mode;
  if (mode !== undefined && mode !== 'enforce' && mode !== 'shadow' && mode !== 'policy') {
    return {
      ok: false,
      error: `data-mode ${quote(mode)} is unknown; use "enforce", "shadow" or "policy"`,
    };
  }
  let publicKeys: PolicyPublicKey[] | undefined;
  if (data.publicKey !== undefined) {
    const parsed = parseJson(data.publicKey);
    const keys: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
    if (parsed === undefined || keys.length === 0 || !keys.every(isPublicKey)) {
      return {
        ok: false,
        error:
          'data-public-key must be JSON: {"keyId": "...", "alg": "Ed25519", "publicKey": "<base64 SPKI>"} or an array of them',
      };
    }
    publicKeys = keys;
  }
  let timeoutMs = DEFAULT_POLICY_TIMEOUT_MS;
  if (data.timeout !== undefined) {
    timeoutMs = Number(data.timeout);
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return {
        ok: false,
        error: `data-timeout ${quote(data.timeout)} is not a number of milliseconds; fix the script tag`,
      };
    }
  }
  return {
    ok: true,
    config: {
      policy: policyUrl,
      role,
      agentAttributes,
      mode,
      integrity: data.integrity === '' ? undefined : data.integrity,
      publicKeys,
      policyId: data.policyId === '' ? undefined : data.policyId,
      timeoutMs,
    },
  };
}

/** The tag's `data-*` attributes, by their camelCase names, with nothing inherited. */
function ownDataset(script: HTMLScriptElement): Record<string, string | undefined> {
  const data = Object.create(null) as Record<string, string | undefined>;
  for (const attribute of Array.from(script.attributes)) {
    if (!attribute.name.startsWith('data-')) continue;
    data[
      attribute.name.slice(5).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
    ] = attribute.value;
  }
  return data;
}

function isPublicKey(value: unknown): value is PolicyPublicKey {
  if (value === null || typeof value !== 'object') return false;
  // Own keys only (JSON.parse makes them); an inherited keyId is not the host's.
  const key = Object.assign(Object.create(null) as object, value) as Record<string, unknown>;
  return (
    typeof key.keyId === 'string' &&
    typeof key.alg === 'string' &&
    (typeof key.publicKey === 'string' ||
      (key.publicKey !== null && typeof key.publicKey === 'object'))
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
