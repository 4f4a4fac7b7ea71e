/**
 * `pnpm fuzz [--runs N] [--seed S] [--only text]`: every fuzz target of
 * `@leadstate/testkit/fuzz`, wired to the three adapters, at N runs each (default 10,000).
 * Prints, per target, the runs, the failures (a throw, an Effect defect, an error of the wrong
 * type, a hang), the time and the seed; for a failing target, each distinct failure and a
 * shrunk counterexample with the top of its stack. Exits 1 on any failure.
 *
 * `test/fuzz.test.ts` runs the same targets at fewer runs.
 */
import { pathToFileURL } from "node:url"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { UservoxAdapter } from "@leadstate/adapter-uservox"
import { VoxysAdapter } from "@leadstate/adapter-voxys"
import { autoDealer, CrmWebhooks, Lifecycle, type RetryPolicy, type StateMap, type SyncIntent } from "@leadstate/core"
import { coreTargets, type FuzzTarget, VendorResponses, Webhooks } from "@leadstate/testkit/fuzz"
import { Either, FastCheck as fc, Redacted } from "effect"
import * as Defaults from "../packages/cli/src/Defaults.js"

const lifecycle = Lifecycle.unsafeMake(autoDealer)

/** One quick retry, and no wait a Retry-After could stretch: a fuzz input is answered in milliseconds. */
const retry: RetryPolicy.RetryPolicy = {
  maxAttempts: 2,
  baseDelayMs: 1,
  maxDelayMs: 5,
  budgetMs: 200,
  requestTimeoutMs: 2_000,
  jitter: 0,
}

/** A write that may have landed is read back at once, not after the default 2 s. */
const ambiguous = { settleMs: 1 }

// The state maps of examples/adapters/*.json, as the CLI's defaults hold them.
const genericMap: StateMap.StateMapConfig = Defaults.generic.stateMap
const uservoxMap: StateMap.StateMapConfig = Defaults.uservox.stateMap
const voxysMap: StateMap.StateMapConfig = Defaults.voxys.stateMap

const at = 1_790_000_000_000
const intents: ReadonlyArray<SyncIntent.SyncIntent> = [
  {
    _tag: "CreateLead",
    leadId: "fz-1",
    state: "new",
    metadata: { name: "Ana Ruiz", email: "ana@example.org", phone: "+14155550111" },
    at,
  },
  { _tag: "SetState", leadId: "fz-1", from: "new", to: "contacted", at },
  { _tag: "SetState", leadId: "fz-1", from: "contacted", to: "lost", disposition: "wrong_number", at },
  { _tag: "SetState", leadId: "fz-1", from: "contacted", to: "snoozed", snoozeUntil: at + 3_600_000, at },
  { _tag: "SetState", leadId: "fz-1", from: "test_drive_booked", to: "converted", disposition: "purchased", at },
  { _tag: "MergeMetadata", leadId: "fz-1", metadata: { score: 3, source: "fuzz" }, at },
]

const iso = fc.constantFrom("2026-11-02T09:00:00Z", "2026-11-02T09:00:00.000Z")
const objectId = fc.stringMatching(/^[0-9a-f]{24}$/)

// --- generic -------------------------------------------------------------------------------

