/**
 * A small stateful DigitalOcean API for tests, on loopback: droplets that boot (`new` →
 * `active`), actions that finish after being read a few times and then change the droplet
 * (power_on, shutdown, power_off, reboot), SSH keys, tag filtering, and injected faults
 * (429 with a rate-limit reset, 500) for the next N matching requests. Its answers follow
 * DigitalOcean's OpenAPI document; tests put Prism's validating proxy in front of it.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { actionJson, dropletJson, images, regions, sizes } from './do-json.js';

export interface FakeDroplet {
  id: number;
  name: string;
  status: 'new' | 'active' | 'off' | 'archive';
  reads: number;
  size: string;
  region: string;
  image: string;
  tags: string[];
  userData?: string;
  sshKeys: (number | string)[];
  publicIp: string;
}

export interface FakeAction {
  id: number;
  type: string;
  dropletId: number;
  status: 'in-progress' | 'completed' | 'errored';
  reads: number;
}

export interface DoFault {
  /** `METHOD /path` without the query, e.g. `POST /v2/droplets`. */
  route: string;
  /** 429 and 500 answer with DO's error body; `hang` never answers (the client's timeout must notice). */
  status: 429 | 500 | 'hang';
  count: number;
  /** Sent as `retry-after` with a 429. */
  retryAfterSeconds?: number;
}

export interface DoServer {
  url: string;
  droplets: Map<number, FakeDroplet>;
  actions: Map<number, FakeAction>;
  /** Action types that will end `errored` (a guest ignoring `shutdown`, say). */
  failingActions: Set<string>;
  /** Reads of a droplet or action before it settles. */
  settleAfter: number;
  requests: { route: string; status: number; body?: unknown }[];
  inject(fault: DoFault): void;
  close(): Promise<void>;
}

const afterAction: Record<string, FakeDroplet['status']> = {
  power_on: 'active',
  shutdown: 'off',
  power_off: 'off',
  reboot: 'active',
};

