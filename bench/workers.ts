/**
 * Workers benchmark: how engine workers sharing one PostgreSQL database drain a backlog of
 * vendor writes. 1, 2 and 4 workers, each a separate Node process (`workerChild.ts`: its own
 * `PgLeadStore` pool, generic adapter and `LeadEngine`, running `dispatchDue` in a loop), drain
 * the same kind of backlog: `leads` leads created through the engine (their `CreateLead`
 * confirmed by the vendor), then `PATH.length` transitions each saved as pending outbox entries
 * through the store, as the engine saves a write that waits behind an unsettled one (the
 * lead's writes must reach the vendor in order, one at a time).
 *
 * The vendor is the fake generic server, in this process (which does nothing else while the
 * workers drain: it is the vendor's process, apart from every worker), so every request it
 * received is at hand: each write's id rides in the PUT body (`metadata.leadstate.writeId`).
 * Checked per run, and reported: every write reached the vendor exactly once (duplicates and
 * missing ones are counted), each lead's writes arrived in order, and the outbox ends with
 * every entry confirmed; any miss fails the run's MET line and the exit code. (Checked once by
 * giving the workers a 1 ms lease: duplicates and out-of-order writes were reported, MISSED.)
 * Timed: from "go" to the last write confirmed in the store (as the workers report after each
 * pass), wall clock; writes/s is the backlog over that time. The vendor here is the fake in
 * this process rather than `fakeServerChild.ts`, whose control reports counts by method only,
 * not the write ids.
 *
 * Each run has its own tables (prefix `w<workers>_r<round>_`) on one throwaway server (with
 * fsync and synchronous commit on, as in production). Rounds rotate the order of the worker
 * counts; a warm-up round (fewer leads) is not counted. writes/s: median over rounds; "x one":
 * each round's writes/s over the same round's one-worker writes/s, median over rounds (this
 * machine's load moves more between rounds than within one). On a 2-core machine the workers,
 * the server and the vendor share two cores: do not expect linear scaling. Run:
 * `npx tsx bench/workers.ts [--quick]`.
 */
import { type ChildProcess, fork } from "node:child_process"
import { cpus, loadavg } from "node:os"
import { NodeHttpClient } from "@effect/platform-node"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { autoDealer, CrmAdapter, LeadEngine, LeadStore, Lifecycle, RetryPolicy, transition } from "@leadstate/core"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import { startPostgres } from "@leadstate/testkit/postgres"
import { Context, Effect, Either, Layer, Option, Redacted } from "effect"
import { stateMap } from "../examples/engine.js"
import { pgSettings } from "./durableStores.js"
import type { Command, Reply, WorkerTotals } from "./workerChild.js"

const quick = process.argv.includes("--quick")

const CONFIG = {
  /** Leads per run; each gets every write of `PATH`. */
  leads: quick ? 100 : 800,
  /** Leads per run of the warm-up round (not counted; none with --quick). */
  warmUpLeads: quick ? 0 : 200,
  workers: [1, 2, 4],
  rounds: quick ? 1 : 3,
  /** Each worker's pool and engine options (the engine's defaults for batch and concurrency). */
  pool: 10,
  batchSize: 100,
  dispatchConcurrency: 8,
  /** A run that has not drained by then fails the bench. */
  timeoutMs: 300_000,
} as const

/** Each lead's writes after its create, in order (legal in the auto-dealer lifecycle). */
const PATH = [
  { type: "transition", to: "contacted" },
  { type: "transition", to: "interested", disposition: "price_inquiry" },
  { type: "transition", to: "test_drive_booked", disposition: "showroom" },
] as const

const API_KEY = "sk-workspace_workers0123456789abcdef0123456789abcdef0123456789abcd"
const dealer = Lifecycle.unsafeMake(autoDealer)

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

const fail = (message: string) => Effect.dieMessage(`workers bench: ${message}`)

// ---------------------------------------------------------------------------------------------
// Worker processes.

interface Worker {
  readonly send: (command: Command) => void
  /** The next reply of `type` (an error reply rejects every wait). */
  readonly next: <T extends Reply["type"]>(type: T) => Promise<Extract<Reply, { readonly type: T }>>
  /** Called with each progress report's confirmed count. */
  onProgress: (confirmed: number) => void
  /** Called when the worker fails or exits. */
  onError: (error: Error) => void
}

