import { expect } from 'chai';

describe('browser test harness', () => {
  it('runs in a real browser with WebAssembly and workers', () => {
    expect(typeof WebAssembly.instantiate).to.equal('function');
    expect(typeof Worker).to.equal('function');
    expect(navigator.userAgent).to.match(/Chrome/);
  });
});
