/**
 * The leadstate demo: a handful of auto-dealer leads walk their journeys through the pure
 * lifecycle (with snoozes, follow-ups that run out, rejected moves with their typed errors),
 * then the lifecycle is printed as a Mermaid diagram. No network, no configuration.
 *
 *   npx -y pnpm@10.34.8 install --frozen-lockfile && npx -y pnpm@10.34.8 demo
 */
import { Diagram, Lifecycle, Paths, simulate } from "@leadstate/core"
import { autoDealer } from "@leadstate/core/examples/autoDealer"

const HOUR = 3_600_000
const DAY = 24 * HOUR
const t0 = Date.parse("2026-11-02T09:00:00Z")
const at = (days: number, hours = 0) => t0 + days * DAY + hours * HOUR
const when = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ")

const lifecycle = Lifecycle.unsafeMake(autoDealer)

const journeys: ReadonlyArray<{
  readonly lead: string
  readonly story: string
  readonly events: ReadonlyArray<unknown>
}> = [
  {
    lead: "maria-lopez",
    story: "answers the first call, books a test drive, buys",
    events: [
      { type: "transition", to: "contacted", actor: "voice-agent", at: at(0, 1) },
      {
        type: "transition",
        to: "interested",
        disposition: "price_inquiry",
        note: "asked for hybrid pricing",
        at: at(0, 1),
      },
      { type: "transition", to: "test_drive_booked", disposition: "showroom", at: at(1) },
      { type: "transition", to: "converted", disposition: "financed", actor: "sales:ana", at: at(4) },
    ],
  },
  {
    lead: "tom-becker",
    story: "never picks up again: three follow-ups run out, a late update is refused",
    events: [
      { type: "transition", to: "contacted", actor: "voice-agent", at: at(0, 2) },
      { type: "updateMetadata", metadata: { preferredTime: "evenings" }, at: at(9) },
    ],
  },
  {
    lead: "li-wei",
    story: "asks to be called back next week; the scheduler wakes the lead, then it is interested",
    events: [
      { type: "transition", to: "contacted", at: at(0, 3) },
      { type: "snooze", until: at(7), note: "travelling this week", at: at(0, 3) },
      { type: "transition", to: "interested", disposition: "trade_in_inquiry", at: at(7, 1) },
    ],
  },
  {
    lead: "sam-okafor",
    story: "the agent makes mistakes the rules catch, then the lead is lost and reopened",
    events: [
      { type: "transition", to: "converted", at: at(0, 4) },
      { type: "transition", to: "contacted", at: at(0, 4) },
      { type: "transition", to: "lost", at: at(0, 5) },
      { type: "transition", to: "lost", disposition: "bougth_elsewhere", at: at(0, 5) },
      { type: "transition", to: "lost", disposition: "bought_elsewhere", at: at(0, 5) },
      { type: "transition", to: "interested", at: at(12) },
      { type: "reopen", to: "contacted", reason: "customer_called_back", at: at(12) },
    ],
  },
]

console.log(`leadstate demo: lifecycle "${lifecycle.name}" (${lifecycle.stateNames.length} states)\n`)
let applied = 0
let rejected = 0
for (const journey of journeys) {
  console.log(`● ${journey.lead}: ${journey.story}`)
  const run = simulate(lifecycle, journey.events, { leadId: journey.lead, at: at(0), fireDeadlines: true })
  for (const step of run.steps) {
    if (step._tag === "Applied") {
      const { snapshot } = step
      const disposition =
        snapshot.disposition === undefined || step.from === step.to ? "" : ` [${snapshot.disposition}]`
      const how = step.scheduled ? " (deadline passed)" : ""
      const move = step.from === step.to ? `${step.to} (metadata updated)` : `${step.from} → ${step.to}${disposition}`
      console.log(`  ${when(snapshot.updatedAt)}  ✓ ${move}${how}`)
    } else {
      console.log(`                    ✗ ${step.error._tag}: ${step.error.message}`)
    }
  }
  const next = run.final.due === undefined ? "" : `, next: ${run.final.due.event} at ${when(run.final.due.at)}`
  console.log(`  → ends in "${run.final.state}" after ${run.final.version} accepted events${next}\n`)
  applied += run.applied
  rejected += run.rejected
}
console.log(`${journeys.length} leads, ${applied} events applied, ${rejected} rejected with typed errors.\n`)

console.log("Shortest way to each state (xstate/graph):")
for (const path of Paths.shortestPaths(lifecycle)) {
  const steps = path.events.map((e) => (e.type === "transition" ? e.to : e.type)).join(" → ")
  console.log(`  ${path.state.padEnd(18)} ${steps === "" ? "(initial)" : steps}`)
}
console.log("\nThe lifecycle as a Mermaid diagram (paste into https://mermaid.live):\n")
console.log(Diagram.mermaid(lifecycle))
