import { assert, describe, it } from "@effect/vitest"
import { VoxysReconciler } from "@leadstate/adapter-voxys"
import { startFakeVoxysServer } from "@leadstate/adapter-voxys/testing"
import { type CrmAdapter, type CrmWebhooks, RetryPolicy, type SyncIntent } from "@leadstate/core"
import { Chunk, Clock, Effect, Fiber, Queue, TestClock } from "effect"
import { ACCOUNT, adapterFor, b2bLifecycle, b2bMap, TOKEN } from "./fixtures.js"

const START = Date.parse("2026-03-02T08:00:00.000Z")
const LEADS = `/api/v1/accounts/${ACCOUNT}/leads`

/** A fake whose clock moves only when the test says, an adapter, and its reconciler. */
const setup = (extra: Parameters<typeof adapterFor>[1] = {}) =>
  Effect.gen(function* () {
    let clock = START
    const tick = (ms = 1_000) => {
      clock += ms
    }
    const fake = yield* startFakeVoxysServer({ apiAccessToken: TOKEN, accountId: ACCOUNT, now: () => clock })
    const crm = yield* adapterFor(fake.url, extra)
    const reconciler = VoxysReconciler.make(crm)
    const createLead = (leadId: string) =>
      Effect.gen(function* () {
        tick()
        const intent: SyncIntent.CreateLead = { _tag: "CreateLead", leadId, state: "new", metadata: {}, at: 0 }
        const receipt = yield* crm.send(intent, { leadId })
        const ref: CrmAdapter.LeadRef = { leadId, vendorLeadId: receipt.vendorLeadId }
        return { ref, id: Number(receipt.vendorLeadId) }
      })
    const listCalls = () => fake.requests().filter((r) => r.method === "GET" && r.path === LEADS).length
    return { fake, crm, reconciler, tick, createLead, listCalls }
  })

const iso = (ms: number) => new Date(ms).toISOString()

/** A real-time pause: HTTP is real in TestClock tests, only the poller's sleep is virtual. */
const pause = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))

/** Waits (in real time) until some fiber sleeps until `wake` on the TestClock. */
const sleepingUntil = (wake: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < 500; i++) {
      if (Chunk.toReadonlyArray(yield* TestClock.sleeps()).includes(wake)) return
      yield* pause
    }
    assert.fail("the poller never went to sleep")
  })

