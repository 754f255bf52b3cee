/**
 * One EC2 client per credential (region, keys and endpoint are per client, so two credentials
 * never share state), and the single door every EC2 call goes through: bounded retries with
 * jittered backoff for transient failures, then a ProviderError with a kind.
 */
import { createHash } from 'node:crypto';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { ProviderCredential } from '../provider.js';
import { withRetry } from '../retry.js';
import { awsError, isRetryableAwsError } from './errors.js';
import { type AwsCredentialSecret, type AwsSettings, awsSecret } from './settings.js';

const maxClients = 64;

export class Ec2Access {
  readonly #clients = new Map<string, EC2Client>();

  constructor(private readonly settings: AwsSettings) {}

  /** The client for this credential, made on first use and kept while its secret stays the same. */
  client(credential: ProviderCredential): { ec2: EC2Client; secret: AwsCredentialSecret } {
    const secret = awsSecret(credential);
    const key = createHash('sha256')
      .update(JSON.stringify([credential.id, secret]))
      .digest('hex');
    let ec2 = this.#clients.get(key);
    if (!ec2) {
      if (this.#clients.size >= maxClients) {
        const [oldest, client] = this.#clients.entries().next().value!;
        this.#clients.delete(oldest);
        client.destroy();
      }
      ec2 = new EC2Client({
        region: secret.region,
        endpoint: secret.endpoint ?? this.settings.endpoint,
        credentials: {
          accessKeyId: secret.accessKeyId,
          secretAccessKey: secret.secretAccessKey,
          sessionToken: secret.sessionToken,
        },
        // Retries are ours (one policy for every provider, logged, bounded): the SDK makes one attempt.
        maxAttempts: 1,
        requestHandler: {
          requestTimeout: this.settings.requestTimeoutMs,
          connectionTimeout: this.settings.requestTimeoutMs,
          // Without it the SDK only logs a warning and keeps waiting for an answer that may never come.
          throwOnRequestTimeout: true,
        },
      });
      this.#clients.set(key, ec2);
    }
    return { ec2, secret };
  }

  /**
   * Runs one EC2 call (`run` sends one command) with retries; throws ProviderError saying
   * `what` failed. A call is re-sent whole, so `run` must be safe to repeat (reads, or writes
   * made idempotent by a ClientToken or by the state they ask for).
   */
  async call<T>(
    credential: ProviderCredential,
    what: string,
    run: (ec2: EC2Client) => Promise<T>,
  ): Promise<T> {
    const { ec2 } = this.client(credential);
    const log = this.settings.logger;
    try {
      return await withRetry(
        () => run(ec2),
        {
          retryable: isRetryableAwsError,
          onRetry: (error, attempt, delayMs) =>
            log?.warn(
              {
                provider: 'aws',
                credentialId: credential.id,
                what,
                attempt,
                delayMs,
                code: (error as Error).name,
              },
              'retrying EC2 call',
            ),
        },
        this.settings.retry,
      );
    } catch (error) {
      throw awsError(error, what);
    }
  }

  close(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }
}
