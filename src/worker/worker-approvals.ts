/**
 * The evaluator worker's approvals, loaded on its first Ask: the ledger of tickets and the
 * approvals a person gave that cover later calls (an Ask rule's `remember`). A first decision that
 * is no Ask never loads them.
 *
 * Checklist:
 * - built on its own, self-contained (no import of the worker's file, whose name an app's bundler
 *   changes): `vite.worker-module.ts`;
 * - the page names its URL and its recorded SHA-256 to the worker (`worker-module-urls.ts`), so
 *   an app that bundles perso copies it as it copies the worker; the worker checks the bytes
 *   before it imports them (`evaluator.worker.ts`), and an Ask it cannot load is a Deny.
 */
export { EngineApprovals } from '../backend/engine-approvals.ts';
export type { ApprovalLedgerOptions } from '../backend/approval-ledger.ts';
