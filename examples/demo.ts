/**
 * The leadstate demo: three dozen auto-dealer leads walk their journeys through the pure
 * lifecycle (snoozes, follow-ups that run out, rejected moves with their typed errors), and
 * every accepted step is synced to a CRM through one of the three adapters, each against its
 * fake server on 127.0.0.1 with a fault injected on the way: a call in progress at uservox, a
 * 429 with Retry-After at the generic API, a timeout at Voxys. The retry policy counts the
 * retries, uservox's updates are confirmed by its webhooks, every lead is read back at the end,
 * and the lifecycle is printed as a Mermaid diagram. No network, no configuration; seconds.
 *
 *   npx -y pnpm@10.34.8 install --frozen-lockfile && npx -y pnpm@10.34.8 demo
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { UservoxAdapter } from "@leadstate/adapter-uservox"
import { startFakeUservoxServer } from "@leadstate/adapter-uservox/testing"
import { VoxysAdapter } from "@leadstate/adapter-voxys"
import { startFakeVoxysServer } from "@leadstate/adapter-voxys/testing"
import {
  type CrmAdapter,
  type CrmError,
  Diagram,
  LeadStore,
  Lifecycle,
  Paths,
  RetryPolicy,
  type StateMap,
  type SyncIntent,
  simulate,
  start,
} from "@leadstate/core"
import { autoDealer } from "@leadstate/core/examples/autoDealer"
import { type FakeVendorControl, serveHandler } from "@leadstate/core/testing"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { Context, Effect, Layer, Logger, LogLevel, Redacted, type Scope } from "effect"
import { runEngineUnderFaults } from "./engineUnderFaults.js"

const HOUR = 3_600_000
const DAY = 24 * HOUR
const t0 = Date.parse("2026-11-02T09:00:00Z")

const lifecycle = Lifecycle.unsafeMake(autoDealer)

// ---------------------------------------------------------------------------------------------
// The journeys: events relative to when the lead came in (`at(days, hours)`).
// ---------------------------------------------------------------------------------------------

type At = (days: number, hours?: number) => number

interface Journey {
  readonly name: string
  readonly story: string
  readonly events: (at: At) => ReadonlyArray<unknown>
}

const journeys: ReadonlyArray<Journey> = [
  {
    name: "buys",
    story: "answers the first call, books a test drive, buys",
    events: (at) => [
      { type: "transition", to: "contacted", actor: "voice-agent", at: at(0, 1) },
      { type: "transition", to: "interested", disposition: "price_inquiry", note: "hybrid pricing", at: at(0, 1) },
      { type: "updateMetadata", metadata: { preferredModel: "Corolla Hybrid" }, at: at(0, 2) },
      { type: "transition", to: "test_drive_booked", disposition: "showroom", at: at(1) },
      { type: "transition", to: "converted", disposition: "financed", actor: "sales:ana", at: at(4) },
    ],
  },
  {
    name: "unreachable",
    story: "never picks up again: three follow-ups run out, a late update is refused",
    events: (at) => [
      { type: "transition", to: "contacted", actor: "voice-agent", at: at(0, 2) },
      { type: "updateMetadata", metadata: { preferredTime: "evenings" }, at: at(9) },
    ],
  },
  {
    name: "snoozes",
    story: "asks to be called back next week; the deadline wakes the lead, then it is interested",
    events: (at) => [
      { type: "transition", to: "contacted", at: at(0, 3) },
      { type: "snooze", until: at(7), note: "travelling this week", at: at(0, 3) },
      { type: "transition", to: "interested", disposition: "trade_in_inquiry", at: at(7, 1) },
    ],
  },
  {
    name: "mistakes",
    story: "the agent makes mistakes the rules catch; lost, then reopened when the customer calls back",
    events: (at) => [
      { type: "transition", to: "converted", at: at(0, 4) },
      { type: "transition", to: "lost", at: at(0, 5) },
      { type: "transition", to: "lost", disposition: "bougth_elsewhere", at: at(0, 5) },
      { type: "transition", to: "lost", disposition: "bought_elsewhere", at: at(0, 5) },
      { type: "transition", to: "interested", at: at(12) },
      { type: "reopen", to: "contacted", reason: "customer_called_back", at: at(12) },
    ],
  },
  {
    name: "not interested",
    story: "is reached once and says no",
    events: (at) => [
      { type: "transition", to: "contacted", at: at(0, 1) },
      { type: "transition", to: "lost", disposition: "not_interested", at: at(0, 1) },
    ],
  },
  {
    name: "leases",
    story: "answers the second follow-up, leases without a test drive; a step back is refused (forward-only)",
    events: (at) => [
      { type: "transition", to: "contacted", at: at(0, 1) },
      { type: "transition", to: "interested", disposition: "wants_callback", at: at(4, 3) },
      { type: "transition", to: "contacted", at: at(4, 4) },
      { type: "transition", to: "converted", disposition: "leased", at: at(5) },
    ],
  },
  {
    name: "wrong number",
    story: "the number belongs to someone else",
    events: (at) => [
      { type: "transition", to: "lost", disposition: "wrong_numbr", at: at(0, 1) },
      { type: "transition", to: "lost", disposition: "wrong_number", at: at(0, 1) },
    ],
  },
]

const people = [
  "María López",
  "Tom Becker",
  "Li Wei",
  "Sam Okafor",
  "Priya Nair",
  "Jonas Berg",
  "Aisha Bello",
  "Diego Ramos",
  "Hannah Schulz",
  "Kenji Sato",
  "Fatima Zahra",
  "Lucas Martin",
  "Olga Ivanova",
  "Noah Williams",
  "Chen Jing",
  "Amara Diallo",
  "Mateo Rossi",
  "Emma Dubois",
  "Ravi Kumar",
  "Sofia Costa",
  "Yusuf Demir",
  "Grace Kim",
  "Pedro Alves",
  "Ingrid Larsen",
  "Omar Haddad",
  "Mia Novak",
  "Kwame Mensah",
  "Elena Popescu",
  "Arjun Mehta",
  "Chloé Bernard",
  "Ivan Petrov",
  "Zainab Yusuf",
  "Marco Bianchi",
  "Leila Karimi",
  "Tomás Silva",
  "Hana Tanaka",
]

type VendorName = "uservox" | "generic" | "voxys"
const vendorOrder: ReadonlyArray<VendorName> = ["uservox", "generic", "voxys"]

interface Lead {
  readonly id: string
  readonly name: string
  readonly vendor: VendorName
  readonly journey: Journey
  readonly metadata: { readonly name: string; readonly email: string; readonly phone: string; readonly source: string }
  readonly start: number
}

const slug = (name: string) =>
  name
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z]+/g, ".")

const leads: ReadonlyArray<Lead> = people.map((name, i) => ({
  id: `L-${String(i + 1).padStart(2, "0")}`,
  name,
  vendor: vendorOrder[i % 3] ?? "generic",
  journey: journeys[i % journeys.length] ?? (journeys[0] as Journey),
  metadata: {
    name,
    email: `${slug(name)}@example.org`,
    phone: `+1415555${String(1000 + i * 7).padStart(4, "0")}`,
    source: ["website", "facebook", "walk-in", "phone"][i % 4] ?? "website",
  },
  start: t0 + (i % 6) * HOUR,
}))

// ---------------------------------------------------------------------------------------------
// Faults: one per vendor, each on the first lead of a journey, when it enters a state.
// ---------------------------------------------------------------------------------------------

interface Fault {
  readonly vendor: VendorName
  readonly journey: string
  readonly state: string
  readonly label: string
}

const faults: ReadonlyArray<Fault> = [
  { vendor: "uservox", journey: "buys", state: "interested", label: "a call in progress (update refused by webhook)" },
  { vendor: "generic", journey: "leases", state: "interested", label: "429 with Retry-After: 0.3 s" },
  { vendor: "voxys", journey: "snoozes", state: "snoozed", label: "a timeout (1 s answer, 0.5 s limit)" },
]

const faultFor = (lead: Lead, state: string): Fault | undefined => {
  const fault = faults.find((f) => f.vendor === lead.vendor && f.journey === lead.journey.name && f.state === state)
  const first = leads.find((l) => l.vendor === lead.vendor && l.journey.name === lead.journey.name)
  return fault !== undefined && first?.id === lead.id ? fault : undefined
}

// Quick retries for a demo; the defaults are 200 ms doubling, 10 s per request.
const policy: RetryPolicy.RetryPolicy = {
  ...RetryPolicy.defaults,
  baseDelayMs: 200,
  jitter: 0,
  maxDelayMs: 2_000,
  budgetMs: 10_000,
  requestTimeoutMs: 500,
}

// ---------------------------------------------------------------------------------------------
// The state maps (as in examples/adapters/*.json, which the CLI uses).
// ---------------------------------------------------------------------------------------------

const stateMapOf = (vendor: "uservox" | "generic" | "voxys"): StateMap.StateMapConfig =>
  (
    JSON.parse(readFileSync(new URL(`./adapters/${vendor}.json`, import.meta.url), "utf8")) as {
      stateMap: StateMap.StateMapConfig
    }
  ).stateMap
const uservoxMap = stateMapOf("uservox")
const genericMap = stateMapOf("generic")
const voxysMap = stateMapOf("voxys")

// ---------------------------------------------------------------------------------------------
// What happened, per lead and per vendor.
// ---------------------------------------------------------------------------------------------

interface LeadReport {
  readonly lead: Lead
  /** The state being synced now (for the retry notes). */
  syncing: string
  readonly moves: Array<string>
  readonly rejections: Array<string>
  readonly notes: Array<string>
  applied: number
  rejected: number
  finalState: string
  atVendor: string
}

