import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, FastCheck as fc, Option, Random, Ref, TestClock } from "effect"
import { CrmError, type CrmErrorReason, isRetryable, withAttempts } from "../src/CrmError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"

const error = (reason: CrmErrorReason) => new CrmError({ vendor: "acme", operation: "SetState", leadId: "L1", reason })
const unavailable = error({ _tag: "VendorUnavailable", detail: "HTTP 503", status: 503 })
const rateLimited = (retryAfterMs: number) => error({ _tag: "RateLimited", detail: "HTTP 429", retryAfterMs })

/** Deterministic waits: 100, 200, 400, ... capped at 10 s; generous budget. */
const policy: RetryPolicy.RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 10_000,
  budgetMs: 60_000,
  requestTimeoutMs: 1_000,
  jitter: 0,
}

/**
 * An effect that records the TestClock time of every attempt and fails with `failures[i]` on
 * attempt `i` (the last entry repeats), or succeeds with "ok" once `failures` is used up when
 * `thenSucceed` is set.
 */
const scripted = (failures: ReadonlyArray<CrmError>, thenSucceed = false) =>
  Effect.gen(function* () {
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const attempt = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const n = (yield* Ref.updateAndGet(times, (ts) => [...ts, now])).length
      const failure = n <= failures.length || !thenSucceed ? failures[Math.min(n, failures.length) - 1] : undefined
      if (failure !== undefined) return yield* Effect.fail(failure)
      return "ok"
    })
    return { times, attempt }
  })

/** Every reason that must never be retried, with a name for the test title. */
const nonRetryable: ReadonlyArray<readonly [string, CrmErrorReason]> = [
  ["Unauthorized", { _tag: "Unauthorized", detail: "HTTP 401" }],
  ["InvalidRequest", { _tag: "InvalidRequest", detail: "HTTP 422", fields: ["phone"] }],
  ["NotFound", { _tag: "NotFound", detail: "HTTP 404" }],
  ["Conflict", { _tag: "Conflict", detail: "HTTP 409" }],
  ["DuplicateLead", { _tag: "DuplicateLead", detail: "exists", existingId: "V9" }],
  ["MalformedResponse", { _tag: "MalformedResponse", detail: "bad body", status: 200 }],
  ["Unsupported", { _tag: "Unsupported", detail: "no", capability: "create" }],
  ["VendorIgnoredWrite", { _tag: "VendorIgnoredWrite", detail: "ignored", expected: "won", actual: "open" }],
  ["RateLimited (blocked)", { _tag: "RateLimited", detail: "duplicate submission", blocked: true, retryAfterMs: 10 }],
]

