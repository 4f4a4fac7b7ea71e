import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, TestClock } from "effect"
import { autoDealer } from "../src/examples/autoDealer.js"
import * as Lifecycle from "../src/Lifecycle.js"
import * as Scheduler from "../src/Scheduler.js"
import { start, transition } from "../src/transition.js"

const dealer = Lifecycle.unsafeMake(autoDealer)
const DAY = 86_400_000

const contactedAt = (at: number) =>
  Either.getOrThrow(
    transition(dealer, start(dealer, { leadId: "L", at }).snapshot, { type: "transition", to: "contacted", at }),
  ).snapshot

describe("Scheduler", () => {
  it("dueEvents fires a deadline only once it has passed, stamped with the deadline", () => {
    const s = contactedAt(0)
    assert.deepStrictEqual(Scheduler.dueEvents(s, 2 * DAY - 1), [])
    assert.deepStrictEqual(Scheduler.dueEvents(s, 2 * DAY), [{ type: "followUpDue", at: 2 * DAY }])
  })

  it("catchUp walks every passed deadline in order and stops at the first future one", () => {
    const caught = Either.getOrThrow(Scheduler.catchUp(dealer, contactedAt(0), 5 * DAY))
    assert.deepStrictEqual(
      caught.fired.map((e) => e.at),
      [2 * DAY, 4 * DAY],
    )
    assert.strictEqual(caught.snapshot.state, "followup_2")
    assert.deepStrictEqual(caught.snapshot.due, { event: "followUpDue", at: 6 * DAY })
    assert.strictEqual(caught.intents.length, 2)
  })

  it.effect("dueNow reads Effect's Clock (TestClock)", () =>
    Effect.gen(function* () {
      const s = contactedAt(0)
      assert.deepStrictEqual(yield* Scheduler.dueNow(s), [])
      yield* TestClock.adjust(2 * DAY)
      assert.deepStrictEqual(yield* Scheduler.dueNow(s), [{ type: "followUpDue", at: 2 * DAY }])
    }),
  )

  it.effect("a lead left alone for a week runs out of follow-ups and is lost as unreachable", () =>
    Effect.gen(function* () {
      const s = contactedAt(0)
      yield* TestClock.adjust(8 * DAY)
      const caught = yield* Scheduler.catchUpNow(dealer, s)
      assert.strictEqual(caught.snapshot.state, "lost")
      assert.strictEqual(caught.snapshot.disposition, "unreachable")
      assert.deepStrictEqual(
        caught.fired.map((e) => e.at),
        [2 * DAY, 4 * DAY, 6 * DAY, 8 * DAY],
      )
    }),
  )

  it.effect("awaitNextDeadline sleeps until the snooze deadline, then wakes the lead", () =>
    Effect.gen(function* () {
      const snoozed = Either.getOrThrow(
        transition(dealer, contactedAt(0), { type: "snooze", until: 3 * DAY, at: 0 }),
      ).snapshot
      const fiber = yield* Effect.fork(Scheduler.awaitNextDeadline(dealer, snoozed))
      yield* TestClock.adjust(3 * DAY - 1)
      assert.isTrue((yield* Fiber.poll(fiber))._tag === "None", "woke before the deadline")
      yield* TestClock.adjust(1)
      const caught = yield* Fiber.join(fiber)
      assert.strictEqual(caught.snapshot.state, "contacted")
      assert.deepStrictEqual(caught.fired, [{ type: "wake", at: 3 * DAY }])
    }),
  )

  it.effect("awaitNextDeadline returns at once for a lead with no deadline", () =>
    Effect.gen(function* () {
      const fresh = start(dealer, { leadId: "L", at: 0 }).snapshot
      const caught = yield* Scheduler.awaitNextDeadline(dealer, fresh)
      assert.deepStrictEqual(caught.fired, [])
    }),
  )
})
