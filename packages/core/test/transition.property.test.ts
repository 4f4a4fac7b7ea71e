import { expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import {
  arbDefinitionWithEvents,
  arbDefinitionWithWellFormedEvents,
  arbEventStream,
  arbSnapshot,
  arbValidDefinition,
} from "../../testkit/src/index.js"
import * as LeadEvent from "../src/LeadEvent.js"
import type { LeadSnapshot } from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import type { LifecycleDefinition } from "../src/LifecycleDefinition.js"
import { start, transition } from "../src/transition.js"
import { type ModelLead, type ModelStep, modelStart, modelStep, observe } from "./referenceModel.js"

const make = (def: LifecycleDefinition): Lifecycle.Lifecycle =>
  Either.getOrThrowWith(Lifecycle.make(def), (e) => new Error(`${e.message}\n${JSON.stringify(def)}`))

const errorTags = [
  "InvalidTransition",
  "DispositionRequired",
  "UnknownDisposition",
  "LeadIsFinal",
  "UnknownState",
  "InvalidEvent",
]

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const deepFreeze = <T>(value: T): T => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key])
  }
  return value
}

const ownRule = (def: LifecycleDefinition, state: string) =>
  def.dispositions !== undefined && Object.hasOwn(def.dispositions, state) ? def.dispositions[state] : undefined

/** A snapshot of a fresh lead, moved (without any rule) into `state`. */
const leadIn = (lifecycle: Lifecycle.Lifecycle, state: string): LeadSnapshot => ({
  ...start(lifecycle, { leadId: "lead-1", at: 1_000 }).snapshot,
  state,
})

it.prop(
  "transition agrees with the reference model at every step",
  // Half of the leads start in the initial state, half are put straight into any declared state.
  { input: arbDefinitionWithEvents(), startIn: fc.option(fc.nat(), { nil: undefined }) },
  ({ input: { definition, stream }, startIn }) => {
    const lifecycle = make(definition)
    let snapshot = start(lifecycle, { leadId: "lead-1", at: stream.startAt }).snapshot
    let lead: ModelLead = modelStart(definition, stream.startAt)
    // The history log: what the steps appended (the snapshot keeps only the latest, `recent`).
    let logged = 1
    expect(observe(snapshot, logged)).toEqual(lead)
    if (startIn !== undefined) {
      const state = definition.states[startIn % definition.states.length]?.name ?? definition.initial
      snapshot = { ...snapshot, state }
      lead = { ...lead, state }
    }
    stream.events.forEach((event, i) => {
      const step = `step ${i}: ${String(JSON.stringify(event))} in ${snapshot.state}`
      const actual = transition(lifecycle, snapshot, event)
      const expected = modelStep(definition, lead, event)
      if (expected.accepted) {
        expect(Either.isRight(actual) ? "accepted" : `rejected: ${actual.left._tag}`, step).toBe("accepted")
        if (Either.isRight(actual)) {
          logged += actual.right.history.length
          expect(observe(actual.right.snapshot, logged), step).toEqual(expected.lead)
          expect(actual.right.snapshot.recent.length, step).toBe(Math.min(logged, lifecycle.historyLimit))
          const appended = actual.right.history
          if (appended.length > 0 && lifecycle.historyLimit > 0) {
            expect(actual.right.snapshot.recent.at(-1), step).toEqual(appended.at(-1))
          }
          expect(
            actual.right.intents.map((intent) => intent._tag),
            step,
          ).toEqual([expected.intent])
          snapshot = actual.right.snapshot
          lead = expected.lead
        }
      } else {
        expect(Either.isLeft(actual) ? actual.left._tag : "accepted", step).toBe(expected.error)
      }
    })
  },
  { fastCheck: { numRuns: 300 } },
)

it("the event generator reaches every rule (the agreement property is not vacuous)", () => {
  const outcomes = new Set<string>()
  const samples = fc.sample(arbDefinitionWithEvents(), { numRuns: 400, seed: 42 })
  for (const { definition, stream } of samples) {
    let lead = modelStart(definition, stream.startAt)
    for (const event of stream.events) {
      const step: ModelStep = modelStep(definition, lead, event)
      const type = isRecord(event) ? String(event.type) : "non-object"
      if (step.accepted) {
        outcomes.add(`${type} accepted`)
        if (type === "transition" && step.lead.disposition !== undefined) outcomes.add("transition with disposition")
        if (step.lead.due !== undefined) outcomes.add(`due ${step.lead.due.event}`)
        lead = step.lead
      } else outcomes.add(step.error)
    }
  }
  for (const expected of [
    ...LeadEvent.eventTypes.map((type) => `${type} accepted`),
    "transition with disposition",
    "due wake",
    "due followUpDue",
    ...errorTags,
  ]) {
    expect(outcomes).toContain(expected)
  }
})

