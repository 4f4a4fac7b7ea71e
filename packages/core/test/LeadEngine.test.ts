import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { UservoxAdapter } from "@leadstate/adapter-uservox"
import { startFakeUservoxServer } from "@leadstate/adapter-uservox/testing"
import {
  autoDealer,
  CrmAdapter,
  CrmError,
  CrmWebhooks,
  LeadEngine,
  LeadStore,
  Lifecycle,
  RetryPolicy,
  type StateMap,
  type SyncIntent,
  transition,
} from "@leadstate/core"
import { Context, Deferred, Duration, Effect, Either, Layer, Option, Redacted, Ref, TestClock } from "effect"
import { serveHandler } from "../src/testing/index.js"

const dealer = Lifecycle.unsafeMake(autoDealer)
const API_KEY = "sk-workspace_0123456789abcdef0123456789abcdef0123456789abcdef012345"
const contact = { name: "Marta Ruiz", email: "marta@example.org", phone: "+919800000001" }

/** Redelivery after a retryable failure: fast, so tests wait milliseconds. */
const redelivery: RetryPolicy.RetryPolicy = {
  ...RetryPolicy.defaults,
  maxAttempts: 5,
  baseDelayMs: 20,
  maxDelayMs: 100,
  jitter: 0,
  budgetMs: Number.POSITIVE_INFINITY,
}
/** The adapters' own retries: none, so a fault reaches the engine. */
const noRetry: RetryPolicy.RetryPolicy = { ...RetryPolicy.none, requestTimeoutMs: 2_000 }

const genericMap: StateMap.StateMapConfig = {
  states: {
    new: "new",
    contacted: "contacted",
    followup_1: "follow_up",
    followup_2: "follow_up",
    followup_3: "follow_up",
    interested: "qualified",
    test_drive_booked: "qualified",
    converted: "converted",
    lost: "lost",
    snoozed: "follow_up",
  },
  reverse: { follow_up: "followup_1", qualified: "interested" },
}

const engineOver = (
  adapter: CrmAdapter.CrmAdapterService,
  store: LeadStore.LeadStoreService,
  webhooks?: CrmWebhooks.CrmWebhooksService,
  options: LeadEngine.EngineOptions = {},
) => {
  const base = Context.make(CrmAdapter.CrmAdapter, adapter).pipe(Context.add(LeadStore.LeadStore, store))
  const context = webhooks === undefined ? base : Context.add(base, CrmWebhooks.CrmWebhooks, webhooks)
  return Effect.provide(
    LeadEngine.make(dealer, { redelivery, leaseMs: 5_000, ambiguousSettleMs: 20, ...options }),
    context,
  )
}

const genericSetup = Effect.gen(function* () {
  const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
  const adapter = yield* GenericAdapter.make({
    lifecycle: dealer,
    stateMap: genericMap,
    baseUrl: fake.url,
    apiKey: Redacted.make(API_KEY),
    chatbotId: "bot_1",
    retry: noRetry,
  }).pipe(Effect.provide(FetchHttpClient.layer))
  const store = yield* LeadStore.makeMemory
  const engine = yield* engineOver(adapter, store)
  const puts = () => fake.requests().filter((r) => r.method === "PUT").length
  return { fake, adapter, store, engine, puts }
})

const stored = (store: LeadStore.LeadStoreService, leadId: string) =>
  Effect.map(store.load(leadId), Option.getOrUndefined)

const failureOf = <A, E>(result: Either.Either<A, E>): E => {
  if (Either.isRight(result)) throw new Error(`expected a failure, got ${JSON.stringify(result.right)}`)
  return result.left
}

/** Polls `check` (wall clock) until it holds or `timeoutMs` passes (generous: a busy machine is slow). */
const until = <E>(check: Effect.Effect<boolean, E>, timeoutMs = 30_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.dieMessage("condition not met in time")
      yield* Effect.sleep(Duration.millis(10))
    }
  })

const toContacted = { type: "transition", to: "contacted" } as const

/** The typed failure a stub vendor answers `intent` with. */
const stubError = (intent: SyncIntent.SyncIntent, reason: CrmError.CrmErrorReason) =>
  new CrmError.CrmError({ vendor: "stub", operation: intent._tag, leadId: intent.leadId, reason })

/** An adapter that confirms everything, after `onSend`. */
const stubAdapter = (onSend: (intent: SyncIntent.SyncIntent) => Effect.Effect<unknown, CrmError.CrmError>) => {
  const handler = <I extends SyncIntent.SyncIntent>(): CrmAdapter.IntentHandler<I> => ({
    plan: () => Either.right([]),
    send: (intent) =>
      Effect.as(onSend(intent), { _tag: "Confirmed", vendorLeadId: `v-${intent.leadId}`, vendorState: undefined }),
  })
  return CrmAdapter.make({
    vendor: "stub",
    capabilities: {
      create: true,
      readBack: false,
      asyncConfirmation: false,
      dispositions: true,
      snooze: true,
      bulk: false,
      delete: false,
      webhooks: false,
    },
    handlers: { CreateLead: handler(), SetState: handler(), MergeMetadata: handler() },
  })
}

