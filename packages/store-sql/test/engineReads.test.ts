/**
 * What `LeadEngine` asks the SQL store per transition: settled outbox entries are kept (in the
 * archive), so a transition of a lead the vendor knows must not read the lead's whole outbox;
 * it loads the lead with `loadForWrite` (one statement: the lead row and one probe of a
 * partial index on unsettled entries) instead.
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import { b2b, CrmAdapter, LeadEngine, LeadStore, Lifecycle } from "@leadstate/core"
import { confirmingAdapter } from "@leadstate/core/testing"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { Effect } from "effect"

const lifecycle = Lifecycle.unsafeMake(b2b)

/** A vendor that confirms every write at once. */
const confirming = confirmingAdapter

/** The store, counting the calls of the ways to learn about a lead and its outbox. */
const counting = (inner: LeadStore.LeadStoreService) => {
  const calls = { load: 0, loadForWrite: 0, outbox: 0, hasUnsettled: 0 }
  const store: LeadStore.LeadStoreService = {
    ...inner,
    load: (leadId) =>
      Effect.zipRight(
        Effect.sync(() => calls.load++),
        inner.load(leadId),
      ),
    loadForWrite: (leadId) =>
      Effect.zipRight(
        Effect.sync(() => calls.loadForWrite++),
        inner.loadForWrite(leadId),
      ),
    outbox: (leadId) =>
      Effect.zipRight(
        Effect.sync(() => calls.outbox++),
        inner.outbox(leadId),
      ),
    hasUnsettled: (leadId) =>
      Effect.zipRight(
        Effect.sync(() => calls.hasUnsettled++),
        inner.hasUnsettled(leadId),
      ),
  }
  return { store, calls }
}

describe("LeadEngine over the SQLite store", () => {
  it.effect("a transition of a lead at the vendor is one loadForWrite and never reads the whole outbox", () =>
    Effect.gen(function* () {
      const { store, calls } = counting(yield* SqliteLeadStore.make())
      const engine = yield* LeadEngine.make(lifecycle, { leaseMs: 5_000 }).pipe(
        Effect.provideService(CrmAdapter.CrmAdapter, confirming),
        Effect.provideService(LeadStore.LeadStore, store),
      )
      yield* engine.create("L-1", { at: 0, metadata: { name: "Ann" } })
      const created = { ...calls }
      const steps = ["qualified", "proposal_sent", "qualified", "proposal_sent"]
      for (const [i, to] of steps.entries()) {
        const outcome = yield* engine.apply("L-1", { type: "transition", to, at: i + 1 })
        assert.strictEqual(outcome._tag, "Confirmed")
      }
      assert.deepStrictEqual(calls, {
        load: created.load,
        loadForWrite: created.loadForWrite + steps.length,
        outbox: 0,
        hasUnsettled: 0,
      })
      assert.isFalse(yield* store.hasUnsettled("L-1"), "every write was confirmed")
      assert.strictEqual((yield* store.outbox("L-1")).length, steps.length + 1)
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" }))),
  )
})
