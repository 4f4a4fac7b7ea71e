/**
 * Engine benchmark: applied transitions per second through `LeadEngine` (load, transition,
 * save with its outbox entry, one synchronous vendor write, outbox settled), with each lead
 * store, against the fake generic vendor server on loopback, beside bare HTTP PUTs of the same
 * bodies to the same server through the same HTTP client, in the same run. A middle row sends
 * the same intents through the adapter alone (`adapter.send`, no engine, no store), which
 * splits the engine's overhead into the adapter's part and the engine + store's part.
 *
 * Per store and round, for each concurrency: the server is reset, `leads` fresh leads are
 * created through the engine (timed apart, as "create"), then their transitions run along a
 * fixed path of the auto-dealer lifecycle as bare PUTs, through the adapter and through the
 * engine (the order rotates between rounds; medians over rounds). At concurrency c, c leads are
 * in flight and each lead's events stay in order. Every engine outcome must be Confirmed and
 * every bare PUT a 200 with the expected status, or the bench fails.
 *
 * The fake server runs in a child process (so it does not share this event loop), or in this
 * one with `--in-process`. Arguments: `--quick` (a smoke test, not a measurement).
 */
import { cpus } from "node:os"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { GenericAdapter } from "@leadstate/adapter-generic"
import {
  autoDealer,
  CrmAdapter,
  LeadEngine,
  type LeadSnapshot,
  LeadStore,
  Lifecycle,
  RetryPolicy,
  type SyncIntent,
  start,
  transition,
} from "@leadstate/core"
import { Context, Effect, Either, Layer, Option, Redacted } from "effect"
import { stateMap } from "../examples/engine.js"
import { counting } from "./countingStore.js"
import { pgSettings, sqliteTempFile, throwawayPostgres } from "./durableStores.js"
import { type BenchServer, startBenchServer } from "./fakeServer.js"

const quick = process.argv.includes("--quick")
const inProcess = process.argv.includes("--in-process")

/** The events of each lead, in order (all legal from "new" in the auto-dealer lifecycle). */
const PATH = [
  { type: "transition", to: "contacted" },
  { type: "transition", to: "interested", disposition: "price_inquiry" },
  { type: "transition", to: "test_drive_booked", disposition: "showroom" },
  { type: "transition", to: "converted", disposition: "purchased" },
] as const

const CONFIG = {
  /** Leads per timed run (a store may ask for fewer); each gets every event of `PATH`. */
  leads: quick ? 10 : 80,
  concurrency: [1, 32],
  /** Timed rounds per store (each: every path at every concurrency); medians are reported. */
  rounds: quick ? 1 : 5,
  /** Leads of the untimed warm-up run per store and concurrency. */
  warmupLeads: quick ? 4 : 20,
  /** Per request; the adapter does not retry (RetryPolicy.none). */
  requestTimeoutMs: 5_000,
} as const

const API_KEY = "sk-workspace_bench0123456789abcdef0123456789abcdef0123456789abcdef01"
const dealer = Lifecycle.unsafeMake(autoDealer)

// ---------------------------------------------------------------------------------------------
// The stores. Each layer is built once per store and released after its runs (closing files,
// pools, servers); runs use fresh lead ids, so a store keeps the leads of earlier runs, as a
// long-lived one would.

interface StoreCase {
  readonly name: string
  /** What the row should say about the store's settings. */
  readonly note: string
  readonly layer: Layer.Layer<LeadStore.LeadStore, unknown>
  /** Leads per timed run, when fewer than `CONFIG.leads` (a slow store); at least 32, or c=32 runs fewer in flight. */
  readonly leads?: number
}

/** Pool size of the PostgreSQL store (node-postgres' default is 10; c=32 would queue on it). */
const PG_POOL = 32

const stores: Array<StoreCase> = [
  { name: "memory", note: "LeadStore.layerMemory", layer: LeadStore.layerMemory },
  {
    name: "sqlite",
    note: "temp file, WAL, synchronous NORMAL (the default)",
    layer: sqliteTempFile("NORMAL"),
    leads: quick ? 10 : 60,
  },
  {
    name: "sqlite/full",
    note: "temp file, WAL, synchronous FULL",
    layer: sqliteTempFile("FULL"),
    leads: quick ? 10 : 60,
  },
  {
    name: "pg",
    note: `throwaway server, ${Object.entries(pgSettings)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}, pool ${PG_POOL}`,
    layer: throwawayPostgres({ maxConnections: PG_POOL }),
    leads: quick ? 5 : 40,
  },
]

