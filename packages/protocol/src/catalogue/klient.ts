import { z } from 'zod';
import { defineMethod } from './define.js';

const bytes = z.number().int().nonnegative();

/** Capacity of the filesystem holding a path (statfs), in bytes. */
export const diskInfoSchema = z.object({
  path: z.string(),
  total: bytes,
  free: bytes,
  /** What an unprivileged user may still write (free minus the root reserve). */
  available: bytes,
  inodesTotal: bytes,
  inodesFree: bytes,
});

/** klient.*: the agent itself. */
export const klientMethods = {
  'klient.ping': defineMethod({
    summary: 'Round trip to the Klient agent; answers with its clock.',
    access: 'read',
    params: z.object({}).strict().optional(),
    result: z.object({ pong: z.literal(true), at: z.number().int() }),
  }),
  'klient.info': defineMethod({
    summary: 'What machine this is: OS, architecture, user, home, Klient version, uptime, disk and memory.',
    access: 'read',
    params: z.object({}).strict().optional(),
    result: z.object({
      os: z.object({
        platform: z.string(),
        release: z.string(),
        hostname: z.string(),
        name: z.string().nullable(),
      }),
      arch: z.string(),
      user: z.object({
        name: z.string(),
        uid: z.number().int(),
        gid: z.number().int(),
        shell: z.string().nullable(),
      }),
      home: z.string(),
      version: z.string(),
      kiteId: z.string().nullable(),
      uptime: z.object({ system: z.number().nonnegative(), klient: z.number().nonnegative() }),
      cpus: z.number().int().nonnegative(),
      loadAverage: z.array(z.number()),
      disk: diskInfoSchema,
      memory: z.object({ total: bytes, free: bytes, available: bytes }),
    }),
  }),
  'klient.usage': defineMethod({
    summary:
      'Seconds since the last user activity (fs write, exec, terminal input); Kloud stops idle machines from it.',
    access: 'read',
    params: z.object({}).strict().optional(),
    result: z.object({
      secondsSinceActivity: z.number().int().nonnegative(),
      lastActivityAt: z.number().int(),
    }),
  }),
} satisfies Record<string, ReturnType<typeof defineMethod>>;
