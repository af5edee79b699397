// Talks to the scriptable endpoints of test/server/perso-test-server.js (mounted under /__perso__/).
import { deleteDB } from 'idb';
import { PolicyStore } from '../../../src/policy/policy-store.ts';

/** A name no other test uses (server state and IndexedDB databases are per name). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/** The URL a scripted file is served at. */
export function fileUrl(name: string): string {
  return new URL(`/__perso__/file/${encodeURIComponent(name)}`, location.href).href;
}

/** The URL of a scripted audit sink. */
export function sinkUrl(name: string): string {
  return new URL(`/__perso__/sink/${encodeURIComponent(name)}`, location.href).href;
}

/** Scripts what the server answers for a file. */
export async function scriptFile(
  name: string,
  script: { body?: string; etag?: string | null; status?: number | 'drop'; delayMs?: number },
): Promise<void> {
  const response = await fetch(fileUrl(name), { method: 'PUT', body: JSON.stringify(script) });
  if (!response.ok) throw new Error(`could not script file "${name}"`);
}

/** The requests a scripted file received. */
export async function fileLog(
  name: string,
): Promise<{ ifNoneMatch: string | null; status: number | 'drop' }[]> {
  return (await fetch(`/__perso__/log/${encodeURIComponent(name)}`)).json();
}

/** Scripts an audit sink: the next `failures` posts answer `status`. */
export async function scriptSink(
  name: string,
  script: { failures?: number; status?: number; delayMs?: number },
): Promise<void> {
  const response = await fetch(sinkUrl(name), { method: 'PUT', body: JSON.stringify(script) });
  if (!response.ok) throw new Error(`could not script sink "${name}"`);
}

/** What an audit sink received. */
export async function readSink(
  name: string,
): Promise<{ attempts: number; received: { contentType: string; body: string }[] }> {
  return (await fetch(sinkUrl(name))).json();
}

/** Waits until `check` returns true (polling), or fails after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const stores: PolicyStore[] = [];

/** A PolicyStore on a fresh database; {@link dropStores} deletes them. */
export function freshStore(): PolicyStore {
  const store = new PolicyStore(uniqueName('perso-test'));
  stores.push(store);
  return store;
}

/** Closes and deletes every database made by {@link freshStore}. */
export async function dropStores(): Promise<void> {
  for (const store of stores.splice(0)) {
    await store.close();
    await deleteDB(store.name);
  }
}
