/**
 * What a host gives `<perso-guard>`: tool functions and, optionally, their MCP/WebMCP annotations.
 */
import type { JsonObject } from '../call/decision.ts';

/** A tool body. It receives the frozen canonical copy of the arguments that was checked. */
export type ToolFunction = (args: Readonly<JsonObject>) => unknown;

/** MCP tool annotations (hints, never guarantees); see {@link annotationDefault}. */
export interface ToolAnnotations {
  /** A human-readable title. */
  title?: string;
  /** The tool does not change anything. */
  readOnlyHint?: boolean;
  /** The tool may destroy or overwrite data. */
  destructiveHint?: boolean;
  /** Calling it twice with the same arguments does nothing more. */
  idempotentHint?: boolean;
  /** The tool reaches beyond the page (network, other systems). */
  openWorldHint?: boolean;
  /** WebMCP: the tool's effect matters to the person (asks under annotation defaults, like destructiveHint). */
  consequentialHint?: boolean;
  /**
   * WebMCP: the tool's output may carry untrusted content. `true` marks its results untrusted (the
   * session then keeps them, as `untrusted_tools` would); it is also recorded in audit records.
   */
  untrustedContentHint?: boolean;
}

/** Options of `register`; `A` is the tool's argument type. */
export interface ToolOptions<A extends JsonObject = JsonObject> {
  /** The tool's annotations. */
  annotations?: ToolAnnotations;
  /**
   * Host-owned facts about the call's target, e.g. the owner of the customer the args name: an
   * object, or a function of the canonical args (looked up by the host, never taken from the agent).
   * A function that throws or returns something that is not a JSON object makes the call a Deny.
   */
  resourceAttributes?: JsonObject | ((args: Readonly<A>) => JsonObject | Promise<JsonObject>);
}

/** A registered tool. */
export interface GuardedTool {
  /** The tool body. */
  readonly fn: ToolFunction;
  /** Its annotations, frozen. */
  readonly annotations: Readonly<ToolAnnotations>;
  /** Where its resource attributes come from, if anywhere. */
  readonly resourceAttributes?: ToolOptions['resourceAttributes'];
}
