/**
 * Scaling benchmark: a transition's cost through `LeadEngine` must not grow with the number of
 * leads in the store, nor with the length of a lead's history (issue #12). Per SQL store, a
 * grid: leads already in the store (1,000, 100,000, 1,000,000) x history entries per measured
 * lead (0 and 1,000).
 *
 * - Each size has its own store (SQLite: its own file; PostgreSQL: its own tables, by table
 *   prefix, in one database), filled once by bulk SQL straight into its leads table
 *   (`lead_id`, `version`, `snapshot` as `LeadSnapshot.toJson` writes it, `vendor_lead_id`, no
 *   deadline), one transaction per `fillBatch` leads. Filler leads have no outbox or history
 *   rows (the measured leads' rows accumulate beside them). Separate stores rather than one
 *   grown from size to size: the fill costs the same (1.1 million rows instead of 1 million),
 *   and the sizes can then be measured side by side; measured one after the other, a change in
 *   the machine's load between them (this is a shared 2-core machine) showed as a size effect.
 * - Each round, per size and history length (a cell), fresh leads are saved by the store API
 *   with their whole history in one `save` (`save(snapshot, undefined, [], entries)`,
 *   untimed); then they go through `steps` transitions via `LeadEngine.apply`, each call timed:
 *   load, transition, save with the outbox entry and the history entry, the vendor write, the
 *   entry settled. The vendor is a stub that confirms at once (no HTTP: the engine and the
 *   store only). The cells take turns call by call (the first one rotating), so a change in
 *   load hits every cell alike. Medians over rounds (of each round's mean per transition),
 *   after uncounted warm-up rounds (the JIT). Reported per transition: wall µs, and this
 *   process's CPU µs (all its threads, GC included; for SQLite that includes the database's
 *   work, for PostgreSQL not the server's). After each round, one measured lead per cell must
 *   have its seeded entries plus one per transition in `LeadStore.history`.
 *
 * SQLite: temp files (WAL, synchronous NORMAL: the store's defaults); the bulk fill runs on a
 * second connection (better-sqlite3, the driver the store uses). PostgreSQL: a throwaway server
 * as the tests start it (`startPostgres`: fsync off, so commits measure the work, not the
 * disk), when its binaries are found; skipped otherwise. After each fill: SQLite checkpoints
 * its WAL; PostgreSQL runs VACUUM ANALYZE and CHECKPOINT (as autovacuum would, but not
 * mid-measurement).
 *
 * Run: `npx tsx bench/scaling.ts [--quick]` (`--quick`: 1,000 and 10,000 leads, one round; a
 * smoke test, not a measurement).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { b2b, CrmAdapter, LeadEngine, LeadSnapshot, LeadStore, Lifecycle } from "@leadstate/core"
import { confirmingAdapter } from "@leadstate/core/testing"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { startPostgres } from "@leadstate/testkit/postgres"
import { Context, Effect, Either, Layer, Redacted, type Scope } from "effect"

const quick = process.argv.includes("--quick")

const CONFIG = {
  /** Leads in the store at each measured size, in order (the database grows). */
  sizes: quick ? [1_000, 10_000] : [1_000, 100_000, 1_000_000],
  /** History entries per measured lead. */
  histories: [0, 1_000],
  /** Fresh leads per history length and round, each taken through `steps` transitions. */
  leads: quick ? 10 : 20,
  steps: 5,
  /** Counted rounds per size. */
  rounds: quick ? 1 : 15,
  /** Uncounted warm-up rounds before them (the JIT warms up); none with --quick. */
  warmUp: quick ? 0 : 3,
  /** Filler leads per INSERT transaction. */
  fillBatch: 100_000,
  /** The targets: the ratios must stay within this. */
  within: 1.3,
} as const

const lifecycle = Lifecycle.unsafeMake(b2b)

/** A vendor that confirms every write at once. */
const confirming = confirmingAdapter

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

const fmt = (n: number) => n.toLocaleString("en-US")
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

// ---------------------------------------------------------------------------------------------
// Leads: the fillers' snapshot, and the measured leads' history.

/** The placeholder for the lead id in the filler snapshot's JSON. */
const PLACEHOLDER = "__LEAD__"

