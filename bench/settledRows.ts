/**
 * Settled-rows benchmark: what a lead's settled outbox entries (never removed) cost the hot
 * path. Per SQL store, sets of tables side by side in one database (table prefixes):
 *
 * - `s0_` and `s200_`: leads with no settled entries, and with 200 each. Timed: a transition
 *   through `LeadEngine` (load, the unsettled check, save, the vendor write, the entry settled),
 *   against a vendor stub that confirms at once (no HTTP: the engine and the store only), on
 *   fresh leads each round (so "0" stays 0); and `claim` of 50 entries from a backlog of
 *   `CLAIM_LEADS` leads with two unsettled entries each (the second waits behind the first),
 *   re-claimed as each lease passes.
 * - `c0_` and `c10k_`: `claim` alone, over a backlog of `bigLeads` leads with two unsettled
 *   entries each, and in `c10k_` 10,000 settled entries per lead before them (500,000 rows).
 *   They are made through the store API: per lead, saves of 1,000 entries already confirmed
 *   (or failed), which the store files where settled entries live (in the archive table
 *   `<prefix>outbox_settled` since the history log came in, in the outbox before); one save
 *   of 10,000 would pass SQLite's limit of bound parameters per statement. The fill time is
 *   printed.
 *
 * Rounds interleave the sets (the order alternates); medians over rounds; the ratios are
 * many / 0, and "claim cost flat with 10,000 settled rows per lead" is MET within 1.3x. SQLite:
 * a temp file (WAL, synchronous NORMAL). PostgreSQL: a throwaway server as the tests start it
 * (`startPostgres`: fsync off), when its binaries are found; skipped otherwise. The script
 * writes version 2 snapshots (the history log's `recent`), so it no longer runs on a tree
 * older than the history log. Run: `npx tsx bench/settledRows.ts [--quick]`.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { b2b, CrmAdapter, LeadEngine, LeadSnapshot, LeadStore, Lifecycle } from "@leadstate/core"
import { confirmingAdapter } from "@leadstate/core/testing"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { startPostgres } from "@leadstate/testkit/postgres"
import { Context, Effect, Layer, Option, Redacted, type Scope } from "effect"
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
  /** Settled entries per lead in the `c10k_` tables, saved this many per `save`. */
  bigSettled: 10_000,
  bigSaveChunk: 1_000,
  /** Leads of the `c0_` / `c10k_` claim backlogs. */
  bigLeads: quick ? 10 : 50,
  /** The target: claim with `bigSettled` settled rows per lead within this of claim with none. */
  within: 1.3,
} as const

const lifecycle = Lifecycle.unsafeMake(b2b)
/** A cycle every lead can repeat: new -> qualified <-> proposal_sent. */
const stepTo = (i: number) => (i % 2 === 0 ? "qualified" : "proposal_sent")

/** A vendor that confirms every write at once. */
const confirming = confirmingAdapter

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

/** A claim-only set: `bigLeads` leads with `settled` settled entries each, then two unsettled. */
interface ClaimSet {
  readonly settled: number
  readonly store: LeadStore.LeadStoreService
}

/** A lead in "qualified" at `version` (version 2 snapshot, no history). */
const qualified = (leadId: string, version: number): LeadSnapshot.LeadSnapshot => ({
  schemaVersion: LeadSnapshot.currentSchemaVersion,
  leadId,
  state: "qualified",
  enteredAt: 0,
  updatedAt: 0,
  version,
  metadata: {},
  recent: [],
})

/** The lead's two unsettled entries (the second waits behind the first), at `version`. */
const unsettledPair = (leadId: string, version: number): Array<LeadStore.OutboxEntry> =>
  [0, 1].map((k) => ({
    id: LeadStore.entryId(leadId, version, k),
    leadId,
    intent: { _tag: "SetState", leadId, from: "new", to: "qualified", at: k },
    status: "pending",
    attempts: 0,
    availableAt: 0,
  }))

