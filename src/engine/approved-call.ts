/**
 * The mark of a call that a person approved, set by the approval ledger on the copy it has the
 * engine decide again. The engine host passes it on to the engine, which then counts the call
 * against its rule's rate limit when an Ask holds (the host lifts that Ask to Allow). Without it,
 * approved calls never spent the budget, so a rate-limited tool with an Ask rule had no limit for
 * approved calls.
 *
 * A forged mark can only spend budget, never allow anything: the engine still decides the call.
 */
// `Symbol.for`: the worker's approvals are built on their own (vite.worker-module.ts), with their
// own copy of this module, and must set the mark the worker's engine host reads.
export const APPROVED_CALL: unique symbol = Symbol.for('perso.approvedCall');
