/**
 * A strict client-side rate limiter for one vendor key: never more than `limit` requests
 * start in any window of `intervalMs`. Each request holds one of `limit` slots from its start
 * until `intervalMs` after it has ended; so the vendor, which counts requests when they arrive
 * (after they start, before they end), never sees more than `limit` in any window either,
 * however the network delays them. Waiting requests start in arrival order.
 *
 * Why not Effect's `RateLimiter`: its token bucket (the default) starts `limit` requests at once
 * and refills during the window, and its fixed window lets a burst at the end of one window meet
 * a burst at the start of the next: both let 2 × `limit` start within one interval.
 *
 * Time is Effect's `Clock`, so tests drive it with `TestClock`.
 *
 * @since 0.2.0
 */
import { Clock, Duration, Effect, type Scope } from "effect"

/** Runs an effect once a slot is free; the slot is held until `intervalMs` after it ends. */
export type SlidingWindowLimiter = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** Options of {@link make}: a positive integer `limit` per `intervalMs` (> 0) milliseconds. */
export interface SlidingWindowLimiterOptions {
  readonly limit: number
  readonly intervalMs: number
}

/** Sleeps until the clock reads at least `at` (a timer may fire a little early: check again). */
const until = (at: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    now >= at ? Effect.void : Effect.zipRight(Effect.sleep(Duration.millis(at - now)), until(at)),
  )

/**
 * Builds a limiter; the slots' cool-down fibers live in the scope. Options are checked by the
 * caller (an adapter reports bad ones as `InvalidAdapterConfig`).
 *
 * @example
 * const limited = yield* SlidingWindowLimiter.make({ limit: 100, intervalMs: 5_000 })
 * yield* limited(sendOneRequest)
 */
export const make = (options: SlidingWindowLimiterOptions): Effect.Effect<SlidingWindowLimiter, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const slots = yield* Effect.makeSemaphore(options.limit)
    // Read the end time now; the slot comes back `intervalMs` later, in the background (an
    // interruptible fiber, so closing the scope does not wait for it).
    const coolDown = Effect.flatMap(Clock.currentTimeMillis, (ended) =>
      Effect.forkIn(Effect.interruptible(Effect.zipRight(until(ended + options.intervalMs), slots.release(1))), scope),
    )
    return <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(restore(slots.take(1)), Effect.ensuring(restore(effect), coolDown)),
      )
  })
