/**
 * A local server that speaks the EC2 Query API well enough for the real @aws-sdk/client-ec2 to
 * drive the AWS provider against it: form-encoded `Action=…&Version=…` POSTs in, EC2's XML
 * responses and error documents out. It keeps an account in memory (`world`), checks the
 * access key of each signed request, records every call, and can inject faults (throttling,
 * 5xx, a hang) for the next N matching requests. Loopback only, port chosen by the OS.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { actions } from './ec2-actions.js';
import { Ec2Fault, Ec2World } from './ec2-world.js';
import { errorXml, QueryParams, responseXml } from './query.js';

export type FaultKind = 'throttle' | 'internal' | 'unavailable' | 'hang';

export interface Fault {
  kind: FaultKind;
  /** Only requests for this action (any action when absent). */
  action?: string;
  /** How many matching requests it hits. */
  count: number;
}

export interface Ec2Call {
  action: string;
  params: URLSearchParams;
  accessKeyId?: string;
  status: number;
  errorCode?: string;
}

const faultAnswers: Record<Exclude<FaultKind, 'hang'>, Ec2Fault> = {
  throttle: new Ec2Fault('RequestLimitExceeded', 'Request limit exceeded.', 503),
  internal: new Ec2Fault('InternalError', 'An internal error has occurred', 500),
  unavailable: new Ec2Fault('Unavailable', 'The server is overloaded and cannot handle the request', 503),
};

export interface Ec2Server {
  /** The endpoint to give the SDK (`http://127.0.0.1:PORT`). */
  url: string;
  world: Ec2World;
  calls: Ec2Call[];
  /** Access key ids the server accepts; anything else gets AuthFailure (401). */
  accessKeyIds: Set<string>;
  inject(fault: Fault): void;
  /** Calls recorded for one action. */
  callsTo(action: string): Ec2Call[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** `AWS4-HMAC-SHA256 Credential=AKID/date/region/ec2/aws4_request, …` → AKID. */
function accessKeyOf(req: IncomingMessage): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
}

export async function startEc2Server(options: { accessKeyIds?: string[] } = {}): Promise<Ec2Server> {
  const world = new Ec2World();
  const calls: Ec2Call[] = [];
  const faults: Fault[] = [];
  const accessKeyIds = new Set(options.accessKeyIds ?? ['AKIDKLOUDTEST']);

  function takeFault(action: string): Fault | undefined {
    const fault = faults.find((f) => f.count > 0 && (f.action === undefined || f.action === action));
    if (fault) fault.count--;
    return fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = new URLSearchParams(await readBody(req));
    const action = params.get('Action') ?? '';
    const accessKeyId = accessKeyOf(req);
    const requestId = randomUUID();
    const call: Ec2Call = { action, params, accessKeyId, status: 200 };
    calls.push(call);
    const answer = (status: number, body: string) => {
      call.status = status;
      res
        .writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId })
        .end(body);
    };
    const refuse = (fault: Ec2Fault) => {
      call.errorCode = fault.code;
      answer(fault.status, errorXml(fault.code, fault.message, requestId));
    };

    if (req.method !== 'POST' || params.get('Version') !== '2016-11-15') {
      return refuse(
        new Ec2Fault('InvalidAction', `bad request: ${req.method} Version=${params.get('Version')}`),
      );
    }
    if (accessKeyId === undefined || !accessKeyIds.has(accessKeyId)) {
      return refuse(
        new Ec2Fault('AuthFailure', 'AWS was not able to validate the provided access credentials', 401),
      );
    }
    const fault = takeFault(action);
    if (fault?.kind === 'hang') return; // never answered; the client's timeout must notice
    if (fault) return refuse(faultAnswers[fault.kind]);
    const run = actions[action];
    if (!run)
      return refuse(new Ec2Fault('InvalidAction', `The action ${action} is not valid for this web service.`));
    try {
      answer(200, responseXml(action, requestId, run(world, new QueryParams(params))));
    } catch (error) {
      if (error instanceof Ec2Fault) return refuse(error);
      refuse(new Ec2Fault('InternalError', String(error), 500));
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    world,
    calls,
    accessKeyIds,
    inject: (fault) => faults.push({ ...fault }),
    callsTo: (action) => calls.filter((c) => c.action === action),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
