import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import {
  additiveDefectKinds,
  arbDefect,
  arbValidDefinition,
  defectKinds,
  type InjectedDefect,
  injectDefect,
} from "../../testkit/src/index.js"
import { ProblemCode } from "../src/InvalidLifecycle.js"
import * as Lifecycle from "../src/Lifecycle.js"

const problemsOf = (input: unknown) => {
  const result = Lifecycle.make(input)
  return Either.isLeft(result) ? result.left.problems : []
}

const describeProblems = (input: unknown): string => {
  const result = Lifecycle.make(input)
  return Either.isLeft(result) ? result.left.message : "accepted"
}

it.prop(
  "Lifecycle.make accepts every generated valid definition",
  { definition: arbValidDefinition() },
  ({ definition }) => {
    const result = Lifecycle.make(definition)
    expect(Either.isRight(result) ? "accepted" : result.left.message).toBe("accepted")
    if (Either.isRight(result)) {
      const lifecycle = result.right
      expect(lifecycle.initial).toBe(definition.initial)
      expect(lifecycle.stateNames).toEqual(definition.states.map((s) => s.name))
      // The definition is data: its JSON round trip is just as valid.
      expect(Either.isRight(Lifecycle.make(JSON.parse(JSON.stringify(definition))))).toBe(true)
    }
  },
  { fastCheck: { numRuns: 300 } },
)

it.prop(
  "Lifecycle.make never throws, and every rejection lists problems with a code and a path",
  {
    input: fc.oneof(
      fc.anything(),
      // Valid definitions with one field replaced by anything.
      fc
        .tuple(
          arbValidDefinition(),
          fc.constantFrom(
            "initial",
            "states",
            "transitions",
            "dispositions",
            "snooze",
            "followUps",
            "reopen",
            "ordering",
            "name",
          ),
          fc.anything(),
        )
        .map(([definition, key, value]) => ({ ...definition, [key]: value })),
    ),
  },
  ({ input }) => {
    const result = Lifecycle.make(input)
    expect(Either.isEither(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("InvalidLifecycle")
      expect(result.left.problems.length).toBeGreaterThan(0)
      for (const problem of result.left.problems) {
        expect(ProblemCode.literals).toContain(problem.code)
        expect(typeof problem.path).toBe("string")
        expect(problem.message.length).toBeGreaterThan(0)
      }
      expect(typeof result.left.message).toBe("string")
    }
  },
  { fastCheck: { numRuns: 300 } },
)

const reports = ({ definition, code, path }: InjectedDefect) => {
  const problems = problemsOf(definition)
  expect(
    problems.some((p) => p.code === code && p.path === path),
    `expected ${code} at ${path}; got:\n${describeProblems(definition)}\n${JSON.stringify(definition)}`,
  ).toBe(true)
}

describe("one injected defect is rejected, with its code and path", () => {
  for (const kind of defectKinds) {
    it.prop(kind, { defect: arbDefect([kind]) }, ({ defect }) => reports(defect), { fastCheck: { numRuns: 40 } })
  }
})

it.prop(
  "several defects are all reported at once",
  {
    input: fc.tuple(
      arbValidDefinition(),
      fc.uniqueArray(fc.tuple(fc.constantFrom(...additiveDefectKinds), fc.nat()), {
        selector: ([kind]) => kind,
        minLength: 2,
        maxLength: 4,
      }),
    ),
  },
  ({ input: [valid, injections] }) => {
    let definition = valid
    const expected: Array<InjectedDefect> = []
    for (const [kind, seed] of injections) {
      const defect = injectDefect(definition, kind, seed, { append: true })
      expected.push(defect)
      definition = defect.definition
    }
    for (const defect of expected) reports({ ...defect, definition })
  },
  { fastCheck: { numRuns: 150 } },
)

// A lead whose follow-ups ran out into the snooze state would have nothing to wake back to
// (found by this suite; it used to be accepted).
it("follow-ups may not run out into the snooze state", () => {
  const problems = problemsOf({
    name: "exhausted-into-snooze",
    initial: "new",
    states: [{ name: "new" }, { name: "followup_1" }, { name: "snoozed" }],
    transitions: [{ from: "new", to: "followup_1" }],
    snooze: { state: "snoozed" },
    followUps: { states: ["followup_1"], startFrom: ["new"], intervalMs: 1_000, exhausted: { to: "snoozed" } },
  })
  expect(problems.map((p) => p.code)).toContain("SnoozeMisconfigured")
})
