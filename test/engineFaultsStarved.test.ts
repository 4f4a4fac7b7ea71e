/**
 * The fault scenario with the engine's event loop starved throughout (issue #11): busy waits of
 * up to 1.2 s, about a third of the time, so that leases, request timeouts and ambiguity windows
 * measured on the wall clock pass while nothing runs. Nothing may be lost or applied twice, and
 * the vendor must end where the engine is. A file of its own, so it runs beside the others.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { Effect } from "effect"
import { runEngineUnderFaults, starvation } from "../examples/engineUnderFaults.js"
import { check, opener, print } from "./faultCheck.js"

describe("engine under faults, with a restart, on a starved event loop", () => {
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
})
