import { DEFAULT_CONNECTION_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, RETRY_BASE_DELAY_MS } from './clients';
import { SDK_MAX_RETRY_DELAY_MS, type CommonConfig } from './config';

/**
 * The worst case of one SDK call must fit inside the function's Lambda timeout: every attempt
 * waiting out its connection and request timeouts, and every retry drawing its backoff ceiling.
 * Full-jitter backoff before retry n is at most min(cap, base × 2^(n−1)) (aws-behaviour.md §3.3):
 * base 250 ms for the functions' capped strategy (lib/clients.ts), 500 ms, the SDK's throttling
 * base, for the SDK's own strategies, whose cap is 20 s.
 */
export const SDK_THROTTLING_RETRY_BASE_MS = 500;
/** Left of the Lambda timeout after the worst call: the handler's own work and its last log line. */
export const RETRY_BUDGET_MARGIN_MS = 5_000;
/** Below this an attempt is too short to be useful: settings that need less do not fit. */
export const MIN_ATTEMPT_MS = 500;

type SdkSettings = CommonConfig['sdk'];

/** The largest total backoff one call can wait through all its retries. */
export function worstCaseBackoffMs(sdk: SdkSettings): number {
  const capped = sdk.retryMode === 'standard' && sdk.maxBackoffMs < SDK_MAX_RETRY_DELAY_MS;
  const base = capped ? RETRY_BASE_DELAY_MS : SDK_THROTTLING_RETRY_BASE_MS;
  const cap = capped ? sdk.maxBackoffMs : SDK_MAX_RETRY_DELAY_MS;
  let total = 0;
  for (let retry = 1; retry < sdk.maxAttempts; retry += 1) total += Math.min(cap, base * 2 ** (retry - 1));
  return total;
}

export interface AttemptTimeouts {
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
}

/**
 * Connection and request timeouts of one attempt: the usual 3 s and 10 s when the function's time
 * allows them, else the time left after the worst backoff and the margin, shared among the attempts
 * (a third for the connection). ECS and Auto Scaling answer in well under a second; an attempt cut
 * short is retried like any timeout.
 */
export function attemptTimeouts(sdk: SdkSettings, functionTimeoutSeconds: number): AttemptTimeouts {
  const perAttempt = Math.floor((functionTimeoutSeconds * 1000 - RETRY_BUDGET_MARGIN_MS - worstCaseBackoffMs(sdk)) / sdk.maxAttempts);
  if (perAttempt >= DEFAULT_CONNECTION_TIMEOUT_MS + DEFAULT_REQUEST_TIMEOUT_MS) {
    return { connectionTimeoutMs: DEFAULT_CONNECTION_TIMEOUT_MS, requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS };
  }
  const attempt = Math.max(MIN_ATTEMPT_MS, perAttempt);
  const connectionTimeoutMs = Math.min(DEFAULT_CONNECTION_TIMEOUT_MS, Math.floor(attempt / 3));
  return { connectionTimeoutMs, requestTimeoutMs: attempt - connectionTimeoutMs };
}

/** The worst case of one call with these timeouts: every attempt timed out, every backoff at its ceiling. */
export function worstCaseCallMs(sdk: SdkSettings, timeouts: AttemptTimeouts): number {
  return sdk.maxAttempts * (timeouts.connectionTimeoutMs + timeouts.requestTimeoutMs) + worstCaseBackoffMs(sdk);
}