const spawnWorker = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly child: ChildProcess; readonly worker: Worker }>((resume) => {
      // fork keeps this process's execArgv, so tsx's loader runs the child's TypeScript too.
      const child = fork(new URL("./workerChild.ts", import.meta.url), [...args], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      })
      const waiters: Array<{
        readonly type: Reply["type"]
        readonly resolve: (reply: Reply) => void
        readonly reject: (error: Error) => void
      }> = []
      let broken: Error | undefined
      const worker: Worker = {
        send: (command) => {
          child.send(command)
        },
        next: <T extends Reply["type"]>(type: T) =>
          new Promise<Extract<Reply, { readonly type: T }>>((resolve, reject) => {
            if (broken !== undefined) return reject(broken)
            waiters.push({ type, resolve: (reply) => resolve(reply as Extract<Reply, { readonly type: T }>), reject })
          }),
        onProgress: () => undefined,
        onError: () => undefined,
      }
      const breakAll = (error: Error) => {
        broken = error
        worker.onError(error)
        for (const waiter of waiters.splice(0)) waiter.reject(error)
      }
      child.on("message", (raw) => {
        const reply = raw as Reply
        if (reply.type === "ready") return resume(Effect.succeed({ child, worker }))
        if (reply.type === "progress") return worker.onProgress(reply.confirmed)
        if (reply.type === "error") return breakAll(new Error(`a worker failed: ${reply.message}`))
        const index = waiters.findIndex((w) => w.type === reply.type)
        const [waiter] = index < 0 ? [] : waiters.splice(index, 1)
        waiter?.resolve(reply)
      })
      child.once("exit", (code) => {
        breakAll(new Error(`a worker process exited (code ${code})`))
        resume(Effect.dieMessage(`a worker process exited (code ${code}) before it was ready`))
      })
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || !child.connected) return resume(Effect.void)
        const timer = setTimeout(() => child.kill(), 5_000)
        child.once("exit", () => {
          clearTimeout(timer)
          resume(Effect.void)
        })
        child.send({ type: "exit" } satisfies Command)
      }),
  ).pipe(Effect.map(({ worker }) => worker))

// ---------------------------------------------------------------------------------------------
// One run.

interface RunResult {
  readonly workers: number
  readonly writes: number
  readonly seconds: number
  readonly backlogSeconds: number
  readonly duplicates: number
  readonly missing: number
  readonly outOfOrder: number
  readonly notConfirmed: number
  /** Vendor requests other than the writes' PUTs (read-backs), per write. */
  readonly otherRequests: number
  /** Writes each worker confirmed. */
  readonly shares: ReadonlyArray<number>
  /** The workers' CPU time per write, summed over workers. */
  readonly cpuUsPerWrite: number
  /** This process's CPU time (the vendor's, mostly) per write over the drain. */
  readonly vendorCpuUsPerWrite: number
}

type Fake = Effect.Effect.Success<ReturnType<typeof startFakeGenericServer>>

const storeOf = (url: string, tablePrefix: string) =>
  Effect.map(Layer.build(PgLeadStore.layer({ url: Redacted.make(url), tablePrefix, maxConnections: 16 })), (c) =>
    Context.get(c, LeadStore.LeadStore),
  )

