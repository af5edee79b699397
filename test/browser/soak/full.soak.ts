// The full fault soak (`npm run soak`): 100,000 calls through the real worker with faults of every
// kind injected at random (fault-soak.ts says how). Prints the report; asserts what issue 9 asks.
import { expect } from 'chai';
import { FAULT_KINDS, runFaultSoak } from './fault-soak.ts';

describe('fault soak (full)', () => {
  it('100,000 calls under random faults: every call answered, no wrong allow, memory bounded', async function () {
    this.timeout(0);
    const report = await runFaultSoak({ calls: 100_000, seed: 9, faultEvery: 400 });
    console.log(`fault soak (full): ${JSON.stringify(report, null, 2)}`);
    expect(report.answered).to.equal(100_000);
    expect(report.unanswered).to.equal(0);
    expect(report.wrongAllows, report.wrongAllowSamples.join('\n')).to.equal(0);
    for (const kind of FAULT_KINDS) expect(report.faults[kind], kind).to.be.greaterThan(0);
    // Bounded: after 100,000 calls and a hundred-odd replaced workers the page's heap is where it
    // started, give or take (a replaced worker that stayed in memory cost 4 MiB over the run).
    if (report.heapMiB !== null) expect(report.heapMiB.end - report.heapMiB.start).to.be.below(2);
  });
});