interface VendorReport {
  readonly vendor: VendorName
  readonly leads: Array<LeadReport>
  retries: number
  requests: number
  faultsSeen: Array<string>
  vendorErrors: number
}

interface Crm {
  readonly adapter: CrmAdapter.CrmAdapterService
  /** Sends an intent until it is confirmed (uservox: through its webhook). */
  readonly sync: (
    intent: SyncIntent.SyncIntent,
    ref: CrmAdapter.LeadRef,
  ) => Effect.Effect<CrmAdapter.SyncReceipt, CrmError.CrmError>
  readonly fake: FakeVendorControl
  readonly inject: (lead: Lead, vendorLeadId: string) => void
}

const isReopen = (event: unknown): boolean =>
  typeof event === "object" && event !== null && (event as { readonly type?: unknown }).type === "reopen"

/** Runs one lead's journey through the pure lifecycle, syncing every accepted step. */
const runLead = (lead: Lead, crm: Crm, report: VendorReport) =>
  Effect.gen(function* () {
    const at: At = (days, hours = 0) => lead.start + days * DAY + hours * HOUR
    const begun = start(lifecycle, { leadId: lead.id, at: lead.start, metadata: lead.metadata })
    const result: LeadReport = {
      lead,
      syncing: begun.snapshot.state,
      moves: [begun.snapshot.state],
      rejections: [],
      notes: [],
      applied: 0,
      rejected: 0,
      finalState: begun.snapshot.state,
      atVendor: "?",
    }
    report.leads.push(result)
    let ref: CrmAdapter.LeadRef = { leadId: lead.id }
    const send = (intent: SyncIntent.SyncIntent) =>
      Effect.gen(function* () {
        result.syncing =
          intent._tag === "SetState" ? intent.to : intent._tag === "CreateLead" ? "the new lead" : "metadata"
        if (intent._tag === "SetState" && ref.vendorLeadId !== undefined && faultFor(lead, intent.to) !== undefined) {
          crm.inject(lead, ref.vendorLeadId)
        }
        const receipt = yield* Effect.either(crm.sync(intent, ref))
        if (receipt._tag === "Left") {
          report.vendorErrors++
          result.notes.push(`✗ ${receipt.left.reason._tag}: ${receipt.left.message}`)
          return
        }
        if (receipt.right.vendorLeadId !== undefined) ref = { ...ref, vendorLeadId: receipt.right.vendorLeadId }
      })
    for (const intent of begun.intents) yield* send(intent)

    const run = simulate(lifecycle, lead.journey.events(at), { from: begun.snapshot, fireDeadlines: true })
    for (const step of run.steps) {
      if (step._tag === "Rejected") {
        result.rejected++
        result.rejections.push(`✗ ${step.error._tag}: ${step.error.message}`)
        continue
      }
      result.applied++
      const setState = step.intents.find((i): i is SyncIntent.SetState => i._tag === "SetState")
      if (setState !== undefined) {
        const how = step.scheduled ? "⏰" : isReopen(step.event) ? "reopened: " : ""
        result.moves.push(`${how}${step.to}${setState.disposition === undefined ? "" : ` [${setState.disposition}]`}`)
      } else if (step.from === step.to) result.moves.push("(metadata)")
      for (const intent of step.intents) yield* send(intent)
    }
    result.finalState = run.final.state
    const back = yield* Effect.either(crm.adapter.readBack(ref))
    result.atVendor = back._tag === "Right" ? `${back.right.state ?? "?"} ("${back.right.vendorState}")` : "unreadable"
  })

