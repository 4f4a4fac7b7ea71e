/**
 * Settled-rows benchmark: what a lead's settled outbox entries (never removed) cost the hot
 * path. Per SQL store, two sets of tables side by side in one database (table prefixes `s0_`
 * and `s200_`): in one the leads have no settled entries, in the other 200 each. Timed:
 *
 * - a transition through `LeadEngine` (load, the unsettled check, save, the vendor write, the
 *   entry settled), against a vendor stub that confirms at once (no HTTP: the engine and the
 *   store only), on fresh leads each round (so "0" stays 0);
 * - `claim` of 50 entries from a backlog of `CLAIM_LEADS` leads with two unsettled entries
 *   each (the second waits behind the first), re-claimed as each lease passes.
 *
 * Rounds interleave the two sets (the order alternates); medians over rounds; the ratio is
 * 200 / 0. SQLite: a temp file (WAL, synchronous NORMAL). PostgreSQL: a throwaway server as the
 * tests start it (`startPostgres`: fsync off), when its binaries are found; skipped otherwise.
 * The script runs unchanged on an older tree (where the store has no `hasUnsettled`), to
 * compare before and after. Run: `npx tsx bench/settledRows.ts [--quick]`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { b2b, CrmAdapter, LeadEngine, type LeadSnapshot, LeadStore, Lifecycle, type SyncIntent } from "@leadstate/core"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { startPostgres } from "@leadstate/testkit/postgres"
import { Context, Effect, Either, Layer, Option, Redacted, type Scope } from "effect"
import { counting } from "./countingStore.js"

const quick = process.argv.includes("--quick")

const CONFIG = {
  /** Settled entries per lead in the `s200_` tables. */
  settled: 200,
  /** Fresh leads per set and round, each taken through `steps` transitions. */
  leads: quick ? 4 : 20,
  steps: 5,
  rounds: quick ? 2 : 9,
  /** Leads of the claim backlog (two unsettled entries each), and entries per claim. */
  claimLeads: quick ? 100 : 500,
  claimLimit: 50,
  /** Timed claims per set and round (the median is kept). */
  claims: quick ? 5 : 15,
} as const

const lifecycle = Lifecycle.unsafeMake(b2b)
/** A cycle every lead can repeat: new -> qualified <-> proposal_sent. */
const stepTo = (i: number) => (i % 2 === 0 ? "qualified" : "proposal_sent")

const confirm = <I extends SyncIntent.SyncIntent>(): CrmAdapter.IntentHandler<I> => ({
  plan: () => Either.right([]),
  send: (intent) => Effect.succeed({ _tag: "Confirmed", vendorLeadId: `v-${intent.leadId}`, vendorState: undefined }),
})

/** A vendor that confirms every write at once. */
const confirming = CrmAdapter.make({
  vendor: "stub",
  capabilities: {
    create: true,
    readBack: false,
    asyncConfirmation: false,
    dispositions: true,
    snooze: false,
    bulk: false,
    delete: false,
    webhooks: false,
  },
  handlers: { CreateLead: confirm(), SetState: confirm(), MergeMetadata: confirm() },
})

const settledEntries = (leadId: string, version: number, count: number): Array<LeadStore.OutboxEntry> =>
  Array.from({ length: count }, (_, i) => ({
    id: LeadStore.entryId(leadId, version, i),
    leadId,
    intent: { _tag: "SetState", leadId, from: "new", to: "qualified", at: i },
    status: i % 10 === 9 ? "failed" : "confirmed",
    attempts: 1,
    availableAt: 0,
  }))

/** Bumps the lead's version, adding `count` settled entries (0: the version bump alone, for parity). */
const addSettled = (store: LeadStore.LeadStoreService, leadId: string, count: number) =>
  Effect.gen(function* () {
    const lead = yield* store.load(leadId)
    if (Option.isNone(lead)) return yield* Effect.dieMessage(`no lead ${leadId}`)
    const current = lead.value.snapshot
    const next: LeadSnapshot.LeadSnapshot = { ...current, version: current.version + 1 }
    yield* store.save(next, current.version, settledEntries(leadId, next.version, count))
  })

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

const timedUs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const t0 = process.hrtime.bigint()
    return Effect.map(effect, (value) => ({ value, us: Number(process.hrtime.bigint() - t0) / 1_000 }))
  })

interface SetUnderTest {
  readonly settled: number
  readonly store: LeadStore.LeadStoreService
  readonly calls: () => Record<string, number>
  readonly engine: LeadEngine.LeadEngineService
}

