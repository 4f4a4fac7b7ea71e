/**
 * The engine under faults: many leads, five transitions each, against the fake uservox server
 * with faults injected (5xx, 429 with Retry-After, timeouts, dropped connections, refusals,
 * duplicate / out-of-order / lost webhooks, calls in progress) and the engine stopped and
 * restarted in the middle, on whichever store `openStore` opens. It returns counts and every
 * inconsistency it found. The fault test (test/engineFaults.test.ts) runs it with 1,000 leads
 * on SQLite and PostgreSQL and asserts there are none; the demo runs it smaller.
 */
import { FetchHttpClient } from "@effect/platform"
import { UservoxAdapter } from "@leadstate/adapter-uservox"
import {
  autoDealer,
  CrmAdapter,
  CrmWebhooks,
  LeadEngine,
  LeadStore,
  Lifecycle,
  RetryPolicy,
  type StateMap,
} from "@leadstate/core"
import { serveHandler } from "@leadstate/core/testing"
import { Duration, Effect, Either, Exit, Fiber, Option, Redacted, Scope } from "effect"
import * as EventLoopHog from "./faults/EventLoopHog.js"
import * as UservoxVendor from "./faults/UservoxVendor.js"

/** How to open the store; called twice, the second time after the "restart". */
export type OpenStore = Effect.Effect<LeadStore.LeadStoreService, unknown, Scope.Scope>

export interface FaultScenarioOptions {
  readonly leads: number
  readonly openStore: OpenStore
  /** Share of the planned transitions applied before the restart. Default 0.5. */
  readonly restartAfter?: number
  /** Bound on the settling after the last transition; past it, unsettled writes are reported. Default 180 s. */
  readonly settleTimeoutMs?: number
  /** Engine settings replacing the scenario's. */
  readonly engineOptions?: LeadEngine.EngineOptions
  /**
   * Where the fake vendor runs. Default "child": its own process, as a real vendor is another
   * machine (the engine's starved loop must not slow the vendor's own processing).
   */
  readonly vendor?: "child" | "in-process"
  /** Starve the engine's event loop throughout (see `faults/EventLoopHog.ts`). */
  readonly starve?: EventLoopHog.HogOptions
  /** Told what happens, phase by phase (the demo prints it). */
  readonly onProgress?: (line: string) => void
  /** Called at the end with the fake vendor and the store, to look into a failure. */
  readonly inspect?: (
    fake: UservoxVendor.UservoxVendor,
    store: LeadStore.LeadStoreService,
    report: FaultReport,
  ) => Effect.Effect<void>
}

export interface FaultReport {
  readonly leads: number
  readonly planned: number
  /** Transitions the engine applied (saved with their vendor write). */
  readonly applied: number
  /** Planned transitions the lifecycle refused (an earlier rollback made them illegal), by error tag. */
  readonly refused: Readonly<Record<string, number>>
  readonly confirmed: number
  /** Writes that failed for good, by CrmError reason. */
  readonly failed: Readonly<Record<string, number>>
  /** Deliveries beyond the first (engine redeliveries, read-backs included). */
  readonly redeliveries: number
  readonly rollbacks: number
  readonly vendorRequests: number
  readonly faultedRequests: number
  readonly webhooksSent: number
  readonly webhooksDropped: number
  readonly appliedBeforeRestart: number
  /** What the event-loop hog did, when the run starved the loop. */
  readonly starved: EventLoopHog.HogReport | undefined
  /** Writes still pending or accepted at the end (lost if any). */
  readonly unsettled: ReadonlyArray<string>
  /** Leads whose vendor state differs from the engine's. */
  readonly mismatches: ReadonlyArray<string>
  /** Planned transitions applied more than once by the engine. */
  readonly duplicatedInEngine: ReadonlyArray<string>
  /** Successful vendor updates beyond one per confirmed write. */
  readonly appliedTwiceAtVendor: ReadonlyArray<string>
  /** Creating the leads (before the faults). */
  readonly createMs: number
  /** From the start until every planned transition was applied (the writes still settling). */
  readonly drivenMs: number
  readonly durationMs: number
}