const genericSecret = Redacted.make("whsec_fuzz_generic")
const genericOptions = (baseUrl: string): GenericAdapter.GenericOptions => ({
  lifecycle,
  stateMap: genericMap,
  baseUrl,
  apiKey: Redacted.make("sk-workspace_fuzz"),
  chatbotId: "bot_1",
  webhookSecret: genericSecret,
  retry,
  ambiguous,
})
const genericLead = fc.record({
  id: fc.constantFrom("lead_1", "cm1abc"),
  name: fc.constantFrom("Ana Ruiz", null),
  email: fc.constantFrom("ana@example.org", null),
  phone: fc.constantFrom("+14155550111", null),
  status: fc.constantFrom(...GenericAdapter.defaultStatuses),
  metadata: fc.constantFrom(
    { leadstate: { leadId: "fz-1", state: "contacted" }, external_id: "fz-1" },
    { external_id: "fz-1" },
    null,
  ),
  createdAt: iso,
  updatedAt: iso,
})
const genericAnswers = fc.oneof(
  genericLead.map((data) => ({ success: true, data })),
  fc.record({
    success: fc.constant(true),
    data: fc.record({
      leads: fc.array(genericLead, { maxLength: 2 }),
      pagination: fc.constant({ page: 1, limit: 20, total: 1, totalPages: 1, hasNext: false, hasPrev: false }),
    }),
  }),
  fc.record({ success: fc.constant(true), data: fc.record({ id: fc.constant("lead_1"), deletedAt: iso }) }),
  fc.record({
    success: fc.constant(false),
    error: fc.constantFrom("Rate limit exceeded", "Lead not found", "Validation failed"),
    code: fc.constantFrom("RATE_LIMITED", "NOT_FOUND", "VALIDATION_ERROR", "UNAUTHORIZED"),
    details: fc.constantFrom(undefined, { fields: ["email"] }),
    retryAfter: fc.constantFrom(undefined, 1, 60),
  }),
)
const genericWebhook = fc.record({
  id: fc.constantFrom("evt_1", "evt_2"),
  event: fc.constantFrom("lead.created", "lead.updated", "lead.deleted"),
  createdAt: iso,
  data: fc.record({ lead: genericLead }),
})

// --- uservox -------------------------------------------------------------------------------

const uservoxBearer = Redacted.make("cb_fuzz_token")
const uservoxOptions = (baseUrl: string): UservoxAdapter.UservoxOptions => ({
  lifecycle,
  stateMap: uservoxMap,
  baseUrl,
  apiToken: Redacted.make("uvx_fuzz_token"),
  projectId: "6650aa11bb22cc33dd44ee55",
  processId: "6650aa11bb22cc33dd44ee66",
  webhookAuth: { bearer: uservoxBearer },
  confirmTimeoutMs: 1_000,
  rateLimit: { limit: 1_000_000, intervalMs: 1_000 },
  retry,
})
const uservoxLead = fc.record({
  _id: objectId,
  name: fc.constantFrom("Ana Ruiz", null),
  phone: fc.constantFrom("+14155550111", null),
  projectId: fc.constant("6650aa11bb22cc33dd44ee55"),
  processId: fc.constant("6650aa11bb22cc33dd44ee66"),
  referenceId: fc.constantFrom("fz-1", null),
  currentState: fc.constantFrom(...Object.values(uservoxMap.states)),
  lastDisposition: fc.constantFrom("Wrong Number", null),
  metadata: fc.constantFrom({ leadstate_write_id: "fz-1/1/0" }, null),
  createdAt: iso,
  updatedAt: iso,
})
const uservoxAnswers = fc.oneof(
  uservoxLead.map((lead) => ({ ...lead, success: true })),
  fc.record({ success: fc.boolean(), message: fc.constantFrom("Update request accepted", "Lead not found") }),
  uservoxLead.map((data) => ({ success: true, data })),
  fc.record({
    success: fc.array(uservoxLead, { maxLength: 2 }),
    errors: fc.array(fc.record({ referenceId: fc.constantFrom("fz-2", null), error: fc.constant("Duplicate lead") }), {
      maxLength: 2,
    }),
  }),
  fc.record({
    success: fc.constant(false),
    error: fc.constantFrom(
      "Duplicate lead",
      "API key blocked",
      "Lead update is not allowed while a call is in progress",
    ),
  }),
)
const timestamp = fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 })
const uservoxWebhook = fc.oneof(
  fc.record({
    action_type: fc.constant("update"),
    updateId: objectId,
    success: fc.boolean(),
    error: fc.constantFrom(null, "Lead update is not allowed while a call is in progress for this lead"),
    leadId: objectId,
    referenceId: fc.constant("fz-1"),
    timestamp,
    data: fc.constant(null),
  }),
  fc.record({
    action_type: fc.constant("update"),
    activityId: objectId,
    lastActivityId: objectId,
    leadId: objectId,
    processId: fc.constant("6650aa11bb22cc33dd44ee66"),
    referenceId: fc.constant("fz-1"),
    timestamp,
    activity: fc.record({
      type: fc.constant("call"),
      status: fc.constant("success"),
      fromState: fc.constantFrom(...Object.values(uservoxMap.states)),
      toState: fc.constantFrom(...Object.values(uservoxMap.states)),
      scheduledAt: timestamp,
      result: fc.record({
        analysis: fc.record({
          success: fc.boolean(),
          disposition: fc.constantFrom("No Connect", "Wrong Number"),
          dispositionType: fc.constantFrom("success", "failure", "neutral"),
          summary: fc.string({ maxLength: 20 }),
        }),
      }),
    }),
  }),
)