/** Leads created through the engine, then `PATH` saved as pending writes; their ids, per lead in order. */
const backlog = (
  store: LeadStore.LeadStoreService,
  adapter: CrmAdapter.CrmAdapterService,
  prefix: string,
  leads: number,
) =>
  Effect.gen(function* () {
    const engine = yield* LeadEngine.make(dealer).pipe(
      Effect.provideService(CrmAdapter.CrmAdapter, adapter),
      Effect.provideService(LeadStore.LeadStore, store),
    )
    const leadIds = Array.from({ length: leads }, (_, i) => `${prefix}lead-${i}`)
    return yield* Effect.forEach(
      leadIds,
      (leadId, i) =>
        Effect.gen(function* () {
          const created = yield* engine.create(leadId, {
            metadata: { name: `Lead ${i}`, email: `${leadId.replaceAll("_", "-")}@example.org` },
          })
          if (created._tag !== "Confirmed") return yield* fail(`create of ${leadId}: ${created._tag}`)
          const loaded = yield* store.load(leadId)
          if (Option.isNone(loaded)) return yield* fail(`no lead ${leadId}`)
          let snapshot = loaded.value.snapshot
          const ids: Array<string> = []
          for (const [step, event] of PATH.entries()) {
            const at = snapshot.updatedAt + step + 1
            const next = transition(dealer, snapshot, { ...event, at })
            if (Either.isLeft(next)) return yield* fail(`the path is not legal: ${next.left.message}`)
            const entries = next.right.intents.map(
              (intent, index): LeadStore.OutboxEntry => ({
                id: LeadStore.entryId(leadId, next.right.snapshot.version, index),
                leadId,
                intent,
                status: "pending",
                attempts: 0,
                availableAt: at,
              }),
            )
            yield* store.save(next.right.snapshot, snapshot.version, entries, next.right.history)
            ids.push(...entries.map((e) => e.id))
            snapshot = next.right.snapshot
          }
          return { leadId, ids }
        }),
      { concurrency: 8 },
    )
  })

const runOnce = (
  workers: ReadonlyArray<Worker>,
  count: number,
  round: number,
  pgUrl: string,
  fake: Fake,
  adapter: CrmAdapter.CrmAdapterService,
  leads: number,
) =>
  Effect.gen(function* () {
    const prefix = `w${count}_r${round}_`
    const crew = workers.slice(0, count)
    fake.reset()
    const store = yield* storeOf(pgUrl, prefix)
    const b0 = Date.now()
    const planned = yield* backlog(store, adapter, prefix, leads)
    const backlogSeconds = (Date.now() - b0) / 1000
    const expected = new Map<string, { readonly leadId: string; readonly index: number }>()
    for (const { leadId, ids } of planned) for (const [index, id] of ids.entries()) expected.set(id, { leadId, index })
    const writes = expected.size
    const mark = fake.requests().length

    yield* Effect.promise(() =>
      Promise.all(
        crew.map((w) => {
          const opened = w.next("opened")
          w.send({ type: "open", prefix })
          return opened
        }),
      ),
    )
    // Timed: from "go" to the last write confirmed (reported by the worker that confirmed it).
    const { seconds, vendorCpuUs } = yield* Effect.promise(
      () =>
        new Promise<{ readonly seconds: number; readonly vendorCpuUs: number }>((resolve, reject) => {
          let confirmed = 0
          const c0 = process.cpuUsage()
          const t0 = process.hrtime.bigint()
          const timer = setTimeout(
            () => reject(new Error(`not drained after ${CONFIG.timeoutMs} ms (${confirmed}/${writes} confirmed)`)),
            CONFIG.timeoutMs,
          )
          for (const w of crew) {
            w.onProgress = (n) => {
              confirmed += n
              if (confirmed >= writes) {
                clearTimeout(timer)
                const cpu = process.cpuUsage(c0)
                resolve({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, vendorCpuUs: cpu.user + cpu.system })
              }
            }
            w.onError = reject
          }
          for (const w of crew) w.send({ type: "go" })
        }),
    )
    const totals: ReadonlyArray<WorkerTotals> = yield* Effect.promise(() =>
      Promise.all(
        crew.map((w) => {
          w.onProgress = () => undefined
          w.onError = () => undefined
          const stopped = w.next("stopped")
          w.send({ type: "stop" })
          return stopped.then((reply) => reply.totals)
        }),
      ),
    )

    // What the vendor received: each write once, each lead's in order.
    const requests = fake.requests().slice(mark)
    const seen = new Map<string, number>()
    const lastIndex = new Map<string, number>()
    let outOfOrder = 0
    let unexpected = 0
    for (const request of requests) {
      if (request.method !== "PUT") continue
      const body = request.body as { readonly metadata?: { readonly leadstate?: { readonly writeId?: unknown } } }
      const writeId = body.metadata?.leadstate?.writeId
      const known = typeof writeId === "string" ? expected.get(writeId) : undefined
      if (typeof writeId !== "string" || known === undefined) {
        unexpected++
        continue
      }
      seen.set(writeId, (seen.get(writeId) ?? 0) + 1)
      const last = lastIndex.get(known.leadId) ?? -1
      if (known.index < last) outOfOrder++
      lastIndex.set(known.leadId, Math.max(last, known.index))
    }
    if (unexpected > 0) return yield* fail(`${unexpected} PUTs without a write id of this run`)
    let duplicates = 0
    let missing = 0
    for (const id of expected.keys()) {
      const n = seen.get(id) ?? 0
      if (n === 0) missing++
      else duplicates += n - 1
    }
    // The store: every entry of every lead (its create included) confirmed.
    const statuses = yield* Effect.forEach(planned, ({ leadId }) => store.outbox(leadId), { concurrency: 8 })
    const notConfirmed = statuses.flat().filter((e) => e.status !== "confirmed").length
    const puts = requests.filter((r) => r.method === "PUT").length
    return {
      workers: count,
      writes,
      seconds,
      backlogSeconds,
      duplicates,
      missing,
      outOfOrder,
      notConfirmed,
      otherRequests: (requests.length - puts) / writes,
      shares: totals.map((t) => t.confirmed),
      cpuUsPerWrite: totals.reduce((sum, t) => sum + t.cpuUs, 0) / writes,
      vendorCpuUsPerWrite: vendorCpuUs / writes,
    } satisfies RunResult
  }).pipe(Effect.scoped)