export async function startDoServer(): Promise<DoServer> {
  let nextId = 500_000;
  const droplets = new Map<number, FakeDroplet>();
  const actions = new Map<number, FakeAction>();
  const keys: { id: number; name: string; public_key: string; fingerprint: string }[] = [];
  const faults: DoFault[] = [];
  const requests: DoServer['requests'] = [];
  const state = { settleAfter: 1 };

  const settle = (thing: { reads: number }, done: () => void) => {
    thing.reads++;
    if (thing.reads > state.settleAfter) done();
  };

  async function route(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>) {
    const notFound = [
      404,
      { id: 'not_found', message: 'The resource you were accessing could not be found.' },
    ] as const;
    if (method === 'GET' && path === '/v2/account') {
      return [
        200,
        {
          account: {
            droplet_limit: 25,
            floating_ip_limit: 3,
            email: 'ops@example.com',
            uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef',
            email_verified: true,
            status: 'active',
            status_message: '',
          },
        },
      ] as const;
    }
    if (method === 'GET' && path === '/v2/account/keys')
      return [200, { ssh_keys: keys, links: {}, meta: { total: keys.length } }] as const;
    if (method === 'POST' && path === '/v2/account/keys') {
      if (keys.some((k) => k.public_key === body.public_key))
        return [
          422,
          { id: 'unprocessable_entity', message: 'SSH Key is already in use on your account' },
        ] as const;
      const key = {
        id: nextId++,
        name: String(body.name),
        public_key: String(body.public_key),
        fingerprint: '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa',
      };
      keys.push(key);
      return [201, { ssh_key: key }] as const;
    }
    if (method === 'GET' && path === '/v2/droplets') {
      const tag = query.get('tag_name');
      const list = [...droplets.values()].filter((d) => !tag || d.tags.includes(tag));
      return [200, { droplets: list.map(dropletJson), links: {}, meta: { total: list.length } }] as const;
    }
    if (method === 'POST' && path === '/v2/droplets') {
      if (!sizes[String(body.size)])
        return [
          422,
          { id: 'unprocessable_entity', message: 'You specified an invalid size for Droplet creation.' },
        ] as const;
      if (!images.includes(String(body.image)))
        return [
          422,
          { id: 'unprocessable_entity', message: 'You specified an invalid image for Droplet creation.' },
        ] as const;
      if (!regions.includes(String(body.region)))
        return [
          422,
          { id: 'unprocessable_entity', message: 'You specified an invalid region for Droplet creation.' },
        ] as const;
      const id = nextId++;
      const d: FakeDroplet = {
        id,
        name: String(body.name),
        status: 'new',
        reads: 0,
        size: String(body.size),
        region: String(body.region),
        image: String(body.image),
        tags: (body.tags as string[]) ?? [],
        userData: body.user_data as string | undefined,
        sshKeys: (body.ssh_keys as (number | string)[]) ?? [],
        publicIp: `164.90.${Math.floor(id / 250) % 250}.${id % 250}`,
      };
      droplets.set(id, d);
      const action = {
        id: nextId++,
        type: 'create',
        dropletId: id,
        status: 'in-progress' as const,
        reads: 0,
      };
      actions.set(action.id, action);
      return [
        202,
        {
          droplet: dropletJson(d),
          links: {
            actions: [
              { id: action.id, rel: 'create', href: `https://api.digitalocean.com/v2/actions/${action.id}` },
            ],
          },
        },
      ] as const;
    }
    const one = /^\/v2\/droplets\/(\d+)$/.exec(path);
    if (one) {
      const d = droplets.get(Number(one[1]));
      if (!d) return notFound;
      if (method === 'DELETE') {
        droplets.delete(d.id);
        return [204, undefined] as const;
      }
      if (d.status === 'new') settle(d, () => (d.status = 'active'));
      return [200, { droplet: dropletJson(d) }] as const;
    }
    const act = /^\/v2\/droplets\/(\d+)\/actions$/.exec(path);
    if (act && method === 'POST') {
      const d = droplets.get(Number(act[1]));
      if (!d) return notFound;
      const action: FakeAction = {
        id: nextId++,
        type: String(body.type),
        dropletId: d.id,
        status: 'in-progress',
        reads: 0,
      };
      actions.set(action.id, action);
      return [201, { action: actionJson(action, d.region) }] as const;
    }
    const followed = /^\/v2\/actions\/(\d+)$/.exec(path);
    if (followed && method === 'GET') {
      const a = actions.get(Number(followed[1]));
      if (!a) return notFound;
      const d = droplets.get(a.dropletId);
      if (a.status === 'in-progress') {
        settle(a, () => {
          a.status = server.failingActions.has(a.type) ? 'errored' : 'completed';
          const next = afterAction[a.type];
          if (a.status === 'completed' && d && next) d.status = next;
        });
      }
      return [200, { action: actionJson(a, d?.region ?? 'nyc3') }] as const;
    }
    return notFound;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString();
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    const key = `${req.method} ${url.pathname}`;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'ratelimit-limit': '5000',
      'ratelimit-remaining': '4999',
      'ratelimit-reset': String(Math.floor(Date.now() / 1000)),
    };
    const fault = faults.find((f) => f.route === key && f.count > 0);
    let status: number;
    let out: unknown;
    if (req.headers.authorization !== 'Bearer dop_v1_kloud_test_token') {
      [status, out] = [401, { id: 'unauthorized', message: 'Unable to authenticate you' }];
    } else if (fault) {
      fault.count--;
      if (fault.status === 'hang') return;
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      [status, out] =
        fault.status === 429
          ? [429, { id: 'too_many_requests', message: 'API Rate limit exceeded.' }]
          : [500, { id: 'server_error', message: 'Unexpected server-side error' }];
    } else {
      [status, out] = await route(req.method ?? 'GET', url.pathname, url.searchParams, body);
    }
    requests.push({ route: key, status, body: text ? body : undefined });
    res.writeHead(status, headers).end(out === undefined ? undefined : JSON.stringify(out));
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) =>
      res.writeHead(500).end(JSON.stringify({ id: 'server_error', message: String(error) })),
    );
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const server: DoServer = {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    droplets,
    actions,
    failingActions: new Set(),
    get settleAfter() {
      return state.settleAfter;
    },
    set settleAfter(n: number) {
      state.settleAfter = n;
    },
    requests,
    inject: (fault) => faults.push({ ...fault }),
    close: async () => {
      http.closeAllConnections();
      http.close();
      await once(http, 'close');
    },
  };
  return server;
}