// ---------------------------------------------------------------------------------------------
// Measurement.

interface Measured {
  readonly wallNs: number
  /** This process's CPU time (user + system); the server's is not in it unless `--in-process`. */
  readonly cpuNs: number
}

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Measured, E, R> =>
  Effect.suspend(() => {
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    return Effect.map(effect, () => {
      const wallNs = Number(process.hrtime.bigint() - t0)
      const c = process.cpuUsage(c0)
      return { wallNs, cpuNs: (c.user + c.system) * 1000 }
    })
  })

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** One path at one concurrency, one entry per run: ops/s, CPU µs, server requests and store calls per op. */
interface Samples {
  readonly rate: Array<number>
  readonly cpuUs: Array<number>
  readonly requests: Array<string>
  readonly storeCalls: Array<string>
}
const samples = (): Samples => ({ rate: [], cpuUs: [], requests: [], storeCalls: [] })

/** "1.00 PUT" or "1.00 PUT + 0.25 GET", per op. */
const perOp = (counts: Readonly<Record<string, number>>, ops: number): string =>
  Object.entries(counts)
    .sort((x, y) => y[1] - x[1])
    .map(([method, n]) => `${(n / ops).toFixed(2)} ${method}`)
    .join(" + ") || "none"

/** `after - before`, by key, without zeros. */
const diff = (after: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>) => {
  const out: Record<string, number> = {}
  for (const [key, n] of Object.entries(after)) {
    const d = n - (before[key] ?? 0)
    if (d !== 0) out[key] = d
  }
  return out
}

const fail = (message: string) => Effect.dieMessage(`engine bench: ${message}`)

/** The timed paths, in table order; `create` is the engine creating the run's leads. */
const PATHS = ["bare HTTP", "adapter.send", "engine"] as const
type PathName = (typeof PATHS)[number]
type RowName = PathName | "create"

interface StoreResult {
  readonly name: string
  readonly note: string
  readonly leads: number
  readonly rows: ReadonlyMap<RowName, ReadonlyMap<number, Samples>>
  readonly seconds: number
  /** Of `seconds`, building the store (starting a server, migrations). */
  readonly setupSeconds: number
}

// ---------------------------------------------------------------------------------------------
// One store: a warm-up run, then rounds of every path at every concurrency.

/** One transition of one lead, planned without the engine: its intent and the adapter's request. */
interface Step {
  readonly intent: SyncIntent.SyncIntent
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: unknown
  /** The vendor status the answer must carry. */
  readonly expected: string
}

/** The steps of `PATH` for a lead known to the vendor as `vendorLeadId`. */
const stepsOf = (adapter: CrmAdapter.CrmAdapterService, leadId: string, vendorLeadId: string, at: number) => {
  let snapshot: LeadSnapshot.LeadSnapshot = start(dealer, { leadId, at }).snapshot
  return PATH.map((event, i): Step => {
    const next = transition(dealer, snapshot, { ...event, at: at + i + 1 })
    if (Either.isLeft(next)) throw new Error(`the path is not legal: ${next.left.message}`)
    snapshot = next.right.snapshot
    const [intent] = next.right.intents
    if (intent === undefined || next.right.intents.length !== 1) throw new Error("expected one intent per event")
    const plan = adapter.plan(intent, { leadId, vendorLeadId })
    if (Either.isLeft(plan)) throw new Error(plan.left.message)
    const [request] = plan.right
    if (request === undefined || plan.right.length !== 1 || request.method !== "PUT") {
      throw new Error(`expected one PUT per SetState, planned ${plan.right.map((r) => r.method).join(", ")}`)
    }
    const body = request.body as { readonly status: string }
    // The plan redacts the key; a bare client sends it.
    const headers = { ...request.headers, Authorization: `Bearer ${API_KEY}` }
    return { intent, url: request.url, headers, body, expected: body.status }
  })
}