describe("VoxysReconciler", () => {
  it.scopedLive("turns changes made in the Voxys UI into LeadChanged events, and ignores unmanaged leads", () =>
    Effect.gen(function* () {
      const { fake, reconciler, tick, createLead } = yield* setup()
      const a = yield* createLead("L-1")
      const b = yield* createLead("L-2")
      fake.putLead({ custom_name: "walk-in, not ours" })
      const first = yield* reconciler.poll({ since: undefined })
      assert.deepStrictEqual(first.events, [], "our own creates are not events")
      assert.strictEqual(first.cursor, iso(START + 2_000))

      tick()
      const lost = fake.setStatusAtVendor(a.id, "lost", "Chose a competitor on price.")
      tick()
      fake.setStatusAtVendor(b.id, "won") // notes untouched: the tag (state=new) is now stale
      tick()
      fake.setStatusAtVendor(fake.leads()[2]?.id ?? 0, "won")
      const second = yield* reconciler.poll({ since: first.cursor })
      const expected: ReadonlyArray<CrmWebhooks.LeadChanged> = [
        {
          _tag: "LeadChanged",
          vendorEventId: `${a.id}@${lost.updated_at}`,
          ref: { leadId: "L-1", vendorLeadId: String(a.id) },
          fromState: undefined,
          event: {
            type: "transition",
            to: "lost",
            actor: "voxys:poll",
            at: START + 3_000,
            note: "Chose a competitor on price.",
          },
          at: START + 3_000,
        },
        {
          _tag: "LeadChanged",
          vendorEventId: `${b.id}@${iso(START + 4_000)}`,
          ref: { leadId: "L-2", vendorLeadId: String(b.id) },
          fromState: undefined,
          event: { type: "transition", to: "converted", actor: "voxys:poll", at: START + 4_000 },
          at: START + 4_000,
        },
      ]
      assert.deepStrictEqual(second.events, expected)
      assert.strictEqual(second.cursor, iso(START + 5_000))

      const third = yield* reconciler.poll({ since: second.cursor })
      assert.deepStrictEqual(third, { events: [], cursor: second.cursor }, "the cursor makes the next poll empty")
    }),
  )

  it.scopedLive("does not echo leadstate's own writes, but reports a status a person set back to open", () =>
    Effect.gen(function* () {
      const { fake, crm, reconciler, tick, createLead } = yield* setup()
      const { ref, id } = yield* createLead("L-1")
      const { cursor } = yield* reconciler.poll({ since: undefined })
      tick()
      yield* crm.send({ _tag: "SetState", leadId: "L-1", from: "new", to: "interested", at: 0 }, ref)
      tick()
      yield* crm.send({ _tag: "MergeMetadata", leadId: "L-1", metadata: { score: 3 }, at: 0 }, ref)
      tick()
      yield* crm.send(
        { _tag: "SetState", leadId: "L-1", from: "interested", to: "lost", disposition: "not_interested", at: 0 },
        ref,
      )
      const ours = yield* reconciler.poll({ since: cursor })
      assert.deepStrictEqual(ours.events, [])
      assert.strictEqual(ours.cursor, iso(START + 4_000), "the cursor still moves past our own writes")
      tick()
      fake.setStatusAtVendor(id, "open")
      const reopened = yield* reconciler.poll({ since: ours.cursor })
      assert.deepStrictEqual(
        reopened.events.map((e) => [e.ref.leadId, e.event.type === "transition" ? e.event.to : ""]),
        [["L-1", "contacted"]],
      )
    }),
  )

  it.scopedLive("a lead changed twice is one event with its latest status; events come oldest first", () =>
    Effect.gen(function* () {
      const { fake, reconciler, tick, createLead } = yield* setup()
      const a = yield* createLead("L-1")
      const b = yield* createLead("L-2")
      const { cursor } = yield* reconciler.poll({ since: undefined })
      tick()
      fake.setStatusAtVendor(a.id, "lost")
      tick()
      fake.setStatusAtVendor(b.id, "won")
      tick()
      fake.setStatusAtVendor(a.id, "snoozed")
      const { events } = yield* reconciler.poll({ since: cursor })
      assert.deepStrictEqual(
        events.map((e) => [e.ref.leadId, e.event.type === "transition" ? e.event.to : "", e.at]),
        [
          ["L-2", "converted", START + 4_000],
          ["L-1", "snoozed", START + 5_000],
        ],
      )
    }),
  )

  it.scopedLive("pages through more than 100 changed leads and stops at the watermark", () =>
    Effect.gen(function* () {
      const { fake, reconciler, tick, listCalls } = yield* setup()
      for (let i = 0; i < 150; i++) fake.putLead({ custom_attributes: { external_id: `old-${i}` } })
      // The watermark is inclusive (whole-second timestamps): the old leads are a moment before it.
      tick(1)
      const since = iso(START + 1)
      const ids: Array<number> = []
      for (let i = 0; i < 250; i++) {
        tick(10)
        ids.push(
          fake.putLead({ custom_attributes: { external_id: `L-${i}` }, status: i % 2 === 0 ? "won" : "lost" }).id,
        )
      }
      const { events, cursor } = yield* reconciler.poll({ since })
      assert.strictEqual(events.length, 250)
      assert.deepStrictEqual(
        events.map((e) => e.ref.vendorLeadId),
        ids.map(String),
        "each changed lead once, oldest change first",
      )
      assert.strictEqual(cursor, iso(START + 1 + 2_500))
      assert.strictEqual(listCalls(), 3, "no page after the one reaching the watermark")
      assert.strictEqual(fake.requests()[0]?.query.sort_by, "updated_at")
      assert.strictEqual(fake.requests()[0]?.query.sort_order, "desc")
    }),
  )

  it.scopedLive("ignores a status no lifecycle state maps to", () =>
    Effect.gen(function* () {
      const { fake, reconciler, tick, createLead } = yield* setup({ lifecycle: b2bLifecycle, stateMap: b2bMap })
      const a = yield* createLead("L-1")
      const b = yield* createLead("L-2")
      const { cursor } = yield* reconciler.poll({ since: undefined })
      tick()
      fake.setStatusAtVendor(a.id, "snoozed") // b2b has no snooze
      fake.setStatusAtVendor(b.id, "won")
      const { events } = yield* reconciler.poll({ since: cursor })
      assert.deepStrictEqual(
        events.map((e) => e.ref.leadId),
        ["L-2"],
      )
    }),
  )

  it.scopedLive("refuses a cursor that is not a timestamp and a page size over 100, before any request", () =>
    Effect.gen(function* () {
      const { fake, reconciler } = yield* setup()
      const badSince = yield* Effect.flip(reconciler.poll({ since: "yesterday" }))
      const badPage = yield* Effect.flip(reconciler.poll({ since: undefined, perPage: 500 }))
      assert.deepStrictEqual(
        [badSince.reason, badPage.reason].map((r) => (r._tag === "InvalidRequest" ? r.fields : [])),
        [["since"], ["perPage"]],
      )
      assert.strictEqual(fake.requests().length, 0)
    }),
  )

  it.scoped("runEvery polls at once, then every interval, advancing the cursor (TestClock)", () =>
    Effect.gen(function* () {
      const { fake, reconciler, tick, createLead, listCalls } = yield* setup()
      const a = yield* createLead("L-1")
      const b = yield* createLead("L-2")
      tick()
      fake.setStatusAtVendor(a.id, "lost")
      const batches = yield* Queue.unbounded<ReadonlyArray<string>>()
      const fiber = yield* Effect.fork(
        reconciler.runEvery("1 minute", (events) =>
          Queue.offer(
            batches,
            events.map((e) => e.ref.leadId),
          ),
        ),
      )
      assert.deepStrictEqual(yield* Queue.take(batches), ["L-1"], "the first poll runs at once")
      const t0 = yield* Clock.currentTimeMillis
      yield* sleepingUntil(t0 + 60_000)
      const polls = listCalls()

      tick()
      fake.setStatusAtVendor(b.id, "won")
      yield* TestClock.adjust("59 seconds")
      yield* pause
      assert.strictEqual(listCalls(), polls, "no poll before the interval")
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Queue.take(batches), ["L-2"], "only the new change")
      yield* sleepingUntil(t0 + 120_000)
      yield* TestClock.adjust("1 minute")
      yield* sleepingUntil(t0 + 180_000)
      assert.strictEqual(listCalls(), polls + 2)
      assert.strictEqual(yield* Queue.size(batches), 0, "a poll without changes calls nobody")
      yield* Fiber.interrupt(fiber)
    }),
  )

  it.scoped("runEvery keeps polling after a retryable failure and stops on Unauthorized", () =>
    Effect.gen(function* () {
      const { fake, reconciler } = yield* setup({ retry: RetryPolicy.none })
      fake.inject({ fault: { _tag: "Status", status: 503 }, times: 1 })
      fake.inject({ fault: { _tag: "Status", status: 401, body: { error: "Unauthorized" } }, times: 1 })
      const fiber = yield* Effect.fork(reconciler.runEvery("1 minute", () => Effect.void))
      yield* sleepingUntil((yield* Clock.currentTimeMillis) + 60_000)
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(fiber).pipe(Effect.flip)
      assert.strictEqual(error._tag === "CrmError" ? error.reason._tag : "", "Unauthorized")
      assert.strictEqual(fake.requests().length, 2)
    }),
  )

  it.scopedLive("a change in the cursor's own second after the last poll is still reported, once", () =>
    Effect.gen(function* () {
      const { fake, reconciler, tick } = yield* setup()
      const a = fake.putLead({ custom_attributes: { external_id: "A" } })
      tick(1000)
      fake.setStatusAtVendor(a.id, "won")
      const first = yield* reconciler.poll({ since: iso(START) })
      assert.deepStrictEqual(
        first.events.map((e) => e.ref.leadId),
        ["A"],
      )
      // Same timestamp as the cursor (whole seconds at Voxys), changed after that poll.
      const b = fake.putLead({ custom_attributes: { external_id: "B" } })
      fake.setStatusAtVendor(b.id, "lost")
      const second = yield* reconciler.poll({ since: first.cursor })
      assert.deepStrictEqual(
        second.events.map((e) => e.ref.leadId),
        ["B"],
      )
      const third = yield* reconciler.poll({ since: second.cursor })
      assert.deepStrictEqual(third.events, [])
    }),
  )
})