/** A filler lead's snapshot JSON (version 3, a proposal sent), with `PLACEHOLDER` for its id. */
const fillerSnapshotJson = (): string => {
  const at = 1_700_000_000_000
  const snapshot: LeadSnapshot.LeadSnapshot = {
    schemaVersion: LeadSnapshot.currentSchemaVersion,
    leadId: PLACEHOLDER,
    state: "proposal_sent",
    previousState: "qualified",
    enteredAt: at + 2_000,
    updatedAt: at + 2_000,
    version: 3,
    metadata: { name: `Lead ${PLACEHOLDER}`, email: `${PLACEHOLDER}@example.org`, source: "bench" },
    recent: [
      { event: "start", from: "new", to: "new", at },
      { event: "transition", from: "new", to: "qualified", at: at + 1_000 },
      { event: "transition", from: "qualified", to: "proposal_sent", at: at + 2_000 },
    ],
  }
  return LeadSnapshot.toJson(snapshot)
}

/** `count` history entries, oldest first, alternating qualified / proposal_sent and ending in "qualified". */
const historyOf = (count: number, at: number): Array<LeadSnapshot.HistoryEntry> =>
  Array.from({ length: count }, (_, i) => {
    const to = (count - 1 - i) % 2 === 0 ? "qualified" : "proposal_sent"
    const from = i === 0 ? "new" : to === "qualified" ? "proposal_sent" : "qualified"
    return { event: "transition", from, to, at: at + i }
  })

/** A lead in "qualified" with `count` history entries, saved in one `save`; its vendor id set. */
const seedLead = (store: LeadStore.LeadStoreService, leadId: string, count: number, at: number) =>
  Effect.gen(function* () {
    const history = historyOf(count, at)
    const snapshot: LeadSnapshot.LeadSnapshot = {
      schemaVersion: LeadSnapshot.currentSchemaVersion,
      leadId,
      state: "qualified",
      enteredAt: at + count,
      updatedAt: at + count,
      version: 0,
      metadata: { name: "Ann", email: `${leadId}@example.org` },
      recent: history.slice(Math.max(0, history.length - lifecycle.historyLimit)),
    }
    yield* store.save(snapshot, undefined, [], history)
    yield* store.setVendorLeadId(leadId, `v-${leadId}`)
  })

/** The i-th timed step from "qualified": proposal_sent, qualified, proposal_sent, ... */
const stepTo = (i: number) => (i % 2 === 0 ? "proposal_sent" : "qualified")

// ---------------------------------------------------------------------------------------------
// Stores.

/** One store of a backend, whose leads table is filled to `size` filler leads. */
interface SizedStore {
  readonly size: number
  readonly store: LeadStore.LeadStoreService
  /** Inserts filler leads `from` (inclusive) to `to` (exclusive) in one transaction. */
  readonly fill: (from: number, to: number) => Effect.Effect<void, unknown>
  /** After the fill: what the backend does to settle (checkpoint, vacuum); its description. */
  readonly settle: Effect.Effect<string, unknown>
  /** Rows in the leads table. */
  readonly count: Effect.Effect<number, unknown>
}

interface Backend {
  readonly name: string
  /** Where each size's store lives. */
  readonly where: string
  readonly stores: ReadonlyArray<SizedStore>
}

/** The table prefix of the store of `size` leads. */
const prefixOf = (size: number) => `s${size}_`
const leadsTable = (size: number) => `${prefixOf(size)}leads`

/** The minimal better-sqlite3 surface the fill uses. */
interface RawSqlite {
  readonly prepare: (source: string) => {
    readonly run: (...params: ReadonlyArray<unknown>) => unknown
    readonly get: (...params: ReadonlyArray<unknown>) => unknown
  }
  readonly pragma: (source: string) => unknown
  readonly close: () => unknown
}
type RawSqliteConstructor = new (filename: string) => RawSqlite

/**
 * better-sqlite3, loaded where the store's SQLite client loads it (the root package does not
 * depend on it), so the bench needs no dependency of its own.
 */
const loadSqliteDriver = (): RawSqliteConstructor => {
  const fromStore = createRequire(new URL("../packages/store-sql/package.json", import.meta.url))
  const client = fromStore.resolve("@effect/sql-sqlite-node")
  return createRequire(client)("better-sqlite3") as RawSqliteConstructor
}

const storeOf = <E>(layer: Layer.Layer<LeadStore.LeadStore, E>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, LeadStore.LeadStore))

