/**
 * The store conformance suite: the tests every `LeadStore` passes, registered in one line
 * (`storeSuite("memory", LeadStore.layerMemory)`): round trips, optimistic concurrency
 * (nothing is overwritten, and a refused save writes no outbox rows nor history), claim leases
 * and order, outbox updates, the history log and its cursors, `loadForWrite`, deadlines and
 * webhook deduplication.
 */
import { assert, describe, it } from "@effect/vitest"
import { type LeadSnapshot, LeadStore, type SyncIntent } from "@leadstate/core"
import { Effect, Either, type Layer, Option } from "effect"

const snapshot = (leadId: string, version: number, extra: Partial<LeadSnapshot.LeadSnapshot> = {}) =>
  ({
    schemaVersion: 2,
    leadId,
    state: version === 0 ? "new" : "contacted",
    enteredAt: version,
    updatedAt: version,
    version,
    metadata: { name: "Ann" },
    recent: [{ event: "start", from: "new", to: "new", at: 0 }],
    ...extra,
  }) satisfies LeadSnapshot.LeadSnapshot

const intent = (leadId: string, to: string): SyncIntent.SyncIntent => ({
  _tag: "SetState",
  leadId,
  from: "new",
  to,
  at: 1,
})

const entry = (
  leadId: string,
  version: number,
  index: number,
  extra: Partial<LeadStore.OutboxEntry> = {},
): LeadStore.OutboxEntry => ({
  id: LeadStore.entryId(leadId, version, index),
  leadId,
  intent: intent(leadId, "contacted"),
  status: "pending",
  attempts: 0,
  availableAt: 0,
  ...extra,
})

const ids = (entries: ReadonlyArray<LeadStore.OutboxEntry>) => entries.map((e) => e.id)

