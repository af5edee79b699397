/**
 * What the worker backend needs for the evaluator's memory, loaded with the first call about it
 * (a tool's result recorded, the state read): a page that never records a result never
 * downloads the journal of untrusted results nor the checks of those replies.
 *
 * Checklist (kept by `worker-backend.ts`, which loads this):
 * - the first result is posted to the worker before any call made after it (calls wait while this
 *   loads): a later decision never misses content recorded before it;
 * - a module that cannot load answers a result that is not recorded (the guard withholds it), and
 *   a state that cannot be read (`null`), naming it.
 */
export { ToolResultJournal, plainRecord } from './tool-result-journal.ts';
export { checkEvaluatorState, checkRecordAnswer } from './evaluator-state-replies.ts';