const runStore = (storeCase: StoreCase, server: BenchServer, adapter: CrmAdapter.CrmAdapterService) =>
  Effect.scoped(
    Effect.gen(function* () {
      const started = Date.now()
      const client = yield* HttpClient.HttpClient
      const storeContext = yield* Layer.build(storeCase.layer)
      const setupSeconds = (Date.now() - started) / 1000
      const counted = counting(Context.get(storeContext, LeadStore.LeadStore))
      const store = counted.store
      const engine = yield* LeadEngine.make(dealer).pipe(
        Effect.provide(Context.make(LeadStore.LeadStore, store).pipe(Context.add(CrmAdapter.CrmAdapter, adapter))),
      )
      const leads = storeCase.leads ?? CONFIG.leads
      const transitions = leads * PATH.length

      const sendBare = (step: Step) =>
        client
          .execute(
            HttpClientRequest.bodyUnsafeJson(HttpClientRequest.put(step.url, { headers: step.headers }), step.body),
          )
          .pipe(
            Effect.flatMap((response) => Effect.map(response.text, (text) => ({ status: response.status, text }))),
            Effect.scoped,
            Effect.timeout(CONFIG.requestTimeoutMs),
            Effect.orDie,
            Effect.flatMap(({ status, text }) => {
              const answer = JSON.parse(text) as { readonly data?: { readonly status?: unknown } }
              return status === 200 && answer.data?.status === step.expected
                ? Effect.void
                : fail(`bare PUT ${step.url} answered ${status}: ${text.slice(0, 200)}`)
            }),
          )
      const sendAdapter = (leadId: string, vendorLeadId: string) => (step: Step) =>
        adapter.send(step.intent, { leadId, vendorLeadId }).pipe(
          Effect.orDieWith((e) => new Error(`adapter.send ${step.intent._tag} for ${leadId}: ${e.message}`)),
          Effect.flatMap((receipt) =>
            receipt._tag === "Confirmed" ? Effect.void : fail(`adapter.send for ${leadId} was not confirmed`),
          ),
        )
      const confirmed = (what: string) => (outcome: LeadEngine.Outcome) =>
        outcome._tag === "Confirmed" ? Effect.void : fail(`${what} ended ${JSON.stringify(outcome)}, not Confirmed`)
      const apply = (leadId: string) => (event: (typeof PATH)[number]) =>
        engine.apply(leadId, event).pipe(
          Effect.orDieWith((e) => new Error(`apply ${event.to} to ${leadId}: ${e.message}`)),
          Effect.flatMap(confirmed(`apply ${event.to} to ${leadId}`)),
        )

      /** Times `effect` and counts the server requests and store calls it caused. */
      const measured = <E, R>(effect: Effect.Effect<unknown, E, R>) =>
        Effect.gen(function* () {
          const before = yield* server.counts
          const storeBefore = counted.counts()
          const m = yield* timed(effect)
          const storeCalls = diff(counted.counts(), storeBefore)
          return { m, requests: diff(yield* server.counts, before), storeCalls }
        })

      /** One run: fresh leads created through the engine, then their transitions on each path. */
      const run = (tag: string, n: number, concurrency: number, rotation: number) =>
        Effect.gen(function* () {
          yield* server.reset
          const ids = Array.from({ length: n }, (_, i) => `${storeCase.name}-${tag}-c${concurrency}-${i}`)
          const each = <E, R>(f: (id: string, i: number) => Effect.Effect<void, E, R>) =>
            Effect.forEach(ids, f, { concurrency, discard: true })
          const create = yield* measured(
            each((id) =>
              engine.create(id, { metadata: { name: `Lead ${id}`, email: `${id}@example.org` } }).pipe(
                Effect.orDieWith((e) => new Error(`create ${id}: ${e.message}`)),
                Effect.flatMap(confirmed(`create ${id}`)),
              ),
            ),
          )
          // The vendor ids the engine stored, and each lead's steps planned apart from the engine.
          const at = Date.now()
          const planned = yield* Effect.forEach(ids, (id) =>
            Effect.flatMap(Effect.orDie(store.load(id)), (lead) => {
              const vendorLeadId = Option.getOrUndefined(lead)?.vendorLeadId
              return vendorLeadId === undefined
                ? fail(`lead ${id} has no vendor id after create`)
                : Effect.succeed({ vendorLeadId, steps: stepsOf(adapter, id, vendorLeadId, at) })
            }),
          )
          const stepsAt = (i: number) => planned[i] as (typeof planned)[number]
          const paths: Record<PathName, Effect.Effect<void>> = {
            "bare HTTP": each((_, i) => Effect.forEach(stepsAt(i).steps, sendBare, { discard: true })),
            "adapter.send": each((id, i) =>
              Effect.forEach(stepsAt(i).steps, sendAdapter(id, stepsAt(i).vendorLeadId), { discard: true }),
            ),
            engine: each((id) => Effect.forEach(PATH, apply(id), { discard: true })),
          }
          const out = new Map<RowName, typeof create>([["create", create]])
          // The vendor does not check transitions, so the paths can run in any order on the same leads.
          for (let k = 0; k < PATHS.length; k++) {
            const path = PATHS[(k + rotation) % PATHS.length] as PathName
            out.set(path, yield* measured(paths[path]))
          }
          return out
        })

      const rows = new Map<RowName, Map<number, Samples>>()
      for (const row of [...PATHS, "create"] as const) {
        rows.set(row, new Map(CONFIG.concurrency.map((c) => [c, samples()])))
      }
      for (const c of CONFIG.concurrency) yield* run("warmup", CONFIG.warmupLeads, c, 0)
      for (let round = 0; round < CONFIG.rounds; round++) {
        for (const c of CONFIG.concurrency) {
          const out = yield* run(`r${round}`, leads, c, round)
          for (const [row, { m, requests, storeCalls }] of out) {
            const ops = row === "create" ? leads : transitions
            const s = rows.get(row)?.get(c) as Samples
            s.rate.push(ops / (m.wallNs / 1e9))
            s.cpuUs.push(m.cpuNs / 1e3 / ops)
            s.requests.push(perOp(requests, ops))
            s.storeCalls.push(perOp(storeCalls, ops))
          }
        }
      }
      return {
        name: storeCase.name,
        note: storeCase.note,
        leads,
        rows,
        seconds: (Date.now() - started) / 1000,
        setupSeconds,
      } satisfies StoreResult
    }),
  )

