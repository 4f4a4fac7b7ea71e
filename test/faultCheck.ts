/** What the fault tests print and assert about a run of examples/engineUnderFaults.ts. */
import { assert } from "@effect/vitest"
import { LeadStore } from "@leadstate/core"
import { Context, Effect, Layer } from "effect"
import type { FaultReport } from "../examples/engineUnderFaults.js"

export const print = (store: string, report: FaultReport) => {
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

export const check = (report: FaultReport) => {
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
export const opener = <E>(layer: Layer.Layer<LeadStore.LeadStore, E>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, LeadStore.LeadStore))