/**
 * A claim backlog of `leads` leads: per lead, `settled` settled entries (saved
 * `CONFIG.bigSaveChunk` per save, each save a version), then its two unsettled entries.
 */
const claimBacklog = (store: LeadStore.LeadStoreService, prefix: string, leads: number, settled: number) =>
  Effect.forEach(
    Array.from({ length: leads }, (_, i) => `${prefix}claim-${i}`),
    (leadId) =>
      Effect.gen(function* () {
        let version = 0
        yield* store.save(qualified(leadId, version), undefined, [])
        for (let done = 0; done < settled; done += CONFIG.bigSaveChunk) {
          const count = Math.min(CONFIG.bigSaveChunk, settled - done)
          yield* store.save(qualified(leadId, version + 1), version, settledEntries(leadId, version + 1, count))
          version++
        }
        yield* store.save(qualified(leadId, version + 1), version, unsettledPair(leadId, version + 1))
      }),
    { discard: true },
  )

/** `CONFIG.claims` timed claims of `limit` entries; their median µs. */
const timedClaims = (store: LeadStore.LeadStoreService, clock: { now: number }, limit: number) =>
  Effect.gen(function* () {
    const claims: Array<number> = []
    for (let c = 0; c < CONFIG.claims; c++) {
      clock.now += 10
      const claimed = yield* timedUs(store.claim(clock.now, limit, 1))
      if (claimed.value.length !== limit) {
        return yield* Effect.dieMessage(`claim returned ${claimed.value.length} entries`)
      }
      claims.push(claimed.us)
    }
    return median(claims)
  })

