import type { FastifyBaseLogger } from 'fastify';

/**
 * What an audit line may carry: ids, sizes, flags and names from a fixed set. Never free text a
 * client sent, so a phone number, token, code or file content cannot slip into one.
 */
export type AuditValue = string | number | boolean | null;

/**
 * A writer of one feature's audit events: one `info` line per event, its name in a stable `event`
 * field beside the event's own fields. `Events` maps each event name to the fields it carries.
 */
export function auditTrail<Events extends Record<string, Record<string, AuditValue>>>() {
  return <Name extends keyof Events & string>(log: FastifyBaseLogger, event: Name, fields: Events[Name]): void => {
    const line: Record<string, AuditValue> = { event, ...fields };
    log.info(line, `audit: ${event}`);
  };
}
