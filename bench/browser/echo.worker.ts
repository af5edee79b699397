// The floor: a bare worker that posts back whatever it receives (no Comlink, no engine).
self.addEventListener('message', (event: MessageEvent) => {
  (self as unknown as { postMessage(message: unknown): void }).postMessage(event.data);
});
