import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, FastCheck as fc, RateLimiter, TestClock } from "effect"
import * as SlidingWindowLimiter from "../src/SlidingWindowLimiter.js"

interface Call {
  /** When the caller arrives at the limiter, ms after 0. */
  readonly arrive: number
  /** How long the request takes once started. */
  readonly takes: number
}

/** Runs `calls` through a limiter under TestClock, `concurrency` callers at a time; [start, end] of each. */
const run = (
  options: SlidingWindowLimiter.SlidingWindowLimiterOptions,
  calls: ReadonlyArray<Call>,
  concurrency: number,
) =>
  Effect.gen(function* () {
    const limited = yield* SlidingWindowLimiter.make(options)
    const spans: Array<readonly [number, number]> = []
    const fiber = yield* Effect.fork(
      Effect.forEach(
        calls,
        (call) =>
          Effect.zipRight(
            Effect.sleep(call.arrive),
            limited(
              Effect.gen(function* () {
                const start = yield* Clock.currentTimeMillis
                yield* Effect.sleep(call.takes)
                spans.push([start, yield* Clock.currentTimeMillis])
              }),
            ),
          ),
        { concurrency, discard: true },
      ),
    )
    yield* TestClock.adjust(10_000_000)
    yield* Fiber.join(fiber)
    return spans
  })

/** The most starts in any window [t, t + intervalMs). */
const maxStartsPerWindow = (spans: ReadonlyArray<readonly [number, number]>, intervalMs: number) =>
  Math.max(0, ...spans.map(([s]) => spans.filter(([t]) => t >= s && t < s + intervalMs).length))

/**
 * The most requests a vendor could count in one window [t, t + intervalMs) if each arrived at
 * any instant between its start and its end: for t at each end, the spans with start < t +
 * intervalMs and end >= t.
 */
const maxArrivalsPerWindow = (spans: ReadonlyArray<readonly [number, number]>, intervalMs: number) =>
  Math.max(0, ...spans.map(([, t]) => spans.filter(([s, e]) => s < t + intervalMs && e >= t).length))

describe("SlidingWindowLimiter", () => {
  it.effect.prop(
    "for any burst size, arrivals, durations and concurrency, no window of intervalMs has more than limit starts",
    [
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 500 }),
      fc.array(fc.record({ arrive: fc.nat({ max: 1500 }), takes: fc.nat({ max: 1000 }) }), { maxLength: 60 }),
      fc.integer({ min: 1, max: 60 }),
    ],
    ([limit, intervalMs, calls, concurrency]) =>
      Effect.gen(function* () {
        const spans = yield* run({ limit, intervalMs }, calls, concurrency)
        assert.strictEqual(spans.length, calls.length, "every call ran")
        assert.isAtMost(maxStartsPerWindow(spans, intervalMs), limit)
        // Stronger: wherever in its span each request reaches the vendor.
        assert.isAtMost(maxArrivalsPerWindow(spans, intervalMs), limit)
      }).pipe(Effect.scoped),
    { fastCheck: { numRuns: 40 } },
  )

  it.effect("a burst starts limit at once, then limit per interval (no slower than it must be)", () =>
    Effect.gen(function* () {
      const spans = yield* run(
        { limit: 3, intervalMs: 100 },
        Array.from({ length: 10 }, () => ({ arrive: 0, takes: 0 })),
        10,
      )
      assert.deepStrictEqual(
        spans.map(([s]) => s),
        [0, 0, 0, 100, 100, 100, 200, 200, 200, 300],
      )
    }).pipe(Effect.scoped),
  )

  it.effect("a slot comes back intervalMs after its request ended, not after it started", () =>
    Effect.gen(function* () {
      const spans = yield* run(
        { limit: 1, intervalMs: 100 },
        [
          { arrive: 0, takes: 40 },
          { arrive: 0, takes: 0 },
        ],
        2,
      )
      assert.deepStrictEqual(spans, [
        [0, 40],
        [140, 140],
      ])
    }).pipe(Effect.scoped),
  )

  it.effect("a failed or interrupted request gives its slot back after the interval too", () =>
    Effect.gen(function* () {
      const limited = yield* SlidingWindowLimiter.make({ limit: 1, intervalMs: 100 })
      yield* Effect.either(limited(Effect.fail("boom")))
      const waiting = yield* Effect.fork(limited(Effect.never))
      yield* TestClock.adjust(100)
      yield* Fiber.interrupt(waiting)
      const starts: Array<number> = []
      const next = yield* Effect.fork(
        limited(Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => starts.push(t)))),
      )
      yield* TestClock.adjust(1_000)
      yield* Fiber.join(next)
      assert.deepStrictEqual(starts, [200])
    }).pipe(Effect.scoped),
  )

  // Why this limiter exists: Effect's RateLimiter allows about twice the limit in one interval.
  it.effect(
    "Effect's RateLimiter lets nearly 2 x limit start within one interval (token bucket and fixed window)",
    () =>
      Effect.gen(function* () {
        const starts = (algorithm: "token-bucket" | "fixed-window", arrivals: ReadonlyArray<number>) =>
          Effect.gen(function* () {
            const limiter = yield* RateLimiter.make({ limit: 5, interval: 1_000, algorithm })
            const t0 = yield* Clock.currentTimeMillis
            const times: Array<number> = []
            const fiber = yield* Effect.fork(
              Effect.forEach(
                arrivals,
                (at) =>
                  Effect.zipRight(
                    Effect.sleep(at),
                    limiter(Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => times.push(t - t0)))),
                  ),
                { concurrency: "unbounded", discard: true },
              ),
            )
            yield* TestClock.adjust(10_000)
            yield* Fiber.join(fiber)
            return times
          }).pipe(Effect.scoped)
        const bucket = yield* starts(
          "token-bucket",
          Array.from({ length: 10 }, () => 0),
        )
        assert.strictEqual(bucket.filter((t) => t < 1_000).length, 9, "token bucket: 5 at once, then refills")
        const fixed = yield* starts("fixed-window", [0, 999, 999, 999, 999, 1_000, 1_000, 1_000, 1_000, 1_000])
        assert.strictEqual(fixed.filter((t) => t >= 999 && t <= 1_000).length, 9, "fixed window: two bursts 1 ms apart")
      }),
  )
})
