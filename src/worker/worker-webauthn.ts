/**
 * The worker's WebAuthn verifier (`src/backend/webauthn-approval.ts`), built on its own as a module
 * the page names (`vite.worker-module.ts`), loaded on the first WebAuthn approval.
 *
 * Checklist:
 * - it imports nothing at run time and shares no state with the worker (its authenticator store
 *   is its own, opened in IndexedDB by name).
 */
export { checkWebAuthnEvidence } from '../backend/webauthn-approval.ts';