/** Both sets over one database: `open(prefix)` builds the store for a table prefix. */
const runStore = <E>(
  name: string,
  open: (prefix: string) => Effect.Effect<LeadStore.LeadStoreService, E, Scope.Scope>,
) =>
  Effect.gen(function* () {
    const sets: Array<SetUnderTest> = []
    for (const settled of [0, CONFIG.settled]) {
      const { store, counts: snapshot } = counting(yield* open(`s${settled}_`))
      const engine = yield* LeadEngine.make(lifecycle, { leaseMs: 60_000 }).pipe(
        Effect.provideService(CrmAdapter.CrmAdapter, confirming),
        Effect.provideService(LeadStore.LeadStore, store),
      )
      // The claim backlog: per lead, its settled entries, then two unsettled ones.
      yield* Effect.forEach(
        Array.from({ length: CONFIG.claimLeads }, (_, i) => `claim-${i}`),
        (leadId) =>
          store.save(
            {
              schemaVersion: 1,
              leadId,
              state: "qualified",
              enteredAt: 0,
              updatedAt: 0,
              version: 0,
              metadata: {},
              history: [],
            },
            undefined,
            [
              ...settledEntries(leadId, 0, settled),
              ...[0, 1].map(
                (k): LeadStore.OutboxEntry => ({
                  id: LeadStore.entryId(leadId, 0, settled + k),
                  leadId,
                  intent: { _tag: "SetState", leadId, from: "new", to: "qualified", at: k },
                  status: "pending",
                  attempts: 0,
                  availableAt: 0,
                }),
              ),
            ],
          ),
        { discard: true },
      )
      sets.push({ settled, store, calls: snapshot, engine })
    }

    const transitionUs = new Map<number, Array<number>>()
    const claimUs = new Map<number, Array<number>>()
    const callsPerTransition = new Map<number, string>()
    let clock = 1_000_000
    for (let round = 0; round <= CONFIG.rounds; round++) {
      const warmUp = round === 0
      const order = round % 2 === 0 ? sets : [...sets].reverse()
      for (const set of order) {
        // Fresh leads: created, then given their settled entries (untimed).
        const leadIds = Array.from({ length: CONFIG.leads }, (_, i) => `r${round}-${i}`)
        for (const leadId of leadIds) {
          yield* set.engine.create(leadId, { metadata: { name: "Ann" } })
          yield* addSettled(set.store, leadId, set.settled)
        }
        const before = set.calls()
        const { us } = yield* timedUs(
          Effect.forEach(
            leadIds,
            (leadId) =>
              Effect.forEach(
                Array.from({ length: CONFIG.steps }, (_, i) => i),
                (i) =>
                  Effect.flatMap(set.engine.apply(leadId, { type: "transition", to: stepTo(i) }), (outcome) =>
                    outcome._tag === "Confirmed" ? Effect.void : Effect.dieMessage(`outcome ${outcome._tag}`),
                  ),
                { discard: true },
              ),
            { discard: true },
          ),
        )
        const transitions = CONFIG.leads * CONFIG.steps
        const after = set.calls()
        callsPerTransition.set(
          set.settled,
          Object.entries(after)
            .map(([method, n]) => [method, (n - (before[method] ?? 0)) / transitions] as const)
            .filter(([, n]) => n > 0)
            .map(([method, n]) => `${method} ${n.toFixed(2)}`)
            .join(", "),
        )
        const claims: Array<number> = []
        for (let c = 0; c < CONFIG.claims; c++) {
          clock += 10
          const claimed = yield* timedUs(set.store.claim(clock, CONFIG.claimLimit, 1))
          if (claimed.value.length !== CONFIG.claimLimit) {
            return yield* Effect.dieMessage(`claim returned ${claimed.value.length} entries`)
          }
          claims.push(claimed.us)
        }
        if (warmUp) continue
        transitionUs.set(set.settled, [...(transitionUs.get(set.settled) ?? []), us / transitions])
        claimUs.set(set.settled, [...(claimUs.get(set.settled) ?? []), median(claims)])
      }
    }
    const show = (label: string, samples: Map<number, Array<number>>) => {
      const zero = median(samples.get(0) ?? [])
      const many = median(samples.get(CONFIG.settled) ?? [])
      console.log(
        `  ${label.padEnd(34)} ${zero.toFixed(0).padStart(7)} µs ${many.toFixed(0).padStart(7)} µs   x${(many / zero).toFixed(2)}`,
      )
    }
    console.log(`\n${name}`)
    console.log(`  ${"".padEnd(34)} ${"0 settled".padStart(10)} ${`${CONFIG.settled} settled`.padStart(10)}   ratio`)
    show("transition (LeadEngine.apply)", transitionUs)
    show(`claim (${CONFIG.claimLimit} of ${CONFIG.claimLeads} leads' backlog)`, claimUs)
    for (const set of sets) {
      console.log(`  store calls per transition, ${set.settled} settled: ${callsPerTransition.get(set.settled) ?? ""}`)
    }
  })

/** The store of `layer`, built in the current scope. */
const storeOf = <E>(layer: Layer.Layer<LeadStore.LeadStore, E>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, LeadStore.LeadStore))

const sqlite = Effect.gen(function* () {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "leadstate-settled-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true })),
  )
  const filename = join(dir, "leads.db")
  yield* runStore("SQLite (temp file, WAL, synchronous NORMAL)", (tablePrefix) =>
    storeOf(SqliteLeadStore.layer({ filename, tablePrefix })),
  )
})

const postgres = Effect.gen(function* () {
  const server = yield* Effect.acquireRelease(
    Effect.tryPromise(() => startPostgres({ install: false })),
    (pg) => Effect.promise(() => pg.stop()),
  )
  yield* runStore("PostgreSQL (throwaway server, test settings: fsync off)", (tablePrefix) =>
    storeOf(PgLeadStore.layer({ url: Redacted.make(server.url), tablePrefix, maxConnections: 4 })),
  )
})

const main = Effect.gen(function* () {
  console.log(
    `settled rows: node ${process.version}; ${CONFIG.leads} fresh leads x ${CONFIG.steps} transitions per set and round, ` +
      `${CONFIG.rounds} rounds (+1 warm-up), medians${quick ? " (--quick: a smoke test, not a measurement)" : ""}`,
  )
  yield* Effect.scoped(sqlite)
  yield* Effect.scoped(postgres).pipe(
    Effect.catchTag("UnknownException", (error) =>
      Effect.sync(() => console.log(`\nPostgreSQL skipped: no server could be started (${String(error.error)})`)),
    ),
  )
})

Effect.runPromise(main).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
