/**
 * Who is using the agent, as the host page knows it (in a real app: from its session or JWT).
 * The role, user id, environment and MFA state are set by the page's own controls; nothing the
 * agent or the model says can change them.
 */
import type { JsonObject } from 'perso';

/** The demo's roles, as declared in its policy. */
export const DemoRole = Object.freeze({
  Agent: 'agent',
  Manager: 'manager',
  Admin: 'admin',
} as const);
/** One of the demo's roles. */
export type DemoRole = (typeof DemoRole)[keyof typeof DemoRole];

/** Where the page runs; `export_data` and `bulk_update` need `production`. */
export const Environment = Object.freeze({
  Production: 'production',
  Staging: 'staging',
  Development: 'development',
} as const);
/** One of the demo's environments. */
export type Environment = (typeof Environment)[keyof typeof Environment];

/** The principal: everything the host tells perso about the caller. */
export interface Principal {
  role: DemoRole;
  /** The user id for each role: `mgr-001` owns C-1042 and C-2038, `mgr-002` owns C-9001. */
  userIds: Record<DemoRole, string>;
  env: Environment;
  /** Set only by the explicit "MFA verified" switch, never inferred from chat text. */
  mfaVerified: boolean;
}

/** The principal the demo starts with: an agent in production, MFA not verified. */
export function defaultPrincipal(): Principal {
  return {
    role: DemoRole.Agent,
    userIds: { agent: 'agt-099', manager: 'mgr-001', admin: 'adm-001' },
    env: Environment.Production,
    mfaVerified: false,
  };
}

/**
 * The agent attributes perso sees for this principal.
 *
 * `mfa_verified` is sent only when it is true: the original policy tests it with `FieldPresent`,
 * which a `false` value would pass. Leaving the key out is the safe way to say "not verified" to
 * either form of the rule.
 */
export function agentAttributesOf(principal: Principal): JsonObject {
  const attributes: JsonObject = {
    user_id: principal.userIds[principal.role],
    role: principal.role,
    env: principal.env,
  };
  if (principal.mfaVerified) attributes.mfa_verified = true;
  return attributes;
}