const API_TOKEN = "uvx_live_5f0c9a7b3e1d4c2b8a6f0e9d7c5b3a19"
const CALLBACK_TOKEN = "cb_token_7e6d5c4b3a2f1e0d"
const PROJECT = "6650aa11bb22cc33dd44ee55"
const PROCESS = "6650aa11bb22cc33dd44ee66"

const dealer = Lifecycle.unsafeMake(autoDealer)

const stateMap: StateMap.StateMapConfig = {
  states: {
    new: "new_lead",
    contacted: "make_first_call",
    followup_1: "schedule_second_call",
    followup_2: "followup_2",
    followup_3: "followup_3",
    interested: "interested",
    test_drive_booked: "test_drive",
    converted: "retail",
    lost: "lost",
    snoozed: "callback_later",
  },
}

/** Two five-step journeys, alternating by lead. */
const journeys: ReadonlyArray<ReadonlyArray<Record<string, unknown>>> = [
  [
    { type: "transition", to: "contacted" },
    { type: "transition", to: "interested", disposition: "price_inquiry" },
    { type: "transition", to: "test_drive_booked", disposition: "showroom" },
    { type: "transition", to: "lost", disposition: "bought_elsewhere" },
    { type: "reopen", to: "contacted", reason: "customer_called_back" },
  ],
  [
    { type: "transition", to: "contacted" },
    { type: "transition", to: "lost", disposition: "not_interested" },
    { type: "reopen", to: "contacted", reason: "new_inquiry" },
    { type: "transition", to: "interested", disposition: "wants_callback" },
    { type: "transition", to: "converted", disposition: "financed" },
  ],
]

/** The starvation the fault test and `pnpm faults` apply: blocks of 20-1,200 ms every ~1 s (a third of the time). */
export const starvation: EventLoopHog.HogOptions = { everyMs: 1_000, minBlockMs: 20, maxBlockMs: 1_200 }

const leadIdOf = (i: number) => `lead-${String(i).padStart(5, "0")}`
const journeyOf = (i: number) => journeys[i % journeys.length] ?? []
const contactOf = (i: number) => ({
  name: `Lead ${i}`,
  email: `lead${i}@example.org`,
  phone: `+9198${String(10_000_000 + i)}`,
})

/** Steps of the journey a lead has been through: its history log minus start and rollbacks. */
const stepsTaken = (history: ReadonlyArray<{ readonly event: string }>) =>
  history.filter((h) => h.event !== "start" && h.event !== "rollback").length

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1
}