describe("RetryPolicy.retrying (TestClock)", () => {
  it.effect("an always-retryable failure is attempted exactly maxAttempts times, then fails with it", () =>
    Effect.gen(function* () {
      const { times, attempt } = yield* scripted([unavailable])
      const fiber = yield* Effect.fork(RetryPolicy.retrying(policy)(attempt))
      yield* TestClock.adjust(60_000)
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual((yield* Ref.get(times)).length, policy.maxAttempts)
      assert.deepStrictEqual(exit, Exit.fail(withAttempts(unavailable, policy.maxAttempts)))
    }),
  )

  it.effect("with no jitter the waits are exactly the doubling schedule, capped at maxDelayMs", () =>
    Effect.gen(function* () {
      const { times, attempt } = yield* scripted([unavailable])
      const capped = { ...policy, maxAttempts: 6, maxDelayMs: 500 }
      const fiber = yield* Effect.fork(RetryPolicy.retrying(capped)(attempt))
      yield* TestClock.adjust(60_000)
      yield* Fiber.await(fiber)
      // waits 100, 200, 400, 500 (capped), 500
      assert.deepStrictEqual(yield* Ref.get(times), [0, 100, 300, 700, 1200, 1700])
    }),
  )

  it.effect.prop(
    "with jitter each wait lies in [backoff * (1 - jitter), backoff]",
    [fc.integer(), fc.double({ min: 0, max: 1, noNaN: true })],
    ([seed, jitter]) =>
      Effect.gen(function* () {
        const { times, attempt } = yield* scripted([unavailable])
        const jittered = { ...policy, maxAttempts: 6, jitter }
        const fiber = yield* Effect.fork(RetryPolicy.retrying(jittered)(attempt))
        yield* TestClock.adjust(60_000)
        yield* Fiber.await(fiber)
        const ts = yield* Ref.get(times)
        assert.strictEqual(ts.length, 6)
        for (let i = 1; i < ts.length; i++) {
          const wait = (ts[i] ?? 0) - (ts[i - 1] ?? 0)
          const backoff = policy.baseDelayMs * 2 ** (i - 1)
          assert.isAtLeast(wait, Math.floor(backoff * (1 - jitter)), `wait ${i}`)
          assert.isAtMost(wait, backoff, `wait ${i}`)
        }
      }).pipe(Effect.withRandom(Random.make(seed))),
    { fastCheck: { numRuns: 15 } },
  )

  it.effect("Retry-After is honoured: no attempt before it, the next one right at it", () =>
    Effect.gen(function* () {
      const { times, attempt } = yield* scripted([rateLimited(5_000)], true)
      const fiber = yield* Effect.fork(RetryPolicy.retrying(policy)(attempt))
      yield* TestClock.adjust(4_999)
      assert.strictEqual((yield* Ref.get(times)).length, 1)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* Ref.get(times), [0, 5_000])
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("ok"))
    }),
  )

  it.effect("a Retry-After shorter than the backoff does not shorten the backoff", () =>
    Effect.gen(function* () {
      const { times, attempt } = yield* scripted([rateLimited(10)], true)
      const fiber = yield* Effect.fork(RetryPolicy.retrying({ ...policy, baseDelayMs: 300 })(attempt))
      yield* TestClock.adjust(1_000)
      yield* Fiber.await(fiber)
      assert.deepStrictEqual(yield* Ref.get(times), [0, 300])
    }),
  )

  it.effect("a Retry-After beyond maxDelayMs gives up at once, without waiting", () =>
    Effect.gen(function* () {
      const tooLong = rateLimited(policy.maxDelayMs + 1)
      const { times, attempt } = yield* scripted([tooLong], true)
      const fiber = yield* Effect.fork(RetryPolicy.retrying(policy)(attempt))
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(yield* Fiber.poll(fiber), Option.some(Exit.fail(withAttempts(tooLong, 1))))
      assert.strictEqual((yield* Ref.get(times)).length, 1)
    }),
  )

  it.effect("a Retry-After of exactly maxDelayMs is still honoured", () =>
    Effect.gen(function* () {
      const { times, attempt } = yield* scripted([rateLimited(policy.maxDelayMs)], true)
      const fiber = yield* Effect.fork(RetryPolicy.retrying(policy)(attempt))
      yield* TestClock.adjust(60_000)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("ok"))
      assert.deepStrictEqual(yield* Ref.get(times), [0, policy.maxDelayMs])
    }),
  )

  it.effect("the time budget stops retries: no retry would start after budgetMs", () =>
    Effect.gen(function* () {
      const { times, attempt } = yield* scripted([unavailable])
      // constant 1 s waits; attempts at 0, 1000, 2000, 3000; a fifth at 4000 would pass 3500
      const budgeted = { ...policy, maxAttempts: 100, baseDelayMs: 1_000, maxDelayMs: 1_000, budgetMs: 3_500 }
      const fiber = yield* Effect.fork(RetryPolicy.retrying(budgeted)(attempt))
      yield* TestClock.adjust(3_000)
      assert.deepStrictEqual(yield* Fiber.poll(fiber), Option.some(Exit.fail(withAttempts(unavailable, 4))))
      assert.deepStrictEqual(yield* Ref.get(times), [0, 1_000, 2_000, 3_000])
    }),
  )

  it.effect("the budget counts the attempts' own duration", () =>
    Effect.gen(function* () {
      const { times, attempt } = yield* scripted([unavailable])
      const slowAttempt = Effect.zipRight(Effect.sleep(400), attempt)
      const budgeted = { ...policy, maxAttempts: 100, baseDelayMs: 1_000, maxDelayMs: 1_000, budgetMs: 3_000 }
      const fiber = yield* Effect.fork(RetryPolicy.retrying(budgeted)(slowAttempt))
      yield* TestClock.adjust(60_000)
      yield* Fiber.await(fiber)
      // each attempt takes 400 ms and fails at the recorded time: 400 (+1000 -> next at 1400),
      // 1800 (+1000 = 2800 <= 3000 -> next at 2800), 3200 (+1000 > 3000: stop).
      assert.deepStrictEqual(yield* Ref.get(times), [400, 1_800, 3_200])
    }),
  )

  it.effect.each(nonRetryable)("%s is attempted exactly once", ([, reason]) =>
    Effect.gen(function* () {
      assert.isFalse(isRetryable(reason))
      const failure = error(reason)
      const { times, attempt } = yield* scripted([failure], true)
      const fiber = yield* Effect.fork(RetryPolicy.retrying(policy)(attempt))
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(yield* Fiber.poll(fiber), Option.some(Exit.fail(withAttempts(failure, 1))))
      yield* TestClock.adjust(60_000)
      assert.strictEqual((yield* Ref.get(times)).length, 1)
    }),
  )

  it.effect("a non-retryable failure after retryable ones stops at once and is the error returned", () =>
    Effect.gen(function* () {
      const unauthorized = error({ _tag: "Unauthorized", detail: "HTTP 401" })
      const { times, attempt } = yield* scripted([unavailable, unauthorized])
      const fiber = yield* Effect.fork(RetryPolicy.retrying(policy)(attempt))
      yield* TestClock.adjust(60_000)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail(withAttempts(unauthorized, 2)))
      assert.deepStrictEqual(yield* Ref.get(times), [0, 100])
    }),
  )

  it.effect.prop(
    "success after N retryable failures (N < maxAttempts) returns the value after N + 1 attempts",
    [fc.integer({ min: 0, max: policy.maxAttempts - 1 })],
    ([n]) =>
      Effect.gen(function* () {
        const timeout = error({ _tag: "Transport", detail: "timeout", kind: "Timeout" })
        const { times, attempt } = yield* scripted(
          Array.from({ length: n }, () => timeout),
          true,
        )
        const fiber = yield* Effect.fork(RetryPolicy.retrying(policy)(attempt))
        yield* TestClock.adjust(60_000)
        assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("ok"))
        assert.strictEqual((yield* Ref.get(times)).length, n + 1)
      }),
    { fastCheck: { numRuns: 10 } },
  )

  it.effect("onRetry is called once per retry, with the failed attempt's number and the wait", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make<ReadonlyArray<readonly [string, number, number]>>([])
      const onRetry: RetryPolicy.OnRetry = (e, attempt, delayMs) =>
        Ref.update(calls, (cs) => [...cs, [e.reason._tag, attempt, delayMs] as const])
      const { times, attempt } = yield* scripted([unavailable, unavailable, unavailable], true)
      const fiber = yield* Effect.fork(RetryPolicy.retrying(policy, onRetry)(attempt))
      yield* TestClock.adjust(60_000)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed("ok"))
      assert.strictEqual((yield* Ref.get(times)).length, 4)
      assert.deepStrictEqual(yield* Ref.get(calls), [
        ["VendorUnavailable", 1, 100],
        ["VendorUnavailable", 2, 200],
        ["VendorUnavailable", 3, 400],
      ])
    }),
  )

  it.effect("onRetry is not called when the first attempt succeeds or fails for good", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const onRetry: RetryPolicy.OnRetry = () => Ref.update(calls, (n) => n + 1)
      yield* RetryPolicy.retrying(policy, onRetry)(Effect.succeed(1))
      yield* Effect.exit(RetryPolicy.retrying(policy, onRetry)(Effect.fail(error({ _tag: "NotFound", detail: "" }))))
      assert.strictEqual(yield* Ref.get(calls), 0)
    }),
  )

  // Regression: the last error of a refused connection still said "it will be retried".
  it.effect("the error it gives up with counts the attempts and says the policy allows no more", () =>
    Effect.gen(function* () {
      const refused = error({
        _tag: "Transport",
        kind: "Refused",
        detail: "connection refused by 127.0.0.1:1 (GET /x)",
      })
      const { attempt } = yield* scripted([refused])
      const fiber = yield* Effect.fork(RetryPolicy.retrying(policy)(attempt))
      yield* TestClock.adjust(60_000)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      const last = yield* Effect.flip(exit)
      assert.strictEqual(last.attempts, policy.maxAttempts)
      assert.include(last.message, `Gave up after ${policy.maxAttempts} attempts: the retry policy allows no more.`)
      assert.notInclude(last.message, "will be retried")
    }),
  )

  it.effect("RetryPolicy.none attempts once", () =>
    Effect.gen(function* () {
      const { times, attempt } = yield* scripted([unavailable])
      const fiber = yield* Effect.fork(RetryPolicy.retrying(RetryPolicy.none)(attempt))
      yield* TestClock.adjust(0)
      assert.deepStrictEqual(yield* Fiber.poll(fiber), Option.some(Exit.fail(withAttempts(unavailable, 1))))
      assert.strictEqual((yield* Ref.get(times)).length, 1)
    }),
  )
})