it.prop(
  "final states absorb every event but a declared reopen",
  {
    input: arbValidDefinition()
      .filter((def) => def.states.some((s) => s.final === true))
      .chain((definition) =>
        fc.record({
          definition: fc.constant(definition),
          final: fc.constantFrom(...definition.states.filter((s) => s.final === true).map((s) => s.name)),
          events: fc.oneof(
            arbEventStream(definition).map((s) => s.events),
            fc.array(fc.anything(), { maxLength: 5 }),
          ),
        }),
      ),
  },
  ({ input: { definition, final, events } }) => {
    const lifecycle = make(definition)
    const snapshot = leadIn(lifecycle, final)
    for (const event of events) {
      const result = transition(lifecycle, snapshot, event)
      if (Either.isRight(result)) {
        expect(isRecord(event) && event.type === "reopen").toBe(true)
        const to = isRecord(event) ? event.to : undefined
        expect(definition.reopen?.some((r) => r.from === final && r.to === to)).toBe(true)
        expect(result.right.snapshot.state).toBe(to)
      }
    }
  },
  { fastCheck: { numRuns: 200 } },
)

it.prop(
  "a well-formed event other than reopen is rejected by a final state with LeadIsFinal",
  {
    input: arbDefinitionWithWellFormedEvents().filter(({ definition }) =>
      definition.states.some((s) => s.final === true),
    ),
  },
  ({ input: { definition, stream } }) => {
    const lifecycle = make(definition)
    for (const final of definition.states.filter((s) => s.final === true)) {
      const snapshot = leadIn(lifecycle, final.name)
      for (const event of stream.events) {
        if (event.type === "reopen") continue
        const result = transition(lifecycle, snapshot, event)
        expect(Either.isLeft(result) ? result.left._tag : "accepted").toBe("LeadIsFinal")
      }
    }
  },
  { fastCheck: { numRuns: 100 } },
)

it.prop(
  "a transition into a state that requires a disposition never succeeds without one",
  { definition: arbValidDefinition() },
  ({ definition }) => {
    const lifecycle = make(definition)
    for (const from of definition.states) {
      for (const to of definition.states) {
        if (ownRule(definition, to.name)?.required !== true) continue
        const result = transition(lifecycle, leadIn(lifecycle, from.name), {
          type: "transition",
          to: to.name,
          at: 2_000,
        })
        expect(Either.isLeft(result) ? result.left._tag : "accepted").toMatch(
          /^(DispositionRequired|InvalidTransition|LeadIsFinal)$/,
        )
      }
    }
  },
  { fastCheck: { numRuns: 200 } },
)

it.prop(
  "under forward-only ordering no transition goes to a lower rank (wildcards included)",
  { definition: arbValidDefinition({ forwardOnly: true }) },
  ({ definition }) => {
    const lifecycle = make(definition)
    for (const from of definition.states) {
      for (const to of definition.states) {
        if (from.rank === undefined || to.rank === undefined || to.rank >= from.rank) continue
        const disposition = ownRule(definition, to.name)?.allowed[0]
        const event = {
          type: "transition",
          to: to.name,
          at: 2_000,
          ...(disposition === undefined ? {} : { disposition }),
        }
        const result = transition(lifecycle, leadIn(lifecycle, from.name), event)
        expect(Either.isLeft(result) ? result.left._tag : "accepted", `${from.name} -> ${to.name}`).toMatch(
          /^(InvalidTransition|LeadIsFinal)$/,
        )
      }
    }
  },
  { fastCheck: { numRuns: 200 } },
)

it.prop(
  "a snooze is accepted only with a wake-up time later than the event time",
  {
    definition: arbValidDefinition().filter((def) => def.snooze !== undefined),
    delta: fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -1_000_000, max: 1_000_000 })),
  },
  ({ definition, delta }) => {
    const lifecycle = make(definition)
    const snooze = definition.snooze
    for (const from of definition.states) {
      if (from.final === true || from.name === snooze?.state) continue
      if (snooze?.from !== undefined && !snooze.from.includes(from.name)) continue
      const result = transition(lifecycle, leadIn(lifecycle, from.name), {
        type: "snooze",
        at: 5_000,
        until: 5_000 + delta,
      })
      expect(Either.isLeft(result) ? result.left._tag : "accepted").toBe(delta > 0 ? "accepted" : "InvalidEvent")
      if (Either.isRight(result)) expect(result.right.snapshot.due).toEqual({ event: "wake", at: 5_000 + delta })
    }
  },
  { fastCheck: { numRuns: 100 } },
)

