/** Every route the backend serves, in one place. Kloud adds its own with `defineRoute`. */
import type { FastifyInstance } from 'fastify';
import type { RouteRegistry } from '../define.js';
import { auditRoutes } from './audit.js';
import { credentialRoutes } from './credentials.js';
import { groupRoutes } from './groups.js';
import { healthRoutes } from './health.js';
import { jobRoutes } from './jobs.js';
import { machineRoutes } from './machines.js';
import { stackRoutes } from './stacks.js';
import { templateRoutes } from './templates.js';
import { userRoutes } from './users.js';

export function registerRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  healthRoutes(app, registry);
  userRoutes(app, registry);
  groupRoutes(app, registry);
  credentialRoutes(app, registry);
  templateRoutes(app, registry);
  stackRoutes(app, registry);
  machineRoutes(app, registry);
  jobRoutes(app, registry);
  auditRoutes(app, registry);
}