// ---------------------------------------------------------------------------------------------
// The vendors: fake servers, adapters, and the fault each one injects.
// ---------------------------------------------------------------------------------------------

const onRetry =
  (report: VendorReport): RetryPolicy.OnRetry =>
  (error, attempt, delayMs) =>
    Effect.sync(() => {
      report.retries++
      const lead = report.leads.find((l) => l.lead.id === error.leadId)
      const reason = error.reason._tag === "Transport" ? `Transport (${error.reason.kind})` : error.reason._tag
      lead?.notes.push(`↻ ${reason} while syncing "${lead.syncing}" (attempt ${attempt}); retried after ${delayMs} ms`)
    })

const uservox = (report: VendorReport) =>
  Effect.gen(function* () {
    // Our webhook endpoint, where the fake uservox posts its update results.
    let handle: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 })
    const receiver = yield* serveHandler((request) => handle(request), "/webhooks/uservox")
    const callbackUrl = receiver.url
    const fake = yield* startFakeUservoxServer({
      apiToken: "uvx_demo_token",
      projectId: "6650aa11bb22cc33dd44ee55",
      processes: [
        {
          processId: "6650aa11bb22cc33dd44ee66",
          states: Object.values(uservoxMap.states),
          callback: { url: callbackUrl, auth: { bearer: "callback-secret" } },
        },
      ],
    })
    const options: UservoxAdapter.UservoxOptions = {
      lifecycle,
      stateMap: uservoxMap,
      baseUrl: fake.baseUrl,
      apiToken: Redacted.make("uvx_demo_token"),
      projectId: "6650aa11bb22cc33dd44ee55",
      processId: "6650aa11bb22cc33dd44ee66",
      webhookAuth: { bearer: Redacted.make("callback-secret") },
      confirmTimeoutMs: 3_000,
      retry: policy,
      onRetry: onRetry(report),
    }
    const crm = yield* UservoxAdapter.make(options)
    const webhooks = yield* UservoxAdapter.makeWebhooks(options)
    handle = UservoxAdapter.makeInbox(crm, webhooks).handler
    // A refused update (a call in progress) is retried with the same policy, until the webhook confirms it.
    const sync = (intent: SyncIntent.SyncIntent, ref: CrmAdapter.LeadRef) =>
      RetryPolicy.retrying(
        policy,
        onRetry(report),
      )(
        Effect.flatMap(crm.send(intent, ref), (receipt) =>
          receipt._tag === "Accepted" ? crm.awaitConfirmation(receipt, ref) : Effect.succeed(receipt),
        ),
      )
    return {
      adapter: crm,
      sync,
      fake,
      inject: (_lead, vendorLeadId) => {
        // The voice agent is on the phone with the lead; the call ends 150 ms later.
        fake.callInProgress(vendorLeadId, true)
        setTimeout(() => fake.callInProgress(vendorLeadId, false), 150)
      },
    } satisfies Crm
  })

