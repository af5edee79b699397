// A Perso's policy status and the texts of a failed load (src/perso/policy-status.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  errorList,
  freezeStatus,
  initialStatus,
  loadFailureWarning,
  noPolicyReason,
} from '../src/perso/policy-status.ts';
import type { Diagnostic } from '../src/engine/types.ts';

const error = (path: string): Diagnostic => ({ severity: 'error', path, message: 'bad' });

describe('policy status', () => {
  test('a status and its diagnostics are frozen', () => {
    const status = freezeStatus({ ...initialStatus('enforce'), errors: [error('a')] });
    assert.ok(Object.isFrozen(status));
    assert.ok(Object.isFrozen(status.errors));
    assert.ok(Object.isFrozen(status.errors[0]));
  });
  test('a reason lists at most three errors and says how many more', () => {
    const errors = ['a', 'b', 'c', 'd', 'e'].map(error);
    assert.equal(errorList(errors), 'a: bad; b: bad; c: bad; and 2 more');
    assert.equal(errorList([]), 'the policy was refused');
  });
  test('no policy: what failed, and what to fix (the engine, or the policy)', () => {
    assert.equal(
      noPolicyReason([error('rules[0]')]),
      'no valid policy loaded: rules[0]: bad; fix the policy and reload',
    );
    assert.equal(
      noPolicyReason([error('engine')]),
      'no valid policy loaded: engine: bad; fix the engine and reload',
    );
  });
  test('the warning of a failed load says what stays active', () => {
    const failed = freezeStatus({ ...initialStatus('enforce'), errors: [error('policy')] });
    assert.match(loadFailureWarning(failed, null), /; every call is denied until a load succeeds;/);
    assert.match(loadFailureWarning(failed, 'v2'), /; policy "v2" stays active;/);
  });
});
