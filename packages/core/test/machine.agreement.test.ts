import { expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { createActor, initialTransition, transition as machineTransition } from "xstate"
import { arbDefinitionWithWellFormedEvents, arbWellFormedEventStream } from "../../testkit/src/index.js"
import { autoDealer } from "../src/examples/autoDealer.js"
import type { LeadEvent } from "../src/LeadEvent.js"
import type { LeadSnapshot } from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import type { LifecycleDefinition } from "../src/LifecycleDefinition.js"
import { start, transition } from "../src/transition.js"

const make = (def: LifecycleDefinition): Lifecycle.Lifecycle =>
  Either.getOrThrowWith(Lifecycle.make(def), (e) => new Error(e.message))

const intentActions = new Set(["setState", "mergeMetadata"])

it.prop(
  "the table-driven transition and XState's pure transition agree on every well-formed event",
  { input: arbDefinitionWithWellFormedEvents({ maxLength: 25 }) },
  ({ input: { definition, stream } }) => {
    const lifecycle = make(definition)
    const machine = lifecycle.machine
    let snapshot: LeadSnapshot = start(lifecycle, { leadId: "lead-1", at: stream.startAt }).snapshot
    let [machineSnapshot] = initialTransition(machine)
    expect(machineSnapshot.value).toBe(snapshot.state)
    stream.events.forEach((event, i) => {
      const step = `step ${i}: ${JSON.stringify(event)} in ${snapshot.state}`
      const result = transition(lifecycle, snapshot, event)
      const [next, actions] = machineTransition(machine, machineSnapshot, event)
      const machineAccepted = actions.some((a) => intentActions.has(a.type))
      expect(machineAccepted ? "accepted" : "rejected", step).toBe(Either.isRight(result) ? "accepted" : "rejected")
      if (Either.isRight(result)) snapshot = result.right.snapshot
      machineSnapshot = next
      expect(machineSnapshot.value, step).toBe(snapshot.state)
      expect(machineSnapshot.context.snoozedFrom, step).toBe(snapshot.snoozedFrom)
      if (Either.isRight(result) && result.right.intents[0]?._tag === "SetState") {
        const setState = actions.find((a) => a.type === "setState")
        expect(setState?.params, step).toEqual({ to: snapshot.state })
      }
    })
  },
  { fastCheck: { numRuns: 150 } },
)

const autoDealerLifecycle = make(autoDealer)

/** Runs events through the pure transition and a live actor side by side; returns both state sequences. */
const runBoth = (events: ReadonlyArray<LeadEvent>, startAt: number) => {
  const actor = createActor(autoDealerLifecycle.machine).start()
  let snapshot = start(autoDealerLifecycle, { leadId: "lead-1", at: startAt }).snapshot
  const pure: Array<string> = [snapshot.state]
  const live: Array<unknown> = [actor.getSnapshot().value]
  for (const event of events) {
    const result = transition(autoDealerLifecycle, snapshot, event)
    if (Either.isRight(result)) snapshot = result.right.snapshot
    pure.push(snapshot.state)
    actor.send(event)
    live.push(actor.getSnapshot().value)
  }
  actor.stop()
  return { pure, live }
}

it("a live actor on the auto-dealer lifecycle goes through the same states as the pure transition", () => {
  const day = 86_400_000
  const journey: ReadonlyArray<LeadEvent> = [
    { type: "transition", to: "contacted", at: 1 * day },
    { type: "followUpDue", at: 3 * day },
    { type: "transition", to: "converted", at: 4 * day }, // not open from followup_1
    { type: "snooze", until: 10 * day, at: 4 * day },
    { type: "transition", to: "interested", at: 5 * day }, // not open from snoozed
    { type: "wake", at: 10 * day },
    { type: "transition", to: "interested", disposition: "price_inquiry", at: 11 * day },
    { type: "updateMetadata", metadata: { budget: 30_000 }, at: 11 * day },
    { type: "transition", to: "lost", at: 12 * day }, // needs a disposition
    { type: "transition", to: "lost", disposition: "bought_elsewhere", at: 12 * day },
    { type: "transition", to: "interested", at: 13 * day }, // final
    { type: "reopen", to: "contacted", reason: "customer_called_back", at: 20 * day },
    { type: "transition", to: "interested", at: 21 * day },
    { type: "transition", to: "test_drive_booked", disposition: "showroom", at: 22 * day },
    { type: "transition", to: "converted", disposition: "financed", at: 30 * day },
  ]
  const { pure, live } = runBoth(journey, 0)
  expect(live).toEqual(pure)
  expect(pure).toEqual([
    "new",
    "contacted",
    "followup_1",
    "followup_1",
    "snoozed",
    "snoozed",
    "followup_1",
    "interested",
    "interested",
    "interested",
    "lost",
    "lost",
    "contacted",
    "interested",
    "test_drive_booked",
    "converted",
  ])
})

it.prop(
  "a live actor and the pure transition agree on random well-formed auto-dealer journeys",
  { stream: arbWellFormedEventStream(autoDealer, { maxLength: 30 }) },
  ({ stream }) => {
    const { pure, live } = runBoth(stream.events, stream.startAt)
    expect(live).toEqual(pure)
  },
  { fastCheck: { numRuns: 60 } },
)

it.prop(
  "dotted state names work in the machine (XState path separators are escaped)",
  {
    input: fc.uniqueArray(fc.stringMatching(/^[a-z]{1,3}(\.[a-z]{1,3}){1,2}$/), { minLength: 3, maxLength: 4 }),
  },
  ({ input: names }) => {
    const [first = "a.a", ...rest] = names
    const lifecycle = make({
      name: "dotted",
      initial: first,
      states: names.map((name) => ({ name })),
      transitions: rest.map((to, i) => ({ from: names[i] ?? first, to })),
    })
    let [machineSnapshot] = initialTransition(lifecycle.machine)
    for (const to of rest) {
      const [next, actions] = machineTransition(lifecycle.machine, machineSnapshot, { type: "transition", to })
      expect(actions.map((a) => a.type)).toContain("setState")
      expect(next.value).toBe(to)
      machineSnapshot = next
    }
  },
  { fastCheck: { numRuns: 30 } },
)
