/**
 * PostgreSQL stopped mid-run: every store operation fails with a typed `StoreError` (never a
 * defect, and without the URL), and the store works again once the server is back. Runs on a
 * dedicated throwaway server (not the shared one), stopped with `pg_ctl stop -m immediate`.
 */
import { execFile } from "node:child_process"
import { join } from "node:path"
import { promisify } from "node:util"
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import { type LeadSnapshot, LeadStore } from "@leadstate/core"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import { findPostgresBinDir, type PostgresServer, pgUrlFromEnv, startPostgres } from "@leadstate/testkit/postgres"
import { Cause, Context, Effect, Exit, Fiber, Layer, Option, Redacted, Schedule } from "effect"

const run = promisify(execFile)

const snapshot = (leadId: string, version: number): LeadSnapshot.LeadSnapshot => ({
  schemaVersion: 2,
  leadId,
  state: "new",
  enteredAt: 0,
  updatedAt: 0,
  version,
  metadata: {},
  recent: [],
  due: { event: "wake", at: 5 },
})

const pending = (leadId: string, version: number, index: number): LeadStore.OutboxEntry => ({
  id: LeadStore.entryId(leadId, version, index),
  leadId,
  intent: { _tag: "SetState", leadId, from: "new", to: "contacted", at: 1 },
  status: "pending",
  attempts: 0,
  availableAt: 0,
})

/** A dedicated server and `pg_ctl` on its data directory (as the `postgres` user when root). */
const dedicatedServer = Effect.acquireRelease(
  // Commits reach the WAL before they return: an immediate stop (a crash) then loses nothing.
  Effect.promise(() => startPostgres({ settings: { synchronous_commit: "on" } })),
  (server) => Effect.promise(() => server.stop()),
).pipe(
  Effect.flatMap((server: PostgresServer) =>
    Effect.gen(function* () {
      const rows = yield* Effect.flatMap(
        PgClient.PgClient,
        (sql) => sql<{ data_directory: string }>`SHOW data_directory`,
      ).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(server.url), maxConnections: 1 })), Effect.orDie)
      const data = rows[0]?.data_directory ?? ""
      const binDir = findPostgresBinDir() ?? ""
      const pgCtl = (...args: ReadonlyArray<string>) => {
        const command = [join(binDir, "pg_ctl"), ...args, "-D", data, "-w", "-t", "60"]
        const [file = "", ...rest] =
          process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...command] : command
        return Effect.promise(() => run(file, rest, { cwd: "/" }))
      }
      return {
        url: server.url,
        // Immediate: the backends are killed, the clients' connections drop mid-session.
        stop: pgCtl("stop", "-m", "immediate"),
        // `restart` on a stopped server starts it with the options it last ran with (postmaster.opts);
        // with a log file, or the server would keep our stdout pipe open.
        start: pgCtl("restart", "-m", "immediate", "-l", join(data, "..", "restart.log")),
      }
    }),
  ),
)

