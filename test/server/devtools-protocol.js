// A test-runner plugin that lets a browser test send DevTools protocol commands to its own page,
// as a browser agent does: `executeServerCommand('perso-cdp', { method, params })` from
// @web/test-runner-commands. Only the domains the approval tests need are let through: the
// WebAuthn virtual authenticator (WebAuthn.*) and trusted native input (Input.dispatch*).
//
// The chrome launcher runs puppeteer-core; each test session's page gets one CDP session, kept
// open for the page's life (virtual authenticators live as long as the session that made them).

const ALLOWED = /^(WebAuthn\.[A-Za-z]+|Input\.dispatch(Mouse|Key)Event)$/;

/** @returns {import('@web/test-runner').TestRunnerPlugin} */
export function devtoolsProtocolPlugin() {
  /** @type {Map<string, Promise<import('puppeteer-core').CDPSession>>} */
  const sessions = new Map();
  return {
    name: 'perso-devtools-protocol',
    async executeCommand({ command, payload, session }) {
      if (command !== 'perso-cdp') return undefined;
      if (session.browser.type !== 'puppeteer')
        throw new Error('perso-cdp needs the puppeteer-based chrome launcher');
      const { method, params } = /** @type {{ method?: unknown, params?: object }} */ (
        payload ?? {}
      );
      if (typeof method !== 'string' || !ALLOWED.test(method))
        throw new Error(`perso-cdp: method ${String(method)} is not allowed`);
      const page = session.browser.getPage(session.id);
      let cdp = sessions.get(session.id);
      if (cdp === undefined) {
        cdp = page.createCDPSession();
        sessions.set(session.id, cdp);
        page.once('close', () => sessions.delete(session.id));
      }
      return (await cdp).send(/** @type {any} */ (method), params ?? {});
    },
  };
}
