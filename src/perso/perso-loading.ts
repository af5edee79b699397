/**
 * What loading a policy into a `Perso` needs besides the instance's own state: the engine it
 * starts, the policy text the `policy` option resolves to, the mode decisions are made in, and
 * the policy's host-layer extensions.
 *
 * Checklist:
 * - enforcement is the host's decision: a policy fetched by URL may turn it off only where the
 *   host said `mode: 'policy'`; otherwise it is enforced and a warning says why;
 * - in a page, a path names a URL relative to the page, not a file;
 * - an extension module that cannot load refuses what it guards (pins: every guarded call;
 *   annotation defaults: the policy), never passes silently.
 */
import { WorkerBackend } from '../backend/worker-backend.ts';
import type { EvaluatorBackend } from '../backend/evaluator-backend.ts';
import type { Diagnostic } from '../engine/types.ts';
import type { PersoMode, PersoSettings } from './perso-options.ts';
import type { PolicyMode } from '../policy/policy.ts';
import type { PolicySourceKind, ResolvedPolicy } from '../policy/policy-source.ts';
import { resolvePolicySource } from '../policy/policy-source.ts';
import type { ToolPinsResult } from '../policy/tool-pins.ts';
import { FETCH_FILES_FIX, notLoaded, quote } from '../encoding/text.ts';

/**
 * The backend the `engine` option names. `engine: 'worker'` (the default in a browser page) runs
 * the engine in a Web Worker behind Comlink. The worker backend is a static import (it touches no
 * browser global until a backend is made, so Node can load it): a page's path to its first
 * decision then has no dynamic-import chunk.
 */
export async function createBackend(settings: PersoSettings): Promise<EvaluatorBackend> {
  if (
    settings.engine !== undefined &&
    settings.engine !== 'inline' &&
    settings.engine !== 'worker'
  ) {
    throw new Error(`unknown engine ${quote(String(settings.engine))}; use "inline" or "worker"`);
  }
  if ((settings.engine ?? (isBrowserPage() ? 'worker' : 'inline')) === 'worker') {
    // Started now rather than on the first load: the worker and its wasm load while the policy does.
    return new WorkerBackend({
      timeoutMs: settings.timeoutMs,
      startNow: true,
      codeIntegrity: settings.codeIntegrity,
      jsFallback: settings.jsFallback,
    });
  }
  // Imported lazily too: a page using the worker engine never downloads the in-thread engine host.
  const { InlineBackend } = await import('../backend/inline-backend.ts');
  return InlineBackend.create();
}

/** True in a browser page (a window with a DOM and Workers): the worker engine is the default there. */
function isBrowserPage(): boolean {
  return (
    typeof window !== 'undefined' && typeof document !== 'undefined' && typeof Worker === 'function'
  );
}

/**
 * Resolves the `policy` option to its text. URL policies in a browser go through the verified
 * policy cache (policy-loader.ts, `urlPolicy`); with `pinned`, a policy not fetched by URL is refused.
 */
export async function resolvePolicy(
  input: unknown,
  urlPolicy: ((url: URL) => Promise<ResolvedPolicy>) | null,
  pinned: boolean,
): Promise<ResolvedPolicy> {
  let target = input;
  if (
    typeof input === 'string' &&
    typeof document !== 'undefined' &&
    !input.trimStart().startsWith('{')
  ) {
    // In a page, a path names a URL relative to the page, not a file.
    try {
      target = new URL(input, document.baseURI);
    } catch {
      // resolvePolicySource explains what was wrong with it.
    }
  }
  const resolved = await resolvePolicySource(
    target,
    urlPolicy === null ? {} : { fetchPolicy: urlPolicy },
  );
  if (resolved.ok && pinned && resolved.source !== 'network' && resolved.source !== 'cache') {
    // The host asked for verification: a policy that could not be verified must not pass silently.
    return {
      ok: false,
      error: `integrity and publicKeys apply to URL policies, but the policy was given ${resolved.source === 'file' ? 'as a file' : 'inline'}; pass its URL or drop them`,
      source: resolved.source,
      location: resolved.location,
    };
  }
  return resolved;
}