// --- voxys ---------------------------------------------------------------------------------

const voxysOptions = (baseUrl: string): VoxysAdapter.VoxysOptions => ({
  lifecycle,
  stateMap: voxysMap,
  baseUrl,
  accountId: 7,
  apiAccessToken: Redacted.make("vx_fuzz_token"),
  convert: { state: "converted", funnelId: 3 },
  retry,
  ambiguous,
})
const voxysLead = fc.record({
  id: fc.constantFrom(1, 2),
  custom_name: fc.constantFrom("Ana Ruiz", null),
  status: fc.constantFrom("open", "won", "lost", "snoozed"),
  lead_value: fc.constantFrom(15000, "15000.0", null),
  lead_currency: fc.constantFrom("USD", null),
  notes: fc.constantFrom("[leadstate] state=contacted", "[leadstate] state=lost disposition=wrong_number", null),
  custom_attributes: fc.constantFrom({ leadstate_lead_id: "fz-1" }, null),
  created_at: iso,
  updated_at: iso,
})
const voxysAnswers = fc.oneof(
  voxysLead,
  fc.record({
    data: fc.array(voxysLead, { maxLength: 2 }),
    meta: fc.constant({ current_page: 1, total_pages: 1, total_count: 1 }),
  }),
  fc.record({ success: fc.boolean(), affected_count: fc.nat({ max: 3 }) }),
  fc.record({
    id: fc.constant(5),
    funnel_id: fc.constant(3),
    funnel_stage_id: fc.constant(1),
    position: fc.constant(0),
  }),
  fc.record({ id: fc.constant(9), content: fc.constant("hello"), author: fc.constant(null), created_at: iso }),
  fc.record({
    error: fc.constantFrom("Not found", "Unauthorized"),
    errors: fc.constantFrom(undefined, ["email is invalid"]),
  }),
)

// --- the targets ---------------------------------------------------------------------------

const decoder = (name: string, built: Either.Either<CrmWebhooks.CrmWebhooksService, unknown>) =>
  Either.getOrThrowWith(built, (e) => new Error(`fuzz: cannot build the ${name} webhook decoder: ${String(e)}`))