/** Registers the suite for a store layer (a fresh store per test). */
export const storeSuite = <E>(name: string, layer: Layer.Layer<LeadStore.LeadStore, E>): void => {
  const run = <A, E2>(self: Effect.Effect<A, E2, LeadStore.LeadStore>) => Effect.provide(self, layer)

  describe(`LeadStore conformance: ${name}`, () => {
    it.effect("save then load returns the snapshot; vendorLeadId is set separately and kept", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          assert.isTrue(Option.isNone(yield* store.load("L-1")))
          yield* store.save(snapshot("L-1", 0), undefined, [])
          const loaded = yield* store.load("L-1")
          assert.deepStrictEqual(Option.getOrUndefined(loaded), {
            snapshot: snapshot("L-1", 0),
            vendorLeadId: undefined,
          })
          yield* store.setVendorLeadId("L-1", "v-1")
          yield* store.save(snapshot("L-1", 1), 0, [])
          const again = Option.getOrUndefined(yield* store.load("L-1"))
          assert.strictEqual(again?.vendorLeadId, "v-1")
          assert.strictEqual(again?.snapshot.version, 1)
        }),
      ),
    )

    it.effect("history: entries are logged with the version of their save, oldest first; cursors page it", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          const move = (to: string, at: number) => ({ event: "transition", from: "new", to, at })
          assert.deepStrictEqual(yield* store.history("L-1"), [])
          yield* store.save(snapshot("L-1", 0), undefined, [], [{ event: "start", from: "new", to: "new", at: 0 }])
          yield* store.save(snapshot("L-1", 1), 0, [], [move("contacted", 1)])
          yield* store.save(snapshot("L-1", 2), 1, [])
          yield* store.save(snapshot("L-1", 3), 2, [], [move("lost", 3), { ...move("new", 3), event: "rollback" }])
          // A refused save logs nothing.
          const refused = yield* Effect.either(store.save(snapshot("L-1", 3), 0, [], [move("won", 9)]))
          assert.isTrue(Either.isLeft(refused))
          yield* store.saveVendorChange(snapshot("L-1", 4), 3, [], "evt-1", [
            { event: "transition", from: "new", to: "qualified", at: 4, actor: "vendor", note: "n" },
          ])
          const all = yield* store.history("L-1")
          assert.deepStrictEqual(
            all.map((h) => [h.version, h.event, h.to]),
            [
              [0, "start", "new"],
              [1, "transition", "contacted"],
              [3, "transition", "lost"],
              [3, "rollback", "new"],
              [4, "transition", "qualified"],
            ],
          )
          assert.deepStrictEqual(all[4], {
            event: "transition",
            from: "new",
            to: "qualified",
            at: 4,
            actor: "vendor",
            note: "n",
            version: 4,
          })
          const versions = (query: LeadStore.HistoryQuery) =>
            Effect.map(store.history("L-1", query), (hs) => hs.map((h) => `${h.version}:${h.to}`))
          assert.deepStrictEqual(yield* versions({ after: 1 }), ["3:lost", "3:new", "4:qualified"])
          assert.deepStrictEqual(yield* versions({ after: 2, limit: 1 }), ["3:lost"])
          assert.deepStrictEqual(yield* versions({ limit: 2 }), ["0:new", "1:contacted"])
          assert.deepStrictEqual(yield* versions({ after: 4 }), [])
          assert.deepStrictEqual(yield* versions({ limit: 0 }), [])
          assert.deepStrictEqual(yield* store.history("L-2"), [])
        }),
      ),
    )

    it.effect("loadForWrite: the lead and whether it has a pending or accepted entry", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          assert.isTrue(Option.isNone(yield* store.loadForWrite("L-1")))
          yield* store.save(snapshot("L-1", 0), undefined, [entry("L-1", 0, 0)])
          yield* store.setVendorLeadId("L-1", "v-1")
          const first = Option.getOrUndefined(yield* store.loadForWrite("L-1"))
          assert.deepStrictEqual(first, {
            lead: { snapshot: snapshot("L-1", 0), vendorLeadId: "v-1" },
            unsettled: true,
          })
          yield* store.updateOutbox(entry("L-1", 0, 0, { status: "accepted", correlationId: "c" }))
          assert.isTrue(Option.getOrUndefined(yield* store.loadForWrite("L-1"))?.unsettled)
          yield* store.updateOutbox(entry("L-1", 0, 0, { status: "confirmed" }))
          assert.isFalse(Option.getOrUndefined(yield* store.loadForWrite("L-1"))?.unsettled)
          // Another lead's unsettled entry does not count.
          yield* store.save(snapshot("L-2", 0), undefined, [entry("L-2", 0, 0)])
          assert.isFalse(Option.getOrUndefined(yield* store.loadForWrite("L-1"))?.unsettled)
          yield* store.updateOutbox(
            entry("L-1", 0, 0, { status: "failed", failure: { reason: "NotFound", message: "m" } }),
          )
          assert.isFalse(Option.getOrUndefined(yield* store.loadForWrite("L-1"))?.unsettled)
        }),
      ),
    )

    it.effect("outboxEntry: an entry by id, settled or not, only as its own lead's", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("L-1", 0), undefined, [entry("L-1", 0, 0), entry("L-1", 0, 1)])
          const confirmed = entry("L-1", 0, 0, { status: "confirmed", attempts: 1 })
          yield* store.updateOutbox(confirmed)
          assert.deepStrictEqual(Option.getOrUndefined(yield* store.outboxEntry("L-1", "L-1/0/0")), confirmed)
          assert.deepStrictEqual(Option.getOrUndefined(yield* store.outboxEntry("L-1", "L-1/0/1")), entry("L-1", 0, 1))
          assert.isTrue(Option.isNone(yield* store.outboxEntry("L-2", "L-1/0/0")))
          assert.isTrue(Option.isNone(yield* store.outboxEntry("L-1", "L-1/9/0")))
          // A settled entry set back to pending is unsettled again, and claimed.
          yield* store.updateOutbox(entry("L-1", 0, 0, { status: "pending", attempts: 1 }))
          assert.deepStrictEqual(ids(yield* store.claim(0, 10, 100)), ["L-1/0/0"])
          assert.deepStrictEqual(ids(yield* store.outbox("L-1")), ["L-1/0/0", "L-1/0/1"])
        }),
      ),
    )

    it.effect("a save of 5,000 entries and history entries is written whole (past SQL parameter limits)", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          const many = Array.from({ length: 5_000 }, (_, i) =>
            entry("L-1", 0, i, i % 2 === 0 ? { status: "confirmed" } : {}),
          )
          const moves = Array.from({ length: 5_000 }, (_, i) => ({
            event: "transition",
            from: "new",
            to: "new",
            at: i,
          }))
          yield* store.save(snapshot("L-1", 0), undefined, many, moves)
          const saved = yield* store.outbox("L-1")
          assert.strictEqual(saved.length, 5_000)
          assert.deepStrictEqual(saved[4_999], many[4_999])
          assert.strictEqual((yield* store.history("L-1")).length, 5_000)
          const again = yield* Effect.either(store.save(snapshot("L-1", 1), 0, [entry("L-1", 0, 4_321)]))
          assert.isTrue(Either.isLeft(again) && again.left._tag === "StoreError", "an id from the big save exists")
        }),
      ),
    )

    it.effect("a stale expected version is a VersionConflict and nothing is overwritten", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("L-1", 0), undefined, [])
          yield* store.save(snapshot("L-1", 1, { state: "contacted" }), 0, [])
          const stale = yield* Effect.either(store.save(snapshot("L-1", 1, { state: "lost" }), 0, []))
          assert.isTrue(Either.isLeft(stale))
          if (Either.isLeft(stale)) {
            assert.deepInclude(stale.left, { _tag: "VersionConflict", leadId: "L-1", expected: 0, actual: 1 })
          }
          assert.strictEqual(Option.getOrUndefined(yield* store.load("L-1"))?.snapshot.state, "contacted")
        }),
      ),
    )

    it.effect("creating an existing lead is a VersionConflict; saving a missing one too", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("L-1", 0, { state: "new" }), undefined, [])
          const twice = yield* Effect.either(store.save(snapshot("L-1", 0, { state: "lost" }), undefined, []))
          assert.isTrue(Either.isLeft(twice) && twice.left._tag === "VersionConflict")
          assert.strictEqual(Option.getOrUndefined(yield* store.load("L-1"))?.snapshot.state, "new")
          const missing = yield* Effect.either(store.save(snapshot("L-2", 1), 0, []))
          assert.isTrue(Either.isLeft(missing) && missing.left._tag === "VersionConflict")
          assert.isTrue(Option.isNone(yield* store.load("L-2")))
        }),
      ),
    )

    it.effect("outbox entries are saved with the snapshot; a conflicting save writes none", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("L-1", 0), undefined, [entry("L-1", 0, 0)])
          yield* store.save(snapshot("L-1", 1), 0, [entry("L-1", 1, 0), entry("L-1", 1, 1)])
          const refused = yield* Effect.either(store.save(snapshot("L-1", 1), 0, [entry("L-1", 1, 5)]))
          assert.isTrue(Either.isLeft(refused))
          assert.deepStrictEqual(ids(yield* store.outbox("L-1")), ["L-1/0/0", "L-1/1/0", "L-1/1/1"])
          assert.deepStrictEqual(yield* store.outbox("L-2"), [])
        }),
      ),
    )

    it.effect("claim: due pending entries oldest first, up to the limit, leased until the lease passes", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          for (const lead of ["A", "B", "C", "D"]) {
            yield* store.save(snapshot(lead, 0), undefined, [
              entry(lead, 0, 0, { availableAt: lead === "D" ? 500 : 0 }),
            ])
          }
          const first = yield* store.claim(100, 2, 1_000)
          assert.deepStrictEqual(ids(first), ["A/0/0", "B/0/0"])
          assert.deepStrictEqual(
            first.map((e) => e.availableAt),
            [1_100, 1_100],
          )
          assert.deepStrictEqual(ids(yield* store.claim(100, 10, 1_000)), ["C/0/0"], "leased ones are not claimed")
          assert.deepStrictEqual(ids(yield* store.claim(200, 10, 1_000)), [], "D is not due yet")
          assert.deepStrictEqual(ids(yield* store.claim(1_100, 10, 1_000)), ["A/0/0", "B/0/0", "C/0/0", "D/0/0"])
        }),
      ),
    )

    it.effect("claim: a lead's later entry waits while an older one is pending", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("A", 0), undefined, [entry("A", 0, 0)])
          yield* store.save(snapshot("A", 1), 0, [entry("A", 1, 0)])
          const [claimed] = yield* store.claim(0, 10, 100)
          assert.strictEqual(claimed?.id, "A/0/0")
          assert.deepStrictEqual(ids(yield* store.claim(0, 10, 100)), [])
          if (claimed !== undefined) yield* store.updateOutbox({ ...claimed, status: "confirmed", attempts: 1 })
          assert.deepStrictEqual(ids(yield* store.claim(0, 10, 100)), ["A/1/0"])
        }),
      ),
    )

    it.effect("claim: an accepted entry holds back the lead's later ones and comes back past its deadline", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("A", 0), undefined, [
            entry("A", 0, 0, { status: "confirmed" }),
            entry("A", 0, 1, { status: "accepted", correlationId: "c1", attempts: 1, availableAt: 500 }),
            entry("A", 0, 2),
          ])
          yield* store.save(snapshot("B", 0), undefined, [entry("B", 0, 0, { status: "failed" }), entry("B", 0, 1)])
          assert.deepStrictEqual(ids(yield* store.claim(100, 10, 50)), ["B/0/1"], "A waits for its webhook")
          const [overdue] = yield* store.claim(500, 10, 50)
          assert.deepInclude(overdue, { id: "A/0/1", status: "accepted", correlationId: "c1", availableAt: 550 })
          yield* store.updateOutbox({ ...entry("A", 0, 1), status: "confirmed", attempts: 1 })
          assert.deepStrictEqual(ids(yield* store.claim(600, 10, 50)), ["A/0/2", "B/0/1"])
        }),
      ),
    )

    it.effect("updateOutbox replaces the entry; settled entries are never claimed; unknown ids fail", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("A", 0), undefined, [entry("A", 0, 0)])
          const updated = entry("A", 0, 0, {
            status: "failed",
            attempts: 3,
            failure: { reason: "InvalidRequest", message: "bad" },
          })
          yield* store.updateOutbox(updated)
          assert.deepStrictEqual(yield* store.outbox("A"), [updated])
          assert.deepStrictEqual(yield* store.claim(10, 10, 10), [])
          const unknown = yield* Effect.either(store.updateOutbox(entry("A", 9, 9)))
          assert.isTrue(Either.isLeft(unknown) && unknown.left._tag === "StoreError")
        }),
      ),
    )

    it.effect("updateOutbox clears the fields the new entry leaves out; it cannot move an entry to another lead", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("A", 0), undefined, [
            entry("A", 0, 0, {
              status: "accepted",
              correlationId: "c1",
              failure: { reason: "VendorUnavailable", message: "503" },
            }),
          ])
          yield* store.save(snapshot("B", 0), undefined, [])
          yield* store.updateOutbox(entry("A", 0, 0, { attempts: 2, availableAt: 7 }))
          assert.deepStrictEqual(yield* store.outbox("A"), [entry("A", 0, 0, { attempts: 2, availableAt: 7 })])
          const moved = yield* Effect.either(store.updateOutbox({ ...entry("A", 0, 0), leadId: "B" }))
          assert.isTrue(Either.isLeft(moved) && moved.left._tag === "StoreError")
          assert.deepStrictEqual(yield* store.outbox("B"), [])
        }),
      ),
    )

    it.effect("times a store cannot keep (not whole ms within 2^53) are refused before anything is written", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          const far = yield* Effect.either(
            store.save(snapshot("A", 0), undefined, [entry("A", 0, 0, { availableAt: 2 ** 60 })]),
          )
          assert.isTrue(Either.isLeft(far) && far.left._tag === "StoreError")
          const never = yield* Effect.either(
            store.save(snapshot("A", 0, { due: { event: "wake", at: Number.POSITIVE_INFINITY } }), undefined, []),
          )
          assert.isTrue(Either.isLeft(never) && never.left._tag === "StoreError")
          assert.isTrue(Option.isNone(yield* store.load("A")))
          yield* store.save(snapshot("A", 0), undefined, [entry("A", 0, 0)])
          const lease = yield* Effect.either(store.claim(0, 10, Number.POSITIVE_INFINITY))
          assert.isTrue(Either.isLeft(lease) && lease.left._tag === "StoreError")
          const update = yield* Effect.either(store.updateOutbox(entry("A", 0, 0, { availableAt: Number.NaN })))
          assert.isTrue(Either.isLeft(update) && update.left._tag === "StoreError")
          assert.deepStrictEqual(ids(yield* store.claim(0, 10, 10)), ["A/0/0"], "nothing was leased or changed")
        }),
      ),
    )

    it.effect(
      "hasUnsettled: the lead has a pending or accepted entry (its settled ones and other leads' do not count)",
      () =>
        run(
          Effect.gen(function* () {
            const store = yield* LeadStore.LeadStore
            assert.isFalse(yield* store.hasUnsettled("A"), "no lead")
            yield* store.save(snapshot("A", 0), undefined, [
              entry("A", 0, 0, { status: "confirmed" }),
              entry("A", 0, 1, { status: "failed", failure: { reason: "InvalidRequest", message: "bad" } }),
            ])
            yield* store.save(snapshot("B", 0), undefined, [entry("B", 0, 0)])
            assert.isFalse(yield* store.hasUnsettled("A"), "settled entries only")
            assert.isTrue(yield* store.hasUnsettled("B"))
            yield* store.save(snapshot("A", 1), 0, [entry("A", 1, 0), entry("A", 1, 1)])
            assert.isTrue(yield* store.hasUnsettled("A"), "pending")
            yield* store.claim(0, 10, 100)
            assert.isTrue(yield* store.hasUnsettled("A"), "a leased entry is still unsettled")
            yield* store.updateOutbox(entry("A", 1, 0, { status: "accepted", correlationId: "c1", attempts: 1 }))
            yield* store.updateOutbox(entry("A", 1, 1, { status: "confirmed", attempts: 1 }))
            assert.isTrue(yield* store.hasUnsettled("A"), "accepted")
            yield* store.updateOutbox(entry("A", 1, 0, { status: "confirmed", attempts: 1 }))
            assert.isFalse(yield* store.hasUnsettled("A"), "all settled")
            assert.isTrue(yield* store.hasUnsettled("B"))
            yield* store.updateOutbox(entry("A", 0, 1, { status: "pending", attempts: 1 }))
            assert.isTrue(yield* store.hasUnsettled("A"), "a settled entry made pending again")
          }),
        ),
    )

    it.effect("oldestAccepted is the lead's first accepted entry", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("A", 0), undefined, [
            entry("A", 0, 0, { status: "confirmed" }),
            entry("A", 0, 1, { status: "accepted", correlationId: "c1" }),
            entry("A", 0, 2, { status: "accepted", correlationId: "c2" }),
          ])
          yield* store.save(snapshot("B", 0), undefined, [entry("B", 0, 0, { status: "pending" })])
          assert.strictEqual(Option.getOrUndefined(yield* store.oldestAccepted("A"))?.correlationId, "c1")
          assert.isTrue(Option.isNone(yield* store.oldestAccepted("B")))
          yield* store.updateOutbox(entry("A", 0, 1, { status: "confirmed", correlationId: "c1" }))
          assert.strictEqual(Option.getOrUndefined(yield* store.oldestAccepted("A"))?.correlationId, "c2")
        }),
      ),
    )

    it.effect("dueLeads lists leads whose deadline passed, up to the limit", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("A", 0, { due: { event: "followUpDue", at: 100 } }), undefined, [])
          yield* store.save(snapshot("B", 0, { due: { event: "wake", at: 200 } }), undefined, [])
          yield* store.save(snapshot("C", 0), undefined, [])
          assert.deepStrictEqual(yield* store.dueLeads(99, 10), [])
          assert.deepStrictEqual(yield* store.dueLeads(100, 10), ["A"])
          assert.deepStrictEqual([...(yield* store.dueLeads(1_000, 10))].sort(), ["A", "B"])
          assert.strictEqual((yield* store.dueLeads(1_000, 1)).length, 1)
        }),
      ),
    )

    it.effect("saveVendorChange records the event with the snapshot; a second save of it writes nothing", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          yield* store.save(snapshot("A", 0), undefined, [])
          yield* store.saveVendorChange(snapshot("A", 1), 0, [entry("A", 1, 0, { status: "confirmed" })], "evt-1")
          assert.isFalse(yield* store.rememberEvent("evt-1"), "recorded by the save")
          const again = yield* Effect.either(
            store.saveVendorChange(snapshot("A", 2), 1, [entry("A", 2, 0, { status: "confirmed" })], "evt-1"),
          )
          assert.isTrue(Either.isLeft(again))
          if (Either.isLeft(again)) assert.deepInclude(again.left, { _tag: "DuplicateEvent", vendorEventId: "evt-1" })
          assert.strictEqual(Option.getOrUndefined(yield* store.load("A"))?.snapshot.version, 1)
          assert.deepStrictEqual(ids(yield* store.outbox("A")), ["A/1/0"])
          const conflict = yield* Effect.either(store.saveVendorChange(snapshot("A", 2), 0, [], "evt-2"))
          assert.isTrue(Either.isLeft(conflict) && conflict.left._tag === "VersionConflict")
          assert.isTrue(yield* store.rememberEvent("evt-2"), "a refused save records no event")
          yield* store.rememberEvent("evt-3")
          const remembered = yield* Effect.either(store.saveVendorChange(snapshot("A", 2), 1, [], "evt-3"))
          assert.isTrue(Either.isLeft(remembered) && remembered.left._tag === "DuplicateEvent")
        }),
      ),
    )

    it.effect("rememberEvent is true only the first time", () =>
      run(
        Effect.gen(function* () {
          const store = yield* LeadStore.LeadStore
          assert.isTrue(yield* store.rememberEvent("evt-1"))
          assert.isFalse(yield* store.rememberEvent("evt-1"))
          assert.isTrue(yield* store.rememberEvent("evt-2"))
        }),
      ),
    )
  })
}
