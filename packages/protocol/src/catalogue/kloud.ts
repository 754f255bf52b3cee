import { z } from 'zod';
import { defineMethod } from './define.js';

/** Koding's machine states (DESIGN §5). */
export const machineStateSchema = z.enum([
  'NotInitialized',
  'Building',
  'Starting',
  'Running',
  'Stopping',
  'Stopped',
  'Rebooting',
  'Terminating',
  'Terminated',
  'Unknown',
]);

const id = z.string().min(1).max(200);
const machineRef = z.object({ machineId: id }).strict();

/** What a lifecycle call answers at once; progress follows as events with this id. */
const accepted = z.object({
  eventId: z.string(),
  machineId: z.string(),
  action: z.enum(['build', 'start', 'stop', 'restart', 'destroy']),
  state: machineStateSchema,
});

export const progressEventSchema = z.object({
  eventId: z.string(),
  machineId: z.string().nullable().optional(),
  message: z.string(),
  percentage: z.number().nullable(),
  /** The machine state the event reports, or `failed` with `error` set. */
  status: z.string(),
  error: z.string().optional(),
  at: z.number().int(),
  seq: z.number().int().optional(),
});

export const machineInfoSchema = z.object({
  id: z.string(),
  uid: z.string(),
  label: z.string(),
  provider: z.string(),
  ownerId: z.string(),
  stackId: z.string().nullable(),
  state: machineStateSchema,
  stateReason: z.string(),
  stateModifiedAt: z.number().int(),
  allowed: z.array(z.string()),
  online: z.boolean(),
  lastSeenAt: z.number().int().nullable(),
  ipAddress: z.string().nullable(),
  kiteId: z.string().nullable(),
  /** The caller's access: `owner`, or `user` / `readonly` for a machine shared with them. */
  access: z.enum(['owner', 'user', 'readonly']),
});

const stackInputs = {
  stackId: id,
  /** Values for the template's variables (else the stack's config, else the defaults). */
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Template credential name → stored credential id. */
  credentials: z.record(z.string(), z.string()).optional(),
};

const planAction = z.object({
  machine: z.string(),
  machineId: z.string().optional(),
  action: z.enum(['create', 'build', 'replace', 'reprovision', 'update', 'destroy', 'none', 'blocked']),
  reason: z.string(),
  changes: z.array(z.object({ field: z.string(), from: z.unknown(), to: z.unknown() })),
  dependsOn: z.array(z.string()),
});

const lifecycleCall = (summary: string) =>
  defineMethod({ summary, access: 'write', params: machineRef, result: accepted });

/**
 * kloud.*: the manager's own methods (users and the CLI/web UI call them with an API token);
 * kite.*: what a registered Klient calls on Kloud; tunnel.*: what Kloud calls on a Klient.
 */
export const kloudMethods = {
  'kloud.build': lifecycleCall(
    'Build the machine (NotInitialized or Terminated); answers an event id at once.',
  ),
  'kloud.start': lifecycleCall('Start a Stopped machine; answers an event id at once.'),
  'kloud.stop': lifecycleCall('Stop a Running machine; answers an event id at once.'),
  'kloud.restart': lifecycleCall('Restart a Running machine; answers an event id at once.'),
  'kloud.destroy': lifecycleCall('Destroy the machine and its instance; answers an event id at once.'),
  'kloud.info': defineMethod({
    summary: 'A machine as Kloud knows it: state, reason, calls allowed now, online and last seen.',
    access: 'read',
    params: machineRef,
    result: machineInfoSchema,
  }),
  'kloud.events': defineMethod({
    summary: 'Stored progress events of a job (eventId) or a machine, after a sequence number (polling).',
    access: 'read',
    params: z
      .object({
        eventId: id.optional(),
        machineId: id.optional(),
        afterSeq: z.number().int().optional(),
        limit: z.number().int().min(1).max(1000).optional(),
      })
      .strict()
      .refine((p) => (p.eventId === undefined) !== (p.machineId === undefined), {
        message: 'give exactly one of eventId or machineId',
        path: ['eventId'],
      }),
    result: z.object({ events: z.array(progressEventSchema) }),
  }),
  'kloud.subscribe': defineMethod({
    summary: 'Live progress events of a job (eventId) or a machine as a stream, after the stored ones.',
    access: 'read',
    streams: true,
    params: z
      .object({ eventId: id.optional(), machineId: id.optional() })
      .strict()
      .refine((p) => (p.eventId === undefined) !== (p.machineId === undefined), {
        message: 'give exactly one of eventId or machineId',
        path: ['eventId'],
      }),
    result: z.object({ streamId: z.number().int() }),
  }),
  'kloud.plan': defineMethod({
    summary: 'What applying the stack would change: create, replace, reprovision, destroy, per machine.',
    access: 'read',
    params: z.object(stackInputs).strict(),
    result: z.object({ actions: z.array(planAction), empty: z.boolean(), blocked: z.boolean() }),
  }),
  'kloud.apply': defineMethod({
    summary: 'Bring the stack to its template, in dependency order; answers an event id at once.',
    access: 'write',
    params: z.object(stackInputs).strict(),
    result: z.object({ eventId: z.string(), actions: z.array(planAction) }),
  }),
  'kloud.destroyStack': defineMethod({
    summary: 'Destroy every machine of the stack, dependents first; answers an event id at once.',
    access: 'write',
    params: z.object({ stackId: id }).strict(),
    result: z.object({ eventId: z.string() }),
  }),
  'kloud.describeStack': defineMethod({
    summary: 'A stack with its machines and their states.',
    access: 'read',
    params: z.object({ stackId: id }).strict(),
    result: z.object({
      stackId: z.string(),
      title: z.string(),
      templateId: z.string().nullable(),
      machines: z.array(machineInfoSchema.extend({ name: z.string().nullable() })),
    }),
  }),

  'kite.register': defineMethod({
    summary: 'A Klient announces itself on its link (after connecting with its kite.key).',
    access: 'owner',
    params: z
      .object({
        version: z.string().max(100),
        /** Where the Klient listens for direct connections (ws://host:port), if it does. */
        url: z.string().max(500).optional(),
        hostname: z.string().max(255).optional(),
      })
      .strict(),
    result: z.object({ machineId: z.string(), heartbeatMs: z.number().int() }),
  }),
  'kite.heartbeat': defineMethod({
    summary: 'A Klient says it is alive; Kloud records last seen.',
    access: 'owner',
    params: z.object({}).strict().optional(),
    result: z.object({ at: z.number().int() }),
  }),
  'kite.rotateKey': defineMethod({
    summary:
      'Kloud gives a registered Klient a fresh kite.key (same kite id) signed by its current key; Klient replaces its key file and uses it from now on.',
    access: 'owner',
    params: z.object({ kiteKey: z.string().min(1).max(8192) }).strict(),
    result: z.object({ ok: z.literal(true) }),
  }),
  'tunnel.open': defineMethod({
    summary:
      'Kloud asks a registered Klient to open a data connection (GET /tunnel/<channelId>) that carries one caller’s WebSocket, byte for byte, to the Klient’s own server.',
    access: 'owner',
    params: z.object({ channelId: z.string().min(16).max(100) }).strict(),
    result: z.object({ ok: z.literal(true) }),
  }),
} satisfies Record<string, ReturnType<typeof defineMethod>>;