// ---------------------------------------------------------------------------------------------
// Report.

const int = (n: number) => Math.round(n).toLocaleString("en-US")
const lpad = (s: string, w: number) => s.padStart(w)
const rateOf = (r: StoreResult, row: RowName, c: number) => median(r.rows.get(row)?.get(c)?.rate ?? [])
const cpuOf = (r: StoreResult, row: RowName, c: number) => median(r.rows.get(row)?.get(c)?.cpuUs ?? [])
const requestsOf = (r: StoreResult, row: RowName, c: number) => [...new Set(r.rows.get(row)?.get(c)?.requests)]
const storeCallsOf = (r: StoreResult, row: RowName, c: number) => [...new Set(r.rows.get(row)?.get(c)?.storeCalls)]

const printStore = (r: StoreResult) => {
  const cs = CONFIG.concurrency
  const L = 15
  const cell = (a: string, b: string, d: string) => `${lpad(a, 9)} ${lpad(b, 7)} ${lpad(d, 9)}`
  console.log(
    `store: ${r.name} (${r.note}); ${r.leads} leads x ${PATH.length} = ${r.leads * PATH.length} transitions per run; ${r.seconds.toFixed(1)} s (setup ${r.setupSeconds.toFixed(1)} s)`,
  )
  console.log(`  ${"".padEnd(L)} ${cs.map((c) => `${`c=${c}`.padEnd(9)} ${"".padEnd(17)}`).join("   ")}`)
  console.log(`  ${"".padEnd(L)} ${cs.map(() => cell("per s", "x bare", "cpu µs/op")).join("   ")}`)
  for (const row of PATHS) {
    console.log(
      `  ${row.padEnd(L)} ${cs
        .map((c) =>
          cell(
            int(rateOf(r, row, c)),
            row === "bare HTTP" ? "1" : `${(rateOf(r, row, c) / rateOf(r, "bare HTTP", c)).toFixed(2)}x`,
            cpuOf(r, row, c).toFixed(0),
          ),
        )
        .join("   ")}`,
    )
  }
  console.log(
    `  ${"create (leads)".padEnd(L)} ${cs.map((c) => cell(int(rateOf(r, "create", c)), "", cpuOf(r, "create", c).toFixed(0))).join("   ")}`,
  )
  const added = (row: RowName, c: number) => (1e6 / rateOf(r, row, c) - 1e6 / rateOf(r, "bare HTTP", c)).toFixed(0)
  console.log(
    `  wall µs added per transition over bare: ${cs.map((c) => `c=${c}: adapter ${added("adapter.send", c)}, engine ${added("engine", c)}`).join("; ")}`,
  )
  const odd: Array<string> = []
  const requests = (row: RowName, expected: string) =>
    cs
      .map((c) => {
        const seen = requestsOf(r, row, c)
        if (seen.some((x) => x !== expected)) odd.push(`${row} at c=${c}: ${seen.join(" | ")} (expected ${expected})`)
        return `c=${c} ${seen.join(" | ")}`
      })
      .join(", ")
  console.log(
    `  server requests per op: engine ${requests("engine", "1.00 PUT")}; create ${requests("create", "1.00 POST")}`,
  )
  const calls = (row: RowName) => cs.map((c) => `c=${c} ${storeCallsOf(r, row, c).join(" | ")}`).join(", ")
  console.log(`  store calls per engine transition: ${calls("engine")}`)
  console.log(`  store calls per create: ${calls("create")}`)
  requests("bare HTTP", "1.00 PUT")
  requests("adapter.send", "1.00 PUT")
  for (const o of odd) console.log(`  ODD: ${o}`)
  console.log("")
}