const sqliteBackend: Effect.Effect<Backend, unknown, Scope.Scope> = Effect.gen(function* () {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "leadstate-scaling-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true })),
  )
  const Database = loadSqliteDriver()
  const template = fillerSnapshotJson()
  const id = "printf('f%07d', n)"
  const stores = yield* Effect.forEach(CONFIG.sizes, (size) =>
    Effect.gen(function* () {
      const filename = join(dir, `leads-${size}.db`)
      // The store first: it creates the tables (and sets WAL).
      const store = yield* storeOf(SqliteLeadStore.layer({ filename, tablePrefix: prefixOf(size) }))
      const raw = yield* Effect.acquireRelease(
        Effect.sync(() => new Database(filename)),
        (db) => Effect.sync(() => db.close()),
      )
      raw.pragma("busy_timeout = 10000")
      const insert = raw.prepare(
        `INSERT INTO "${leadsTable(size)}" (lead_id, version, snapshot, vendor_lead_id, due_at)
         WITH RECURSIVE seq(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
         SELECT ${id}, 3, replace(?, '${PLACEHOLDER}', ${id}), 'v-' || ${id}, NULL FROM seq`,
      )
      const begin = raw.prepare("BEGIN IMMEDIATE")
      const commit = raw.prepare("COMMIT")
      const countRows = raw.prepare(`SELECT count(*) AS n FROM "${leadsTable(size)}"`)
      return {
        size,
        store,
        fill: (from, to) =>
          Effect.sync(() => {
            begin.run()
            insert.run(from, to - 1, template)
            commit.run()
          }),
        settle: Effect.sync(() => {
          raw.pragma("wal_checkpoint(TRUNCATE)")
          return "WAL checkpoint (TRUNCATE)"
        }),
        count: Effect.sync(() => (countRows.get() as { readonly n: number }).n),
      } satisfies SizedStore
    }),
  )
  return {
    name: "SQLite (temp file, WAL, synchronous NORMAL)",
    where: "one database file per size",
    stores,
  } satisfies Backend
})

const postgresBackend = (url: string): Effect.Effect<Backend, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* Effect.map(
      Layer.build(PgClient.layer({ url: Redacted.make(url), maxConnections: 4 })),
      (context) => Context.get(context, PgClient.PgClient),
    )
    const template = fillerSnapshotJson()
    const id = "('f' || lpad(n::text, 7, '0'))"
    const stores = yield* Effect.forEach(CONFIG.sizes, (size) =>
      Effect.gen(function* () {
        const store = yield* PgLeadStore.make({ tablePrefix: prefixOf(size) }).pipe(
          Effect.provideService(PgClient.PgClient, client),
        )
        const table = leadsTable(size)
        return {
          size,
          store,
          fill: (from, to) =>
            client.unsafe(
              `INSERT INTO "${table}" (lead_id, version, snapshot, vendor_lead_id, due_at)
               SELECT ${id}, 3, replace($1, '${PLACEHOLDER}', ${id})::jsonb, 'v-' || ${id}, NULL
               FROM generate_series($2::bigint, $3::bigint) AS n`,
              [template, from, to - 1],
            ),
          settle: Effect.as(
            Effect.zipRight(client.unsafe(`VACUUM ANALYZE "${table}"`), client.unsafe("CHECKPOINT")),
            "VACUUM ANALYZE, CHECKPOINT",
          ),
          count: Effect.map(
            client.unsafe<{ readonly n: string | number }>(`SELECT count(*) AS n FROM "${table}"`),
            (rows) => Number(rows[0]?.n ?? 0),
          ),
        } satisfies SizedStore
      }),
    )
    return {
      name: "PostgreSQL (throwaway server, test settings: fsync off)",
      where: "one server and database, one set of tables (a table prefix) per size",
      stores,
    } satisfies Backend
  })

// ---------------------------------------------------------------------------------------------
// The grid, per store.

interface Cell {
  readonly wallUs: Array<number>
  readonly cpuUs: Array<number>
}

interface StoreResult {
  readonly name: string
  /** Per size, per history length. */
  readonly cells: ReadonlyMap<number, ReadonlyMap<number, Cell>>
  readonly fills: ReadonlyArray<{ readonly size: number; readonly ms: number; readonly settle: string }>
}

/** Fills the store's leads table to its size, printing progress. */
const fillStore = (name: string, sized: SizedStore) =>
  Effect.gen(function* () {
    const f0 = Date.now()
    for (let filled = 0; filled < sized.size; ) {
      const to = Math.min(sized.size, filled + CONFIG.fillBatch)
      yield* sized.fill(filled, to)
      filled = to
      console.log(`  ${name}: filling ${fmt(filled)} / ${fmt(sized.size)} filler leads (${seconds(Date.now() - f0)})`)
    }
    const insertMs = Date.now() - f0
    const settle = yield* sized.settle
    const ms = Date.now() - f0
    const rows = yield* sized.count
    console.log(`  ${name}: filled ${fmt(rows)} leads in ${seconds(insertMs)} (+ ${settle}: ${seconds(ms - insertMs)})`)
    return { size: sized.size, ms, settle }
  })