describe("LeadEngine with a stub vendor", () => {
  it.live("applyMany runs at most `concurrency` applies at once and reports each result", () =>
    Effect.gen(function* () {
      let inFlight = 0
      let peak = 0
      const adapter = stubAdapter((intent) =>
        intent._tag === "CreateLead"
          ? Effect.void
          : Effect.acquireUseRelease(
              Effect.sync(() => {
                inFlight++
                peak = Math.max(peak, inFlight)
              }),
              () => Effect.sleep(Duration.millis(5)),
              () => Effect.sync(() => inFlight--),
            ),
      )
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(adapter, store)
      const leadIds = Array.from({ length: 12 }, (_, i) => `L-${i}`)
      yield* Effect.forEach(leadIds, (leadId) => engine.create(leadId, { metadata: contact }))
      const results = yield* engine.applyMany(
        [...leadIds.map((leadId) => ({ leadId, event: toContacted })), { leadId: "L-0", event: toContacted }],
        { concurrency: 3 },
      )
      assert.strictEqual(peak, 3)
      assert.strictEqual(results.filter(Either.isRight).length, 12)
      assert.strictEqual(failureOf(results[12] ?? Either.right(null))._tag, "InvalidTransition")
    }),
  )

  it.effect(
    "a success naming our write id settles that write, even one waiting to be resent; a second is reported",
    () =>
      Effect.gen(function* () {
        let updates = 0
        const adapter = stubAdapter((intent) =>
          intent._tag === "SetState"
            ? Effect.zipRight(
                Effect.sync(() => updates++),
                Effect.fail(stubError(intent, { _tag: "Transport", kind: "Timeout", detail: "no answer" })),
              )
            : Effect.void,
        )
        // The vendor names the write it applied (as uservox does with our id in the lead's metadata).
        const webhooks: CrmWebhooks.CrmWebhooksService = {
          vendor: "stub",
          decode: (raw) =>
            Effect.succeed([
              {
                _tag: "SyncConfirmed",
                vendorEventId: new TextDecoder().decode(raw.body),
                ref: { leadId: "L-1", writeId: "L-1/1/0" },
                state: "contacted",
                at: 0,
              },
            ]),
        }
        const store = yield* LeadStore.makeMemory
        const engine = yield* engineOver(adapter, store, webhooks, { ambiguousSettleMs: 60_000 })
        yield* engine.create("L-1", { metadata: contact })
        assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Queued", "timed out: a resend waits")
        const first = yield* engine.handleWebhook({ headers: {}, body: new TextEncoder().encode("update-1") })
        assert.strictEqual(first.confirmed, 1)
        assert.strictEqual((yield* store.outbox("L-1")).at(-1)?.status, "confirmed")
        yield* TestClock.adjust(Duration.minutes(2))
        yield* engine.dispatchDue
        assert.strictEqual(updates, 1, "not resent: the vendor said it has the write")
        const second = yield* engine.handleWebhook({ headers: {}, body: new TextEncoder().encode("update-2") })
        assert.strictEqual(second.appliedTwice, 1)
      }),
  )

  it.effect("the late success of a write confirmed by read-back is not 'applied twice'; a second success is", () =>
    Effect.gen(function* () {
      // Every update times out, yet the vendor has it: the resend's read-back confirms it.
      const timingOut = stubAdapter((intent) =>
        intent._tag === "SetState"
          ? Effect.fail(stubError(intent, { _tag: "Transport", kind: "Timeout", detail: "no answer" }))
          : Effect.void,
      )
      const adapter: CrmAdapter.CrmAdapterService = {
        ...timingOut,
        capabilities: { ...timingOut.capabilities, readBack: true },
        readBack: (ref) =>
          Effect.succeed({
            vendorLeadId: "v-1",
            vendorState: "contacted",
            state: "contacted",
            disposition: undefined,
            metadata: {},
            lastWriteId: ref.writeId,
          }),
      }
      const webhooks: CrmWebhooks.CrmWebhooksService = {
        vendor: "stub",
        decode: (raw) =>
          Effect.succeed([
            {
              _tag: "SyncConfirmed",
              vendorEventId: new TextDecoder().decode(raw.body),
              ref: { leadId: "L-1", writeId: "L-1/1/0" },
              state: "contacted",
              at: 0,
            },
          ]),
      }
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(adapter, store, webhooks, { ambiguousSettleMs: 1_000 })
      yield* engine.create("L-1", { metadata: contact })
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Queued")
      yield* TestClock.adjust(Duration.minutes(2))
      yield* engine.dispatchDue
      assert.strictEqual((yield* store.outbox("L-1")).at(-1)?.status, "confirmed", "confirmed by read-back")
      const late = yield* engine.handleWebhook({ headers: {}, body: new TextEncoder().encode("update-1") })
      assert.deepInclude(late, { appliedTwice: 0, stale: 1 })
      const again = yield* engine.handleWebhook({ headers: {}, body: new TextEncoder().encode("update-2") })
      assert.strictEqual(again.appliedTwice, 1)
    }),
  )

  it.effect("webhookHandler: a body over the limit is answered 413 unread; an event dated too far ahead 400", () =>
    Effect.gen(function* () {
      let decoded = 0
      const webhooks: CrmWebhooks.CrmWebhooksService = {
        vendor: "stub",
        decode: (raw) =>
          Effect.sync(() => {
            decoded++
            const at = Number(new TextDecoder().decode(raw.body))
            return [{ _tag: "SyncConfirmed", vendorEventId: `e-${at}`, ref: { leadId: "L-1" }, state: undefined, at }]
          }),
      }
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(
        stubAdapter(() => Effect.void),
        store,
        webhooks,
        {
          maxWebhookBodyBytes: 1_024,
          maxClockSkewMs: 60_000,
        },
      )
      const post = (body: string) =>
        Effect.promise(() => engine.webhookHandler(new Request("http://127.0.0.1/hooks", { method: "POST", body })))
      assert.strictEqual((yield* post("1".repeat(2_048))).status, 413)
      assert.strictEqual(decoded, 0, "not decoded")
      yield* TestClock.setTime(1_000_000)
      const ahead = yield* post(String(1_000_000 + 10 * 60_000))
      assert.strictEqual(ahead.status, 400)
      assert.include(((yield* Effect.promise(() => ahead.json())) as { error: string }).error, "ahead of this receiver")
      assert.strictEqual((yield* post(String(1_000_000 + 30_000))).status, 200, "within the window")
    }),
  )

  it.effect("apply and dispatch run in spans carrying the lead id and vendor", () =>
    Effect.gen(function* () {
      const spans: Array<{ name: string; attributes: Record<string, unknown>; parent: string | undefined }> = []
      const adapter = stubAdapter(() =>
        Effect.flatMap(Effect.currentSpan, (span) =>
          Effect.sync(() =>
            spans.push({
              name: span.name,
              attributes: Object.fromEntries(span.attributes),
              parent:
                span.parent._tag === "Some" && span.parent.value._tag === "Span" ? span.parent.value.name : undefined,
            }),
          ),
        ).pipe(Effect.orDie),
      )
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(adapter, store)
      yield* engine.create("L-1", { metadata: contact })
      yield* engine.apply("L-1", toContacted)
      assert.deepStrictEqual(spans.at(-1), {
        name: "LeadEngine.dispatch",
        attributes: { "leadstate.lead_id": "L-1", "leadstate.vendor": "stub", entry: "L-1/1/0" },
        parent: "LeadEngine.apply",
      })
    }),
  )
})

