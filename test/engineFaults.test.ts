/**
 * The fault test of issue #6: 1,000 leads x 5 transitions against the fake uservox server with
 * faults injected (some of them refusals no retry fixes) and the engine restarted midway (the
 * store closed and opened again), on SQLite and PostgreSQL. Every transition ends confirmed at
 * the vendor or as a typed failure; none is lost or applied twice; the vendor's final state of
 * every lead is the engine's. The fake vendor runs in a child process, as a real vendor is
 * another machine; a third run starves the engine's event loop (issue #11) so that leases,
 * timeouts and ambiguity windows measured on the wall clock pass while nothing runs.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { LeadStore } from "@leadstate/core"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { freshDatabase } from "@leadstate/testkit/postgres"
import { Context, Effect, Layer } from "effect"
import { inject } from "vitest"
import { type FaultReport, runEngineUnderFaults, starvation } from "../examples/engineUnderFaults.js"

const print = (store: string, report: FaultReport) => {
  const { unsettled, mismatches, duplicatedInEngine, appliedTwiceAtVendor, ...counts } = report
  console.log(
    `[fault test: ${store}] ${JSON.stringify({
      ...counts,
      unsettled: unsettled.length,
      mismatches: mismatches.length,
      duplicatedInEngine: duplicatedInEngine.length,
      appliedTwiceAtVendor: appliedTwiceAtVendor.length,
    })}`,
  )
}

const check = (report: FaultReport) => {
  // Each list names the first few offenders (their outbox entries, leads, counts).
  assert.deepStrictEqual(report.unsettled.slice(0, 5), [], "every write is settled: none lost")
  assert.deepStrictEqual(report.duplicatedInEngine.slice(0, 5), [], "no transition applied twice by the engine")
  assert.deepStrictEqual(report.appliedTwiceAtVendor.slice(0, 5), [], "no write applied twice at the vendor")
  assert.deepStrictEqual(report.mismatches.slice(0, 5), [], "the vendor's state is the engine's")
  const failedForGood = Object.values(report.failed).reduce((a, b) => a + b, 0)
  const refused = Object.values(report.refused).reduce((a, b) => a + b, 0)
  assert.strictEqual(report.applied + refused, report.planned, "every planned transition applied or refused")
  assert.strictEqual(report.confirmed + failedForGood, report.applied, "every applied one confirmed or failed")
  assert.isAbove(report.faultedRequests, report.vendorRequests * 0.1, "faults were injected")
  assert.isAbove(failedForGood, 0, "some writes failed for good (the injected 400s)")
  assert.isAbove(report.rollbacks, 0, "and rolled their leads back")
  assert.isAbove(report.appliedBeforeRestart, 0, "the restart came mid-run")
  assert.isBelow(report.appliedBeforeRestart, report.planned, "the restart came mid-run")
}

/** Opens the store of a layer in the caller's scope (each call: a new connection, as after a restart). */
const opener = <E>(layer: Layer.Layer<LeadStore.LeadStore, E>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, LeadStore.LeadStore))

describe("engine under faults, with a restart", () => {
  it.scopedLive(
    "SQLite file store",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "leadstate-faults-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
        const layer = SqliteLeadStore.layer({ filename: join(dir, "leads.db") })
        const report = yield* runEngineUnderFaults({ leads: 1_000, openStore: opener(layer) })
        print("sqlite", report)
        check(report)
      }),
    480_000,
  )

  it.scopedLive(
    "SQLite file store, the engine's event loop starved throughout (blocks up to 1.2 s, a third of the time)",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "leadstate-faults-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
        const layer = SqliteLeadStore.layer({ filename: join(dir, "leads.db") })
        const report = yield* runEngineUnderFaults({
          leads: 300,
          openStore: opener(layer),
          starve: starvation,
          settleTimeoutMs: 240_000,
        })
        print("sqlite, starved", report)
        check(report)
        assert.isAbove(report.starved?.longestMs ?? 0, 1_000, "the loop was blocked past the request timeout")
      }),
    480_000,
  )

  it.scopedLive(
    "PostgreSQL store",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase(inject("pgUrl"))
        const layer = PgLeadStore.layer({ url })
        const report = yield* runEngineUnderFaults({ leads: 1_000, openStore: opener(layer) })
        print("postgresql", report)
        check(report)
      }),
    480_000,
  )
})
