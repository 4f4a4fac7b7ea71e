/**
 * The one retry policy for vendor calls: exponential backoff with jitter for retryable
 * reasons, honouring the vendor's Retry-After, bounded by attempts and a total time budget.
 * Time comes from Effect's `Clock` and jitter from Effect's `Random`, so tests drive it with
 * `TestClock`.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Random } from "effect"
import { type CrmError, isRetryable, withAttempts } from "./CrmError.js"

/** Retry and timeout settings. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number
  /** The wait before the second attempt; doubled each time. */
  readonly baseDelayMs: number
  /** No single wait is longer than this (a longer Retry-After gives up instead). */
  readonly maxDelayMs: number
  /** No retry starts after this much time since the first attempt. */
  readonly budgetMs: number
  /** Each attempt fails with `Transport { kind: "Timeout" }` after this long. */
  readonly requestTimeoutMs: number
  /** Fraction of each backoff wait that is randomised (0: none, 1: full jitter). */
  readonly jitter: number
}

/** Five attempts, 200 ms doubling to at most 10 s, within 30 s; 10 s per request. */
export const defaults: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  budgetMs: 30_000,
  requestTimeoutMs: 10_000,
  jitter: 0.5,
}

/** No retries; the per-request timeout still applies. */
export const none: RetryPolicy = { ...defaults, maxAttempts: 1 }

/**
 * The wait before attempt `attempt + 1` after a failure of attempt `attempt` (1-based), or
 * `undefined` when the error must not be retried or the policy is spent. `random` is in [0, 1).
 * Pure; property-tested.
 */
export const nextDelay = (
  policy: RetryPolicy,
  error: CrmError,
  attempt: number,
  elapsedMs: number,
  random: number,
): number | undefined => {
  if (!isRetryable(error.reason) || attempt >= policy.maxAttempts) return undefined
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 40))
  const jittered = backoff * (1 - policy.jitter) + backoff * policy.jitter * random
  const retryAfter = error.reason._tag === "RateLimited" ? error.reason.retryAfterMs : undefined
  const delay = retryAfter === undefined ? jittered : Math.max(retryAfter, jittered)
  if (retryAfter !== undefined && retryAfter > policy.maxDelayMs) return undefined
  if (elapsedMs + delay > policy.budgetMs) return undefined
  return Math.round(delay)
}

/** Called before each wait, e.g. to count retries or log them. */
export type OnRetry = (error: CrmError, attempt: number, delayMs: number) => Effect.Effect<void>

/**
 * Runs `effect` under `policy`: retries retryable `CrmError`s with backoff, stops on others.
 * The last error is the one returned, with `attempts` set (its message says the policy allows no more).
 *
 * @example
 * const lead = yield* RetryPolicy.retrying(RetryPolicy.defaults)(client.getLead(id))
 */
export const retrying =
  (policy: RetryPolicy, onRetry?: OnRetry) =>
  <A, R>(effect: Effect.Effect<A, CrmError, R>): Effect.Effect<A, CrmError, R> =>
    Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      for (let attempt = 1; ; attempt++) {
        const result = yield* Effect.either(effect)
        if (result._tag === "Right") return result.right
        const now = yield* Clock.currentTimeMillis
        const delay = nextDelay(policy, result.left, attempt, now - started, yield* Random.next)
        if (delay === undefined) return yield* Effect.fail(withAttempts(result.left, attempt))
        yield* Effect.logDebug("retrying vendor call").pipe(
          Effect.annotateLogs({
            vendor: result.left.vendor,
            operation: result.left.operation,
            reason: result.left.reason._tag,
            attempt,
            delayMs: delay,
          }),
        )
        if (onRetry !== undefined) yield* onRetry(result.left, attempt, delay)
        yield* Effect.sleep(Duration.millis(delay))
      }
    })
