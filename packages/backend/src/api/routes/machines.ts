/**
 * /api/v1/machines: machine records and who they are shared with. Their lifecycle (build,
 * start, stop, destroy) is Kloud's: it registers those routes beside these.
 */

import { machineStateSchema } from '@kk/protocol/catalogue/kloud.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { canRead, type Viewer } from '../../access/viewer.js';
import type { Machine } from '../../repos/machines.js';
import type { Principal } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../define.js';
import { ifMatchVersion, setEtag } from '../etag.js';
import { allow, allowGroup, found } from '../guard.js';
import { pageOf, pageQuery } from '../pagination.js';
import { id, machineSchema, slugName } from '../schemas.js';

const idOrUid = z.object({
  id: z.string().regex(/^([0-9a-f]{28}|u[a-z0-9]{3}[0-9a-f]{8})$/, 'a machine id or uid'),
});
const meta = z.record(z.string(), z.unknown());

export function machineRoutes(app: FastifyInstance, registry: RouteRegistry): void {
  const { store } = registry;
  const tag = 'machines';

  /** The machine (by id or uid) and the caller's access, or not_found. */
  async function visible(ref: string, principal: Principal) {
    const machine = ref.length === 28 ? await store.machines.get(ref) : await store.machines.byUid(ref);
    const access = machine && store.machines.accessOf(principal.viewer, machine);
    found(machine && access, 'machine', ref);
    return { machine: machine!, access: access! };
  }
  const owned = async (ref: string, principal: Principal, what: string) => {
    const it = await visible(ref, principal);
    allow(it.access === 'owner', `only the owner ${what}`);
    return it.machine;
  };
  const shown = (machine: Machine, viewer: Viewer) => ({
    ...machine,
    access: store.machines.accessOf(viewer, machine)!,
  });

  /** What a new or changed machine refers to must be the caller's to use. */
  async function checkRefs(
    viewer: Viewer,
    refs: { stackId?: string | null; credentialId?: string | null; provisioners?: string[] },
  ) {
    if (refs.stackId) {
      const stack = await store.stacks.get(refs.stackId);
      found(stack && (stack.ownerId === viewer.id || viewer.isAdmin), 'stack', refs.stackId);
    }
    if (refs.credentialId)
      found(await store.credentials.accessOf(viewer, refs.credentialId), 'credential', refs.credentialId);
    for (const p of refs.provisioners ?? []) {
      const provisioner = await store.provisioners.get(p);
      found(provisioner && canRead(viewer, provisioner), 'provisioner', p);
    }
  }

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/machines',
    tag,
    summary: 'Machines the caller owns or that are shared with them',
    query: pageQuery.extend({
      stackId: id.optional(),
      state: machineStateSchema.optional(),
      provider: z.string().optional(),
      ownerId: id.optional(),
    }),
    response: pageOf(machineSchema),
    async handler({ query, principal }) {
      const page = await store.machines.list(principal.viewer, query);
      return { ...page, items: page.items.map((m) => shown(m, principal.viewer)) };
    },
  });

  defineRoute(app, registry, {
    method: 'POST',
    url: '/api/v1/machines',
    tag,
    summary: 'Create a machine record (NotInitialized); Kloud builds it',
    body: z.object({
      provider: slugName,
      label: z.string().min(1).max(200),
      meta: meta.optional(),
      stackId: id.nullable().optional(),
      groupId: id.nullable().optional(),
      credentialId: id.nullable().optional(),
      provisioners: z.array(id).max(20).optional(),
    }),
    response: machineSchema,
    status: 201,
    async handler({ body, principal, reply }) {
      allowGroup(principal.viewer, body.groupId);
      await checkRefs(principal.viewer, body);
      const group = body.groupId ? await store.groups.get(body.groupId) : undefined;
      const machine = await store.machines.create(body, principal.user, group?.slug);
      setEtag(reply, machine);
      return shown(machine, principal.viewer);
    },
  });

  defineRoute(app, registry, {
    method: 'GET',
    url: '/api/v1/machines/:id',
    tag,
    summary: 'One machine, by id or uid',
    params: idOrUid,
    response: machineSchema,
    async handler({ params, principal, reply }) {
      const { machine } = await visible(params.id, principal);
      setEtag(reply, machine);
      return shown(machine, principal.viewer);
    },
  });

  defineRoute(app, registry, {
    method: 'PATCH',
    url: '/api/v1/machines/:id',
    tag,
    summary: 'Change a machine’s label, meta, credential or provisioners (its owner)',
    params: idOrUid,
    ifMatch: true,
    body: z
      .object({
        label: z.string().min(1).max(200),
        meta,
        credentialId: id.nullable(),
        provisioners: z.array(id).max(20),
      })
      .partial()
      .strict(),
    response: machineSchema,
    async handler({ params, body, principal, request, reply }) {
      const current = await owned(params.id, principal, 'changes a machine');
      await checkRefs(principal.viewer, body);
      const machine = await store.machines.update(
        current.id,
        body,
        ifMatchVersion(request),
        principal.user.id,
      );
      setEtag(reply, machine);
      return shown(machine, principal.viewer);
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: '/api/v1/machines/:id',
    tag,
    summary: 'Delete a machine record (its owner; only NotInitialized or Terminated — destroy it first)',
    params: idOrUid,
    ifMatch: true,
    async handler({ params, principal, request }) {
      const machine = await owned(params.id, principal, 'deletes a machine');
      await store.machines.delete(machine.id, ifMatchVersion(request), principal.user.id);
    },
  });

  defineRoute(app, registry, {
    method: 'PUT',
    url: '/api/v1/machines/:id/users/:userId',
    tag,
    summary: 'Share with a user (its owner); readonly users may only look',
    params: idOrUid.extend({ userId: id }),
    body: z.object({ permanent: z.boolean().default(false), readonly: z.boolean().default(false) }),
    response: machineSchema,
    async handler({ params, body, principal }) {
      const machine = await owned(params.id, principal, 'shares a machine');
      allow(params.userId !== machine.ownerId, 'the owner already has the machine');
      await store.machines.share(machine.id, { userId: params.userId, ...body }, principal.user.id);
      return shown((await store.machines.get(machine.id))!, principal.viewer);
    },
  });

  defineRoute(app, registry, {
    method: 'DELETE',
    url: '/api/v1/machines/:id/users/:userId',
    tag,
    summary: 'Stop sharing with a user (its owner, or the user leaving)',
    params: idOrUid.extend({ userId: id }),
    async handler({ params, principal }) {
      const { machine, access } = await visible(params.id, principal);
      allow(access === 'owner' || params.userId === principal.user.id, 'only the owner removes other users');
      await store.machines.unshare(machine.id, params.userId, principal.user.id);
    },
  });
}