const generic = (report: VendorReport) =>
  Effect.gen(function* () {
    const fake = yield* startFakeGenericServer({ apiKey: "sk-workspace_demo" })
    const crm = yield* GenericAdapter.make({
      lifecycle,
      stateMap: genericMap,
      baseUrl: fake.url,
      apiKey: Redacted.make("sk-workspace_demo"),
      chatbotId: "bot_1",
      retry: policy,
      onRetry: onRetry(report),
    })
    return {
      adapter: crm,
      sync: crm.send,
      fake,
      inject: (_lead, vendorLeadId) =>
        fake.inject({
          fault: { _tag: "RateLimit", retryAfterSeconds: 0.3 },
          method: "PUT",
          path: `/api/v1/leads/${vendorLeadId}`,
        }),
    } satisfies Crm
  })

const voxys = (report: VendorReport) =>
  Effect.gen(function* () {
    const fake = yield* startFakeVoxysServer({ apiAccessToken: "vx_demo_token", accountId: 7 })
    const crm = yield* VoxysAdapter.make({
      lifecycle,
      stateMap: voxysMap,
      baseUrl: fake.url,
      accountId: 7,
      apiAccessToken: Redacted.make("vx_demo_token"),
      retry: policy,
      onRetry: onRetry(report),
    })
    return {
      adapter: crm,
      sync: crm.send,
      fake,
      inject: (_lead, vendorLeadId) =>
        fake.inject({
          fault: { _tag: "Latency", ms: 1_000 },
          method: "PATCH",
          path: `/api/v1/accounts/7/leads/${vendorLeadId}/status`,
        }),
    } satisfies Crm
  })