const runBackend = (backend: Backend) =>
  Effect.gen(function* () {
    const short = backend.name.split(" ")[0] ?? backend.name
    console.log(`\n${backend.name}; ${backend.where}`)
    const fills: Array<{ readonly size: number; readonly ms: number; readonly settle: string }> = []
    for (const sized of backend.stores) fills.push(yield* fillStore(short, sized))
    const engines = new Map<number, LeadEngine.LeadEngineService>()
    for (const sized of backend.stores) {
      const engine = yield* LeadEngine.make(lifecycle, { leaseMs: 60_000 }).pipe(
        Effect.provideService(CrmAdapter.CrmAdapter, confirming),
        Effect.provideService(LeadStore.LeadStore, sized.store),
      )
      engines.set(sized.size, engine)
    }
    /** The grid's cells, in a fixed order: each round, each step, they take turns. */
    const grid = backend.stores.flatMap((sized) =>
      CONFIG.histories.map((h) => ({
        sized,
        h,
        engine: engines.get(sized.size) as LeadEngine.LeadEngineService,
        samples: { wallUs: [], cpuUs: [] } as Cell,
      })),
    )
    let at = 1_800_000_000_000
    let turn = 0
    const r0 = Date.now()
    for (let round = 1 - CONFIG.warmUp; round <= CONFIG.rounds; round++) {
      // Fresh leads per cell (untimed).
      const leads = new Map<(typeof grid)[number], ReadonlyArray<string>>()
      for (const cell of grid) {
        const leadIds = Array.from({ length: CONFIG.leads }, (_, i) => `m-r${round}-h${cell.h}-${i}`)
        for (const leadId of leadIds) {
          at += 10_000
          yield* seedLead(cell.sized.store, leadId, cell.h, at)
        }
        leads.set(cell, leadIds)
      }
      // Timed call by call, the cells taking turns (the first one rotating), so that a change
      // in the machine's load hits every cell alike.
      const wallNs = new Map(grid.map((cell) => [cell, 0]))
      const cpuUs = new Map(grid.map((cell) => [cell, 0]))
      for (let i = 0; i < CONFIG.steps; i++) {
        for (let j = 0; j < CONFIG.leads; j++) {
          const k = turn++ % grid.length
          for (const cell of [...grid.slice(k), ...grid.slice(0, k)]) {
            const leadId = leads.get(cell)?.[j] ?? ""
            const c0 = process.cpuUsage()
            const t0 = process.hrtime.bigint()
            const outcome = yield* cell.engine.apply(leadId, { type: "transition", to: stepTo(i) })
            const ns = Number(process.hrtime.bigint() - t0)
            const cpu = process.cpuUsage(c0)
            if (outcome._tag !== "Confirmed") return yield* Effect.dieMessage(`outcome ${outcome._tag}`)
            wallNs.set(cell, (wallNs.get(cell) ?? 0) + ns)
            cpuUs.set(cell, (cpuUs.get(cell) ?? 0) + cpu.user + cpu.system)
          }
        }
      }
      for (const cell of grid) {
        // The log holds the seeded entries and one per transition.
        const first = leads.get(cell)?.[0] ?? ""
        const logged = (yield* cell.sized.store.history(first)).length
        if (logged !== cell.h + CONFIG.steps) {
          return yield* Effect.dieMessage(`lead ${first} has ${logged} history entries, not ${cell.h + CONFIG.steps}`)
        }
        if (round <= 0) continue
        const transitions = CONFIG.leads * CONFIG.steps
        cell.samples.wallUs.push((wallNs.get(cell) ?? 0) / 1_000 / transitions)
        cell.samples.cpuUs.push((cpuUs.get(cell) ?? 0) / transitions)
      }
      console.log(
        `  ${short}: ${round <= 0 ? `warm-up round ${round + CONFIG.warmUp}/${CONFIG.warmUp}` : `round ${round}/${CONFIG.rounds}`} done (${seconds(Date.now() - r0)})`,
      )
    }
    const cells = new Map<number, Map<number, Cell>>()
    for (const cell of grid) {
      const bySize = cells.get(cell.sized.size) ?? new Map<number, Cell>()
      bySize.set(cell.h, cell.samples)
      cells.set(cell.sized.size, bySize)
    }
    return { name: backend.name, cells, fills } satisfies StoreResult
  })

// ---------------------------------------------------------------------------------------------
// Report.

const lowHistory = CONFIG.histories[0]
const highHistory = CONFIG.histories[CONFIG.histories.length - 1] ?? 0
const smallest = CONFIG.sizes[0] ?? 0
const largest = CONFIG.sizes[CONFIG.sizes.length - 1] ?? 0

