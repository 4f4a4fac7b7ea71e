import { assert, describe, it } from "@effect/vitest"
import type { CrmError } from "@leadstate/core"
import { Cause, Effect, Either, Exit, TestClock } from "effect"
import { dealer, fastRetry, PROCESS, PROJECT, setup } from "./fixtures.js"

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = Cause.failureOption(exit.cause)
  if (f._tag === "None") throw new Error(Cause.pretty(exit.cause))
  return f.value
}

const createIntent = (leadId: string, phone = "+919800000001") =>
  ({ _tag: "CreateLead", leadId, state: "new", metadata: { name: "Priya", phone }, at: 0 }) as const

const BLOCKED = { success: false, error: "API key temporarily blocked due to repeated duplicate submissions" }
const HOUR = 60 * 60 * 1000
/** These tests count requests: a generous timeout, so a slow answer on a loaded machine is not sent again. */
const patient = { ...fastRetry, requestTimeoutMs: 10_000 }

/** The most requests in any window [t, t + windowMs) of the fake's log (its own arrival times). */
const maxPerWindow = (times: ReadonlyArray<number>, windowMs: number) =>
  Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + windowMs).length))

describe("uservox rate limit", () => {
  it.scopedLive(
    "250 concurrent read-backs: no 429, and no window of the fake's request log holds more than the limit",
    () =>
      Effect.gen(function* () {
        const limit = { limit: 25, intervalMs: 300 }
        const retried: Array<string> = []
        const { fake, crm } = yield* setup(dealer, {
          rateLimit: limit,
          fakeRateLimit: { limit: limit.limit, windowMs: limit.intervalMs },
          retry: patient,
          onRetry: (e) => Effect.sync(() => retried.push(e.reason._tag)),
        })
        const refs = Array.from({ length: 250 }, (_, i) => {
          fake.putLead({ processId: PROCESS, projectId: PROJECT, referenceId: `R-${i}`, name: `Lead ${i}` })
          return { leadId: `R-${i}` }
        })
        // Warm the connections first, so the burst below is not spread out by connection set-up.
        yield* Effect.forEach(refs.slice(0, limit.limit), crm.readBack, { concurrency: "unbounded" })
        yield* Effect.sleep(limit.intervalMs)
        const before = fake.requests().length
        const results = yield* Effect.forEach(refs, (ref) => Effect.either(crm.readBack(ref)), {
          concurrency: "unbounded",
        })
        const failed = results.filter(Either.isLeft).map((e) => e.left.reason._tag)
        assert.deepStrictEqual(failed, [], "every read-back succeeded")
        assert.deepStrictEqual(retried, [], "no attempt was refused (a 429 would have been retried)")
        const gets = fake
          .requests()
          .slice(before)
          .filter((r) => r.path === "/api/v1/leads/get")
        assert.strictEqual(gets.length, 250, "one request per read-back")
        assert.isAtMost(
          maxPerWindow(
            gets.map((r) => r.at),
            limit.intervalMs,
          ),
          limit.limit,
        )
      }),
    30_000,
  )

  it.scopedLive("retries go through the limiter: a 429 storm does not push a window over the limit", () =>
    Effect.gen(function* () {
      const limit = { limit: 5, intervalMs: 200 }
      const { fake, crm } = yield* setup(dealer, { rateLimit: limit, retry: patient })
      for (let i = 0; i < 10; i++) fake.putLead({ processId: PROCESS, projectId: PROJECT, referenceId: `R-${i}` })
      fake.inject({ path: "/api/v1/leads/get", fault: { _tag: "RateLimit", retryAfterSeconds: 0 }, times: 10 })
      const results = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => Effect.either(crm.readBack({ leadId: `R-${i}` }))),
        (e) => e,
        { concurrency: "unbounded" },
      )
      assert.isTrue(results.every(Either.isRight))
      const times = fake.requests().map((r) => r.at)
      assert.strictEqual(times.length, 20, "10 refused, 10 retried")
      assert.isAtMost(maxPerWindow(times, limit.intervalMs), limit.limit)
    }),
  )

  it.scopedLive("after uservox blocks the key for duplicates, the adapter sends nothing more from it", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer, { retry: patient })
      yield* crm.send(createIntent("L-0"), { leadId: "L-0" })
      // Six more leads with the same phone: six duplicate submissions within 60 s block the key.
      for (let i = 1; i <= 6; i++) {
        const error = failure(yield* Effect.exit(crm.send(createIntent(`L-${i}`), { leadId: `L-${i}` })))
        assert.strictEqual(error.reason._tag, "DuplicateLead")
      }
      assert.isDefined(fake.blockedUntil())
      const refused = failure(yield* Effect.exit(crm.readBack({ leadId: "L-0" })))
      assert.deepInclude(refused.reason, { _tag: "RateLimited", blocked: true })
      const sent = fake.requests().length
      const calls: ReadonlyArray<Effect.Effect<unknown, CrmError.CrmError>> = [
        crm.readBack({ leadId: "L-0" }),
        crm.send(createIntent("L-9", "+919800000099"), { leadId: "L-9" }),
        crm.send({ _tag: "MergeMetadata", leadId: "L-0", metadata: { a: "b" }, at: 0 }, { leadId: "L-0" }),
        crm.bulkInitiate([{ leadId: "B-1", metadata: { name: "Ravi", phone: "+919800000098" } }]),
      ]
      for (const call of calls) {
        const error = failure(yield* Effect.exit(call))
        assert.deepInclude(error.reason, { _tag: "RateLimited", blocked: true })
        assert.match(error.message, /blocked .* until \d{4}-\d\d-\d\dT/)
      }
      assert.strictEqual(fake.requests().length, sent, "nothing was sent while blocked")
    }),
  )

  it.scoped("the block lasts the documented 60 minutes on the adapter's clock, then sending resumes", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      fake.inject({ fault: { _tag: "Status", status: 429, body: BLOCKED } })
      const first = failure(yield* Effect.exit(crm.send(createIntent("L-1"), { leadId: "L-1" })))
      assert.deepInclude(first.reason, { _tag: "RateLimited", blocked: true })
      assert.strictEqual(fake.requests().length, 1)
      const blockedUntil = yield* crm.blockedUntil
      assert.strictEqual(blockedUntil, HOUR, "TestClock starts at 0")

      yield* TestClock.adjust(HOUR - 1)
      const fast = failure(yield* Effect.exit(crm.send(createIntent("L-1"), { leadId: "L-1" })))
      assert.deepInclude(fast.reason, { _tag: "RateLimited", blocked: true, retryAfterMs: 1 })
      assert.include(fast.message, new Date(HOUR).toISOString())
      assert.strictEqual(fake.requests().length, 1, "still blocked one ms before the end: nothing sent")

      yield* TestClock.adjust(1)
      assert.isUndefined(yield* crm.blockedUntil)
      const receipt = yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      assert.strictEqual(receipt._tag, "Confirmed")
      assert.strictEqual(fake.requests().length, 2)
    }),
  )

  it.scopedLive("an ordinary 429 (not the block) does not block the key", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer, { retry: patient })
      fake.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 0 } })
      const receipt = yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      assert.strictEqual(receipt._tag, "Confirmed")
      assert.isUndefined(yield* crm.blockedUntil)
      assert.strictEqual(fake.requests().length, 2)
    }),
  )
})