/** The failure of an exit; a success or a defect fails the test. */
const storeErrorOf = (name: string, exit: Exit.Exit<unknown, unknown>): LeadStore.StoreError => {
  if (Exit.isSuccess(exit)) return assert.fail(`${name}: expected a StoreError, got a success`)
  assert.isTrue(Option.isNone(Cause.dieOption(exit.cause)), `${name}: a defect: ${Cause.pretty(exit.cause)}`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return assert.fail(`${name}: no failure in ${Cause.pretty(exit.cause)}`)
  const error = failure.value
  if (!(error instanceof LeadStore.StoreError)) return assert.fail(`${name}: not a StoreError: ${String(error)}`)
  return error
}

/** Every store call, on lead "A" (saved at version 0 with `entry`). */
const everyCall = (
  store: LeadStore.LeadStoreService,
  entry: LeadStore.OutboxEntry,
): ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> => [
  [
    "save (update)",
    store.save(snapshot("A", 1), 0, [pending("A", 1, 0)], [{ event: "wake", from: "new", to: "new", at: 1 }]),
  ],
  ["save (create)", store.save(snapshot("B", 0), undefined, [])],
  ["saveVendorChange", store.saveVendorChange(snapshot("A", 1), 0, [], "evt-1")],
  ["load", store.load("A")],
  ["loadForWrite", store.loadForWrite("A")],
  ["history", store.history("A", { after: 0, limit: 10 })],
  ["claim", store.claim(10, 10, 1_000)],
  ["updateOutbox", store.updateOutbox({ ...entry, attempts: 1 })],
  ["updateOutbox (settle)", store.updateOutbox({ ...entry, status: "confirmed" })],
  ["outbox", store.outbox("A")],
  ["outboxEntry", store.outboxEntry("A", entry.id)],
  ["hasUnsettled", store.hasUnsettled("A")],
  ["oldestAccepted", store.oldestAccepted("A")],
  ["dueLeads", store.dueLeads(10, 10)],
  ["setVendorLeadId", store.setVendorLeadId("A", "V-A")],
  ["rememberEvent", store.rememberEvent("evt-2")],
]

// A server given by LEADSTATE_PG_URL cannot be stopped here: without local binaries, skip.
const noLocalServer = findPostgresBinDir() === undefined && pgUrlFromEnv() !== undefined

describe.skipIf(noLocalServer)("PgLeadStore with the server stopped mid-run", () => {
  it.scopedLive(
    "calls in flight and calls after the stop are StoreErrors (never defects); a restart heals the store",
    () =>
      Effect.gen(function* () {
        const server = yield* dedicatedServer
        const url = Redacted.make(server.url)
        const store = yield* Effect.map(Layer.build(PgLeadStore.layer({ url, maxConnections: 16 })), (context) =>
          Context.get(context, LeadStore.LeadStore),
        )
        yield* store.save(snapshot("A", 0), undefined, [pending("A", 0, 0)])
        const [entry] = yield* store.outbox("A")
        if (entry === undefined) return assert.fail("the seed entry is missing")

        // Another session locks every table, so each call below is blocked in the middle of its
        // statement (and of its transaction, for save and claim) when the server stops.
        const admin = yield* Effect.map(Layer.build(PgClient.layer({ url, maxConnections: 2 })), (context) =>
          Context.get(context, PgClient.PgClient),
        )
        const locker = yield* admin.reserve
        yield* locker.executeRaw("BEGIN", [])
        yield* locker.executeRaw(
          "LOCK TABLE leadstate_leads, leadstate_outbox, leadstate_outbox_settled, leadstate_history, leadstate_events IN ACCESS EXCLUSIVE MODE",
          [],
        )
        const calls = everyCall(store, entry)
        const inFlight = yield* Effect.forEach(calls, ([, call]) => Effect.fork(Effect.exit(call)))
        const waiting = admin<{ readonly n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND datname = current_database()`
        yield* waiting.pipe(
          Effect.flatMap(([row]) => (row?.n === calls.length ? Effect.void : Effect.fail("not yet"))),
          Effect.retry(Schedule.spaced("50 millis")),
          Effect.timeout("20 seconds"),
        )

        yield* server.stop
        for (const [i, fiber] of inFlight.entries()) {
          const error = storeErrorOf(`${calls[i]?.[0]} (in flight)`, yield* Fiber.join(fiber))
          assert.notInclude(error.message, server.url)
        }
        // Now with no server at all (connections refused), twice: the first round may still meet
        // connections the pool had not yet dropped.
        for (const round of [1, 2]) {
          for (const [name, call] of everyCall(store, entry)) {
            const error = storeErrorOf(`${name} (stopped, round ${round})`, yield* Effect.exit(call))
            assert.notInclude(error.message, server.url)
          }
        }

        yield* server.start
        // The pool dropped its broken connections and connects again.
        yield* store.save(snapshot("A", 1), 0, [pending("A", 1, 0)])
        assert.deepStrictEqual(
          (yield* store.claim(10, 10, 1_000)).map((e) => e.id),
          ["A/0/0"],
        )
        assert.strictEqual(Option.getOrUndefined(yield* store.load("A"))?.snapshot.version, 1)
        assert.isTrue(yield* store.rememberEvent("evt-3"))
      }),
    { timeout: 120_000 },
  )
})