/** Every set over one database: `open(prefix)` builds the store for a table prefix. */
const runStore = <E>(
  name: string,
  open: (prefix: string) => Effect.Effect<LeadStore.LeadStoreService, E, Scope.Scope>,
) =>
  Effect.gen(function* () {
    console.log(`\n${name}`)
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
          store.save(qualified(leadId, 0), undefined, [
            ...settledEntries(leadId, 0, settled),
            ...unsettledPair(leadId, 0).map((e, k) => ({ ...e, id: LeadStore.entryId(leadId, 0, settled + k) })),
          ]),
        { discard: true },
      )
      sets.push({ settled, store, calls: snapshot, engine })
    }
    const claimSets: Array<ClaimSet> = []
    for (const [prefix, settled] of [
      ["c0_", 0],
      ["c10k_", CONFIG.bigSettled],
    ] as const) {
      const store = yield* open(prefix)
      const t0 = Date.now()
      yield* claimBacklog(store, prefix, CONFIG.bigLeads, settled)
      const rows = CONFIG.bigLeads * settled
      // Every settled entry is still the lead's (wherever the store keeps it).
      const sample = yield* store.outbox(`${prefix}claim-0`)
      const settledSample = sample.filter((e) => e.status === "confirmed" || e.status === "failed").length
      if (settledSample !== settled || sample.length !== settled + 2) {
        return yield* Effect.dieMessage(`${prefix}claim-0 has ${sample.length} entries, ${settledSample} settled`)
      }
      console.log(
        `  claim backlog ${prefix}: ${CONFIG.bigLeads} leads x (${settled.toLocaleString("en-US")} settled + 2 unsettled) entries ` +
          `(${rows.toLocaleString("en-US")} settled rows) saved through the store in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      )
      claimSets.push({ settled, store })
    }

    const bigLimit = Math.min(CONFIG.claimLimit, CONFIG.bigLeads)
    const transitionUs = new Map<number, Array<number>>()
    const claimUs = new Map<number, Array<number>>()
    const bigClaimUs = new Map<number, Array<number>>()
    const callsPerTransition = new Map<number, string>()
    const clock = { now: 1_000_000 }
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
        const claims = yield* timedClaims(set.store, clock, CONFIG.claimLimit)
        if (warmUp) continue
        transitionUs.set(set.settled, [...(transitionUs.get(set.settled) ?? []), us / transitions])
        claimUs.set(set.settled, [...(claimUs.get(set.settled) ?? []), claims])
      }
      for (const set of round % 2 === 0 ? claimSets : [...claimSets].reverse()) {
        const claims = yield* timedClaims(set.store, clock, bigLimit)
        if (!warmUp) bigClaimUs.set(set.settled, [...(bigClaimUs.get(set.settled) ?? []), claims])
      }
    }
    const show = (label: string, samples: Map<number, Array<number>>, many: number) => {
      const zeroUs = median(samples.get(0) ?? [])
      const manyUs = median(samples.get(many) ?? [])
      console.log(
        `  ${label.padEnd(34)} ${zeroUs.toFixed(0).padStart(7)} µs ${manyUs.toFixed(0).padStart(7)} µs   x${(manyUs / zeroUs).toFixed(2)}`,
      )
      return manyUs / zeroUs
    }
    console.log(`  ${"".padEnd(34)} ${"0 settled".padStart(10)} ${`${CONFIG.settled} settled`.padStart(10)}   ratio`)
    show("transition (LeadEngine.apply)", transitionUs, CONFIG.settled)
    show(`claim (${CONFIG.claimLimit} of ${CONFIG.claimLeads} leads' backlog)`, claimUs, CONFIG.settled)
    for (const set of sets) {
      console.log(`  store calls per transition, ${set.settled} settled: ${callsPerTransition.get(set.settled) ?? ""}`)
    }
    const big = CONFIG.bigSettled.toLocaleString("en-US")
    console.log(`  ${"".padEnd(34)} ${"0 settled".padStart(10)} ${`${big} settled`.padStart(10)}   ratio`)
    const ratio = show(`claim (${bigLimit} of ${CONFIG.bigLeads} leads' backlog)`, bigClaimUs, CONFIG.bigSettled)
    return ratio
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
  return yield* runStore("SQLite (temp file, WAL, synchronous NORMAL)", (tablePrefix) =>
    storeOf(SqliteLeadStore.layer({ filename, tablePrefix })),
  )
})

const postgres = Effect.gen(function* () {
  const server = yield* Effect.acquireRelease(
    Effect.tryPromise(() => startPostgres({ install: false })),
    (pg) => Effect.promise(() => pg.stop()),
  )
  return yield* runStore("PostgreSQL (throwaway server, test settings: fsync off)", (tablePrefix) =>
    storeOf(PgLeadStore.layer({ url: Redacted.make(server.url), tablePrefix, maxConnections: 4 })),
  )
})

const main = Effect.gen(function* () {
  console.log(
    `settled rows: node ${process.version}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}; ${CONFIG.leads} fresh leads x ${CONFIG.steps} transitions per set and round, ` +
      `${CONFIG.rounds} rounds (+1 warm-up), medians${quick ? " (--quick: a smoke test, not a measurement)" : ""}`,
  )
  const sqliteRatio = yield* Effect.scoped(sqlite)
  const pgRatio = yield* Effect.scoped(postgres).pipe(
    Effect.catchTag("UnknownException", (error) =>
      Effect.sync(() => {
        console.log(`\nPostgreSQL skipped: no server could be started (${String(error.error)})`)
        return undefined
      }),
    ),
  )
  const label = `claim cost flat with ${CONFIG.bigSettled.toLocaleString("en-US")} settled rows per lead (within ${CONFIG.within}x)`
  console.log(`\ntargets (issue #12)${quick ? " -- --quick: a smoke run" : ""}`)
  for (const [store, ratio] of [
    ["SQLite", sqliteRatio],
    ["PostgreSQL", pgRatio],
  ] as const) {
    console.log(
      ratio === undefined
        ? `  NOT MEASURED: ${store}: ${label} (store skipped)`
        : `  ${ratio <= CONFIG.within ? "MET" : "MISSED"}: ${store}: ${label}: x${ratio.toFixed(2)}`,
    )
  }
})

Effect.runPromise(main).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
