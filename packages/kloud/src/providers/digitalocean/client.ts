/**
 * A small client for DigitalOcean's v2 API, one per credential: its token and base URL are
 * its own state, so two credentials in one Kloud never see each other's (the fault of the
 * module-wide client in `digitalocean-js`). Plain `fetch` with a per-request timeout; JSON in
 * and out; failures become `DoApiError` with the HTTP status and DO's error id. Retries
 * (429, 5xx, network) are bounded and jittered, honouring DO's rate-limit reset.
 */
import { ProviderError, type ProviderErrorKind } from '../errors.js';
import { type RetryOptions, withRetry } from '../retry.js';

export class DoApiError extends Error {
  constructor(
    readonly status: number,
    /** DO's error id (`unauthorized`, `unprocessable_entity`, `too_many_requests` …), or a network code. */
    readonly id: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DoApiError';
  }
}

export function doErrorKind(error: unknown): ProviderErrorKind {
  if (!(error instanceof DoApiError)) return 'internal';
  const { status } = error;
  if (status === 0 || status === 429 || status >= 500) return 'transient';
  if (status === 401 || status === 403) return 'credential';
  if (status === 404) return 'notFound';
  if (status === 422 || status === 400) return 'user';
  return 'internal';
}

/** A ProviderError for a failed API call; `what` says what we were doing. */
export function doError(error: unknown, what: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const kind = doErrorKind(error);
  const detail =
    error instanceof DoApiError ? `${error.status} ${error.id}: ${error.message}` : String(error);
  const hint = kind === 'credential' ? '; check the API token and its scopes' : '';
  return new ProviderError('digitalocean', kind, `${what}: ${detail}${hint}`, { cause: error });
}

export interface DoClientOptions {
  token: string;
  baseUrl: string;
  timeoutMs: number;
  retry: RetryOptions;
  fetch?: typeof fetch;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export interface DoResponse<T> {
  status: number;
  body: T;
}

function retryAfterMs(headers: Headers): number | undefined {
  const after = Number(headers.get('retry-after'));
  if (Number.isFinite(after) && after > 0) return after * 1000;
  const reset = Number(headers.get('ratelimit-reset'));
  if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - Date.now());
  return undefined;
}

export class DoClient {
  constructor(private readonly options: DoClientOptions) {}

  /** One request, no retries; throws DoApiError for anything but 2xx. */
  async once<T>(method: string, path: string, body?: unknown): Promise<DoResponse<T>> {
    const doFetch = this.options.fetch ?? fetch;
    let res: Response;
    try {
      res = await doFetch(new URL(path, this.options.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      // fetch rejects only when no HTTP answer came: refused, reset, DNS, or our timeout.
      const e = error as { name?: string; cause?: { code?: string } };
      const code = e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? 'network');
      throw new DoApiError(0, code, `${method} ${path} got no answer: ${(error as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed ?? {}) as { id?: string; message?: string };
      throw new DoApiError(
        res.status,
        e.id ?? 'error',
        e.message ?? (text.slice(0, 200) || res.statusText),
        retryAfterMs(res.headers),
      );
    }
    return { status: res.status, body: parsed as T };
  }

  /** A request retried while the failure is transient (429, 5xx, network, timeout). */
  request<T>(method: string, path: string, body?: unknown): Promise<DoResponse<T>> {
    return withRetry(
      () => this.once<T>(method, path, body),
      {
        retryable: (error) => doErrorKind(error) === 'transient',
        retryAfterMs: (error) => (error instanceof DoApiError ? error.retryAfterMs : undefined),
        onRetry: this.options.onRetry,
      },
      this.options.retry,
    );
  }
}
