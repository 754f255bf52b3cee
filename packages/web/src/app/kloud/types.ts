/** The resources as the REST API shows them (backend schemas.ts), as far as the UI reads them. */
import type {
  machineInfoSchema,
  machineStateSchema,
  progressEventSchema,
} from '@kk/protocol/catalogue/kloud.js';
import type { z } from 'zod';

export type MachineState = z.infer<typeof machineStateSchema>;
/** What `GET /api/v1/machines/:id/state` answers (kloud.info). */
export type MachineInfo = z.infer<typeof machineInfoSchema>;
export type ProgressEvent = z.infer<typeof progressEventSchema>;

export interface Machine {
  id: string;
  uid: string;
  label: string;
  provider: string;
  ownerId: string;
  stackId: string | null;
  status: { state: MachineState; reason: string; modifiedAt: number };
  registry: { online: boolean; lastSeenAt: number | null };
  users: Array<{ userId: string; permanent: boolean; readonly: boolean }>;
  access: 'owner' | 'user' | 'readonly';
  version: number;
}

export interface Template {
  id: string;
  title: string;
  description: string;
  content: string;
  accessLevel: 'private' | 'group' | 'public';
  ownerId: string;
  version: number;
}

export interface Credential {
  id: string;
  provider: string;
  title: string;
  fields: Record<string, unknown>;
  data: Record<string, string>;
  access: 'owner' | 'user';
  version: number;
}

export interface User {
  id: string;
  username: string;
  displayName: string;
  isAdmin: boolean;
}

/** Calls allowed per state (DESIGN §5); in-progress states allow none. */
export const allowedCalls: Record<MachineState, string[]> = {
  NotInitialized: ['build', 'destroy'],
  Building: [],
  Starting: [],
  Running: ['stop', 'restart', 'destroy'],
  Stopping: [],
  Stopped: ['start', 'destroy'],
  Rebooting: [],
  Terminating: [],
  Terminated: ['build'],
  Unknown: ['destroy'],
};

export const inProgress = new Set<MachineState>([
  'Building',
  'Starting',
  'Stopping',
  'Rebooting',
  'Terminating',
]);
