import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { autoDealer } from "../src/examples/autoDealer.js"
import { b2b } from "../src/examples/b2b.js"
import type { LifecycleProblem } from "../src/InvalidLifecycle.js"
import * as Lifecycle from "../src/Lifecycle.js"
import * as LifecycleDefinition from "../src/LifecycleDefinition.js"

const problemsOf = (input: unknown): ReadonlyArray<LifecycleProblem> => {
  const result = Lifecycle.make(input)
  if (Either.isRight(result)) throw new Error("expected the definition to be rejected")
  return result.left.problems
}

const base = {
  name: "t",
  initial: "new",
  states: [{ name: "new" }, { name: "working" }, { name: "done", final: true }],
  transitions: [
    { from: "new", to: "working" },
    { from: "working", to: "done" },
  ],
}

describe("Lifecycle.make", () => {
  it("accepts the shipped examples", () => {
    expect(Either.isRight(Lifecycle.make(autoDealer))).toBe(true)
    expect(Either.isRight(Lifecycle.make(b2b))).toBe(true)
  })

  it("expands wildcards to every non-final state except the target", () => {
    const lc = Lifecycle.unsafeMake(autoDealer)
    const intoLost = [...lc.states.values()].filter((s) => s.targets.has("lost")).map((s) => s.name)
    expect(intoLost).toEqual([
      "new",
      "contacted",
      "followup_1",
      "followup_2",
      "followup_3",
      "interested",
      "test_drive_booked",
      "snoozed",
    ])
  })

  it("reports every problem at once, each with its path and an actionable sentence", () => {
    const problems = problemsOf({
      ...base,
      states: [...base.states, { name: "new" }, { name: "orphan" }],
      transitions: [...base.transitions, { from: "done", to: "new" }, { from: "working", to: "dne" }],
      dispositions: { new: { required: false, allowed: ["x"] }, done: { required: true, allowed: [] } },
    })
    expect(problems.map((p) => [p.code, p.path])).toEqual([
      ["DuplicateState", "states[3].name"],
      ["FinalHasTransitions", "transitions[2].from"],
      ["UnknownState", "transitions[3].to"],
      ["DispositionsOnStateWithoutEntry", "dispositions.new"],
      ["EmptyRequiredDispositions", "dispositions.done"],
      ["UnreachableState", "states[4]"],
    ])
    expect(problems[2]?.message).toBe(
      '"dne" is not a declared state. Did you mean "done"? Declared states: new, working, done, orphan.',
    )
    expect(problems[5]?.message).toContain('"orphan" cannot be reached from the initial state "new"')
  })

  it("names an unknown initial state and suggests a close one", () => {
    const [p] = problemsOf({ ...base, initial: "nwe" })
    expect(p).toMatchObject({ code: "UnknownInitial", path: "initial" })
    expect(p?.message).toContain('Did you mean "new"?')
  })

  it("rejects a backward transition under forward-only ordering", () => {
    const problems = problemsOf({
      ...base,
      ordering: "forward-only",
      states: [
        { name: "new", rank: 0 },
        { name: "working", rank: 1 },
        { name: "done", final: true, rank: 2 },
      ],
      transitions: [...base.transitions, { from: "working", to: "new" }],
    })
    expect(problems).toEqual([expect.objectContaining({ code: "BackwardTransition", path: "transitions[2]" })])
  })

  it("checks snooze, follow-up and reopen configuration", () => {
    const problems = problemsOf({
      ...base,
      snooze: { state: "done" },
      followUps: {
        states: ["working", "working"],
        startFrom: ["done"],
        intervalMs: 10,
        exhausted: { to: "done", disposition: "gone" },
      },
      reopen: [{ from: "working", to: "new" }],
    })
    expect(problems.map((p) => p.code)).toEqual([
      "SnoozeMisconfigured", // transitions[1] targets the snooze state
      "SnoozeMisconfigured", // the snooze state is final
      "FollowUpMisconfigured",
      "SnoozeMisconfigured", // follow-ups run out into the snooze state
      "FollowUpMisconfigured",
      "ReopenMisconfigured",
      "FollowUpMisconfigured",
    ])
  })

  it("turns shape errors into problems with paths", () => {
    const problems = problemsOf({ name: "t", states: [{ name: "9lives" }], transitions: [{ from: "a" }], extra: 1 })
    expect(problems.every((p) => p.code === "Shape")).toBe(true)
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(["initial", "states[0].name", "transitions[0].to", "extra"]),
    )
  })

  it("accepts a $schema key, as editors add for the JSON Schema", () => {
    expect(Either.isRight(Lifecycle.make({ ...base, $schema: "./lifecycle.schema.json" }))).toBe(true)
  })

  it("reports a definition that is not an object", () => {
    for (const input of [null, 3, "lifecycle", []]) {
      const result = Lifecycle.make(input)
      expect(Either.isLeft(result) && result.left.problems[0]?.code).toBe("Shape")
    }
  })

  it("formats InvalidLifecycle as one readable message", () => {
    const result = Lifecycle.make({ ...base, initial: "nope" })
    expect(Either.isLeft(result) && result.left.message).toMatch(/^Lifecycle "t" has 1 problem:\n {2}- initial: /)
  })
})

describe("LifecycleDefinition.jsonSchema", () => {
  it("exports the definition format as JSON Schema", () => {
    const schema = LifecycleDefinition.jsonSchema()
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#")
    const root = JSON.stringify(schema)
    for (const key of ["initial", "states", "transitions", "dispositions", "snooze", "followUps", "reopen"]) {
      expect(root).toContain(`"${key}"`)
    }
  })
})