type MakeCrm = (
  report: VendorReport,
) => Effect.Effect<Crm, StateMap.InvalidStateMap | CrmAdapter.InvalidAdapterConfig, HttpClient.HttpClient | Scope.Scope>

const vendors: Record<VendorName, { readonly about: string; readonly make: MakeCrm }> = {
  uservox: { about: "voice-AI CRM: updates accepted, then confirmed by webhook", make: uservox },
  generic: { about: "PollyBot-style REST lead API: synchronous writes", make: generic },
  voxys: { about: "Voxys Connect: four statuses, the exact state kept in the notes tag", make: voxys },
}

const runVendor = (vendor: VendorName) =>
  Effect.gen(function* () {
    const report: VendorReport = { vendor, leads: [], retries: 0, requests: 0, faultsSeen: [], vendorErrors: 0 }
    const crm = yield* vendors[vendor].make(report)
    const mine = leads.filter((l) => l.vendor === vendor)
    yield* Effect.forEach(mine, (lead) => runLead(lead, crm, report), { concurrency: 4, discard: true })
    report.leads.sort((a, b) => a.lead.id.localeCompare(b.lead.id))
    const requests = crm.fake.requests()
    report.requests = requests.length
    report.faultsSeen = requests.flatMap((r) => r.faults)
    return report
  }).pipe(Effect.scoped)

// ---------------------------------------------------------------------------------------------
// The engine: durable (SQLite), under faults, stopped and restarted midway.
// ---------------------------------------------------------------------------------------------

const engineSection = Effect.gen(function* () {
  const leadCount = 100
  console.log(
    `\n── LeadEngine on a SQLite file: ${leadCount} leads x 5 transitions to uservox (fake), with 5xx, 429, timeouts,`,
  )
  console.log("   dropped connections, refusals, lost/duplicated/reordered webhooks, calls in progress, and a restart")
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "leadstate-demo-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true })),
  )
  const store = SqliteLeadStore.layer({ filename: join(dir, "leads.db") })
  const report = yield* runEngineUnderFaults({
    leads: leadCount,
    openStore: Effect.map(Layer.build(store), (context) => Context.get(context, LeadStore.LeadStore)),
    onProgress: (line) => console.log(`   · ${line}`),
    // The engine logs each rollback as a warning; the summary below counts them instead.
  }).pipe(Logger.withMinimumLogLevel(LogLevel.Error))
  const failed = Object.entries(report.failed)
  const refused = Object.entries(report.refused)
  console.log(
    `   ${report.confirmed} writes confirmed by the vendor, ${failed.reduce((n, [, k]) => n + k, 0)} failed for good` +
      `${failed.length > 0 ? ` (${failed.map(([k, n]) => `${k} ${n}`).join(", ")}; ${report.rollbacks} leads rolled back, the others had moved on)` : ""}` +
      `${refused.length > 0 ? `, ${refused.reduce((n, [, k]) => n + k, 0)} transitions then refused by the lifecycle` : ""}`,
  )
  console.log(
    `   ${report.vendorRequests} requests (${report.faultedRequests} faulted), ${report.redeliveries} redeliveries and read-backs, ` +
      `${report.webhooksSent} webhooks sent and ${report.webhooksDropped} lost`,
  )
  const clean =
    report.unsettled.length === 0 &&
    report.mismatches.length === 0 &&
    report.duplicatedInEngine.length === 0 &&
    report.appliedTwiceAtVendor.length === 0
  console.log(
    clean
      ? `   ✓ nothing lost, nothing applied twice, every lead's state at the vendor is the engine's (${(report.durationMs / 1000).toFixed(1)} s)`
      : `   ✗ ${report.unsettled.length} unsettled, ${report.mismatches.length} out of sync, ${report.appliedTwiceAtVendor.length} applied twice`,
  )
  if (!clean) process.exitCode = 1
}).pipe(Effect.scoped)