export const runEngineUnderFaults = (options: FaultScenarioOptions): Effect.Effect<FaultReport, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const started = Date.now()
    const engineRef: { current: LeadEngine.LeadEngineService | undefined } = { current: undefined }
    // While the engine is down, webhooks get a 503 and are lost: the confirm deadline recovers them.
    const receiver = yield* serveHandler((request) =>
      engineRef.current === undefined
        ? Promise.resolve(new Response(null, { status: 503 }))
        : engineRef.current.webhookHandler(request),
    )
    const fake = yield* (options.vendor === "in-process" ? UservoxVendor.inProcess : UservoxVendor.childProcess)({
      apiToken: API_TOKEN,
      projectId: PROJECT,
      processes: [
        {
          processId: PROCESS,
          states: Object.values(stateMap.states),
          callback: { url: receiver.url, auth: { bearer: CALLBACK_TOKEN } },
        },
      ],
      updateDelayMs: 5,
      // Several webhooks in flight at once, as a busy vendor sends them (the default is one by one).
      webhookConcurrency: 8,
      seed: 7,
      // The documented 100 requests / 5 s would make 6,000 requests take five minutes.
      rateLimit: { limit: 1_000_000, windowMs: 5_000 },
    })
    const adapterOptions: UservoxAdapter.UservoxOptions = {
      lifecycle: dealer,
      stateMap,
      baseUrl: fake.baseUrl,
      apiToken: Redacted.make(API_TOKEN),
      projectId: PROJECT,
      processId: PROCESS,
      webhookAuth: { bearer: Redacted.make(CALLBACK_TOKEN) },
      rateLimit: { limit: 1_000_000, intervalMs: 5_000 },
      // The engine does the retrying, each resend after a read-back: the adapter's own retries
      // would resend a timed-out update blindly, and uservox has no idempotency key.
      retry: { ...RetryPolicy.none, requestTimeoutMs: 1_000 },
    }
    const adapter = yield* UservoxAdapter.make(adapterOptions).pipe(Effect.provide(FetchHttpClient.layer))
    const webhooks = Either.getOrThrow(UservoxAdapter.makeWebhooks(adapterOptions))
    const engineOptions: LeadEngine.EngineOptions = {
      redelivery: {
        ...RetryPolicy.defaults,
        maxAttempts: 12,
        baseDelayMs: 50,
        maxDelayMs: 2_000,
        budgetMs: Number.POSITIVE_INFINITY,
      },
      // Above the 1 s request timeout + the 1.5 s ambiguity window: a request in flight when the
      // engine stops is still applied by the vendor up to 1 s later (see EngineOptions.leaseMs).
      leaseMs: 3_000,
      confirmTimeoutMs: 1_000,
      batchSize: 1_000,
      dispatchConcurrency: 64,
      ambiguousSettleMs: 1_500,
      ...options.engineOptions,
    }
    const startEngine = (store: LeadStore.LeadStoreService) =>
      LeadEngine.make(dealer, engineOptions).pipe(
        Effect.provideService(CrmAdapter.CrmAdapter, adapter),
        Effect.provideService(LeadStore.LeadStore, store),
        Effect.provideService(CrmWebhooks.CrmWebhooks, webhooks),
      )

    // --- first run: create the leads (no faults yet), then transitions with faults ------------
    const firstScope = yield* Scope.make()
    const store1 = yield* Scope.extend(options.openStore, firstScope)
    const engine1 = yield* startEngine(store1)
    engineRef.current = engine1
    const indexes = Array.from({ length: options.leads }, (_, i) => i)
    const t0 = Date.now()
    yield* Effect.forEach(indexes, (i) => Effect.orDie(engine1.create(leadIdOf(i), { metadata: contactOf(i) })), {
      concurrency: 32,
      discard: true,
    })

    const createMs = Date.now() - t0
    const progress = options.onProgress ?? (() => {})
    progress(`created ${options.leads} leads at the vendor (${createMs} ms); faults on from now`)
    const inject = (rule: Parameters<UservoxVendor.UservoxVendor["inject"]>[0]) =>
      Effect.promise(() => fake.inject(rule))
    yield* inject({ fault: { _tag: "Status", status: 503 }, probability: 0.08 })
    yield* inject({ fault: { _tag: "Status", status: 500 }, probability: 0.02 })
    yield* inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 1 }, probability: 0.01 })
    yield* inject({ fault: { _tag: "Latency", ms: 1_100 }, probability: 0.02 })
    yield* inject({ fault: { _tag: "Drop" }, probability: 0.02 })
    // A refusal that no retry fixes: the write fails for good and the lead is rolled back.
    yield* inject({
      method: "POST",
      path: "/api/v1/leads/update",
      // The documented error shape: { "error": "<message>" }.
      fault: { _tag: "Status", status: 400, body: { error: "targetState is not a state of this process" } },
      probability: 0.01,
    })
    yield* Effect.promise(() => fake.webhookFaults({ duplicate: 0.1, reorder: 0.1, drop: 0.05 }))
    const calling = indexes.filter((i) => i % 20 === 0).map(leadIdOf)
    yield* Effect.promise(() => fake.callsInProgress(calling, PROCESS, true))
    yield* Effect.forkScoped(
      Effect.delay(
        Effect.promise(() => fake.callsInProgress(calling, PROCESS, false)),
        Duration.seconds(1),
      ),
    )
    const hog = options.starve === undefined ? undefined : yield* EventLoopHog.start(options.starve)
    if (options.starve !== undefined) {
      progress(
        `starving the engine's event loop: a busy wait of ${options.starve.minBlockMs}-${options.starve.maxBlockMs} ms every ~${options.starve.everyMs} ms`,
      )
    }

    const refused: Record<string, number> = {}
    let appliedCount = 0
    /** Applies the rest of each lead's journey (resuming from what the store says was done). */
    const drive = (engine: LeadEngine.LeadEngineService, store: LeadStore.LeadStoreService) =>
      Effect.forEach(
        indexes,
        (i) =>
          Effect.gen(function* () {
            const leadId = leadIdOf(i)
            const journey = journeyOf(i)
            for (;;) {
              const lead = yield* store.load(leadId)
              if (Option.isNone(lead)) return yield* Effect.dieMessage(`lead ${leadId} vanished`)
              const done = stepsTaken(yield* store.history(leadId)) + refusedSteps(leadId)
              const event = journey[done]
              if (event === undefined) return
              const result = yield* Effect.either(engine.apply(leadId, event))
              if (Either.isRight(result)) appliedCount++
              else if (result.left._tag === "VersionConflict") continue
              else if (result.left._tag === "StoreError") return yield* Effect.fail(result.left)
              else if (result.left._tag === "CrmError") {
                // Saved, sent, refused for good and rolled back: its outbox entry says "failed".
                appliedCount++
              } else {
                bump(refused, result.left._tag)
                refusedByLead.set(leadId, refusedSteps(leadId) + 1)
              }
            }
          }),
        { concurrency: 32, discard: true },
      )
    const refusedByLead = new Map<string, number>()
    const refusedSteps = (leadId: string) => refusedByLead.get(leadId) ?? 0

    const planned = options.leads * 5
    const restartAt = Math.floor(planned * (options.restartAfter ?? 0.5))
    const driver1 = yield* Effect.fork(drive(engine1, store1))
    const worker1 = yield* Effect.fork(engine1.worker({ intervalMs: 50 }))
    while (appliedCount < restartAt && driver1.unsafePoll() === null) yield* Effect.sleep(Duration.millis(5))
    // --- the "crash": stop everything mid-flight, close the store, wait, start again --------
    const appliedBeforeRestart = appliedCount
    progress(`stopping the engine mid-flight after ${appliedBeforeRestart} of ${planned} transitions`)
    engineRef.current = undefined
    yield* Fiber.interrupt(driver1)
    yield* Fiber.interrupt(worker1)
    yield* Scope.close(firstScope, Exit.void)
    yield* Effect.sleep(Duration.millis(300))

    const store2 = yield* options.openStore
    const engine2 = yield* startEngine(store2)
    engineRef.current = engine2
    progress("restarted on the same store (webhooks sent meanwhile got a 503); resuming")
    yield* Effect.forkScoped(engine2.worker({ intervalMs: 50 }))
    yield* drive(engine2, store2)
    const drivenMs = Date.now() - started
    progress(`all ${planned} transitions applied or refused (${drivenMs} ms); waiting for the vendor to settle them`)

    // --- let every write settle (faults stay on), then compare with the vendor ----------------
    const settleDeadline = Date.now() + (options.settleTimeoutMs ?? 180_000)
    const unsettledNow = Effect.gen(function* () {
      const open: Array<string> = []
      for (const i of indexes) {
        for (const entry of yield* store2.outbox(leadIdOf(i))) {
          if (entry.status === "pending" || entry.status === "accepted") {
            const due = Math.round((entry.availableAt - Date.now()) / 100) / 10
            open.push(
              `${entry.id}: ${entry.status} after ${entry.attempts} attempts (${entry.failure?.reason ?? "no failure"}), due in ${due} s`,
            )
          }
        }
      }
      return open
    })
    let unsettled = yield* unsettledNow
    while (unsettled.length > 0 && Date.now() < settleDeadline) {
      yield* Effect.sleep(Duration.millis(200))
      unsettled = yield* unsettledNow
    }
    const starved = hog?.report()
    yield* Effect.promise(() => fake.clearFaults())
    yield* Effect.promise(() => fake.webhookFaults({}))
    yield* Effect.promise(() => fake.flushWebhooks())

    let confirmed = 0
    let redeliveries = 0
    let rollbacks = 0
    let applied = 0
    const failed: Record<string, number> = {}
    const mismatches: Array<string> = []
    const duplicatedInEngine: Array<string> = []
    const appliedTwiceAtVendor: Array<string> = []
    const vendorSuccesses = new Map<string, number>()
    for (const result of yield* Effect.promise(() => fake.updateResults())) {
      if (result.success) vendorSuccesses.set(result.leadId, (vendorSuccesses.get(result.leadId) ?? 0) + 1)
    }
    const vendorLeads = yield* Effect.promise(() => fake.leadsByReference(indexes.map(leadIdOf), PROCESS))
    for (const i of indexes) {
      const leadId = leadIdOf(i)
      const lead = Option.getOrThrow(yield* store2.load(leadId))
      const snapshot = lead.snapshot
      const history = yield* store2.history(leadId)
      const steps = stepsTaken(history)
      applied += steps
      rollbacks += history.filter((h) => h.event === "rollback").length
      if (steps + refusedSteps(leadId) > 5) duplicatedInEngine.push(`${leadId}: ${steps} steps applied`)
      const entries = yield* store2.outbox(leadId)
      const setStates = entries.filter((e) => e.intent._tag === "SetState")
      if (setStates.length !== steps)
        duplicatedInEngine.push(`${leadId}: ${setStates.length} writes for ${steps} steps`)
      let confirmedUpdates = 0
      for (const entry of setStates) {
        redeliveries += Math.max(0, entry.attempts - 1)
        if (entry.status === "confirmed") {
          confirmed++
          confirmedUpdates++
        } else if (entry.status === "failed") bump(failed, entry.failure?.reason ?? "unknown")
      }
      const vendorLead = vendorLeads[i]
      const expected = stateMap.states[snapshot.state]
      if (vendorLead?.currentState !== expected) {
        mismatches.push(`${leadId}: engine ${snapshot.state} (${expected}), vendor ${vendorLead?.currentState}`)
      }
      const successes = vendorLead === undefined ? 0 : (vendorSuccesses.get(vendorLead._id) ?? 0)
      if (successes > confirmedUpdates) {
        appliedTwiceAtVendor.push(`${leadId}: ${successes} vendor updates for ${confirmedUpdates} confirmed writes`)
      }
    }
    const requests = yield* Effect.promise(() => fake.requests())
    const webhookCounts = yield* Effect.promise(() => fake.webhookCounts())
    const report: FaultReport = {
      leads: options.leads,
      planned,
      applied,
      refused,
      confirmed,
      failed,
      redeliveries,
      rollbacks,
      vendorRequests: requests.length,
      faultedRequests: requests.filter((r) => r.faulted).length,
      webhooksSent: webhookCounts.sent,
      webhooksDropped: webhookCounts.dropped,
      appliedBeforeRestart,
      starved,
      unsettled,
      mismatches,
      duplicatedInEngine,
      appliedTwiceAtVendor,
      createMs,
      drivenMs,
      durationMs: Date.now() - started,
    }
    if (options.inspect !== undefined) yield* options.inspect(fake, store2, report)
    return report
  })
