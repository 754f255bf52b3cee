import { z } from 'zod';
import { defineMethod } from './define.js';

/** Methods every peer answers, whatever it serves. */
export const commonMethods = {
  'rpc.ping': defineMethod({
    summary: 'Round trip check of the connection itself.',
    access: 'read',
    params: z.object({}).strict().optional(),
    result: z.object({ pong: z.literal(true) }),
  }),
  'rpc.renewToken': defineMethod({
    summary: 'Replaces the token that authenticated this connection before it expires.',
    access: 'read',
    params: z.object({ token: z.string().min(1) }).strict(),
    result: z.object({ expiresAt: z.number().nullable() }),
  }),
};