describe("LeadEngine with the generic vendor (synchronous)", () => {
  it.scopedLive("create and apply are confirmed at the vendor; the vendor id is stored", () =>
    Effect.gen(function* () {
      const { fake, store, engine } = yield* genericSetup
      assert.deepStrictEqual(yield* engine.create("L-1", { metadata: contact }), { _tag: "Confirmed" })
      const vendorLeadId = (yield* stored(store, "L-1"))?.vendorLeadId
      assert.match(vendorLeadId ?? "", /^lead_/)
      assert.deepStrictEqual(yield* engine.apply("L-1", toContacted), { _tag: "Confirmed" })
      assert.strictEqual(fake.lead(vendorLeadId ?? "")?.status, "contacted")
      const lead = yield* stored(store, "L-1")
      assert.strictEqual(lead?.snapshot.state, "contacted")
      assert.strictEqual(lead?.snapshot.version, 1)
      const outbox = yield* store.outbox("L-1")
      assert.deepStrictEqual(
        outbox.map((e) => [e.id, e.status, e.attempts]),
        [
          ["L-1/0/0", "confirmed", 1],
          ["L-1/1/0", "confirmed", 1],
        ],
      )
    }),
  )

  it.scopedLive("every move is in the store's history log; the snapshot keeps the last 10", () =>
    Effect.gen(function* () {
      const { store, engine } = yield* genericSetup
      yield* engine.create("L-1", { metadata: contact })
      yield* engine.apply("L-1", toContacted)
      yield* engine.apply("L-1", { type: "updateMetadata", metadata: { budget: 30_000 } })
      for (let i = 0; i < 6; i++) {
        yield* engine.apply("L-1", { type: "snooze", until: Date.now() + 3_600_000 })
        yield* engine.apply("L-1", { type: "wake" })
      }
      const log = yield* store.history("L-1")
      assert.deepStrictEqual(
        log.map((h) => h.event),
        ["start", "transition", ...Array.from({ length: 6 }, () => ["snooze", "wake"]).flat()],
      )
      // Each entry carries the version its save produced (the metadata update, version 2, has none).
      assert.deepStrictEqual(
        log.map((h) => h.version),
        [0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
      )
      const lead = yield* stored(store, "L-1")
      assert.strictEqual(lead?.snapshot.version, 14)
      assert.deepStrictEqual(
        lead?.snapshot.recent,
        log.slice(-10).map(({ version: _, ...entry }) => entry),
      )
      assert.deepStrictEqual(
        (yield* store.history("L-1", { after: 12 })).map((h) => h.version),
        [13, 14],
      )
    }),
  )

  it.scopedLive("a lifecycle error leaves the store unchanged and sends nothing", () =>
    Effect.gen(function* () {
      const { fake, store, engine } = yield* genericSetup
      yield* engine.create("L-1", { metadata: contact })
      const before = yield* stored(store, "L-1")
      const requests = fake.requests().length
      const error = failureOf(yield* Effect.either(engine.apply("L-1", { type: "transition", to: "converted" })))
      assert.strictEqual(error._tag, "InvalidTransition")
      assert.deepStrictEqual(yield* stored(store, "L-1"), before)
      assert.strictEqual((yield* store.outbox("L-1")).length, 1)
      assert.strictEqual(fake.requests().length, requests)
      const missing = failureOf(yield* Effect.either(engine.apply("nope", toContacted)))
      assert.strictEqual(missing._tag, "LeadNotFound")
    }),
  )

  it.scopedLive("two concurrent applies on one lead: exactly one wins, the other gets VersionConflict", () =>
    Effect.gen(function* () {
      const { fake, adapter, store, puts } = yield* genericSetup
      // Both writers load before either saves.
      const loaded = yield* Ref.make(0)
      const bothLoaded = yield* Deferred.make<void>()
      const racing = yield* Ref.make(false)
      const barrier: LeadStore.LeadStoreService = {
        ...store,
        loadForWrite: (leadId) =>
          Effect.tap(store.loadForWrite(leadId), () =>
            Effect.gen(function* () {
              if (!(yield* Ref.get(racing))) return
              if ((yield* Ref.updateAndGet(loaded, (n) => n + 1)) === 2) yield* Deferred.succeed(bothLoaded, undefined)
              yield* Deferred.await(bothLoaded)
            }),
          ),
      }
      const engine = yield* engineOver(adapter, barrier)
      yield* engine.create("L-1", { metadata: contact })
      yield* Ref.set(racing, true)
      const results = yield* Effect.all(
        [
          Effect.either(engine.apply("L-1", toContacted)),
          Effect.either(engine.apply("L-1", { type: "transition", to: "lost", disposition: "wrong_number" })),
        ],
        { concurrency: 2 },
      )
      yield* Ref.set(racing, false)
      const wins = results.filter(Either.isRight)
      const losses = results.filter(Either.isLeft).map((r) => r.left._tag)
      assert.strictEqual(wins.length, 1)
      assert.deepStrictEqual(losses, ["VersionConflict"])
      const lead = yield* stored(store, "L-1")
      assert.strictEqual(lead?.snapshot.version, 1)
      assert.strictEqual((yield* store.outbox("L-1")).length, 2)
      assert.strictEqual(puts(), 1)
      assert.strictEqual(fake.lead(lead?.vendorLeadId ?? "")?.status, lead?.snapshot.state)
    }),
  )

  it.scopedLive("a vendor 400 fails the write and rolls the lead back", () =>
    Effect.gen(function* () {
      const { fake, store, engine } = yield* genericSetup
      yield* engine.create("L-1", { metadata: contact })
      fake.inject({ method: "PUT", fault: { _tag: "Status", status: 400 } })
      const error = failureOf(yield* Effect.either(engine.apply("L-1", toContacted)))
      assert.strictEqual(error._tag, "CrmError")
      if (error._tag === "CrmError") assert.strictEqual(error.reason._tag, "InvalidRequest")
      const lead = yield* stored(store, "L-1")
      assert.strictEqual(lead?.snapshot.state, "new")
      assert.strictEqual(lead?.snapshot.version, 2)
      assert.deepInclude((yield* store.history("L-1")).at(-1), { event: "rollback", from: "contacted", to: "new" })
      assert.deepInclude(lead?.snapshot.recent.at(-1), { event: "rollback", from: "contacted", to: "new" })
      const entry = (yield* store.outbox("L-1")).at(-1)
      assert.strictEqual(entry?.status, "failed")
      assert.strictEqual(entry?.failure?.reason, "InvalidRequest")
      assert.strictEqual(fake.lead(lead?.vendorLeadId ?? "")?.status, "new")
    }),
  )

  it.scopedLive("a read-back that fails with a 503 re-queues the write instead of sending it again", () =>
    Effect.gen(function* () {
      const { fake, store, engine, puts } = yield* genericSetup
      yield* engine.create("L-1", { metadata: contact })
      fake.inject({ method: "PUT", fault: { _tag: "Status", status: 503 } })
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Queued")
      assert.strictEqual(puts(), 1)
      fake.inject({ method: "GET", fault: { _tag: "Status", status: 503 } })
      yield* Effect.sleep(Duration.millis(40))
      yield* engine.dispatchDue
      assert.strictEqual(puts(), 1, "not sent while the vendor's state is unknown")
      const requeued = (yield* store.outbox("L-1")).at(-1)
      assert.deepInclude(requeued, { status: "pending", attempts: 2 })
      assert.strictEqual(requeued?.failure?.reason, "VendorUnavailable")
      yield* Effect.sleep(Duration.millis(60))
      assert.strictEqual((yield* engine.dispatchDue).confirmed, 1)
      assert.strictEqual(puts(), 2, "read back (not applied), then sent")
    }),
  )

  it.scopedLive("a 503 queues the write; dispatchDue delivers it later", () =>
    Effect.gen(function* () {
      const { fake, store, engine, puts } = yield* genericSetup
      yield* engine.create("L-1", { metadata: contact })
      fake.inject({ method: "PUT", fault: { _tag: "Status", status: 503 } })
      const outcome = yield* engine.apply("L-1", toContacted)
      assert.strictEqual(outcome._tag, "Queued")
      assert.strictEqual((yield* store.outbox("L-1")).at(-1)?.status, "pending")
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "contacted", "not rolled back")
      assert.strictEqual((yield* engine.dispatchDue).confirmed, 0, "not due yet")
      yield* Effect.sleep(Duration.millis(40))
      const report = yield* engine.dispatchDue
      assert.strictEqual(report.confirmed, 1)
      const entry = (yield* store.outbox("L-1")).at(-1)
      assert.strictEqual(entry?.status, "confirmed")
      assert.strictEqual(entry?.attempts, 2)
      assert.strictEqual(puts(), 2)
      assert.strictEqual(fake.lead((yield* stored(store, "L-1"))?.vendorLeadId ?? "")?.status, "contacted")
    }),
  )

  it.scopedLive("a delivery whose lease runs out while it is still sending is not claimed again by its engine", () =>
    Effect.gen(function* () {
      const { adapter, store, puts } = yield* genericSetup
      const sent = yield* Ref.make(0)
      const gate = yield* Deferred.make<void>()
      // Every SetState send waits for the gate: a starved loop, as far as the lease can tell.
      const slow: CrmAdapter.CrmAdapterService = {
        ...adapter,
        send: (intent, ref) =>
          intent._tag === "SetState"
            ? Effect.zipRight(
                Ref.update(sent, (n) => n + 1),
                Effect.zipRight(Deferred.await(gate), adapter.send(intent, ref)),
              )
            : adapter.send(intent, ref),
      }
      const engine = yield* engineOver(slow, store, undefined, { leaseMs: 30 })
      yield* engine.create("L-1", { metadata: contact })
      const applying = yield* Effect.fork(engine.apply("L-1", toContacted))
      yield* until(Effect.map(Ref.get(sent), (n) => n === 1))
      yield* Effect.sleep(Duration.millis(60)) // the lease has passed
      const during = yield* Effect.fork(engine.dispatchDue)
      yield* Effect.sleep(Duration.millis(60))
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual((yield* Effect.either(applying.await.pipe(Effect.flatten)))._tag, "Right")
      yield* during.await
      assert.strictEqual(yield* Ref.get(sent), 1, "sent once: the in-flight delivery was not claimed again")
      assert.strictEqual(puts(), 1)
      assert.strictEqual((yield* store.outbox("L-1")).at(-1)?.status, "confirmed")
    }),
  )

  it.scopedLive("dispatchDue fills a free slot at once: a slow lead does not hold back another's queue", () =>
    Effect.gen(function* () {
      const { adapter, store } = yield* genericSetup
      const gate = yield* Deferred.make<void>()
      const sent = yield* Ref.make<ReadonlyArray<string>>([])
      // Lead A's writes wait for the gate; lead B's go through.
      const gated: CrmAdapter.CrmAdapterService = {
        ...adapter,
        send: (intent, ref) =>
          Effect.zipRight(
            Ref.update(sent, (ids) => [...ids, ref.writeId ?? "?"]),
            intent._tag === "SetState" && ref.leadId === "A"
              ? Effect.zipRight(Deferred.await(gate), adapter.send(intent, ref))
              : adapter.send(intent, ref),
          ),
      }
      const engine = yield* engineOver(gated, store, undefined, { dispatchConcurrency: 2 })
      yield* engine.create("A", { metadata: contact })
      yield* engine.create("B", { metadata: { ...contact, email: "b@example.org", phone: "+919800000002" } })
      // A backlog: one write of A's, then three of B's, each queued behind the one before.
      const queue = (leadId: string, events: ReadonlyArray<unknown>) =>
        Effect.gen(function* () {
          for (const event of events) {
            const lead = yield* store.load(leadId).pipe(Effect.map(Option.getOrThrow))
            const step = Either.getOrThrow(transition(dealer, lead.snapshot, event))
            const entries = step.intents.map((intent, index) => ({
              id: LeadStore.entryId(leadId, step.snapshot.version, index),
              leadId,
              intent,
              status: "pending" as const,
              attempts: 0,
              availableAt: 0,
            }))
            yield* store.save(step.snapshot, lead.snapshot.version, entries, step.history)
          }
        })
      yield* queue("A", [toContacted])
      yield* queue("B", [
        toContacted,
        { type: "transition", to: "interested", disposition: "price_inquiry" },
        { type: "transition", to: "test_drive_booked", disposition: "showroom" },
      ])
      const dispatching = yield* Effect.fork(engine.dispatchDue)
      // All of B's writes are delivered while A's first one is still held.
      yield* until(
        Effect.map(store.outbox("B"), (es) => es.every((e) => e.status === "confirmed")),
        20_000,
      )
      assert.deepStrictEqual(
        (yield* Ref.get(sent)).filter((id) => !id.endsWith("/0/0")),
        ["A/1/0", "B/1/0", "B/2/0", "B/3/0"],
      )
      assert.strictEqual((yield* store.outbox("A")).at(-1)?.status, "pending", "A is still being sent")
      yield* Deferred.succeed(gate, undefined)
      const report = yield* Effect.flatten(dispatching.await)
      assert.strictEqual(report.confirmed, 4)
      assert.strictEqual((yield* store.outbox("A")).at(-1)?.status, "confirmed")
    }),
  )

  it.scopedLive("dispatchDue claims at most once per delivery that ends: idle senders do not storm the store", () =>
    Effect.gen(function* () {
      const { adapter, store } = yield* genericSetup
      const claims = yield* Ref.make(0)
      const counted: LeadStore.LeadStoreService = {
        ...store,
        claim: (now, limit, leaseMs) =>
          Effect.zipRight(
            Ref.update(claims, (n) => n + 1),
            store.claim(now, limit, leaseMs),
          ),
      }
      const engine = yield* engineOver(adapter, counted, undefined, { dispatchConcurrency: 32 })
      const leads = Array.from({ length: 10 }, (_, i) => `L-${i}`)
      for (const [i, leadId] of leads.entries()) {
        yield* engine.create(leadId, {
          metadata: { ...contact, email: `l${i}@example.org`, phone: `+91980000010${i}` },
        })
        const lead = yield* store.load(leadId).pipe(Effect.map(Option.getOrThrow))
        const step = Either.getOrThrow(transition(dealer, lead.snapshot, toContacted))
        const pending = step.intents.map((intent, index) => ({
          id: LeadStore.entryId(leadId, step.snapshot.version, index),
          leadId,
          intent,
          status: "pending" as const,
          attempts: 0,
          availableAt: 0,
        }))
        yield* store.save(step.snapshot, lead.snapshot.version, pending, step.history)
      }
      yield* Ref.set(claims, 0)
      const report = yield* engine.dispatchDue
      assert.strictEqual(report.confirmed, 10)
      // One claim for the backlog, then at most one per delivery that ended.
      assert.isAtMost(yield* Ref.get(claims), 10 + 1)
    }),
  )

  it.scopedLive("read-back tells by write id whether the write landed, not by the state it shows", () =>
    Effect.gen(function* () {
      const { adapter, store, puts } = yield* genericSetup
      // The vendor says the lead is already "contacted" but holds an older write of ours: the
      // state matches, the write did not land, so it is sent.
      const older: CrmAdapter.CrmAdapterService = {
        ...adapter,
        readBack: (ref) =>
          Effect.map(adapter.readBack(ref), (lead) => ({ ...lead, state: "contacted", lastWriteId: "L-1/0/0" })),
      }
      const engine = yield* engineOver(older, store)
      yield* engine.create("L-1", { metadata: contact })
      // The first attempt is dropped on the way (an ambiguous failure), so the next one reads back.
      const dropping: CrmAdapter.CrmAdapterService = {
        ...older,
        send: (intent, ref) =>
          intent._tag === "SetState"
            ? Effect.fail(stubError(intent, { _tag: "Transport", kind: "Reset", detail: "dropped" }))
            : older.send(intent, ref),
      }
      const failing = yield* engineOver(dropping, store)
      assert.strictEqual((yield* failing.apply("L-1", toContacted))._tag, "Queued")
      yield* Effect.sleep(Duration.millis(60))
      assert.strictEqual((yield* engine.dispatchDue).confirmed, 1)
      assert.strictEqual(puts(), 1, "read back as not landed (an older write id), so sent")
      assert.strictEqual((yield* store.outbox("L-1")).at(-1)?.status, "confirmed")
    }),
  )

  it.scopedLive("a lead whose create failed for good: typed errors, then resync creates it in its current state", () =>
    Effect.gen(function* () {
      const { fake, store, engine } = yield* genericSetup
      // The key was wrong when the lead was created (fixed afterwards).
      fake.inject({ method: "POST", fault: { _tag: "Status", status: 401 }, times: 1 })
      const created = failureOf(yield* Effect.either(engine.create("L-1", { metadata: contact })))
      assert.strictEqual(created._tag, "CrmError")
      const again = failureOf(yield* Effect.either(engine.create("L-1", { metadata: contact })))
      assert.strictEqual(again._tag, "LeadAlreadyExists", "not a VersionConflict")
      assert.include(again.message, "resync")
      const moved = failureOf(yield* Effect.either(engine.apply("L-1", toContacted)))
      assert.strictEqual(moved._tag, "LeadNotAtVendor")
      assert.include(moved.message, 'engine.resync("L-1")')
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "new", "nothing written")
      assert.strictEqual((yield* engine.resync("L-1"))._tag, "Confirmed")
      const lead = yield* stored(store, "L-1")
      assert.isDefined(lead?.vendorLeadId)
      assert.strictEqual(fake.lead(lead?.vendorLeadId ?? "")?.status, "new")
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Confirmed")
      assert.strictEqual(fake.lead(lead?.vendorLeadId ?? "")?.status, "contacted")
      assert.strictEqual(fake.leads().length, 1, "one lead at the vendor")
    }),
  )

  it.scopedLive(
    "writes queued behind a create that then failed for good are not sent; resync sends the current state",
    () =>
      Effect.gen(function* () {
        const { fake, store, engine, puts } = yield* genericSetup
        fake.inject({ method: "POST", fault: { _tag: "Status", status: 503 }, times: 1 })
        assert.strictEqual((yield* engine.create("L-1", { metadata: contact }))._tag, "Queued")
        assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Queued", "behind the create")
        fake.inject({ method: "POST", fault: { _tag: "Status", status: 401 }, times: 1 })
        yield* Effect.sleep(Duration.millis(60))
        const report = yield* engine.dispatchDue
        assert.strictEqual(report.failed, 2)
        assert.strictEqual(report.rolledBack, 0, "the lead keeps its state")
        assert.strictEqual(puts(), 0, "the queued update was not sent to a lead the vendor does not have")
        const [, update] = yield* store.outbox("L-1")
        assert.include(update?.failure?.message, "not at the vendor")
        assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "contacted")
        assert.strictEqual((yield* engine.resync("L-1"))._tag, "Confirmed")
        const lead = yield* stored(store, "L-1")
        assert.strictEqual(fake.lead(lead?.vendorLeadId ?? "")?.status, "contacted", "created, then set to its state")
      }),
  )

  it.scopedLive("resync of a lead whose last write failed for good sets the vendor to the engine's state", () =>
    Effect.gen(function* () {
      const { fake, store, engine } = yield* genericSetup
      yield* engine.create("L-1", { metadata: contact })
      yield* engine.apply("L-1", toContacted)
      const vendorId = (yield* stored(store, "L-1"))?.vendorLeadId ?? ""
      // Someone changed the lead in the vendor's UI (no webhook), so the engine's write of it fails.
      const atVendor = fake.lead(vendorId)
      if (atVendor !== undefined) fake.putLead({ ...atVendor, status: "lost" })
      fake.inject({ method: "PUT", fault: { _tag: "Status", status: 400 }, times: 1 })
      const refused = yield* Effect.either(engine.apply("L-1", { type: "transition", to: "interested" }))
      assert.strictEqual(failureOf(refused)._tag, "CrmError")
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "contacted", "rolled back")
      assert.strictEqual(fake.lead(vendorId)?.status, "lost")
      assert.strictEqual((yield* engine.resync("L-1"))._tag, "Confirmed")
      assert.strictEqual(fake.lead(vendorId)?.status, "contacted", "the vendor is where the engine is")
      const last = (yield* store.outbox("L-1")).at(-1)
      assert.deepInclude(last?.intent, { _tag: "SetState", from: "contacted", to: "contacted" })
    }),
  )

  it.scopedLive("a crash while the write is in flight: the next engine reads the lead back and does not resend", () =>
    Effect.gen(function* () {
      const { adapter, store, puts } = yield* genericSetup
      const hanging: CrmAdapter.CrmAdapterService = {
        ...adapter,
        send: (intent, ref) =>
          intent._tag === "SetState"
            ? Effect.zipRight(adapter.send(intent, ref), Effect.never)
            : adapter.send(intent, ref),
      }
      const first = yield* engineOver(hanging, store, undefined, { leaseMs: 50 })
      yield* first.create("L-1", { metadata: contact })
      const interrupted = yield* Effect.either(Effect.timeout(first.apply("L-1", toContacted), Duration.millis(100)))
      assert.isTrue(Either.isLeft(interrupted))
      assert.strictEqual(puts(), 1, "the vendor got the write; its answer was never recorded")
      assert.deepInclude((yield* store.outbox("L-1")).at(-1), { status: "pending", attempts: 1 })
      const second = yield* engineOver(adapter, store, undefined, { leaseMs: 50 })
      yield* Effect.sleep(Duration.millis(20))
      assert.strictEqual((yield* second.dispatchDue).confirmed, 1)
      assert.strictEqual(puts(), 1, "read back, not sent again")
    }),
  )

  it.scopedLive("restart: a new engine over the same store delivers leftover writes exactly once", () =>
    Effect.gen(function* () {
      const { fake, adapter, store, puts } = yield* genericSetup
      // The first process: one write reaches the vendor but its answer is lost; one never leaves.
      const lost = (leadId: string) =>
        new CrmError.CrmError({
          vendor: "generic",
          operation: "SetState",
          leadId,
          reason: { _tag: "Transport", kind: "Reset", detail: "connection reset" },
        })
      const flaky: CrmAdapter.CrmAdapterService = {
        ...adapter,
        send: (intent, ref) =>
          intent.leadId === "L-sent" || intent.leadId === "L-new"
            ? intent._tag === "CreateLead" && intent.leadId === "L-sent"
              ? adapter.send(intent, ref)
              : Effect.zipRight(adapter.send(intent, ref), Effect.fail(lost(intent.leadId)))
            : intent._tag === "SetState"
              ? Effect.fail(lost(intent.leadId))
              : adapter.send(intent, ref),
      }
      const first = yield* engineOver(flaky, store)
      yield* first.create("L-sent", { metadata: contact })
      yield* first.create("L-unsent", { metadata: { ...contact, email: "other@example.org" } })
      assert.strictEqual((yield* first.apply("L-sent", toContacted))._tag, "Queued")
      assert.strictEqual((yield* first.apply("L-unsent", toContacted))._tag, "Queued")
      assert.strictEqual(
        (yield* first.create("L-new", { metadata: { ...contact, email: "new@example.org" } }))._tag,
        "Queued",
      )
      assert.strictEqual(puts(), 1)
      // The second process.
      const second = yield* engineOver(adapter, store)
      yield* Effect.sleep(Duration.millis(40))
      const report = yield* second.dispatchDue
      assert.strictEqual(report.confirmed, 3)
      // The create whose answer was lost: the vendor's duplicate refusal names our lead, adopted.
      const created = yield* stored(store, "L-new")
      assert.strictEqual((yield* store.outbox("L-new"))[0]?.status, "confirmed")
      assert.strictEqual(fake.lead(created?.vendorLeadId ?? "")?.email, "new@example.org")
      assert.strictEqual(fake.leads().filter((l) => l.email === "new@example.org").length, 1)
      assert.strictEqual((yield* second.dispatchDue).confirmed, 0)
      const putsFor = (leadId: string) =>
        fake.requests().filter((r) => r.method === "PUT" && JSON.stringify(r.body).includes(`"leadId":"${leadId}"`))
          .length
      assert.strictEqual(putsFor("L-sent"), 1, "read back, not sent again")
      assert.strictEqual(putsFor("L-unsent"), 1)
      for (const leadId of ["L-sent", "L-unsent"]) {
        assert.strictEqual((yield* store.outbox(leadId)).at(-1)?.status, "confirmed")
        assert.strictEqual(fake.lead((yield* stored(store, leadId))?.vendorLeadId ?? "")?.status, "contacted")
      }
    }),
  )

  it.effect("fireDeadlines (TestClock) moves a contacted lead to followup_1 when its follow-up is due", () =>
    Effect.gen(function* () {
      const sent: Array<string> = []
      const adapter = stubAdapter((intent) => Effect.sync(() => sent.push(intent._tag)))
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(adapter, store)
      yield* engine.create("L-1", { metadata: contact })
      yield* engine.apply("L-1", toContacted)
      assert.strictEqual((yield* engine.fireDeadlines()).fired, 0)
      yield* TestClock.adjust(Duration.days(2))
      const report = yield* engine.fireDeadlines()
      assert.strictEqual(report.fired, 1)
      const lead = yield* stored(store, "L-1")
      assert.strictEqual(lead?.snapshot.state, "followup_1")
      assert.strictEqual(lead?.snapshot.updatedAt, Duration.toMillis(Duration.days(2)))
      assert.deepStrictEqual(sent, ["CreateLead", "SetState", "SetState"])
      assert.strictEqual((yield* engine.fireDeadlines()).fired, 0)
    }),
  )

  it.effect("fireDeadlines walks a long-idle lead through its whole follow-up sequence, one saved step each", () =>
    Effect.gen(function* () {
      const sent: Array<string> = []
      const adapter = stubAdapter((intent) =>
        Effect.sync(() => sent.push(intent._tag === "SetState" ? intent.to : intent._tag)),
      )
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(adapter, store)
      yield* engine.create("L-1", { metadata: contact })
      yield* engine.apply("L-1", toContacted)
      yield* TestClock.adjust(Duration.days(30))
      const report = yield* engine.fireDeadlines()
      assert.deepStrictEqual(report, { fired: 4, errors: [] })
      const lead = yield* stored(store, "L-1")
      assert.strictEqual(lead?.snapshot.state, "lost")
      assert.strictEqual(lead?.snapshot.disposition, "unreachable")
      assert.deepStrictEqual(
        (yield* store.history("L-1")).slice(-4).map((h) => [h.to, h.at / Duration.toMillis(Duration.days(1))]),
        [
          ["followup_1", 2],
          ["followup_2", 4],
          ["followup_3", 6],
          ["lost", 8],
        ],
        "each step stamped with its own deadline",
      )
      assert.deepStrictEqual(sent, ["CreateLead", "contacted", "followup_1", "followup_2", "followup_3", "lost"])
      assert.strictEqual(lead?.snapshot.version, 5)
    }),
  )

  it.effect("worker: a write queued by a retryable failure is delivered by the background loop (TestClock)", () =>
    Effect.gen(function* () {
      let failures = 1
      const adapter = stubAdapter(() => Effect.void)
      const flaky: CrmAdapter.CrmAdapterService = {
        ...adapter,
        send: (intent, ref) =>
          intent._tag === "SetState" && failures-- > 0
            ? Effect.fail(stubError(intent, { _tag: "VendorUnavailable", status: 503, detail: "down" }))
            : adapter.send(intent, ref),
      }
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(flaky, store)
      yield* engine.create("L-1", { metadata: contact })
      const outcome = yield* engine.apply("L-1", toContacted)
      assert.strictEqual(outcome._tag, "Queued")
      yield* Effect.forkScoped(engine.worker({ intervalMs: 1_000 }))
      yield* TestClock.adjust(Duration.seconds(1))
      yield* TestClock.adjust(Duration.seconds(1))
      const outbox = yield* store.outbox("L-1")
      assert.deepStrictEqual(
        outbox.map((e) => [e.id, e.status, e.attempts]),
        [
          ["L-1/0/0", "confirmed", 1],
          ["L-1/1/0", "confirmed", 2],
        ],
      )
    }).pipe(Effect.scoped),
  )

  it.effect("a first create refused as a duplicate fails; the other lead is not taken over", () =>
    Effect.gen(function* () {
      const adapter = stubAdapter(() => Effect.void)
      const refusing: CrmAdapter.CrmAdapterService = {
        ...adapter,
        send: (intent, ref) =>
          intent._tag === "CreateLead"
            ? Effect.fail(stubError(intent, { _tag: "DuplicateLead", detail: "email taken", existingId: "v-OTHER" }))
            : adapter.send(intent, ref),
      }
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(refusing, store)
      const created = yield* Effect.either(engine.create("L-1", { metadata: contact }))
      assert.isTrue(Either.isLeft(created) && created.left._tag === "CrmError")
      assert.strictEqual((yield* stored(store, "L-1"))?.vendorLeadId, undefined)
      assert.strictEqual((yield* store.outbox("L-1"))[0]?.status, "failed")
    }),
  )

  it.effect("worker: a defect in one pass is logged and the loop goes on (TestClock)", () =>
    Effect.gen(function* () {
      let defects = 2 // the apply's own send, then the worker's first pass
      const adapter = stubAdapter(() => Effect.void)
      const dying: CrmAdapter.CrmAdapterService = {
        ...adapter,
        send: (intent, ref) =>
          intent._tag === "SetState" && defects-- > 0 ? Effect.die("adapter bug") : adapter.send(intent, ref),
      }
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(dying, store, undefined, { leaseMs: 500 })
      yield* engine.create("L-1", { metadata: contact })
      const first = yield* Effect.exit(engine.apply("L-1", toContacted))
      assert.isTrue(first._tag === "Failure", "the defect reaches the caller of apply")
      const worker = yield* Effect.forkScoped(engine.worker({ intervalMs: 1_000 }))
      yield* TestClock.adjust(Duration.seconds(1))
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual((yield* store.outbox("L-1")).at(-1)?.status, "confirmed")
      assert.isNull(worker.unsafePoll(), "the worker is still running")
    }).pipe(Effect.scoped),
  )

  it.effect("an accepted write whose outcome never comes is resent at most until the attempts run out", () =>
    Effect.gen(function* () {
      let sends = 0
      const adapter = stubAdapter(() => Effect.void)
      const silent: CrmAdapter.CrmAdapterService = {
        ...adapter,
        send: (intent, ref) =>
          intent._tag === "SetState"
            ? Effect.sync(() => {
                sends++
                return { _tag: "Accepted", correlationId: `c-${sends}`, vendorLeadId: undefined } as const
              })
            : adapter.send(intent, ref),
      }
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(silent, store, undefined, {
        confirmTimeoutMs: 1_000,
        redelivery: { ...redelivery, maxAttempts: 3 },
      })
      yield* engine.create("L-1", { metadata: contact })
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Pending")
      for (let i = 0; i < 6; i++) {
        yield* TestClock.adjust(Duration.seconds(1))
        yield* engine.dispatchDue
      }
      assert.strictEqual(sends, 3)
      const entry = (yield* store.outbox("L-1")).at(-1)
      assert.deepInclude(entry, { status: "failed", attempts: 3 })
      assert.strictEqual(entry?.failure?.reason, "VendorIgnoredWrite")
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "new", "rolled back")
    }),
  )

  it.effect("a last attempt that timed out is read back after the ambiguity window, and confirmed if it landed", () =>
    Effect.gen(function* () {
      // The vendor applies every update, but only after the client gave up (a slow vendor).
      let vendorState = "new"
      let sends = 0
      const adapter = stubAdapter(() => Effect.void)
      const slow: CrmAdapter.CrmAdapterService = {
        ...adapter,
        capabilities: { ...adapter.capabilities, readBack: true },
        readBack: (ref) =>
          Effect.succeed({
            vendorLeadId: ref.vendorLeadId ?? "v",
            vendorState,
            state: vendorState,
            disposition: undefined,
            metadata: {},
          }),
        send: (intent, ref) =>
          intent._tag !== "SetState"
            ? adapter.send(intent, ref)
            : Effect.gen(function* () {
                sends++
                yield* Effect.fork(
                  Effect.delay(
                    Effect.sync(() => {
                      vendorState = intent.to
                    }),
                    "500 millis",
                  ),
                )
                return yield* stubError(intent, { _tag: "Transport", kind: "Timeout", detail: "no answer in time" })
              }),
      }
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(slow, store, undefined, {
        redelivery: RetryPolicy.none,
        ambiguousSettleMs: 1_000,
      })
      yield* engine.create("L-1", { metadata: contact })
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Queued", "not failed at once")
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "contacted", "not rolled back")
      yield* TestClock.adjust(Duration.seconds(1))
      assert.strictEqual((yield* engine.dispatchDue).confirmed, 1)
      assert.strictEqual(sends, 1, "read back, not sent again")
      assert.strictEqual((yield* store.outbox("L-1")).at(-1)?.status, "confirmed")
    }),
  )

  it.effect("a wake whose write fails for good returns the lead to its snooze, still able to wake", () =>
    Effect.gen(function* () {
      let refuseWake = true
      const adapter = stubAdapter(() => Effect.void)
      const refusing: CrmAdapter.CrmAdapterService = {
        ...adapter,
        send: (intent, ref) =>
          intent._tag === "SetState" && intent.from === "snoozed" && refuseWake
            ? Effect.fail(stubError(intent, { _tag: "InvalidRequest", detail: "no", fields: [] }))
            : adapter.send(intent, ref),
      }
      const store = yield* LeadStore.makeMemory
      const engine = yield* engineOver(refusing, store)
      yield* engine.create("L-1", { metadata: contact })
      yield* engine.apply("L-1", toContacted)
      yield* engine.apply("L-1", { type: "snooze", until: 86_400_000 })
      const woke = yield* Effect.either(engine.apply("L-1", { type: "wake" }))
      assert.isTrue(Either.isLeft(woke) && woke.left._tag === "CrmError")
      const lead = (yield* stored(store, "L-1"))?.snapshot
      assert.strictEqual(lead?.state, "snoozed")
      assert.strictEqual(lead?.snoozedFrom, "contacted")
      assert.deepStrictEqual(lead?.due, { event: "wake", at: 86_400_000 })
      refuseWake = false
      assert.strictEqual((yield* engine.apply("L-1", { type: "wake" }))._tag, "Confirmed")
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "contacted")
    }),
  )

  it.effect("LeadEngine.layer builds the engine from the adapter and store layers", () =>
    Effect.gen(function* () {
      const engine = yield* LeadEngine.LeadEngine
      assert.deepStrictEqual(yield* engine.create("L-1", { metadata: contact }), { _tag: "Confirmed" })
      assert.strictEqual(engine.lifecycle, dealer)
    }).pipe(
      Effect.provide(
        LeadEngine.layer(dealer).pipe(
          Layer.provide(
            Layer.succeed(
              CrmAdapter.CrmAdapter,
              stubAdapter(() => Effect.void),
            ),
          ),
          Layer.provide(LeadStore.layerMemory),
        ),
      ),
    ),
  )
})