// ---------------------------------------------------------------------------------------------
// Main.

const main = Effect.gen(function* () {
  console.log(
    `workers: node ${process.version}, ${cpus().length} cpus (${cpus()[0]?.model.trim() ?? "?"}); load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}; ` +
      `${CONFIG.leads} leads x ${PATH.length} writes per run, workers ${CONFIG.workers.join("/")}, ` +
      `${CONFIG.rounds} round(s)${CONFIG.warmUpLeads > 0 ? ` after a warm-up round of ${CONFIG.warmUpLeads} leads` : ""}, medians` +
      `${quick ? "; --quick: a smoke test, not a measurement" : ""}`,
  )
  console.log(
    `each worker: a Node process, PgLeadStore pool ${CONFIG.pool}, LeadEngine batchSize ${CONFIG.batchSize}, ` +
      `dispatchConcurrency ${CONFIG.dispatchConcurrency}, dispatchDue in a loop (5 ms sleep when idle); ` +
      `vendor: the fake generic server in the parent process`,
  )
  const server = yield* Effect.either(
    Effect.acquireRelease(
      Effect.tryPromise(() => startPostgres({ install: false, settings: pgSettings })),
      (pg) => Effect.promise(() => pg.stop()),
    ),
  )
  if (Either.isLeft(server)) {
    console.log(`\nPostgreSQL skipped: no server could be started (${String(server.left.error)})`)
    return
  }
  const pgUrl = server.right.url
  console.log(
    `PostgreSQL: throwaway server, ${Object.entries(pgSettings)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  )
  const fake = yield* startFakeGenericServer({ apiKey: API_KEY, rateLimitPerHour: Number.MAX_SAFE_INTEGER })
  const adapter = yield* GenericAdapter.make({
    lifecycle: dealer,
    stateMap,
    baseUrl: fake.url,
    apiKey: Redacted.make(API_KEY),
    chatbotId: "bot_workers",
    retry: { ...RetryPolicy.none, requestTimeoutMs: 10_000 },
  })
  const most = Math.max(...CONFIG.workers)
  const args = [
    pgUrl,
    fake.url,
    API_KEY,
    String(CONFIG.pool),
    String(CONFIG.batchSize),
    String(CONFIG.dispatchConcurrency),
  ]
  const workers = yield* Effect.all(
    Array.from({ length: most }, () => spawnWorker(args)),
    { concurrency: "unbounded" },
  )
  console.log("")

  const results = new Map<number, Array<RunResult>>()
  const firstRound = CONFIG.warmUpLeads > 0 ? 0 : 1
  for (let round = firstRound; round <= CONFIG.rounds; round++) {
    const warmUp = round === 0
    const shift = round % CONFIG.workers.length
    const order = [...CONFIG.workers.slice(shift), ...CONFIG.workers.slice(0, shift)]
    for (const count of order) {
      const r = yield* runOnce(workers, count, round, pgUrl, fake, adapter, warmUp ? CONFIG.warmUpLeads : CONFIG.leads)
      console.log(
        `  ${warmUp ? "warm-up" : `round ${round}`}: ${count} worker(s): ${r.writes} writes in ${r.seconds.toFixed(2)} s ` +
          `(${(r.writes / r.seconds).toFixed(0)}/s; per worker ${r.shares.join("/")}); backlog built in ${r.backlogSeconds.toFixed(1)} s; ` +
          `duplicates ${r.duplicates}, missing ${r.missing}, out of order ${r.outOfOrder}, not confirmed ${r.notConfirmed}`,
      )
      if (!warmUp) results.set(count, [...(results.get(count) ?? []), r])
    }
  }

  const rate = (count: number) => median((results.get(count) ?? []).map((r) => r.writes / r.seconds))
  const sum = (count: number, f: (r: RunResult) => number) =>
    (results.get(count) ?? []).reduce((total, r) => total + f(r), 0)
  // Each round's rate over the same round's one-worker rate (the load of this shared machine
  // changes between rounds more than between the runs of one round), then the median.
  const perRound = (count: number) =>
    (results.get(count) ?? []).map((r, i) => {
      const single = results.get(1)?.[i]
      return single === undefined ? Number.NaN : r.writes / r.seconds / (single.writes / single.seconds)
    })
  console.log("")
  console.log(
    `  ${"workers".padEnd(8)} ${"writes/s".padStart(9)} ${"x one".padStart(7)} ${"(per round)".padStart(18)} ${"duplicates".padStart(11)} ${"missing".padStart(8)} ` +
      `${"out of order".padStart(13)} ${"unconfirmed".padStart(12)} ${"reads/write".padStart(12)} ${"worker cpu µs/write".padStart(20)} ${"vendor cpu µs/write".padStart(20)}`,
  )
  for (const count of CONFIG.workers) {
    const runs = results.get(count) ?? []
    console.log(
      `  ${String(count).padEnd(8)} ${rate(count).toFixed(0).padStart(9)} ${`x${median(perRound(count)).toFixed(2)}`.padStart(7)} ` +
        `${perRound(count)
          .map((x) => x.toFixed(2))
          .join("/")
          .padStart(18)} ` +
        `${String(sum(count, (r) => r.duplicates)).padStart(11)} ${String(sum(count, (r) => r.missing)).padStart(8)} ` +
        `${String(sum(count, (r) => r.outOfOrder)).padStart(13)} ${String(sum(count, (r) => r.notConfirmed)).padStart(12)} ` +
        `${median(runs.map((r) => r.otherRequests))
          .toFixed(2)
          .padStart(12)} ${median(runs.map((r) => r.cpuUsPerWrite))
          .toFixed(0)
          .padStart(20)} ${median(runs.map((r) => r.vendorCpuUsPerWrite))
          .toFixed(0)
          .padStart(20)}`,
    )
  }
  const total = (f: (r: RunResult) => number) => CONFIG.workers.reduce((n, count) => n + sum(count, f), 0)
  const delivered = total((r) => r.writes)
  const bad =
    total((r) => r.duplicates) + total((r) => r.missing) + total((r) => r.outOfOrder) + total((r) => r.notConfirmed)
  console.log("")
  console.log(
    `${bad === 0 ? "MET" : "MISSED"}: every write delivered exactly once, each lead's in order, every outbox entry confirmed ` +
      `(${delivered} writes over ${CONFIG.workers.length * CONFIG.rounds} counted runs)`,
  )
  console.log(
    `writes/s: wall clock from "go" to the last write confirmed, median over rounds; x one: each round's writes/s over that round's ` +
      `one-worker writes/s, median over rounds (the load of this shared machine moves between rounds); duplicates, missing, out of order, unconfirmed: summed over rounds; ` +
      `reads/write: vendor requests other than the writes' PUTs; worker cpu: all workers' CPU over the drain (idle polling included); ` +
      `vendor cpu: this process's (the fake vendor's) CPU over the drain; the PostgreSQL server's is in neither`,
  )
  if (bad > 0) process.exitCode = 1
})

Effect.runPromise(main.pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
