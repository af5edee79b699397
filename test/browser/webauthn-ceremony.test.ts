// WebAuthn approvals end to end in real Chromium: the DevTools protocol's virtual authenticator
// stands in for the person's, and the agent clicks with trusted native input (Input.dispatchMouseEvent),
// as browser agents do. Only the authenticator's verified gesture releases the call, once.
import { expect } from 'chai';
import { executeServerCommand } from '@web/test-runner-commands';
import { deleteDB } from 'idb';
import '../../src/element/guard-element.ts';
import type { PersoGuardElement } from '../../src/element/guard-element.ts';
import { APPROVAL_ARM_DELAY_MS } from '../../src/element/approval-prompt.ts';
import {
  AUTHENTICATOR_DB_NAME,
  AuthenticatorStore,
} from '../../src/backend/authenticator-store.ts';
import { Perso } from '../../src/perso/perso.ts';
import { requestWebAuthnApproval } from '../../src/backend/webauthn-ceremony.ts';
import type { ApprovalEvidence } from '../../src/backend/approval-evidence.ts';
import type { DecisionResult } from '../../src/call/decision.ts';
import { fileUrl, scriptFile, uniqueName } from './helpers/perso-server.ts';

type ToolResult = {
  content: { type: string; text: string }[];
  isError?: boolean;
  structuredContent?: { decision: string; reason: string };
};

/** A DevTools protocol command to this page, as a browser agent sends them. */
function cdp<T = unknown>(method: string, params: object = {}): Promise<T> {
  return executeServerCommand('perso-cdp', { method, params }) as Promise<T>;
}

// The prompt's root is closed; the test grabs it as it is made, as a hostile page script could.
const closedRoots = new Map<Element, ShadowRoot>();
const nativeAttachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function attachShadow(
  this: Element,
  init: ShadowRootInit,
): ShadowRoot {
  const root = nativeAttachShadow.call(this, init);
  if (init.mode === 'closed') closedRoots.set(this, root);
  return root;
};

const policy = {
  version: 'webauthn-1',
  default_action: 'Deny',
  tools: ['process_refund'],
  roles: ['agent'],
  rules: [
    { tool_name: 'process_refund', roles: ['agent'] },
    {
      id: 'large-refund',
      tool_name: 'process_refund',
      roles: ['agent'],
      effect: 'Ask',
      approval: 'webauthn',
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 100 } },
    },
  ],
};
let policyUrl = '';
let authenticatorId: string | null = null;
const guards: PersoGuardElement[] = [];

async function addAuthenticator(options: {
  isUserVerified: boolean;
  automaticPresenceSimulation?: boolean;
}): Promise<string> {
  const added = await cdp<{ authenticatorId: string }>('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      automaticPresenceSimulation: true,
      ...options,
    },
  });
  authenticatorId = added.authenticatorId;
  return added.authenticatorId;
}

before(async () => {
  const name = uniqueName('webauthn-policy');
  await scriptFile(name, { body: JSON.stringify(policy), etag: null });
  policyUrl = fileUrl(name);
  await cdp('WebAuthn.enable', { enableUI: false });
});

beforeEach(async () => {
  // Registration is on first use, per origin: every test starts with none registered.
  await deleteDB(AUTHENTICATOR_DB_NAME);
});