it.prop(
  "every accepted move into a state that requires a disposition carries an allowed one",
  { input: arbDefinitionWithEvents() },
  ({ input: { definition, stream } }) => {
    const lifecycle = make(definition)
    let snapshot = start(lifecycle, { leadId: "lead-1", at: stream.startAt }).snapshot
    for (const event of stream.events) {
      const result = transition(lifecycle, snapshot, event)
      if (Either.isLeft(result)) continue
      snapshot = result.right.snapshot
      const type = isRecord(event) ? event.type : undefined
      const rule = ownRule(definition, snapshot.state)
      // Only moves that can carry a disposition: wake and reopen enter without one by design.
      if ((type === "transition" || type === "followUpDue") && rule?.required === true) {
        expect(snapshot.disposition).toBeDefined()
        expect(rule.allowed).toContain(snapshot.disposition)
      }
    }
  },
  { fastCheck: { numRuns: 200 } },
)

// A follow-up step is entered by a deadline, which carries no disposition: validation refuses
// a step that requires one (found by this suite; it used to be accepted).
it("a follow-up step that requires a disposition is refused by validation", () => {
  const lifecycle = Lifecycle.make({
    name: "follow-up-required",
    initial: "new",
    states: [{ name: "new" }, { name: "followup_1" }, { name: "lost", final: true }],
    transitions: [
      { from: "new", to: "followup_1" },
      { from: "*", to: "lost" },
    ],
    dispositions: { followup_1: { required: true, allowed: ["no_answer"] } },
    followUps: { states: ["followup_1"], startFrom: ["new"], intervalMs: 1_000, exhausted: { to: "lost" } },
  })
  expect(Either.isLeft(lifecycle) && lifecycle.left.problems.map((p) => [p.code, p.path])).toEqual([
    ["FollowUpMisconfigured", "followUps.states[0]"],
  ])
})

it.prop(
  "transition never throws and always returns an Either, whatever the event and snapshot",
  {
    input: arbValidDefinition().chain((definition) =>
      fc.record({
        definition: fc.constant(definition),
        snapshot: arbSnapshot({ states: definition.states.map((s) => s.name) }),
        events: fc.oneof(
          fc.array(fc.oneof(fc.anything(), fc.anything({ withNullPrototype: true, withBoxedValues: true })), {
            maxLength: 5,
          }),
          // Plausible events with garbage fields.
          arbEventStream(definition).map((stream) => stream.events),
        ),
      }),
    ),
  },
  ({ input: { definition, snapshot, events } }) => {
    const lifecycle = make(definition)
    for (const event of events) {
      const result = transition(lifecycle, snapshot, event)
      expect(Either.isEither(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(errorTags).toContain(result.left._tag)
        expect(typeof result.left.message).toBe("string")
        if (!lifecycle.states.has(snapshot.state)) expect(result.left._tag).toBe("UnknownState")
      }
    }
  },
  { fastCheck: { numRuns: 200 } },
)

it.prop(
  "transition mutates neither the snapshot nor the event (inputs deep-frozen)",
  { input: arbDefinitionWithEvents() },
  ({ input: { definition, stream } }) => {
    const lifecycle = make(definition)
    let snapshot = deepFreeze(start(lifecycle, { leadId: "lead-1", at: stream.startAt }).snapshot)
    for (const event of stream.events) {
      const before = JSON.stringify(snapshot)
      const result = transition(lifecycle, snapshot, deepFreeze(event))
      expect(JSON.stringify(snapshot)).toBe(before)
      if (Either.isRight(result)) {
        expect(result.right.snapshot).not.toBe(snapshot)
        snapshot = deepFreeze(result.right.snapshot)
      } else {
        expect(result.left.leadId).toBe(snapshot.leadId)
      }
    }
  },
  { fastCheck: { numRuns: 200 } },
)

// An own "__proto__" metadata key (JSON.parse makes one) would be turned into a prototype by
// JSON codecs and lost, so snapshot and vendor would disagree: it is refused (found by this suite).
it('an own "__proto__" metadata key is refused with InvalidEvent', () => {
  const lifecycle = make({ name: "m", initial: "new", states: [{ name: "new" }], transitions: [] })
  const snapshot = start(lifecycle, { leadId: "lead-1", at: 0 }).snapshot
  const metadata = JSON.parse('{"__proto__": {"x": 1}, "k": 2}') as unknown
  const result = transition(lifecycle, snapshot, { type: "updateMetadata", metadata, at: 1 })
  expect(Either.isLeft(result) && result.left._tag).toBe("InvalidEvent")
})
