/**
 * The fault test of issue #6: 1,000 leads x 5 transitions against the fake uservox server with
 * faults injected (some of them refusals no retry fixes) and the engine restarted midway (the
 * store closed and opened again), on SQLite and PostgreSQL. Every transition ends confirmed at
 * the vendor or as a typed failure; none is lost or applied twice; the vendor's final state of
 * every lead is the engine's. The fake vendor runs in a child process, as a real vendor is
 * another machine. (engineFaultsStarved.test.ts runs the scenario with the event loop starved.)
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, it } from "@effect/vitest"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { freshDatabase } from "@leadstate/testkit/postgres"
import { Effect } from "effect"
import { inject } from "vitest"
import { runEngineUnderFaults } from "../examples/engineUnderFaults.js"
import { check, opener, print } from "./faultCheck.js"

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
