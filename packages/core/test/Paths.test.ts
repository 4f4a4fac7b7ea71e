import { Either, FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { arbValidDefinition } from "../../testkit/src/index.js"
import { autoDealer } from "../src/examples/autoDealer.js"
import { b2b } from "../src/examples/b2b.js"
import type { LeadSnapshot } from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import { eventsToTry, type PathEvent, shortestPaths } from "../src/Paths.js"
import { start, transition } from "../src/transition.js"
import { xstateShortestPaths } from "./PathsReference.js"

/** Applies events to a fresh lead through the pure transition, failing loudly at the first refusal. */
const replay = (lifecycle: Lifecycle.Lifecycle, events: ReadonlyArray<PathEvent>): LeadSnapshot => {
  let snapshot = start(lifecycle, { leadId: "lead-1", at: 1_000 }).snapshot
  events.forEach((event, i) => {
    const step = transition(lifecycle, snapshot, event)
    if (Either.isLeft(step)) {
      throw new Error(`step ${i} ${JSON.stringify(event)} from "${snapshot.state}" failed: ${step.left.message}`)
    }
    snapshot = step.right.snapshot
  })
  return snapshot
}

/**
 * Fewest events to each state, by breadth-first search over the pure transition (not the
 * XState machine), telling leads apart by state and the state a snoozed lead wakes to.
 */
const distances = (lifecycle: Lifecycle.Lifecycle): ReadonlyMap<string, number> => {
  const first = start(lifecycle, { leadId: "lead-1", at: 1_000 }).snapshot
  const key = (s: LeadSnapshot) => `${s.state}|${s.snoozedFrom ?? ""}`
  const seen = new Set([key(first)])
  const found = new Map([[first.state, 0]])
  let frontier = [first]
  for (let depth = 1; frontier.length > 0; depth++) {
    const next: Array<LeadSnapshot> = []
    for (const snapshot of frontier) {
      for (const event of eventsToTry(lifecycle)) {
        const step = transition(lifecycle, snapshot, event)
        if (Either.isLeft(step) || seen.has(key(step.right.snapshot))) continue
        seen.add(key(step.right.snapshot))
        next.push(step.right.snapshot)
        if (!found.has(step.right.snapshot.state)) found.set(step.right.snapshot.state, depth)
      }
    }
    frontier = next
  }
  return found
}

const examples = [
  { name: "autoDealer", lifecycle: Lifecycle.unsafeMake(autoDealer) },
  { name: "b2b", lifecycle: Lifecycle.unsafeMake(b2b) },
]

describe.each(examples)("shortestPaths($name)", ({ lifecycle }) => {
  const paths = shortestPaths(lifecycle)

  it("gives one path per state, in the lifecycle's state order", () => {
    expect(paths.map((p) => p.state)).toEqual(lifecycle.stateNames)
  })

  it("gives the initial state an empty path", () => {
    expect(paths.find((p) => p.state === lifecycle.initial)?.events).toEqual([])
  })

  it("replays every path through start + transition, ending in its state", () => {
    for (const path of paths) expect(replay(lifecycle, path.events).state, JSON.stringify(path)).toBe(path.state)
  })

  it("finds the shortest path, as a breadth-first search over the pure transition does", () => {
    const expected = distances(lifecycle)
    expect(new Map(paths.map((p) => [p.state, p.events.length]))).toEqual(expected)
  })

  it("returns the same paths on every run", () => {
    expect(shortestPaths(lifecycle)).toEqual(paths)
  })

  it("gives exactly the paths of the former xstate/graph search", () => {
    expect(paths).toEqual(xstateShortestPaths(lifecycle))
  })
})

describe("shortestPaths, on generated lifecycles", () => {
  it("gives exactly the paths of the former xstate/graph search (snooze, follow-ups, reopen, wildcards)", () => {
    fc.assert(
      fc.property(arbValidDefinition({ maxStates: 12 }), (definition) => {
        const lifecycle = Lifecycle.unsafeMake(definition)
        expect(shortestPaths(lifecycle)).toEqual(xstateShortestPaths(lifecycle))
      }),
      { numRuns: 300 },
    )
  })

  it("replays every path through start + transition, and reaches every state the pure transition reaches", () => {
    fc.assert(
      fc.property(arbValidDefinition({ maxStates: 12 }), (definition) => {
        const lifecycle = Lifecycle.unsafeMake(definition)
        const paths = shortestPaths(lifecycle)
        for (const path of paths) expect(replay(lifecycle, path.events).state).toBe(path.state)
        expect(new Map(paths.map((p) => [p.state, p.events.length]))).toEqual(distances(lifecycle))
      }),
      { numRuns: 200 },
    )
  })
})

describe("eventsToTry", () => {
  it.each(examples)(
    "has a transition into every target of $name's table, each with what the target needs",
    ({ lifecycle }) => {
      const events = eventsToTry(lifecycle)
      for (const s of lifecycle.states.values()) {
        for (const to of s.targetList) {
          const found = events.filter((e) => e.type === "transition" && e.to === to)
          expect(found, `transition to ${to}`).toHaveLength(1)
          const rule = lifecycle.states.get(to)?.dispositions
          const event = found[0]
          if (event?.type !== "transition") throw new Error("unreachable")
          if (rule?.required === true) expect(rule.list).toContain(event.disposition)
          else expect(event.disposition).toBeUndefined()
        }
      }
    },
  )

  it("adds snooze, wake, followUpDue and reopen (with the first reason) for the auto dealer", () => {
    const events = eventsToTry(Lifecycle.unsafeMake(autoDealer))
    expect(events.filter((e) => e.type !== "transition")).toEqual([
      { type: "snooze" },
      { type: "wake" },
      { type: "followUpDue" },
      { type: "reopen", to: "contacted", reason: "customer_called_back" },
    ])
  })

  it("adds only the reopen for b2b, which has no snooze or follow-ups", () => {
    const events = eventsToTry(Lifecycle.unsafeMake(b2b))
    expect(events.filter((e) => e.type !== "transition")).toEqual([{ type: "reopen", to: "qualified" }])
  })
})

describe("shortestPaths, on chosen cases", () => {
  it("reaches follow-ups by followUpDue, the snooze state by snooze, lost with its first disposition", () => {
    const paths = new Map(shortestPaths(Lifecycle.unsafeMake(autoDealer)).map((p) => [p.state, p.events]))
    expect(paths.get("followup_2")).toEqual([
      { type: "transition", to: "contacted" },
      { type: "followUpDue" },
      { type: "followUpDue" },
    ])
    expect(paths.get("snoozed")).toEqual([{ type: "snooze" }])
    expect(paths.get("lost")).toEqual([{ type: "transition", to: "lost", disposition: "not_interested" }])
  })

  // A state reachable only through a reopen with reasons, and a snooze state reachable only
  // from a state two moves in.
  const revival = Lifecycle.unsafeMake({
    name: "revival",
    initial: "new",
    states: [
      { name: "new" },
      { name: "working" },
      { name: "closed-won", final: true },
      { name: "revived" },
      { name: "nap" },
    ],
    transitions: [
      { from: "new", to: "working" },
      { from: "working", to: "closed-won" },
      { from: "revived", to: "working" },
    ],
    dispositions: { "closed-won": { required: true, allowed: ["signed", "verbal"] } },
    snooze: { state: "nap", from: ["working"] },
    reopen: [{ from: "closed-won", to: "revived", reasons: ["churn_risk", "upsell"] }],
  })

  it("goes through a reopen with its first reason, and snoozes from the only snoozable state", () => {
    const paths = new Map(shortestPaths(revival).map((p) => [p.state, p.events]))
    expect(paths.get("revived")).toEqual([
      { type: "transition", to: "working" },
      { type: "transition", to: "closed-won", disposition: "signed" },
      { type: "reopen", to: "revived", reason: "churn_risk" },
    ])
    expect(paths.get("nap")).toEqual([{ type: "transition", to: "working" }, { type: "snooze" }])
    for (const [state, events] of paths) expect(replay(revival, events).state).toBe(state)
  })

  it("breaks ties by the order of eventsToTry, which follows the definition", () => {
    const diamond = (first: string, second: string) =>
      Lifecycle.unsafeMake({
        name: "diamond",
        initial: "new",
        states: [{ name: "new" }, { name: "left" }, { name: "right" }, { name: "done", final: true }],
        transitions: [
          { from: "new", to: first },
          { from: "new", to: second },
          { from: ["left", "right"], to: "done" },
        ],
      })
    const via = (l: Lifecycle.Lifecycle) => shortestPaths(l).find((p) => p.state === "done")?.events[0]
    expect(via(diamond("left", "right"))).toEqual({ type: "transition", to: "left" })
    expect(via(diamond("right", "left"))).toEqual({ type: "transition", to: "right" })
  })

  // XState reads "." in a transition target as a path to a child state; the generated
  // machine escapes its targets so a state named "stage.1" works.
  it("handles state names with '.'", () => {
    const dotted = Lifecycle.unsafeMake({
      name: "dotted",
      initial: "new",
      states: [{ name: "new" }, { name: "stage.1" }, { name: "done", final: true }],
      transitions: [
        { from: "new", to: "stage.1" },
        { from: "stage.1", to: "done" },
      ],
    })
    expect(shortestPaths(dotted).map((p) => p.state)).toEqual(["new", "stage.1", "done"])
  })
})