// ---------------------------------------------------------------------------------------------
// Main.

const main = Effect.gen(function* () {
  const t0 = Date.now()
  const server = yield* startBenchServer({ apiKey: API_KEY, inProcess })
  const adapter = yield* GenericAdapter.make({
    lifecycle: dealer,
    stateMap,
    baseUrl: server.url,
    apiKey: Redacted.make(API_KEY),
    chatbotId: "bot_bench",
    retry: { ...RetryPolicy.none, requestTimeoutMs: CONFIG.requestTimeoutMs },
  })
  console.log("leadstate engine benchmark")
  console.log(
    `node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model.trim() ?? "?"}); fake generic server in ${server.where === "child process" ? "a child process" : "this process"} on 127.0.0.1; NodeHttpClient.layerUndici (keep-alive), one client for every path${quick ? "; QUICK RUN (smoke test only)" : ""}`,
  )
  console.log(
    `config: path ${PATH.map((e) => e.to).join(" -> ")}; concurrency ${CONFIG.concurrency.join(" and ")}; ${CONFIG.rounds} rounds of every path in rotating order, medians; warm-up run of ${CONFIG.warmupLeads} leads per store and concurrency; adapter retries off, ${CONFIG.requestTimeoutMs} ms timeout, no faults`,
  )
  console.log(
    `per s: transitions (leads for create) per second, wall clock; cpu µs/op: this process's CPU per op (user + system), ${server.where === "child process" ? "the server's excluded" : "the server's included"}`,
  )
  console.log("")
  const results: Array<StoreResult> = []
  for (const storeCase of stores) {
    // A store that cannot be built (no PostgreSQL binaries, say) is skipped, loudly; failures
    // while running (an outcome not Confirmed, a store error) are defects and end the bench.
    const r = yield* Effect.either(runStore(storeCase, server, adapter))
    if (Either.isLeft(r)) {
      console.log(`store: ${storeCase.name}: SKIPPED, it could not be built: ${String(r.left)}\n`)
      continue
    }
    printStore(r.right)
    results.push(r.right)
  }
  console.log("summary: engine/bare throughput")
  for (const r of results) {
    const ratios = CONFIG.concurrency.map(
      (c) => `c=${c} ${(rateOf(r, "engine", c) / rateOf(r, "bare HTTP", c)).toFixed(2)}x`,
    )
    console.log(`  ${r.name.padEnd(12)} ${ratios.join("  ")}`)
  }
  console.log("")
  console.log("targets (issue #12; medians of this run)")
  const verdict = (ok: boolean) => (ok ? "MET" : "MISSED")
  const target = (label: string, value: string, ok: boolean) =>
    console.log(`  ${label.padEnd(58)} ${value.padEnd(24)} ${verdict(ok)}`)
  const goals: ReadonlyArray<readonly [store: string, min: number]> = [
    ["sqlite", 0.8],
    ["pg", 0.6],
  ]
  for (const [name, min] of goals) {
    const r = results.find((x) => x.name === name)
    for (const c of CONFIG.concurrency) {
      const label = `engine + ${name === "pg" ? "PostgreSQL" : "SQLite"} >= ${min}x bare HTTP at c=${c}`
      if (r === undefined) {
        console.log(`  ${label.padEnd(58)} ${"(store skipped)".padEnd(24)} NOT MEASURED`)
        continue
      }
      const ratio = rateOf(r, "engine", c) / rateOf(r, "bare HTTP", c)
      target(label, `${ratio.toFixed(2)}x`, ratio >= min)
    }
  }
  const sqlite = results.find((x) => x.name === "sqlite")
  if (sqlite !== undefined) {
    for (const c of CONFIG.concurrency) {
      const over = cpuOf(sqlite, "engine", c) - cpuOf(sqlite, "bare HTTP", c)
      target(`engine CPU over bare <= 200 µs per transition, SQLite, c=${c}`, `${over.toFixed(0)} µs`, over <= 200)
    }
  }
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

NodeRuntime.runMain(main)
