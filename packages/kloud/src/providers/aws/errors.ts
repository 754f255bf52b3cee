/**
 * How EC2's failures map to the kinds the lifecycle acts on. The SDK names a service error
 * after EC2's error code (`error.name === 'InvalidAMIID.NotFound'`) and carries the HTTP
 * status; transport failures carry Node's error codes. We branch on those codes only.
 */
import { ProviderError, type ProviderErrorKind } from '../errors.js';

const credentialCodes = new Set([
  'AuthFailure',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'ExpiredToken',
  'RequestExpired',
  'OptInRequired',
  'Blocked',
  'PendingVerification',
]);

const transientCodes = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const userCodes = new Set([
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'InvalidParameter',
  'Unsupported',
  'UnsupportedOperation',
  'IncorrectInstanceState',
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'MaxSpotInstanceCountExceeded',
  'InvalidInstanceID.Malformed',
]);

const userPrefixes = [
  'InvalidAMIID.',
  'InvalidSubnetID.',
  'InvalidGroup.',
  'InvalidKeyPair.',
  'InvalidBlockDeviceMapping',
];

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function codeOf(error: unknown): string {
  const e = error as AwsLikeError;
  return (typeof e?.code === 'string' && networkCodes.has(e.code) ? e.code : e?.name) ?? 'Error';
}

function statusOf(error: unknown): number | undefined {
  return (error as AwsLikeError)?.$metadata?.httpStatusCode;
}

export function awsErrorKind(error: unknown): ProviderErrorKind {
  const code = codeOf(error);
  if (code === 'InvalidInstanceID.NotFound') return 'notFound';
  if (credentialCodes.has(code)) return 'credential';
  if (transientCodes.has(code) || networkCodes.has(code)) return 'transient';
  if (userCodes.has(code) || userPrefixes.some((p) => code.startsWith(p))) return 'user';
  const status = statusOf(error);
  if (status !== undefined && status >= 500) return 'transient';
  if (status === 401 || status === 403) return 'credential';
  return 'internal';
}

/** Worth another try: throttling, 5xx, a dropped connection or a timeout. */
export function isRetryableAwsError(error: unknown): boolean {
  return !(error instanceof ProviderError) && awsErrorKind(error) === 'transient';
}

const hints: Partial<Record<ProviderErrorKind, string>> = {
  credential: 'check the access key, its secret and its IAM permissions',
  transient: 'EC2 is busy or unreachable; try again later',
};

/** A ProviderError for a failed EC2 call; `what` says what we were doing. */
export function awsError(error: unknown, what: string): ProviderError {
  if (error instanceof ProviderError) return error;
  const kind = awsErrorKind(error);
  const code = codeOf(error);
  const message = (error as AwsLikeError)?.message ?? String(error);
  const hint = hints[kind] ? `; ${hints[kind]}` : '';
  return new ProviderError('aws', kind, `${what}: ${code}: ${message}${hint}`, { cause: error });
}
