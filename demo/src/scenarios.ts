/**
 * The one-click scenarios: the original demo's walkthrough, plus an Ask, a refund budget, a
 * remembered approval and an email that tries to steer a payment. Each
 * sets the host-owned principal controls (as the page's own session would), then sends the prompt
 * as the user.
 */
import type { Decision } from 'perso';
import type { DemoRole, Environment } from './principal.ts';

/** One scripted exchange and the decision it must produce with the demo policy. */
export interface Scenario {
  id: string;
  title: string;
  role: DemoRole;
  env: Environment;
  mfaVerified: boolean;
  prompt: string;
  /** The decision it shows (for several calls, the one that ends the scenario). */
  expect: Decision;
  /** What the scenario shows, in one line. */
  point: string;
}

/** The scenarios, in the order of the original demo. */
export const SCENARIOS: readonly Scenario[] = Object.freeze([
  {
    id: 'refund-200',
    title: '$200 refund',
    role: 'agent',
    env: 'production',
    mfaVerified: false,
    prompt: 'Process a $200 refund for order ORD-8821',
    expect: 'Allow',
    point: 'agents may refund up to $500',
  },
  {
    id: 'refund-800',
    title: '$800 refund',
    role: 'agent',
    env: 'production',
    mfaVerified: false,
    prompt: 'Try to process a $800 refund for order ORD-9910',
    expect: 'Deny',
    point: 'over the $500 agent cap',
  },
  {
    id: 'refund-400-ask',
    title: '$400 refund, approval',
    role: 'agent',
    env: 'production',
    mfaVerified: false,
    prompt: 'Process a $400 refund for order ORD-5533',
    expect: 'Ask',
    point: 'over $300 waits for a person',
  },
  {
    id: 'refund-budget',
    title: 'Five $400 refunds',
    role: 'agent',
    env: 'production',
    mfaVerified: false,
    prompt: 'Process five $400 refunds for order ORD-9910',
    expect: 'Deny',
    point: 'approve two; the $1,000 daily budget stops the third',
  },
  {
    id: 'refund-remembered',
    title: 'Two $310 refunds, one approval',
    role: 'agent',
    env: 'production',
    mfaVerified: false,
    prompt: 'Process two $310 refunds for order ORD-5533',
    expect: 'Allow',
    point: 'your approval is remembered for ORD-5533, 10 min',
  },
  {
    id: 'email-payee',
    title: 'Pay the account an email names',
    role: 'agent',
    env: 'production',
    mfaVerified: false,
    prompt: 'Read email E-301 and pay the account it names',
    expect: 'Deny',
    point: 'the account came from untrusted content',
  },
  {
    id: 'delete-own',
    title: 'Delete own customer',
    role: 'manager',
    env: 'production',
    mfaVerified: false,
    prompt: "Delete customer C-2038's record",
    expect: 'Allow',
    point: 'mgr-001 owns C-2038',
  },
  {
    id: 'delete-other',
    title: "Delete another's customer",
    role: 'manager',
    env: 'production',
    mfaVerified: false,
    prompt: "Delete customer C-9001's record",
    expect: 'Deny',
    point: 'C-9001 belongs to mgr-002',
  },
  {
    id: 'bulk-mfa',
    title: 'Bulk update with MFA',
    role: 'admin',
    env: 'production',
    mfaVerified: true,
    prompt: 'Run a bulk update: set status to review where plan = Pro',
    expect: 'Allow',
    point: 'production and MFA: All holds',
  },
  {
    id: 'bulk-no-mfa',
    title: 'Bulk update, no MFA',
    role: 'admin',
    env: 'production',
    mfaVerified: false,
    prompt: 'Run a bulk update: set plan to Starter where plan = Enterprise',
    expect: 'Deny',
    point: 'MFA not verified: All fails',
  },
  {
    id: 'pii-mfa',
    title: 'PII with MFA',
    role: 'manager',
    env: 'production',
    mfaVerified: true,
    prompt: 'Show me the PII for C-1042',
    expect: 'Allow',
    point: 'managers read PII after MFA',
  },
  {
    id: 'pii-no-mfa',
    title: 'PII, no MFA',
    role: 'manager',
    env: 'production',
    mfaVerified: false,
    prompt: 'Show me the PII for C-1042',
    expect: 'Deny',
    point: 'no MFA, no PII',
  },
]);
