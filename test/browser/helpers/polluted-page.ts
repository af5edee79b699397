// Runs inside a page whose Object.prototype and Array.prototype a script polluted before perso
// loaded (see runtime-attacks.test.ts): every entry point decides a call that the pollution would
// turn into an Allow, and the page reports what ran and what was decided. Objects are made here,
// in the polluted realm, as the page's own code would make them.
import { Perso } from '../../../src/perso/perso.ts';
import '../../../src/element/index.ts';
import type { AuditRecord } from '../../../src/audit/audit-record.ts';
import type { ToolCall } from '../../../src/call/decision.ts';
import type { Policy } from '../../../src/policy/policy.ts';

/** A manager may delete only the customers they own; nothing else is granted. */
export const POLICY: Policy & { annotation_defaults: boolean } = {
  version: 'pollution-1',
  default_action: 'Deny',
  annotation_defaults: true,
  tools: ['delete_customer', 'view_report', 'list_ids'],
  roles: ['manager'],
  rules: [
    {
      tool_name: 'delete_customer',
      roles: ['manager'],
      condition: {
        FieldEquals: {
          source_a: 'AgentAttributes',
          field_a: 'user_id',
          source_b: 'ResourceAttributes',
          field_b: 'owner_id',
        },
      },
    },
    {
      tool_name: 'list_ids',
      roles: ['manager'],
      condition: { FieldPresent: { source: 'Arguments', field: 'ids' } },
    },
  ],
};

/** What the page saw. */
export interface PollutedReport {
  loadMode: string;
  evaluate: string;
  batch: string[];
  audited: string;
  auditRecords: { decision: string; resourceAttributes?: unknown }[];
  guardRan: string[];
  guardDecisions: string[];
  holeDecision: string;
  elementRan: string[];
  elementResults: boolean[];
}

/** Runs every entry point in this (polluted) page; `policyUrl` serves {@link POLICY}. */
export async function runPollutedPage(policyUrl: string): Promise<PollutedReport> {
  const ran: string[] = [];
  const manager = { user_id: 'mgr-1' };
  const deleteOther: ToolCall = {
    tool: 'delete_customer',
    role: 'manager',
    agentAttributes: manager,
    args: { customer_id: 'C-7' },
  };

  const perso = await Perso.load({ policy: POLICY, engine: 'worker' });
  const evaluate = await perso.evaluate(deleteOther);
  const batch = await perso.evaluateBatch([deleteOther, deleteOther, { ...deleteOther }]);

  const auditRecords: AuditRecord[] = [];
  const audited = await Perso.load({
    policy: POLICY,
    engine: 'worker',
    audit: { emit: (record) => void auditRecords.push(record) },
  });
  const auditedDecision = await audited.evaluate(deleteOther);

  const session = perso.session({ role: 'manager', agentAttributes: manager });
  const guardDecisions: string[] = [];
  const remove = session.guard('delete_customer', () => ran.push('delete_customer'));
  guardDecisions.push((await remove({ customer_id: 'C-7' })).decision.decision);
  const report = session.guard('view_report', () => ran.push('view_report'), {});
  guardDecisions.push((await report({})).decision.decision);
  // A hole in the args is a hole, not Array.prototype[1].
  const holes: unknown[] = ['C-1'];
  holes[2] = 'C-3';
  const hole = await perso.evaluate({ tool: 'list_ids', role: 'manager', args: { ids: holes } });

  const element = document.createElement('perso-guard');
  element.setAttribute('src', policyUrl);
  element.setAttribute('role', 'manager');
  element.agentAttributes = manager;
  document.body.append(element);
  const elementRan: string[] = [];
  element.register('delete_customer', () => elementRan.push('delete_customer'));
  element.register('view_report', () => elementRan.push('view_report'));
  const elementResults = [
    await element.call('delete_customer', { customer_id: 'C-7' }),
    await element.call('view_report', {}),
  ].map((result) => (result as { isError?: boolean } | null)?.isError === true);

  const result: PollutedReport = {
    loadMode: perso.status().mode,
    evaluate: evaluate.decision,
    batch: batch.map((decision) => decision.decision),
    audited: auditedDecision.decision,
    auditRecords: auditRecords.map((record) => ({
      decision: record.decision,
      ...(Object.hasOwn(record, 'resourceAttributes')
        ? { resourceAttributes: record.resourceAttributes }
        : {}),
    })),
    guardRan: ran,
    guardDecisions,
    holeDecision: `${hole.decision} ${hole.kind}`,
    elementRan,
    elementResults,
  };
  element.remove();
  await perso.close();
  await audited.close();
  return result;
}