const wall = (r: StoreResult, size: number, h: number) => median(r.cells.get(size)?.get(h)?.wallUs ?? [])
const cpuOf = (r: StoreResult, size: number, h: number) => median(r.cells.get(size)?.get(h)?.cpuUs ?? [])

const printTable = (r: StoreResult) => {
  console.log(`\n${r.name}: µs per transition (wall; this process's CPU in parentheses), medians`)
  console.log(
    `  ${"leads".padStart(10)}   ${`history ${fmt(lowHistory)}`.padStart(16)}   ${`history ${fmt(highHistory)}`.padStart(16)}   ${"ratio".padStart(6)}`,
  )
  for (const size of CONFIG.sizes) {
    const cell = (h: number) => `${wall(r, size, h).toFixed(0)} (${cpuOf(r, size, h).toFixed(0)})`
    const ratio = wall(r, size, highHistory) / wall(r, size, lowHistory)
    console.log(
      `  ${fmt(size).padStart(10)}   ${cell(lowHistory).padStart(16)}   ${cell(highHistory).padStart(16)}   ${`x${ratio.toFixed(2)}`.padStart(6)}`,
    )
  }
  console.log(`  fill: ${r.fills.map((f) => `${fmt(f.size)} leads in ${seconds(f.ms)}`).join(", ")}`)
}

const verdict = (ratios: ReadonlyArray<number>) => (ratios.every((x) => x <= CONFIG.within) ? "MET" : "MISSED")

const printTargets = (label: string, r: StoreResult | undefined) => {
  const bySize = `${fmt(smallest)} vs ${fmt(largest)} leads`
  const byHistory = `history 0 vs ${fmt(highHistory)} entries`
  if (r === undefined) {
    console.log(`  NOT MEASURED: ${label}: per-transition cost ${bySize} (store skipped)`)
    console.log(`  NOT MEASURED: ${label}: per-transition cost ${byHistory} (store skipped)`)
    return
  }
  const sizeRatios = CONFIG.histories.map((h) => wall(r, largest, h) / wall(r, smallest, h))
  console.log(
    `  ${verdict(sizeRatios)}: ${label}: per-transition cost ${bySize} within ${CONFIG.within}x: ` +
      CONFIG.histories.map((h, i) => `x${(sizeRatios[i] ?? 0).toFixed(2)} (history ${fmt(h)})`).join(", "),
  )
  const historyRatios = CONFIG.sizes.map((size) => wall(r, size, highHistory) / wall(r, size, lowHistory))
  console.log(
    `  ${verdict(historyRatios)}: ${label}: per-transition cost ${byHistory} within ${CONFIG.within}x: ` +
      CONFIG.sizes.map((size, i) => `x${(historyRatios[i] ?? 0).toFixed(2)} (${fmt(size)} leads)`).join(", "),
  )
}

const main = Effect.gen(function* () {
  const t0 = Date.now()
  console.log(
    `scaling: node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model.trim() ?? "?"}); load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}; ` +
      `leads in the store ${CONFIG.sizes.map(fmt).join(" / ")} x history per measured lead ${CONFIG.histories.map(fmt).join(" / ")}; ` +
      `${CONFIG.leads} fresh leads x ${CONFIG.steps} transitions per cell and round, ${CONFIG.rounds} round(s)` +
      `${CONFIG.warmUp > 0 ? ` after ${CONFIG.warmUp} warm-up rounds` : ""}, medians; vendor: a stub that confirms at once` +
      `${quick ? "\n--quick: 1,000 and 10,000 leads, one round: a smoke test, not a measurement" : ""}`,
  )
  const sqlite: StoreResult = yield* Effect.scoped(Effect.flatMap(sqliteBackend, runBackend))
  const postgres: StoreResult | undefined = yield* Effect.scoped(
    Effect.gen(function* () {
      const server = yield* Effect.either(
        Effect.acquireRelease(
          Effect.tryPromise(() => startPostgres({ install: false })),
          (pg) => Effect.promise(() => pg.stop()),
        ),
      )
      if (Either.isLeft(server)) {
        console.log(`\nPostgreSQL skipped: no server could be started (${String(server.left.error)})`)
        return undefined
      }
      return yield* Effect.flatMap(postgresBackend(server.right.url), runBackend)
    }),
  )
  printTable(sqlite)
  if (postgres !== undefined) printTable(postgres)
  console.log(`\ntargets (issue #12)${quick ? " -- --quick: smoke run, sizes 1,000 vs 10,000 only" : ""}`)
  printTargets("SQLite", sqlite)
  printTargets("PostgreSQL", postgres)
  console.log(
    `\ntotal ${seconds(Date.now() - t0)}; load average now ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  )
})

Effect.runPromise(main).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
