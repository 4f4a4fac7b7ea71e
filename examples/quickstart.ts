import { FetchHttpClient } from "@effect/platform"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { Lifecycle, start, transition } from "@leadstate/core"
import { Effect, Redacted } from "effect"

// 1. Describe the lifecycle once, as data (validated: every problem is reported with its path).
const lifecycle = Lifecycle.unsafeMake({
  name: "inside-sales",
  initial: "new",
  states: [{ name: "new" }, { name: "qualified" }, { name: "won", final: true }, { name: "lost", final: true }],
  transitions: [
    { from: "new", to: "qualified" },
    { from: "qualified", to: "won" },
    { from: "*", to: "lost" },
  ],
  dispositions: { lost: { required: true, allowed: ["no_budget", "competitor"] } },
})

// 2. Pure transitions: the next snapshot and vendor-neutral intents, or a typed error (an Either).
const lead = start(lifecycle, { leadId: "L-42", at: Date.now(), metadata: { name: "Ana", email: "ana@example.org" } })
const lost = transition(lifecycle, lead.snapshot, { type: "transition", to: "lost", disposition: "competitor" })

// 3. Sync through an adapter: here the generic REST adapter, against its fake server on 127.0.0.1.
export const program = Effect.gen(function* () {
  const vendor = yield* startFakeGenericServer({ apiKey: "sk-workspace_demo" })
  const crm = yield* GenericAdapter.make({
    lifecycle,
    stateMap: { states: { new: "new", qualified: "qualified", won: "converted", lost: "lost" } },
    baseUrl: vendor.url,
    apiKey: Redacted.make("sk-workspace_demo"),
    chatbotId: "bot_1",
  })
  let vendorLeadId: string | undefined
  for (const intent of lead.intents) vendorLeadId = (yield* crm.send(intent, { leadId: "L-42" })).vendorLeadId
  const next = yield* lost // an Either is an Effect: an InvalidTransition would fail here, typed
  for (const intent of next.intents) yield* crm.send(intent, { leadId: "L-42", vendorLeadId })
  return { state: next.snapshot.state, atVendor: vendor.leads()[0]?.status }
}).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))

if (import.meta.url === `file://${process.argv[1]}`) Effect.runPromise(program).then(console.log) // { state: 'lost', atVendor: 'lost' }