/**
 * The mode decisions are made in. Enforcement is the host's decision: a policy fetched by URL
 * (the network or the cache, which a compromised server or an edited store controls) may turn
 * it off only where the host said `mode: 'policy'`; otherwise it is enforced, and a warning
 * says why and what to pass.
 */
export function modeFor(
  option: PersoMode | undefined,
  asked: PolicyMode,
  source: PolicySourceKind,
  warnings: Diagnostic[],
): PolicyMode {
  if (option === 'enforce' || option === 'shadow') return option;
  if (asked !== 'shadow' || option === 'policy' || (source !== 'network' && source !== 'cache'))
    return asked;
  const message =
    'the fetched policy asks for shadow mode, but only the host can turn enforcement off; decisions are enforced — ' +
    'pass mode: "policy" (data-mode="policy" on the embed, mode="policy" on <perso-guard>) to let the policy choose, or mode: "shadow"';
  warnings.push({ severity: 'warning', path: 'mode', message });
  console.warn(`perso: ${message}`);
  return 'enforce';
}

/** The annotation defaults module. */
export type AnnotationDefaults = typeof import('../policy/annotation-defaults.ts');

/** The tool pins module. */
export type ToolPinsReader = typeof import('../policy/tool-pins.ts');

/** A policy's host-layer extensions (see tool-pins.ts, annotation-defaults.ts). */
export interface PolicyExtensions {
  /**
   * The module that checks the `tool_pins` the engine reports, when the policy may have them; why
   * it did not load; or `null` when the policy cannot name the key.
   */
  toolPins: ToolPinsReader | string | null;
  /** The module that applies annotation defaults, when the policy may opt in; else `null`. */
  annotationDefaults: AnnotationDefaults | null;
}

/**
 * Loads the modules of a policy's host-layer extensions, only for a policy whose text names them
 * (literally or, possibly, with `\u` escapes): a page whose policy uses neither never downloads
 * them. What the policy says is the engine's to report (`PolicyInfo`); the text is not parsed
 * here. A policy that may opt in to annotation defaults whose module cannot load is refused (the
 * text says why), since they can turn an Allow into an Ask.
 */
export async function readExtensions(text: string): Promise<PolicyExtensions | string> {
  const escaped = text.includes('\\u');
  let toolPins: ToolPinsReader | string | null = null;
  let annotationDefaults: AnnotationDefaults | null = null;
  if (escaped || text.includes('tool_pins')) {
    try {
      toolPins = await import('../policy/tool-pins.ts');
    } catch (error) {
      toolPins = `tool_pins: cannot be read, ${notLoaded('the reader', error)}; ${FETCH_FILES_FIX}`;
    }
  }
  if (escaped || text.includes('annotation_defaults')) {
    try {
      // Whether the policy opts in is the engine's to say (PolicyInfo.annotationDefaults).
      annotationDefaults = await import('../policy/annotation-defaults.ts');
    } catch (error) {
      return `cannot be read, ${notLoaded('the annotation defaults', error)}; the previous policy stays active, ${FETCH_FILES_FIX} and reload`;
    }
  }
  return { toolPins, annotationDefaults };
}

/**
 * The pins the engine reported (`PolicyInfo.toolPins`), checked: `null` when the policy has none;
 * an error (so every guarded call is refused) when the pins cannot be checked.
 */
export function toolPinsOf(
  reader: PolicyExtensions['toolPins'],
  given: unknown,
): ToolPinsResult | null {
  if (given === undefined) return null;
  if (reader === null)
    return {
      ok: false,
      error: 'tool_pins: cannot be read, the reader was not loaded; reload the policy',
    };
  if (typeof reader === 'string') return { ok: false, error: reader };
  return reader.readToolPins(given);
}