// --- nextDelay, the pure part -------------------------------------------------------------

const reasonArb: fc.Arbitrary<CrmErrorReason> = fc.oneof(
  fc.constantFrom(...nonRetryable.map(([, r]) => r)),
  fc.record({
    _tag: fc.constant("VendorUnavailable" as const),
    detail: fc.string(),
    status: fc.integer({ min: 500, max: 599 }),
  }),
  fc.record({
    _tag: fc.constant("Transport" as const),
    detail: fc.string(),
    kind: fc.constantFrom<"Timeout" | "Reset" | "Refused" | "Other">("Timeout", "Reset", "Refused", "Other"),
  }),
  fc.record({ _tag: fc.constant("CallInProgress" as const), detail: fc.string() }),
  fc.record(
    {
      _tag: fc.constant("RateLimited" as const),
      detail: fc.string(),
      retryAfterMs: fc.integer({ min: 0, max: 120_000 }),
      blocked: fc.boolean(),
    },
    { requiredKeys: ["_tag", "detail"] },
  ),
)

const policyArb: fc.Arbitrary<RetryPolicy.RetryPolicy> = fc.record({
  maxAttempts: fc.integer({ min: 1, max: 12 }),
  baseDelayMs: fc.integer({ min: 0, max: 5_000 }),
  maxDelayMs: fc.integer({ min: 0, max: 60_000 }),
  budgetMs: fc.integer({ min: 0, max: 120_000 }),
  requestTimeoutMs: fc.integer({ min: 1, max: 60_000 }),
  jitter: fc.double({ min: 0, max: 1, noNaN: true }),
})

