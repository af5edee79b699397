/**
 * What a host gives `<perso-guard>`: tool functions and, optionally, their MCP/WebMCP annotations.
 */
import type { JsonObject } from '../decision.ts';

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
}

/** Options of `register`. */
export interface ToolOptions {
  /** The tool's annotations. */
  annotations?: ToolAnnotations;
}

/** A registered tool. */
export interface GuardedTool {
  /** The tool body. */
  readonly fn: ToolFunction;
  /** Its annotations, frozen. */
  readonly annotations: Readonly<ToolAnnotations>;
}