afterEach(async () => {
  for (const guard of guards.splice(0)) guard.remove();
  if (authenticatorId !== null)
    await cdp('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  authenticatorId = null;
});

function mount(): PersoGuardElement {
  const guard = document.createElement('perso-guard');
  guard.setAttribute('src', policyUrl);
  guard.setAttribute('role', 'agent');
  guards.push(guard);
  document.body.append(guard);
  return guard;
}

async function approveButton(guard: PersoGuardElement): Promise<HTMLButtonElement> {
  for (let i = 0; i < 200; i++) {
    await guard.updateComplete;
    const host = guard.shadowRoot?.querySelector('perso-approval-prompt');
    const button = host
      ? closedRoots.get(host)?.querySelector<HTMLButtonElement>('button.approve')
      : null;
    if (button) return button;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no approval prompt appeared');
}

/** A trusted, native click through the DevTools protocol, as a browser agent clicks. */
async function nativeClick(element: Element): Promise<void> {
  element.scrollIntoView({ block: 'center' });
  const rect = element.getBoundingClientRect();
  await new Promise((resolve) => setTimeout(resolve, APPROVAL_ARM_DELAY_MS + 50));
  const at = {
    x: rect.x + rect.width / 2,
    y: rect.y + rect.height / 2,
    button: 'left',
    clickCount: 1,
  };
  await cdp('Input.dispatchMouseEvent', { type: 'mousePressed', ...at });
  await cdp('Input.dispatchMouseEvent', { type: 'mouseReleased', ...at });
}

function refundTool(guard: PersoGuardElement): unknown[] {
  const ran: unknown[] = [];
  guard.register('process_refund', (args) => {
    ran.push(args);
    return { content: [{ type: 'text', text: 'refunded' }] };
  });
  return ran;
}

describe('WebAuthn approvals in <perso-guard>', () => {
  it('a verified authenticator releases the call, once: the click opens the ceremony, the authenticator approves', async () => {
    await addAuthenticator({ isUserVerified: true });
    const guard = mount();
    const ran = refundTool(guard);
    const pending = guard.call('process_refund', { order_id: 'ORD-8821', amount: 800 });
    const approve = await approveButton(guard);
    expect(approve.textContent).to.equal('Approve with authenticator');
    await nativeClick(approve);
    expect(((await pending) as ToolResult).content[0]!.text).to.equal('refunded');
    expect(ran).to.deep.equal([{ order_id: 'ORD-8821', amount: 800 }]);
    await guard.updateComplete;
    const last = [...(guard.shadowRoot?.querySelectorAll('li') ?? [])].at(-1)!;
    expect(last.dataset.decision).to.equal('Allow');
    expect(last.textContent).to.contain('approved by a person with a verified authenticator');
    // Registered on first use, bound to this origin, its counter raised by the assertion.
    const [credential] = (
      await cdp<{ credentials: { signCount: number }[] }>('WebAuthn.getCredentials', {
        authenticatorId,
      })
    ).credentials;
    const stored = new AuthenticatorStore();
    const registered = await stored.list(location.origin);
    await stored.close();
    expect(
      registered.map((entry) => [entry.origin, entry.rpId, entry.algorithm, entry.signCount]),
    ).to.deep.equal([[location.origin, location.hostname, -8, credential?.signCount]]);
  });

  it('fault: authenticator does not verify the person — the call does not run, and the reason says the ceremony gave no assertion', async () => {
    await addAuthenticator({ isUserVerified: false });
    const guard = mount();
    const ran = refundTool(guard);
    const pending = guard.call('process_refund', { order_id: 'ORD-8821', amount: 800 });
    await nativeClick(await approveButton(guard));
    const result = (await pending) as ToolResult;
    expect(ran).to.have.length(0);
    expect(result.isError).to.equal(true);
    expect(result.structuredContent?.decision).to.equal('Deny');
    expect(result.structuredContent?.reason).to.match(
      /needs a verified authenticator, and the ceremony was cancelled or timed out \(NotAllowedError\); ask the person again$/,
    );
  });

  it('fault: assertion without the user-verified flag — refused by the worker, which says so', async () => {
    const id = await addAuthenticator({ isUserVerified: true });
    await cdp('WebAuthn.setResponseOverrideBits', { authenticatorId: id, isBadUV: true });
    const guard = mount();
    const ran = refundTool(guard);
    const pending = guard.call('process_refund', { order_id: 'ORD-8821', amount: 800 });
    await nativeClick(await approveButton(guard));
    const result = (await pending) as ToolResult;
    expect(ran).to.have.length(0);
    expect(result.structuredContent?.reason).to.match(
      /the authenticator did not verify the person \(no user verification/,
    );
  });

  it('fault: bogus signature — refused by the worker, which says so', async () => {
    const id = await addAuthenticator({ isUserVerified: true });
    const guard = mount();
    const ran = refundTool(guard);
    // Registers on the first call (no override), then the assertion of the second is forged.
    const first = guard.call('process_refund', { order_id: 'ORD-1', amount: 150 });
    await nativeClick(await approveButton(guard));
    await first;
    expect(ran).to.have.length(1);
    await cdp('WebAuthn.setResponseOverrideBits', { authenticatorId: id, isBogusSignature: true });
    const second = guard.call('process_refund', { order_id: 'ORD-2', amount: 150 });
    await nativeClick(await approveButton(guard));
    const result = (await second) as ToolResult;
    expect(ran).to.have.length(1);
    expect(result.structuredContent?.reason).to.match(
      /its signature does not verify with the registered credential/,
    );
  });

  it('fault: a trusted native click on Approve alone (nobody touches the authenticator) — the call does not run', async () => {
    await addAuthenticator({ isUserVerified: true, automaticPresenceSimulation: false });
    const guard = mount();
    guard.authenticatorTimeoutMs = 1500;
    const ran = refundTool(guard);
    const pending = guard.call('process_refund', { order_id: 'ORD-8821', amount: 800 });
    await nativeClick(await approveButton(guard));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).to.have.length(0, 'the click alone ran the tool');
    const result = (await pending) as ToolResult;
    expect(ran).to.have.length(0);
    expect(result.structuredContent?.decision).to.equal('Deny');
    expect(result.structuredContent?.reason).to.match(/the ceremony was cancelled or timed out/);
  });

  it('an amount under the Ask rule runs without any ceremony', async () => {
    const guard = mount();
    const ran = refundTool(guard);
    await guard.call('process_refund', { order_id: 'ORD-3', amount: 50 });
    expect(ran).to.have.length(1);
  });
});

describe('WebAuthn approvals through session.guard', () => {
  let perso: Perso;
  beforeEach(async () => {
    perso = await Perso.load({ policy: policyUrl });
    expect(perso.status().ok).to.equal(true);
  });
  afterEach(() => perso.close());

  it('fault: assertion replayed for other arguments, or for the same ticket again — the call does not run', async () => {
    await addAuthenticator({ isUserVerified: true });
    const session = perso.session({ role: 'agent' });
    const ran: unknown[] = [];
    const asked: { decision: DecisionResult; evidence: ApprovalEvidence }[] = [];
    const refund = session.guard(
      'process_refund',
      (args: { order_id: string; amount: number }) => ran.push(args),
      {
        approve: async (decision) => {
          const evidence = await requestWebAuthnApproval({
            ticket: decision.approval!,
            tool: 'process_refund',
            args: decision.args,
            policyHash: perso.status().hash,
          });
          asked.push({ decision, evidence });
          return evidence;
        },
      },
    );
    const first = await refund({ order_id: 'ORD-8821', amount: 800 });
    expect(first.ok).to.equal(true);
    expect(ran).to.have.length(1);
    const [{ decision, evidence }] = asked as [(typeof asked)[0]];
    expect(decision.approval?.kind).to.equal('webauthn');
    expect(decision.approvalKind).to.equal('webauthn');

    // The same ticket again: single use.
    const call = {
      tool: 'process_refund',
      role: 'agent',
      args: { order_id: 'ORD-8821', amount: 800 },
    };
    const again = await perso.approve(decision.approval!.nonce, call, evidence);
    expect(again.decision).to.equal('Deny');
    expect(again.reason).to.match(/unknown or already used/);

    // The captured assertion offered for another call's ticket: its challenge is for the first call.
    // (Without the first use's registration, which a second one would refuse on its own.)
    expect(evidence.kind === 'webauthn' && evidence.registration !== undefined).to.equal(
      true,
      'the first approval registers',
    );
    const assertionOnly =
      evidence.kind === 'webauthn'
        ? { kind: 'webauthn' as const, assertion: evidence.assertion }
        : evidence;
    const replay = session.guard('process_refund', (args: unknown) => ran.push(args), {
      approve: async () => assertionOnly,
    });
    const other = await replay({ order_id: 'ORD-9999', amount: 900 });
    expect(other.ok).to.equal(false);
    expect(other.decision.reason).to.match(/the authenticator signed a different call/);
    expect(ran).to.have.length(1);
  });

  it('fault: approve answers true without an authenticator present — the session runs the ceremony itself, and nothing runs without it', async () => {
    const session = perso.session({ role: 'agent' });
    let ran = false;
    const refund = session.guard('process_refund', () => (ran = true), {
      approve: async () => true,
      webauthn: { timeoutMs: 1000 },
    });
    const outcome = await refund({ order_id: 'ORD-8821', amount: 800 });
    expect(ran).to.equal(false);
    expect(outcome.decision.decision).to.equal('Deny');
    expect(outcome.decision.reason).to.match(/the ceremony was cancelled or timed out/);
  });

  it('fault: a click alone redeemed directly — perso.approve without evidence is a Deny that says a click is not enough', async () => {
    const call = {
      tool: 'process_refund',
      role: 'agent',
      args: { order_id: 'ORD-8821', amount: 800 },
    };
    const ask = await perso.evaluate(call);
    expect(ask.decision).to.equal('Ask');
    const result = await perso.approve(ask.approval!.nonce, call);
    expect(result.decision).to.equal('Deny');
    expect(result.reason).to.match(
      /needs a verified authenticator \(the policy says "approval": "webauthn"\); a click is not enough/,
    );
  });
});

describe('WebAuthn approvals through the script-tag embed', () => {
  const frames: HTMLIFrameElement[] = [];
  afterEach(() => {
    for (const frame of frames.splice(0)) frame.remove();
  });

  type EmbedWindow = Window & {
    ran: unknown[];
    perso: {
      setApprover(approver: ((question: { approval: string }) => Promise<boolean>) | null): void;
      ready(): Promise<unknown>;
    };
    document: Document & {
      modelContext: {
        registerTool(tool: object): Promise<void>;
        getTools(): Promise<{ name: string }[]>;
        executeTool(tool: object, json: string): Promise<string | null>;
      };
    };
  };

  async function embedPage(): Promise<EmbedWindow> {
    const frame = document.createElement('iframe');
    frame.srcdoc = `<!doctype html><html><head><script>window.ran = [];</script>
      <script src="/node_modules/@mcp-b/global/dist/index.iife.js"></script>
      <script src="/dist/script/perso-embed.js" data-policy="${policyUrl}" data-role="agent"></script></head><body></body></html>`;
    frames.push(frame);
    const loaded = new Promise((resolve) =>
      frame.addEventListener('load', resolve, { once: true }),
    );
    document.body.append(frame);
    await loaded;
    const win = frame.contentWindow as EmbedWindow;
    await win.perso.ready();
    await win.document.modelContext.registerTool({
      name: 'process_refund',
      description: 'refund an order',
      inputSchema: {
        type: 'object',
        properties: { order_id: { type: 'string' }, amount: { type: 'number' } },
      },
      execute: (args: unknown) => {
        win.ran.push(args);
        return { content: [{ type: 'text', text: 'refunded' }] };
      },
    });
    return win;
  }

  async function agentCall(win: EmbedWindow, args: unknown): Promise<ToolResult> {
    const tool = (await win.document.modelContext.getTools()).find(
      (candidate) => candidate.name === 'process_refund',
    )!;
    return JSON.parse(
      (await win.document.modelContext.executeTool(tool, JSON.stringify(args))) ?? 'null',
    ) as ToolResult;
  }

  it('an approver that says yes starts the ceremony: a verified authenticator releases the call', async () => {
    await addAuthenticator({ isUserVerified: true });
    const win = await embedPage();
    const questions: string[] = [];
    win.perso.setApprover(async (question) => {
      questions.push(question.approval);
      return true;
    });
    const result = await agentCall(win, { order_id: 'ORD-8821', amount: 800 });
    expect(result.content[0]!.text).to.equal(
      'refunded',
      result.content[0]!.text + ' PAGE ' + (win as any).PAGEDBG + ' ' + win.location.href,
    );
    expect(win.ran).to.deep.equal([{ order_id: 'ORD-8821', amount: 800 }]);
    expect(questions).to.deep.equal(['webauthn']);
  });

  it('fault: an approver that says yes with nobody at the authenticator — the call does not run', async () => {
    await addAuthenticator({ isUserVerified: false });
    const win = await embedPage();
    win.perso.setApprover(async () => true);
    const result = await agentCall(win, { order_id: 'ORD-8821', amount: 800 });
    expect(win.ran).to.have.length(0);
    expect(result.isError).to.equal(true);
    expect(result.structuredContent?.reason).to.match(
      /needs a verified authenticator, and the ceremony was cancelled or timed out/,
    );
  });
});