// ---------------------------------------------------------------------------------------------
// Run and print.
// ---------------------------------------------------------------------------------------------

const program = Effect.gen(function* () {
  const began = Date.now()
  console.log(
    `leadstate demo: ${leads.length} leads through lifecycle "${lifecycle.name}" (${lifecycle.stateNames.length} states), synced to 3 CRMs on fake servers\n`,
  )
  const reports = yield* Effect.all(vendorOrder.map(runVendor), { concurrency: "unbounded" })
  const explained = new Set<string>()
  console.log("Each lead: its moves (⏰ = a deadline that passed), then the lead at the vendor, read back.\n")
  for (const report of reports) {
    console.log(`── ${report.vendor}: ${vendors[report.vendor].about}`)
    for (const r of report.leads) {
      const inSync = r.atVendor.startsWith(`${r.finalState} `) ? "✓" : "≠"
      console.log(`● ${r.lead.id} ${r.lead.name}: ${r.lead.journey.story}`)
      console.log(`    ${r.moves.join(" → ")}   ${inSync} at ${report.vendor}: ${r.atVendor}`)
      // Each journey's typed errors in full once; for later leads on the same journey, their tags.
      const firstOfJourney = !explained.has(r.lead.journey.name)
      explained.add(r.lead.journey.name)
      const rejections = firstOfJourney
        ? r.rejections
        : r.rejections.length === 0
          ? []
          : [`✗ ${r.rejections.map((line) => /✗ (\w+):/.exec(line)?.[1] ?? "?").join(", ")} (as above)`]
      for (const line of [...rejections, ...r.notes]) console.log(`    ${line}`)
    }
    console.log("")
  }

  const all = reports.flatMap((r) => r.leads)
  const applied = all.reduce((n, r) => n + r.applied, 0)
  const rejected = all.reduce((n, r) => n + r.rejected, 0)
  const reasons = new Map<string, number>()
  for (const r of all)
    for (const line of r.rejections) {
      const tag = /✗ (\w+):/.exec(line)?.[1] ?? "?"
      reasons.set(tag, (reasons.get(tag) ?? 0) + 1)
    }
  console.log(
    `${all.length} leads: ${applied} events applied (⏰ = a deadline that passed), ${rejected} rejected with typed errors (${[...reasons].map(([k, n]) => `${k} ${n}`).join(", ")}).\n`,
  )
  console.log("vendor    leads  requests  retries  fault injected                                  in sync (read back)")
  for (const report of reports) {
    const fault = faults.find((f) => f.vendor === report.vendor)?.label ?? "none"
    const synced = report.leads.filter((r) => r.atVendor.startsWith(`${r.finalState} `)).length
    console.log(
      `${report.vendor.padEnd(10)}${String(report.leads.length).padEnd(7)}${String(report.requests).padEnd(10)}${String(report.retries).padEnd(9)}${fault.padEnd(48)}${synced}/${report.leads.length}${synced === report.leads.length ? " ✓" : ""}${report.vendorErrors > 0 ? `, ${report.vendorErrors} vendor errors` : ""}`,
    )
  }
  yield* engineSection
  console.log(`\nDone in ${((Date.now() - began) / 1000).toFixed(1)} s.\n`)

  console.log("Shortest way to each state (one breadth-first tree over the lifecycle):")
  for (const path of Paths.shortestPaths(lifecycle)) {
    const steps = path.events.map((e) => (e.type === "transition" ? e.to : e.type)).join(" → ")
    console.log(`  ${path.state.padEnd(18)} ${steps === "" ? "(initial)" : steps}`)
  }
  console.log("\nThe lifecycle as a Mermaid diagram (paste into https://mermaid.live):\n")
  console.log(Diagram.mermaid(lifecycle))
}).pipe(Effect.provide(FetchHttpClient.layer))

Effect.runPromise(program).catch((e: unknown) => {
  console.error(e)
  process.exitCode = 1
})
