// The floor: a bare worker (no Comlink, no engine) that answers each message with a verdict-sized
// object, as perso's worker must: `{call, now}` → one verdict, `{calls, now}` → one distinct
// verdict object per call (a structured clone copies a shared object once, which would flatter it).
const verdict = {
  ok: true,
  value: {
    decision: 'Allow',
    reason: "rule matched tool 'view_customer' for role 'agent'; no condition required",
    kind: 'no_condition',
    rule: 'r1',
  },
};
self.addEventListener('message', (event: MessageEvent) => {
  const message = event.data as { call?: unknown; calls?: unknown[] };
  const answer = Array.isArray(message.calls)
    ? { ok: true, value: message.calls.map(() => ({ ...verdict.value })) }
    : verdict;
  (self as unknown as { postMessage(message: unknown): void }).postMessage(answer);
});
