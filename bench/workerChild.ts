/**
 * One engine worker process for `workers.ts` (started with `fork`, so each worker has its own
 * event loop, connection pool and engine, as separate deployments would). It sends
 * `{ type: "ready" }` once it listens. Arguments: the
 * PostgreSQL URL, the fake vendor's URL, its API key, the pool size, the engine's `batchSize`
 * and `dispatchConcurrency`. Protocol over the IPC channel:
 *
 *   parent -> child `{ type: "open", prefix }`: builds a `PgLeadStore` on the tables of
 *     `prefix`, the generic adapter and a `LeadEngine`; answered `{ type: "opened" }`;
 *   parent -> child `{ type: "go" }`: runs `dispatchDue` again and again (a short sleep after a
 *     pass that delivered nothing), sending `{ type: "progress", confirmed }` after each pass
 *     that delivered something;
 *   parent -> child `{ type: "stop" }`: ends the loop after the current pass, closes the store
 *     and answers `{ type: "stopped", totals }` (its dispatch report and its CPU time);
 *   parent -> child `{ type: "exit" }`: the process ends.
 *
 * A failure (a store error, a defect) is sent as `{ type: "error", message }`; the parent fails
 * the bench.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { autoDealer, CrmAdapter, LeadEngine, LeadStore, Lifecycle, RetryPolicy } from "@leadstate/core"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import { Cause, Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { stateMap } from "../examples/engine.js"

/** A worker's totals for one drain. */
export interface WorkerTotals {
  readonly confirmed: number
  readonly accepted: number
  readonly retried: number
  readonly failed: number
  /** `dispatchDue` passes run, and those that delivered nothing. */
  readonly passes: number
  readonly idlePasses: number
  /** This process's CPU time during the drain (user + system). */
  readonly cpuUs: number
}

export type Command =
  | { readonly type: "open"; readonly prefix: string }
  | { readonly type: "go" }
  | { readonly type: "stop" }
  | { readonly type: "exit" }

export type Reply =
  | { readonly type: "ready" }
  | { readonly type: "opened" }
  | { readonly type: "progress"; readonly confirmed: number }
  | { readonly type: "stopped"; readonly totals: WorkerTotals }
  | { readonly type: "error"; readonly message: string }

const [pgUrl, vendorUrl, apiKey, pool, batch, concurrency] = process.argv.slice(2)
if (pgUrl === undefined || vendorUrl === undefined || apiKey === undefined || process.send === undefined) {
  throw new Error("workerChild.ts is started by bench/workers.ts (fork, with an IPC channel)")
}
const poolSize = Number(pool ?? 10)
const engineOptions = { batchSize: Number(batch ?? 100), dispatchConcurrency: Number(concurrency ?? 8) }
const send = (reply: Reply): void => {
  process.send?.(reply)
}
const dealer = Lifecycle.unsafeMake(autoDealer)

interface Opened {
  readonly scope: Scope.CloseableScope
  readonly engine: LeadEngine.LeadEngineService
}

const open = (prefix: string) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Layer.merge(
        PgLeadStore.layer({ url: Redacted.make(pgUrl), tablePrefix: prefix, maxConnections: poolSize }),
        NodeHttpClient.layerUndici,
      ),
      scope,
    )
    const adapter = yield* GenericAdapter.make({
      lifecycle: dealer,
      stateMap,
      baseUrl: vendorUrl,
      apiKey: Redacted.make(apiKey),
      chatbotId: "bot_workers",
      retry: { ...RetryPolicy.none, requestTimeoutMs: 10_000 },
    }).pipe(Effect.provide(context))
    const engine = yield* LeadEngine.make(dealer, engineOptions).pipe(
      Effect.provideService(CrmAdapter.CrmAdapter, adapter),
      Effect.provideService(LeadStore.LeadStore, Context.get(context, LeadStore.LeadStore)),
    )
    return { scope, engine } satisfies Opened
  })

let opened: Opened | undefined
let stopping = false
let draining: Promise<WorkerTotals> | undefined

const drain = (engine: LeadEngine.LeadEngineService) =>
  Effect.gen(function* () {
    const cpu0 = process.cpuUsage()
    const totals = { confirmed: 0, accepted: 0, retried: 0, failed: 0, passes: 0, idlePasses: 0 }
    while (!stopping) {
      const report = yield* engine.dispatchDue
      totals.passes++
      totals.confirmed += report.confirmed
      totals.accepted += report.accepted
      totals.retried += report.retried
      totals.failed += report.failed
      const delivered = report.confirmed + report.accepted + report.retried + report.failed
      if (delivered > 0) send({ type: "progress", confirmed: report.confirmed })
      else {
        totals.idlePasses++
        yield* Effect.sleep("5 millis")
      }
    }
    const cpu = process.cpuUsage(cpu0)
    return { ...totals, cpuUs: cpu.user + cpu.system } satisfies WorkerTotals
  })

const fail = (what: string, cause: Cause.Cause<unknown>) => {
  send({ type: "error", message: `${what}: ${Cause.pretty(cause)}` })
}

process.on("message", (raw) => {
  const command = raw as Command
  switch (command.type) {
    case "open":
      void Effect.runPromiseExit(open(command.prefix)).then((exit) => {
        if (Exit.isFailure(exit)) return fail("open", exit.cause)
        opened = exit.value
        send({ type: "opened" })
      })
      return
    case "go": {
      const current = opened
      if (current === undefined) return send({ type: "error", message: "go before open" })
      stopping = false
      draining = Effect.runPromiseExit(drain(current.engine)).then((exit) => {
        if (Exit.isSuccess(exit)) return exit.value
        fail("drain", exit.cause)
        return Promise.reject(new Error("drain failed"))
      })
      return
    }
    case "stop": {
      const current = opened
      const running = draining
      if (current === undefined || running === undefined) return send({ type: "error", message: "stop before go" })
      stopping = true
      void running.then(
        (totals) =>
          Effect.runPromise(Scope.close(current.scope, Exit.void)).then(() => {
            opened = undefined
            draining = undefined
            send({ type: "stopped", totals })
          }),
        () => undefined,
      )
      return
    }
    case "exit":
      process.disconnect()
      return
  }
})
// The parent went away (crash, ^C): do not linger.
process.on("disconnect", () => process.exit(0))

send({ type: "ready" })
