import { expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { arbSnapshot, arbValidDefinition } from "../../testkit/src/index.js"
import * as InputLimits from "../src/InputLimits.js"
import { ProblemCode } from "../src/InvalidLifecycle.js"
import * as LeadSnapshot from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import { start, transition } from "../src/transition.js"

/** Anything JavaScript can hold, nested or not, including what JSON cannot carry. */
const anything: fc.Arbitrary<unknown> = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
})

/** Objects or arrays nested far beyond the limits, around any leaf. */
const deep: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.oneof(fc.integer({ min: 30, max: 40 }), fc.constantFrom(2_000, 10_000)),
    fc.boolean(),
    fc.jsonValue({ maxDepth: 1 }),
  )
  .map(([depth, arrays, leaf]) => {
    let value: unknown = leaf
    for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value }
    return value
  })

/** A "__proto__" own key, as JSON.parse makes it, somewhere in an object. */
const protoKey: fc.Arbitrary<unknown> = fc
  .jsonValue({ maxDepth: 2 })
  .map((inner) => JSON.parse(`{"k":1,"__proto__":${JSON.stringify(inner)}}`) as unknown)

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: anything },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: protoKey },
  {
    weight: 1,
    arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, undefined, 10n, new Array<number>(3), () => 1),
  },
)

/** Times that are valid, just out of range, fractional, negative or not numbers at all. */
const hostileTime: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 4_000_000_000_000 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      InputLimits.maxTime,
      InputLimits.maxTime - 1,
      InputLimits.maxTime + 1,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_VALUE,
      -1,
      0.5,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ),
  },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: hostile },
)

const definitionKeys = [
  "name",
  "initial",
  "states",
  "transitions",
  "dispositions",
  "ordering",
  "snooze",
  "followUps",
  "reopen",
  "description",
] as const

/** Values put where a definition expects them; numbers include durations far too long. */
const hostileDefinition: fc.Arbitrary<unknown> = fc.oneof(
  hostile,
  fc
    .tuple(arbValidDefinition(), fc.constantFrom(...definitionKeys), hostile)
    .map(([definition, key, value]) => ({ ...definition, [key]: value })),
  // The same definition written as JSON text, with a "__proto__" key among its dispositions.
  arbValidDefinition().map((definition) =>
    JSON.parse(
      JSON.stringify({
        ...definition,
        dispositions: { ...definition.dispositions, PROTO: { required: false, allowed: [] } },
      }).replace('"PROTO"', '"__proto__"'),
    ),
  ),
  fc
    .tuple(arbValidDefinition(), hostileTime)
    .map(([definition, ms]) =>
      definition.snooze === undefined ? definition : { ...definition, snooze: { ...definition.snooze, defaultMs: ms } },
    ),
)

it.prop(
  "Lifecycle.make never throws: every hostile definition is InvalidLifecycle, one sentence per problem",
  { input: hostileDefinition },
  ({ input }) => {
    const result = Lifecycle.make(input)
    expect(Either.isEither(result)).toBe(true)
    if (Either.isRight(result)) return
    expect(result.left._tag).toBe("InvalidLifecycle")
    const seen = new Set<string>()
    for (const problem of result.left.problems) {
      expect(ProblemCode.literals).toContain(problem.code)
      // No raw Schema output, and never two shape problems for one path.
      expect(problem.message).not.toMatch(/Expected |, actual |└─/)
      if (problem.code === "Shape") {
        expect(seen.has(problem.path), problem.path).toBe(false)
        seen.add(problem.path)
      }
    }
    expect(typeof result.left.message).toBe("string")
  },
  { fastCheck: { numRuns: 300 } },
)

const snapshotKeys = ["leadId", "state", "enteredAt", "updatedAt", "metadata", "due", "history", "version"] as const

const hostileSnapshot: fc.Arbitrary<unknown> = fc.oneof(
  hostile,
  fc
    .tuple(arbSnapshot(), fc.constantFrom(...snapshotKeys), hostile)
    .map(([snapshot, key, value]) => ({ ...LeadSnapshot.encode(snapshot), [key]: value })),
  fc
    .tuple(arbSnapshot(), fc.string({ maxLength: 4 }), hostile)
    .map(([snapshot, key, value]) => ({ ...LeadSnapshot.encode(snapshot), metadata: { [key]: value } })),
)

/** `toJson`, then `fromJson`, gives the same JSON text again. */
const roundTrips = (snapshot: LeadSnapshot.LeadSnapshot) => {
  const json = LeadSnapshot.toJson(snapshot)
  const again = LeadSnapshot.fromJson(json)
  expect(Either.isRight(again) ? LeadSnapshot.toJson(again.right) : again.left.message).toBe(json)
}

it.prop(
  "LeadSnapshot.decode never throws, and every snapshot it accepts round-trips through toJson / fromJson",
  { input: hostileSnapshot },
  ({ input }) => {
    const result = LeadSnapshot.decode(input)
    expect(Either.isEither(result)).toBe(true)
    if (Either.isLeft(result)) expect(result.left._tag).toBe("InvalidSnapshot")
    else roundTrips(result.right)
  },
  { fastCheck: { numRuns: 300 } },
)

const eventTypes = ["transition", "updateMetadata", "snooze", "wake", "followUpDue", "reopen"] as const

const hostileEvents = (states: ReadonlyArray<string>): fc.Arbitrary<ReadonlyArray<unknown>> =>
  fc.array(
    fc.oneof(
      { weight: 1, arbitrary: hostile },
      {
        weight: 6,
        arbitrary: fc.record(
          {
            type: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...eventTypes) }, { weight: 1, arbitrary: hostile }),
            to: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...states) }, { weight: 1, arbitrary: hostile }),
            at: hostileTime,
            until: hostileTime,
            metadata: fc.oneof(
              { weight: 2, arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })) },
              { weight: 3, arbitrary: fc.dictionary(fc.string({ maxLength: 4 }), hostile, { maxKeys: 3 }) },
              { weight: 1, arbitrary: hostile },
            ),
            note: fc.oneof(fc.string({ maxLength: 8 }), hostile),
            actor: fc.string({ maxLength: 8 }),
          },
          { requiredKeys: ["type"] },
        ),
      },
    ),
    { maxLength: 8 },
  )

it.prop(
  "transition never throws on hostile events; what it accepts round-trips and holds only valid times",
  {
    input: arbValidDefinition().chain((definition) =>
      fc.record({
        definition: fc.constant(definition),
        at: fc.integer({ min: 0, max: 4_000_000_000_000 }),
        events: hostileEvents(definition.states.map((s) => s.name)),
      }),
    ),
  },
  ({ input: { definition, at, events } }) => {
    const lifecycle = Lifecycle.unsafeMake(definition)
    let snapshot = start(lifecycle, { leadId: "lead-1", at }).snapshot
    for (const event of events) {
      const result = transition(lifecycle, snapshot, event)
      expect(Either.isEither(result)).toBe(true)
      if (Either.isLeft(result)) continue
      snapshot = result.right.snapshot
      roundTrips(snapshot)
      const times = [
        snapshot.enteredAt,
        snapshot.updatedAt,
        ...(snapshot.due === undefined ? [] : [snapshot.due.at]),
        ...result.right.intents.flatMap((i) => [
          i.at,
          ...("snoozeUntil" in i && i.snoozeUntil !== undefined ? [i.snoozeUntil] : []),
        ]),
      ]
      // Every time an adapter may turn into a Date is one.
      for (const t of times) expect(InputLimits.isTime(t) && new Date(t).toISOString().length > 0).toBe(true)
    }
  },
  { fastCheck: { numRuns: 300 } },
)
