/**
 * `pnpm faults`: runs the engine-under-faults scenario (examples/engineUnderFaults.ts) several
 * times in a row on SQLite files and prints each run's counts, then a summary; exits 1 if any run
 * lost a write, applied one twice or left the vendor out of sync with the engine.
 *
 *   pnpm faults                       5 runs x 300 leads, the engine's loop starved
 *   pnpm faults --runs 20 --leads 1000 --starve 1   the measurement the README reports
 *   pnpm faults --starve 0            no starvation
 *   pnpm faults --vendor in-process   the fake vendor in this process (sharing the starved loop)
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { LeadStore } from "@leadstate/core"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { Context, Effect, Layer } from "effect"
import { type FaultReport, runEngineUnderFaults, starvation } from "../examples/engineUnderFaults.js"

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    leads: { type: "string", default: "300" },
    starve: { type: "string", default: "1" },
    vendor: { type: "string", default: "child" },
  },
})
const runs = Number(values.runs)
const leads = Number(values.leads)
const vendor = values.vendor === "in-process" ? "in-process" : "child"

const inconsistencies = (report: FaultReport) =>
  report.unsettled.length +
  report.mismatches.length +
  report.duplicatedInEngine.length +
  report.appliedTwiceAtVendor.length

const runOnce = (seed: number) =>
  Effect.gen(function* () {
    const dir = mkdtempSync(join(tmpdir(), "leadstate-faults-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
    const layer = SqliteLeadStore.layer({ filename: join(dir, "leads.db") })
    return yield* runEngineUnderFaults({
      leads,
      vendor,
      openStore: Effect.map(Layer.build(layer), (context) => Context.get(context, LeadStore.LeadStore)),
      ...(values.starve === "0" ? {} : { starve: { ...starvation, seed } }),
    })
  }).pipe(Effect.scoped)

let bad = 0
for (let run = 1; run <= runs; run++) {
  const report = await Effect.runPromise(runOnce(run))
  const { unsettled, mismatches, duplicatedInEngine, appliedTwiceAtVendor, ...counts } = report
  const problems = inconsistencies(report)
  if (problems > 0) bad++
  console.log(
    `run ${run}/${runs}: ${problems === 0 ? "ok" : "INCONSISTENT"} ${JSON.stringify({
      ...counts,
      unsettled: unsettled.length,
      mismatches: mismatches.length,
      duplicatedInEngine: duplicatedInEngine.length,
      appliedTwiceAtVendor: appliedTwiceAtVendor.length,
    })}`,
  )
  for (const line of [...unsettled, ...mismatches, ...duplicatedInEngine, ...appliedTwiceAtVendor].slice(0, 5)) {
    console.log(`  ${line}`)
  }
}
console.log(
  `${runs - bad} of ${runs} runs consistent (${leads} leads each, vendor in ${vendor}, starved: ${values.starve !== "0"})`,
)
process.exit(bad === 0 ? 0 : 1)