// --- uservox: asynchronous confirmation by webhook --------------------------------------------

const API_TOKEN = "uvx_live_5f0c9a7b3e1d4c2b8a6f0e9d7c5b3a19"
const CALLBACK_TOKEN = "cb_token_7e6d5c4b3a2f1e0d"
const PROJECT = "6650aa11bb22cc33dd44ee55"
const PROCESS = "6650aa11bb22cc33dd44ee66"
const uservoxMap: StateMap.StateMapConfig = {
  states: {
    new: "new_lead",
    contacted: "make_first_call",
    followup_1: "schedule_second_call",
    followup_2: "followup_2",
    followup_3: "followup_3",
    interested: "interested",
    test_drive_booked: "test_drive",
    converted: "retail",
    lost: "lost",
    snoozed: "callback_later",
  },
}

const uservoxSetup = (
  engineOptions: LeadEngine.EngineOptions = {},
  wrapStore: (store: LeadStore.LeadStoreService) => LeadStore.LeadStoreService = (store) => store,
  wrapAdapter: (adapter: CrmAdapter.CrmAdapterService) => CrmAdapter.CrmAdapterService = (adapter) => adapter,
) =>
  Effect.gen(function* () {
    const engineRef: { current: LeadEngine.LeadEngineService | undefined } = { current: undefined }
    const receiver = yield* serveHandler((request) =>
      engineRef.current === undefined
        ? Promise.resolve(new Response(null, { status: 503 }))
        : engineRef.current.webhookHandler(request),
    )
    const fake = yield* startFakeUservoxServer({
      apiToken: API_TOKEN,
      projectId: PROJECT,
      processes: [
        {
          processId: PROCESS,
          states: ["new_lead", ...dealer.stateNames.filter((s) => s !== "new").map((s) => uservoxMap.states[s] ?? s)],
          callback: { url: receiver.url, auth: { bearer: CALLBACK_TOKEN } },
        },
      ],
      updateDelayMs: 5,
    })
    const options: UservoxAdapter.UservoxOptions = {
      lifecycle: dealer,
      stateMap: uservoxMap,
      baseUrl: fake.baseUrl,
      apiToken: Redacted.make(API_TOKEN),
      projectId: PROJECT,
      processId: PROCESS,
      webhookAuth: { bearer: Redacted.make(CALLBACK_TOKEN) },
      retry: noRetry,
    }
    const adapter = yield* UservoxAdapter.make(options).pipe(Effect.provide(FetchHttpClient.layer))
    const webhooks = Either.getOrThrow(UservoxAdapter.makeWebhooks(options))
    const store = yield* LeadStore.makeMemory
    const engine = yield* engineOver(wrapAdapter(adapter), wrapStore(store), webhooks, engineOptions)
    engineRef.current = engine
    const lastEntry = (leadId: string) => Effect.map(store.outbox(leadId), (entries) => entries.at(-1))
    const raw = (body: unknown): CrmWebhooks.RawWebhook => ({
      headers: { authorization: `Bearer ${CALLBACK_TOKEN}`, "content-type": "application/json" },
      body: new TextEncoder().encode(JSON.stringify(body)),
    })
    return { fake, adapter, store, engine, lastEntry, raw }
  })

