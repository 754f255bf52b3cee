/**
 * Kloud's REST API (`/api/v1`) with the logged-in API token. Failures become CliErrors whose
 * exit code follows the HTTP status and whose message is the server's own (it says what to do).
 */

import type { Login } from '../config/store.js';
import { cliErrors, httpError } from '../errors.js';

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Answer undefined on 404 instead of throwing. */
  allowNotFound?: boolean;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  etag: string | undefined;
}

export class KloudApi {
  constructor(readonly login: Login) {}

  get url(): string {
    return this.login.url;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.login.token}`,
      ...options.headers,
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let res: Response;
    try {
      res = await fetch(`${this.login.url}${path}`, { method, headers, body });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw cliErrors.unavailable(
        `cannot reach Kloud at ${this.login.url} (${cause?.code ?? cause?.message ?? (error as Error).message}): is it running, and is the URL right?`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (!res.ok) {
      const message =
        (parsed as { error?: { message?: string } } | undefined)?.error?.message ??
        `${method} ${path} answered HTTP ${res.status}`;
      throw httpError(res.status, message);
    }
    return { status: res.status, body: parsed as T, etag: res.headers.get('etag') ?? undefined };
  }

  async get<T>(path: string): Promise<T> {
    return (await this.request<T>('GET', path)).body;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return (await this.request<T>('POST', path, { body })).body;
  }

  async put<T>(path: string, body: unknown = {}): Promise<T> {
    return (await this.request<T>('PUT', path, { body })).body;
  }

  async delete<T>(path: string): Promise<T> {
    return (await this.request<T>('DELETE', path)).body;
  }

  /** Kloud's RPC endpoint (events, lifecycle), as a WebSocket URL. */
  rpcUrl(): string {
    const url = new URL('/api/v1/rpc', this.login.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }
}