const attemptArb = fc.integer({ min: 1, max: 15 })
const elapsedArb = fc.integer({ min: 0, max: 150_000 })
const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })
const retryAfterOf = (r: CrmErrorReason) => (r._tag === "RateLimited" ? r.retryAfterMs : undefined)

describe("RetryPolicy.nextDelay (properties)", () => {
  it.prop(
    "is never negative and never above max(maxDelayMs, retryAfter)",
    [policyArb, reasonArb, attemptArb, elapsedArb, randomArb],
    ([p, reason, attempt, elapsed, random]) => {
      const d = RetryPolicy.nextDelay(p, error(reason), attempt, elapsed, random)
      if (d === undefined) return
      assert.isAtLeast(d, 0)
      assert.isAtMost(d, Math.max(p.maxDelayMs, retryAfterOf(reason) ?? 0))
      assert.isTrue(Number.isInteger(d))
    },
  )

  it.prop(
    "is undefined for non-retryable reasons",
    [policyArb, reasonArb, attemptArb, elapsedArb, randomArb],
    ([p, reason, attempt, elapsed, random]) => {
      if (isRetryable(reason)) return
      assert.isUndefined(RetryPolicy.nextDelay(p, error(reason), attempt, elapsed, random))
    },
  )

  it.prop(
    "is undefined once attempt >= maxAttempts",
    [policyArb, reasonArb, fc.integer({ min: 0, max: 10 }), elapsedArb, randomArb],
    ([p, reason, extra, elapsed, random]) => {
      assert.isUndefined(RetryPolicy.nextDelay(p, error(reason), p.maxAttempts + extra, elapsed, random))
    },
  )

  it.prop(
    "never schedules a retry past budgetMs",
    [policyArb, reasonArb, attemptArb, elapsedArb, randomArb],
    ([p, reason, attempt, elapsed, random]) => {
      const d = RetryPolicy.nextDelay(p, error(reason), attempt, elapsed, random)
      if (d !== undefined) assert.isAtMost(elapsed + d, p.budgetMs)
    },
  )

  it.prop(
    "is defined for a retryable reason with attempts, budget and Retry-After to spare",
    [policyArb, reasonArb, randomArb],
    ([p, reason, random]) => {
      const retryAfter = retryAfterOf(reason)
      if (!isRetryable(reason) || p.maxAttempts < 2 || (retryAfter ?? 0) > p.maxDelayMs) return
      const roomy = { ...p, budgetMs: Math.max(p.maxDelayMs, retryAfter ?? 0) }
      assert.isDefined(RetryPolicy.nextDelay(roomy, error(reason), 1, 0, random))
    },
  )

  it.prop(
    "without Retry-After it stays within the jitter bounds of the capped exponential backoff",
    [policyArb, attemptArb, randomArb],
    ([p, attempt, random]) => {
      const d = RetryPolicy.nextDelay({ ...p, budgetMs: Number.MAX_SAFE_INTEGER }, unavailable, attempt, 0, random)
      if (attempt >= p.maxAttempts) return assert.isUndefined(d)
      const backoff = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1))
      assert.isDefined(d)
      assert.isAtLeast(d ?? -1, Math.floor(backoff * (1 - p.jitter)))
      assert.isAtMost(d ?? Number.POSITIVE_INFINITY, Math.ceil(backoff))
    },
  )

  it.prop(
    "honours Retry-After: a retry is never scheduled sooner than the vendor asked",
    [policyArb, fc.integer({ min: 0, max: 60_000 }), attemptArb, elapsedArb, randomArb],
    ([p, retryAfterMs, attempt, elapsed, random]) => {
      const d = RetryPolicy.nextDelay(p, rateLimited(retryAfterMs), attempt, elapsed, random)
      if (d !== undefined) assert.isAtLeast(d, retryAfterMs)
      if (retryAfterMs > p.maxDelayMs) assert.isUndefined(d)
    },
  )

  it.prop(
    "with jitter 0 it is monotone non-decreasing in attempt",
    [policyArb, reasonArb, attemptArb, attemptArb, elapsedArb, randomArb],
    ([p, reason, a, b, elapsed, random]) => {
      const still = { ...p, jitter: 0 }
      const [lo, hi] = a <= b ? [a, b] : [b, a]
      const dLo = RetryPolicy.nextDelay(still, error(reason), lo, elapsed, random)
      const dHi = RetryPolicy.nextDelay(still, error(reason), hi, elapsed, random)
      if (dLo !== undefined && dHi !== undefined) assert.isAtMost(dLo, dHi)
    },
  )

  it("with jitter 0 the waits are base * 2^(attempt - 1), capped", () => {
    const delays = [1, 2, 3, 4, 5, 6].map((a) =>
      RetryPolicy.nextDelay({ ...policy, maxAttempts: 10, maxDelayMs: 1_000 }, unavailable, a, 0, 0.99),
    )
    assert.deepStrictEqual(delays, [100, 200, 400, 800, 1_000, 1_000])
  })
})
