// The fault soak, reduced (npm test): 2,000 calls through the real worker while every kind of
// fault is injected (test/browser/soak/fault-soak.ts says how). `npm run soak` runs 100,000.
import { expect } from 'chai';
import { FAULT_KINDS, runFaultSoak } from './soak/fault-soak.ts';

describe('fault soak (reduced)', () => {
  it('2,000 calls under injected faults (worker killed, stall, crash, trap; IndexedDB blocked, corrupted, over quota): every call answered, no wrong allow', async function () {
    this.timeout(60_000);
    const report = await runFaultSoak({
      calls: 2000,
      seed: 2026_12_03,
      faults: [...FAULT_KINDS, 'kill', 'stall', 'crash', 'trap'],
    });
    console.log(`fault soak (reduced): ${JSON.stringify(report)}`);
    expect(report.calls).to.equal(2000);
    expect(report.answered).to.equal(2000);
    expect(report.unanswered).to.equal(0);
    expect(report.wrongAllows, report.wrongAllowSamples.join('\n')).to.equal(0);
    for (const kind of FAULT_KINDS) expect(report.faults[kind], kind).to.be.greaterThan(0);
    expect(report.decisions['Allow:condition_passed'] ?? 0).to.be.greaterThan(
      0,
      'pays were allowed',
    );
    expect(report.decisions['Deny:rate_limited'] ?? 0).to.be.greaterThan(
      0,
      'the rate limit was reached',
    );
    expect(report.decisions['Deny:engine_fault'] ?? 0).to.be.greaterThan(
      0,
      'faults were answered Deny',
    );
    expect(report.workers).to.be.greaterThan(4, 'the worker faults replaced the worker');
  });
});