describe("LeadEngine with uservox (confirmed by webhook)", () => {
  it.scopedLive("a transition is pending until the vendor's webhook confirms it", () =>
    Effect.gen(function* () {
      const { fake, store, engine, lastEntry } = yield* uservoxSetup()
      assert.deepStrictEqual(yield* engine.create("L-1", { metadata: contact }), { _tag: "Confirmed" })
      const outcome = yield* engine.apply("L-1", toContacted)
      assert.strictEqual(outcome._tag, "Pending")
      assert.strictEqual((yield* lastEntry("L-1"))?.status, "accepted")
      yield* until(Effect.map(lastEntry("L-1"), (e) => e?.status === "confirmed"))
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.currentState, "make_first_call")
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "contacted")
    }),
  )

  it.scopedLive("a call in progress re-queues the write; it is confirmed after the call", () =>
    Effect.gen(function* () {
      const { fake, store, engine, lastEntry } = yield* uservoxSetup()
      yield* engine.create("L-1", { metadata: contact })
      const vendorLeadId = (yield* stored(store, "L-1"))?.vendorLeadId ?? ""
      fake.callInProgress(vendorLeadId, true)
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Pending")
      yield* until(Effect.map(lastEntry("L-1"), (e) => e?.status === "pending"))
      const requeued = yield* lastEntry("L-1")
      assert.strictEqual(requeued?.failure?.reason, "CallInProgress")
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "contacted", "not rolled back")
      fake.callInProgress(vendorLeadId, false)
      yield* Effect.sleep(Duration.millis(60))
      assert.strictEqual((yield* engine.dispatchDue).accepted, 1)
      yield* until(Effect.map(lastEntry("L-1"), (e) => e?.status === "confirmed"))
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.currentState, "make_first_call")
    }),
  )

  it.scopedLive("a duplicate webhook is ignored", () =>
    Effect.gen(function* () {
      const { fake, engine, lastEntry, raw } = yield* uservoxSetup()
      yield* engine.create("L-1", { metadata: contact })
      fake.webhookFaults({ drop: 1 })
      yield* engine.apply("L-1", toContacted)
      yield* Effect.promise(() => fake.flushWebhooks())
      const [dropped] = fake.droppedWebhooks()
      assert.strictEqual((yield* lastEntry("L-1"))?.status, "accepted")
      const first = yield* engine.handleWebhook(raw(dropped))
      assert.deepInclude(first, { confirmed: 1, duplicates: 0 })
      const again = yield* engine.handleWebhook(raw(dropped))
      assert.deepInclude(again, { confirmed: 0, duplicates: 1 })
      assert.strictEqual((yield* lastEntry("L-1"))?.status, "confirmed")
    }),
  )

  it.scopedLive("a stale LeadChanged is ignored and counted; a fresh one is applied without echoing it", () =>
    Effect.gen(function* () {
      const { fake, store, engine, raw } = yield* uservoxSetup()
      yield* engine.create("L-1", { metadata: contact })
      yield* engine.apply("L-1", toContacted)
      yield* until(Effect.map(store.outbox("L-1"), (es) => es.every((e) => e.status === "confirmed")))
      const vendorLeadId = (yield* stored(store, "L-1"))?.vendorLeadId ?? ""
      fake.webhookFaults({ drop: 1 })
      const call = fake.completeCall(vendorLeadId, {
        toState: "interested",
        disposition: "price_inquiry",
        dispositionType: "neutral",
      })
      const before = yield* stored(store, "L-1")
      const old = yield* engine.handleWebhook(raw({ ...call, activityId: "act-old", timestamp: 1 }))
      assert.deepInclude(old, { stale: 1, applied: 0 })
      assert.deepStrictEqual(yield* stored(store, "L-1"), before)
      const requests = fake.requests().length
      const fresh = yield* engine.handleWebhook(raw(call))
      assert.deepInclude(fresh, { stale: 0, applied: 1 })
      const after = yield* stored(store, "L-1")
      assert.strictEqual(after?.snapshot.state, "interested")
      assert.strictEqual(after?.snapshot.disposition, "price_inquiry")
      yield* engine.dispatchDue
      assert.strictEqual(fake.requests().length, requests, "the vendor's own change is not sent back")
      assert.strictEqual((yield* store.outbox("L-1")).at(-1)?.status, "confirmed", "recorded as already applied")
      const refused = yield* engine.handleWebhook(
        raw({ ...call, activityId: "act-back", activity: { ...call.activity, toState: "new_lead" } }),
      )
      assert.strictEqual(refused.rejected.length, 1, "an impossible vendor move is reported, not thrown")
    }),
  )

  it.scopedLive("a vendor change whose save failed is not recorded as seen: the redelivered webhook applies it", () =>
    Effect.gen(function* () {
      let failSaves = 1
      const { fake, store, engine, raw } = yield* uservoxSetup({}, (inner) => ({
        ...inner,
        saveVendorChange: (...args) =>
          failSaves-- > 0
            ? Effect.fail(new LeadStore.StoreError({ operation: "saveVendorChange", detail: "disk full" }))
            : inner.saveVendorChange(...args),
      }))
      yield* engine.create("L-1", { metadata: contact })
      yield* engine.apply("L-1", toContacted)
      yield* until(Effect.map(store.outbox("L-1"), (es) => es.every((e) => e.status === "confirmed")))
      const vendorLeadId = (yield* stored(store, "L-1"))?.vendorLeadId ?? ""
      fake.webhookFaults({ drop: 1 })
      const call = fake.completeCall(vendorLeadId, {
        toState: "interested",
        disposition: "price_inquiry",
        dispositionType: "neutral",
      })
      const failed = yield* Effect.either(engine.handleWebhook(raw(call)))
      assert.isTrue(Either.isLeft(failed) && failed.left._tag === "StoreError", "the vendor gets a 500 and retries")
      const redelivered = yield* engine.handleWebhook(raw(call))
      assert.deepInclude(redelivered, { applied: 1, duplicates: 0 })
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "interested")
      assert.deepInclude(yield* engine.handleWebhook(raw(call)), { applied: 0, duplicates: 1 })
    }),
  )

  it.scopedLive("a webhook that overtakes the send's own answer settles the write (no unmatched outcome)", () =>
    Effect.gen(function* () {
      const { fake, engine, lastEntry } = yield* uservoxSetup({}, undefined, (adapter) => ({
        ...adapter,
        // The vendor's webhook arrives while our side is still processing the "accepted" answer.
        send: (intent, ref) =>
          intent._tag === "SetState"
            ? Effect.tap(adapter.send(intent, ref), () => Effect.sleep(Duration.millis(300)))
            : adapter.send(intent, ref),
      }))
      yield* engine.create("L-1", { metadata: contact })
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Pending")
      yield* until(
        Effect.map(lastEntry("L-1"), (e) => e?.status === "confirmed"),
        2_000,
      )
      yield* Effect.promise(() => fake.flushWebhooks()) // its delivery is recorded once answered
      assert.strictEqual(fake.deliveries().length, 1, "one webhook, and it settled the write")
      assert.strictEqual(fake.requests().filter((r) => r.path.endsWith("/leads/get")).length, 0, "no read-back")
    }),
  )

  it.scopedLive("a vendor change still contended after retries fails the delivery (500) instead of being dropped", () =>
    Effect.gen(function* () {
      let conflicts = 4 // the first try and its three retries
      const { fake, store, engine, raw } = yield* uservoxSetup({}, (inner) => ({
        ...inner,
        saveVendorChange: (snapshot, expected, outbox, eventId) =>
          conflicts-- > 0
            ? Effect.fail(new LeadStore.VersionConflict({ leadId: snapshot.leadId, expected, actual: 99 }))
            : inner.saveVendorChange(snapshot, expected, outbox, eventId),
      }))
      yield* engine.create("L-1", { metadata: contact })
      const vendorLeadId = (yield* stored(store, "L-1"))?.vendorLeadId ?? ""
      fake.webhookFaults({ drop: 1 })
      const call = fake.completeCall(vendorLeadId, {
        toState: "lost",
        disposition: "not_interested",
        dispositionType: "failure",
      })
      const first = yield* Effect.either(engine.handleWebhook(raw(call)))
      assert.isTrue(Either.isLeft(first) && first.left._tag === "StoreError")
      assert.deepInclude(yield* engine.handleWebhook(raw(call)), { applied: 1, unmatched: 0 })
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "lost")
    }),
  )

  it.scopedLive("a vendor change that lands while an older write of ours is queued is re-sent after it", () =>
    Effect.gen(function* () {
      const { fake, store, engine, raw } = yield* uservoxSetup()
      yield* engine.create("L-1", { metadata: contact })
      const vendorLeadId = (yield* stored(store, "L-1"))?.vendorLeadId ?? ""
      fake.inject({ method: "POST", path: "/api/v1/leads/update", fault: { _tag: "Status", status: 503 } })
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Queued")
      // Meanwhile an agent closes the lead in the vendor's UI.
      fake.webhookFaults({ drop: 1 })
      const call = fake.completeCall(vendorLeadId, {
        toState: "lost",
        disposition: "not_interested",
        dispositionType: "failure",
      })
      fake.webhookFaults({})
      assert.deepInclude(yield* engine.handleWebhook(raw(call)), { applied: 1 })
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "lost")
      yield* Effect.sleep(Duration.millis(60))
      yield* engine.dispatchDue
      yield* until(
        Effect.gen(function* () {
          yield* engine.dispatchDue
          return (yield* store.outbox("L-1")).every((e) => e.status === "confirmed")
        }),
      )
      assert.strictEqual(
        fake.leadByReference("L-1", PROCESS)?.currentState,
        "lost",
        "the vendor ends where the engine is",
      )
    }),
  )

  it.scopedLive("a lead's next write waits behind its accepted one and goes out once the webhook settled it", () =>
    Effect.gen(function* () {
      const { fake, store, engine, lastEntry, raw } = yield* uservoxSetup()
      yield* engine.create("L-1", { metadata: contact })
      fake.webhookFaults({ drop: 1 })
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Pending")
      const updates = () => fake.requests().filter((r) => r.path.endsWith("/leads/update")).length
      const queued = yield* engine.apply("L-1", { type: "transition", to: "interested" })
      assert.strictEqual(queued._tag, "Queued")
      assert.strictEqual(updates(), 1, "the second write is not sent while the first is unsettled")
      assert.strictEqual((yield* engine.dispatchDue).accepted, 0)
      yield* Effect.promise(() => fake.flushWebhooks())
      fake.webhookFaults({})
      const [dropped] = fake.droppedWebhooks()
      yield* engine.handleWebhook(raw(dropped))
      assert.strictEqual((yield* engine.dispatchDue).accepted, 1)
      yield* until(Effect.map(lastEntry("L-1"), (e) => e?.status === "confirmed"))
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.currentState, "interested")
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "interested")
    }),
  )

  it.scopedLive(
    "no webhook by the confirm deadline: the lead is read back and, applied, confirmed without a resend",
    () =>
      Effect.gen(function* () {
        const { fake, engine, lastEntry } = yield* uservoxSetup({ confirmTimeoutMs: 100 })
        yield* engine.create("L-1", { metadata: contact })
        fake.webhookFaults({ drop: 1 })
        yield* engine.apply("L-1", toContacted)
        yield* Effect.promise(() => fake.flushWebhooks())
        const updates = () => fake.requests().filter((r) => r.path.endsWith("/leads/update")).length
        assert.strictEqual((yield* engine.dispatchDue).confirmed, 0, "not before the deadline")
        yield* Effect.sleep(Duration.millis(120))
        assert.strictEqual((yield* engine.dispatchDue).confirmed, 1)
        assert.strictEqual((yield* lastEntry("L-1"))?.status, "confirmed")
        assert.strictEqual(updates(), 1, "read back, not sent again")
      }),
  )

  it.scopedLive("when a lead's last writes all fail for good, it returns to the state the vendor last confirmed", () =>
    Effect.gen(function* () {
      const { fake, store, engine, lastEntry } = yield* uservoxSetup({ redelivery: RetryPolicy.none })
      yield* engine.create("L-1", { metadata: contact })
      const vendorLeadId = (yield* stored(store, "L-1"))?.vendorLeadId ?? ""
      fake.callInProgress(vendorLeadId, true)
      assert.strictEqual((yield* engine.apply("L-1", toContacted))._tag, "Pending")
      assert.strictEqual((yield* engine.apply("L-1", { type: "transition", to: "interested" }))._tag, "Queued")
      yield* until(Effect.map(store.outbox("L-1"), (es) => es[1]?.status === "failed"))
      assert.strictEqual((yield* stored(store, "L-1"))?.snapshot.state, "interested", "moved on: not rolled back")
      yield* engine.dispatchDue
      yield* until(Effect.map(lastEntry("L-1"), (e) => e?.status === "failed"))
      const lead = yield* stored(store, "L-1")
      assert.strictEqual(lead?.snapshot.state, "new", "back to the created state, not to contacted")
      assert.deepInclude((yield* store.history("L-1")).at(-1), { event: "rollback", from: "interested", to: "new" })
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.currentState, "new_lead")
    }),
  )

  it.scopedLive("the late outcome of an earlier attempt does not settle the resent write", () =>
    Effect.gen(function* () {
      const { fake, store, engine, lastEntry, raw } = yield* uservoxSetup({ confirmTimeoutMs: 100 })
      yield* engine.create("L-1", { metadata: contact })
      const vendorLeadId = (yield* stored(store, "L-1"))?.vendorLeadId ?? ""
      fake.callInProgress(vendorLeadId, true)
      fake.webhookFaults({ drop: 1 })
      yield* engine.apply("L-1", toContacted)
      yield* Effect.promise(() => fake.flushWebhooks())
      const [lateFailure] = fake.droppedWebhooks()
      fake.callInProgress(vendorLeadId, false)
      yield* Effect.sleep(Duration.millis(120))
      assert.strictEqual((yield* engine.dispatchDue).accepted, 1, "read back (not applied) and sent again")
      const report = yield* engine.handleWebhook(raw(lateFailure))
      assert.deepInclude(report, { stale: 1, retried: 0, failed: 0 })
      assert.deepInclude(yield* lastEntry("L-1"), { status: "accepted", attempts: 2 })
    }),
  )

  it.scopedLive("no webhook by the deadline and the vendor did not apply the write: it is sent again", () =>
    Effect.gen(function* () {
      const { fake, store, engine, lastEntry } = yield* uservoxSetup({ confirmTimeoutMs: 100 })
      yield* engine.create("L-1", { metadata: contact })
      const vendorLeadId = (yield* stored(store, "L-1"))?.vendorLeadId ?? ""
      fake.callInProgress(vendorLeadId, true)
      fake.webhookFaults({ drop: 1 })
      yield* engine.apply("L-1", toContacted)
      yield* Effect.promise(() => fake.flushWebhooks())
      assert.strictEqual(fake.droppedWebhooks().length, 1, "the failure report was lost")
      fake.callInProgress(vendorLeadId, false)
      fake.webhookFaults({})
      yield* Effect.sleep(Duration.millis(120))
      assert.strictEqual((yield* engine.dispatchDue).accepted, 1)
      yield* until(Effect.map(lastEntry("L-1"), (e) => e?.status === "confirmed"))
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.currentState, "make_first_call")
      assert.strictEqual((yield* lastEntry("L-1"))?.attempts, 2)
    }),
  )
})