/** Every fuzz target, wired to the adapters. */
export const targets: ReadonlyArray<FuzzTarget.FuzzTarget> = [
  ...coreTargets,
  Webhooks.make({
    name: "generic",
    service: decoder("generic", GenericAdapter.makeWebhooks(genericOptions("http://127.0.0.1:1"))),
    authenticate: (body) => ({ "x-webhook-signature": `sha256=${CrmWebhooks.hmacSha256Hex(genericSecret, body)}` }),
    payloads: genericWebhook,
  }),
  Webhooks.make({
    name: "uservox",
    service: decoder("uservox", UservoxAdapter.makeWebhooks(uservoxOptions("http://127.0.0.1:1"))),
    authenticate: () => ({ authorization: `Bearer ${Redacted.value(uservoxBearer)}` }),
    payloads: uservoxWebhook,
  }),
  VendorResponses.make({
    name: "generic",
    make: (baseUrl) => GenericAdapter.make(genericOptions(baseUrl)),
    answers: genericAnswers,
    ref: { leadId: "fz-1", vendorLeadId: "lead_1" },
    intents,
    operations: {
      get: (crm) => crm.get("lead_1"),
      list: (crm) => crm.list({ page: 1, limit: 20 }),
      remove: (crm) => crm.remove("lead_1"),
    },
  }),
  VendorResponses.make({
    name: "uservox",
    make: (baseUrl) => UservoxAdapter.make(uservoxOptions(baseUrl)),
    answers: uservoxAnswers,
    ref: { leadId: "fz-1", vendorLeadId: "6650aa11bb22cc33dd44ee77" },
    intents,
    operations: {
      bulkInitiate: (crm) =>
        crm.bulkInitiate([
          { leadId: "fz-1", metadata: { name: "Ana Ruiz", phone: "+14155550111" } },
          { leadId: "fz-2", metadata: { name: "Ben Cho", phone: "+14155550112" } },
        ]),
      startCalling: (crm) => crm.startCalling({ leadId: "fz-1", vendorLeadId: "6650aa11bb22cc33dd44ee77" }),
    },
  }),
  VendorResponses.make({
    name: "voxys",
    make: (baseUrl) => VoxysAdapter.make(voxysOptions(baseUrl)),
    answers: voxysAnswers,
    ref: { leadId: "fz-1", vendorLeadId: "1" },
    intents,
    operations: {
      get: (crm) => crm.get("1"),
      list: (crm) => crm.list({ page: 1 }),
      remove: (crm) => crm.remove("1"),
      addNote: (crm) => crm.addNote("1", "called back"),
      bulkSetStatus: (crm) => crm.bulkSetStatus(["1", "2"], "lost"),
    },
  }),
]

/** One target's result, as printed. */
export const report = (r: FuzzTarget.FuzzResult): string => {
  const head = `${r.failures === 0 ? "ok  " : "FAIL"} ${r.name.padEnd(52)} ${String(r.runs).padStart(6)} runs  ${String(r.failures).padStart(5)} failures  ${(r.ms / 1000).toFixed(1).padStart(6)} s  (seed ${r.seed})`
  if (r.failures === 0) return head
  const kinds = r.kinds.map(
    (k) => `       ${String(k.count).padStart(5)} × ${k.problem}\n               e.g. ${k.example}`,
  )
  const c = r.counterexample
  const shrunk =
    c === undefined
      ? []
      : [
          `       minimal counterexample (${c.shrinks} shrinks): ${c.input}`,
          `         ${c.problem}`,
          ...c.stackTop.map((l) => `           ${l}`),
        ]
  return [head, ...kinds, ...shrunk].join("\n")
}

const flag = (args: ReadonlyArray<string>, name: string): string | undefined => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}

const main = async (args: ReadonlyArray<string>): Promise<number> => {
  const runsText = flag(args, "--runs") ?? "10000"
  const numRuns = Number(runsText)
  const seedText = flag(args, "--seed")
  const seed = seedText === undefined ? undefined : Number(seedText)
  const only = flag(args, "--only")
  if (!Number.isInteger(numRuns) || numRuns < 1 || (seed !== undefined && !Number.isInteger(seed))) {
    console.error(`fuzz: --runs needs a positive integer and --seed an integer (got --runs ${runsText})`)
    return 2
  }
  const chosen = only === undefined ? targets : targets.filter((t) => t.name.includes(only))
  console.log(`fuzz: ${chosen.length} targets, ${numRuns} runs each (Node ${process.version})`)
  let failed = 0
  for (const target of chosen) {
    const result = await target.run({ numRuns, ...(seed === undefined ? {} : { seed }) })
    console.log(report(result))
    if (result.failures > 0) failed++
  }
  console.log(failed === 0 ? "fuzz: zero throws, zero defects." : `fuzz: ${failed} of ${chosen.length} targets failed.`)
  return failed === 0 ? 0 : 1
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error("fuzz: the run itself failed:", error)
      process.exit(1)
    },
  )
}
