/**
 * The policy the browser tests of untrusted content share: `read_email` returns untrusted
 * content, `send_money` is allowed unless its `account` came from it (rule `no-untrusted-payee`).
 *
 * @param version the policy's version, naming the test that loads it
 */
export function untrustedPayeePolicy(version: string) {
  return {
    version,
    default_action: 'Deny',
    tools: ['read_email', 'send_money'],
    roles: ['agent'],
    untrusted_tools: ['read_email'],
    rules: [
      { tool_name: 'read_email', roles: ['agent'] },
      { tool_name: 'send_money', roles: ['agent'] },
      {
        id: 'no-untrusted-payee',
        tool_name: 'send_money',
        roles: ['agent'],
        effect: 'Deny',
        condition: { FromUntrusted: { source: 'Arguments', field: 'account' } },
      },
    ],
  };
}
