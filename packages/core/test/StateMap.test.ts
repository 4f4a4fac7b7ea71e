import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { autoDealer } from "../src/examples/autoDealer.js"
import * as Lifecycle from "../src/Lifecycle.js"
import * as StateMap from "../src/StateMap.js"

const dealer = Lifecycle.unsafeMake(autoDealer)

/** Voxys-like map of the auto-dealer lifecycle: every active state is "open". */
const voxysStates = {
  new: "open",
  contacted: "open",
  followup_1: "open",
  followup_2: "open",
  followup_3: "open",
  interested: "open",
  test_drive_booked: "open",
  converted: "won",
  lost: "lost",
  snoozed: "snoozed",
}
const voxys = { vendor: "voxys", vocabulary: ["open", "won", "lost", "snoozed"], inbound: true }

const problemsOf = <A>(result: Either.Either<A, StateMap.InvalidStateMap>): ReadonlyArray<string> =>
  Either.isLeft(result) ? result.left.problems : []

// --- arbitraries ----------------------------------------------------------------------------

const nameArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,5}$/)

/** A small valid lifecycle: the first state leads to every other one. */
const randomLifecycleArb: fc.Arbitrary<Lifecycle.Lifecycle> = fc
  .uniqueArray(nameArb, { minLength: 1, maxLength: 6 })
  .map(([initial = "a", ...rest]) =>
    Lifecycle.unsafeMake({
      name: "random",
      initial,
      states: [initial, ...rest].map((name) => ({ name })),
      transitions: rest.map((to) => ({ from: initial, to })),
    }),
  )

const lifecycleArb = fc.oneof(fc.constant(dealer), randomLifecycleArb)

/** Vendor values, distinct from any state name (capitalised) so confusions show. */
const vocabularyArb = fc.uniqueArray(fc.stringMatching(/^[A-Z][a-z]{0,4}$/), { minLength: 1, maxLength: 4 })

interface Scenario {
  readonly lifecycle: Lifecycle.Lifecycle
  readonly vocabulary: ReadonlyArray<string>
  readonly config: { readonly states: Record<string, string>; readonly reverse: Record<string, string> }
  readonly unmapped: ReadonlyArray<string>
  /** Vendor value -> the lifecycle states mapping to it. */
  readonly sources: ReadonlyMap<string, ReadonlyArray<string>>
  /** Shared vendor values (several states) with no declared reverse. */
  readonly sharedWithoutReverse: ReadonlyArray<string>
}

/**
 * A lifecycle, a vocabulary, and a map of each state to a vocabulary value. With `omit`, some
 * states are left unmapped; with `reverseAll`, every shared value gets a reverse, otherwise some do.
 */
const scenarioArb = (options: { readonly omit: boolean; readonly reverseAll: boolean }): fc.Arbitrary<Scenario> =>
  fc.tuple(lifecycleArb, vocabularyArb).chain(([lifecycle, vocabulary]) => {
    const n = lifecycle.stateNames.length
    const pick = fc.nat({ max: vocabulary.length - 1 })
    return fc
      .record({
        assigned: fc.array(options.omit ? fc.option(pick, { nil: undefined, freq: 4 }) : pick, {
          minLength: n,
          maxLength: n,
        }),
        reversePicks: fc.array(options.reverseAll ? fc.nat() : fc.option(fc.nat(), { nil: undefined }), {
          minLength: vocabulary.length,
          maxLength: vocabulary.length,
        }),
      })
      .map(({ assigned, reversePicks }): Scenario => {
        const states: Record<string, string> = {}
        const unmapped: Array<string> = []
        const sources = new Map<string, Array<string>>()
        lifecycle.stateNames.forEach((state, i) => {
          const index = assigned[i]
          const value = index === undefined ? undefined : vocabulary[index]
          if (value === undefined) unmapped.push(state)
          else {
            states[state] = value
            sources.set(value, [...(sources.get(value) ?? []), state])
          }
        })
        const reverse: Record<string, string> = {}
        const sharedWithoutReverse: Array<string> = []
        vocabulary.forEach((value, i) => {
          const from = sources.get(value) ?? []
          if (from.length < 2) return
          const r = reversePicks[i]
          const chosen = r === undefined ? undefined : from[r % from.length]
          if (chosen === undefined) sharedWithoutReverse.push(value)
          else reverse[value] = chosen
        })
        return { lifecycle, vocabulary, config: { states, reverse }, unmapped, sources, sharedWithoutReverse }
      })
  })

const build = (s: Scenario, inbound: boolean, vocabulary: ReadonlyArray<string> | undefined = s.vocabulary) =>
  StateMap.make(s.lifecycle, s.config, {
    vendor: "acme",
    inbound,
    ...(vocabulary === undefined ? {} : { vocabulary }),
  })

const shared = (s: Scenario) => [...s.sources].filter(([, from]) => from.length > 1).map(([value]) => value)

// --- properties -----------------------------------------------------------------------------

describe("StateMap.make (properties)", () => {
  it.prop(
    "succeeds iff every state is mapped and, with inbound, every shared value has a reverse",
    [scenarioArb({ omit: true, reverseAll: false }), fc.boolean()],
    ([s, inbound]) => {
      const result = build(s, inbound)
      const expectOk = s.unmapped.length === 0 && (!inbound || s.sharedWithoutReverse.length === 0)
      assert.strictEqual(Either.isRight(result), expectOk, JSON.stringify(problemsOf(result)))
      const problems = problemsOf(result)
      const unmappedProblems = problems.filter((p) => p.includes("is not mapped"))
      assert.strictEqual(unmappedProblems.length, s.unmapped.length)
      for (const state of s.unmapped) {
        assert.isTrue(
          unmappedProblems.some((p) => p.startsWith(`state "${state}" is not mapped`)),
          `unmapped "${state}" not named in ${JSON.stringify(problems)}`,
        )
        if (Either.isLeft(result)) assert.include(result.left.message, `"${state}"`)
      }
      const severalProblems = problems.filter((p) => p.includes("stands for several states"))
      assert.strictEqual(severalProblems.length, inbound ? s.sharedWithoutReverse.length : 0)
      for (const value of inbound ? s.sharedWithoutReverse : []) {
        const from = s.sources.get(value) ?? []
        assert.isTrue(
          severalProblems.some((p) => p.includes(`"${value}"`) && from.every((st) => p.includes(st))),
          `shared "${value}" not named in ${JSON.stringify(problems)}`,
        )
      }
    },
  )

  it.prop(
    "toVendor is total over the lifecycle's states and returns the configured value",
    [scenarioArb({ omit: false, reverseAll: false })],
    ([s]) => {
      const map = Either.getOrThrow(build(s, false))
      for (const state of s.lifecycle.stateNames) {
        const value = map.toVendor(state)
        assert.strictEqual(value, s.config.states[state])
        assert.include(s.vocabulary, value)
      }
    },
  )

  it.prop(
    "round trips: toVendor(fromVendor(v)) === v on the image; fromVendor(toVendor(s)) === s when injective",
    [scenarioArb({ omit: false, reverseAll: true })],
    ([s]) => {
      const map = Either.getOrThrow(build(s, true))
      const image = new Set(Object.values(s.config.states))
      for (const value of image) {
        const state = map.fromVendor(value)
        assert.isDefined(state, `fromVendor("${value}")`)
        assert.strictEqual(map.toVendor(state ?? ""), value)
      }
      for (const value of s.vocabulary) if (!image.has(value)) assert.isUndefined(map.fromVendor(value))
      for (const state of s.lifecycle.stateNames) {
        const back = map.fromVendor(map.toVendor(state))
        if (image.size === s.lifecycle.stateNames.length) assert.strictEqual(back, state)
        else assert.strictEqual(map.toVendor(back ?? ""), map.toVendor(state))
      }
      for (const [value, state] of Object.entries(s.config.reverse)) assert.strictEqual(map.fromVendor(value), state)
    },
  )

  it.prop(
    "outbound-only maps read back every unshared value, and no shared value without a reverse",
    [scenarioArb({ omit: false, reverseAll: false })],
    ([s]) => {
      const map = Either.getOrThrow(build(s, false))
      for (const [value, from] of s.sources) {
        const declared = s.config.reverse[value]
        if (from.length === 1) assert.strictEqual(map.fromVendor(value), from[0])
        else assert.strictEqual(map.fromVendor(value), declared)
      }
    },
  )

  it.prop(
    "names every state whose value is outside the vendor's vocabulary",
    [scenarioArb({ omit: false, reverseAll: true }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })],
    ([s, keep]) => {
      const known = s.vocabulary.filter((_, i) => keep[i] === true)
      const result = build(s, false, known)
      const offenders = Object.entries(s.config.states).filter(([, value]) => !known.includes(value))
      assert.strictEqual(Either.isLeft(result), offenders.length > 0)
      const problems = problemsOf(result).filter((p) => p.includes("does not know"))
      assert.strictEqual(problems.length, offenders.length)
      for (const [state, value] of offenders) {
        assert.isTrue(problems.some((p) => p.startsWith(`state "${state}" maps to "${value}"`)))
        for (const v of known)
          assert.isTrue(
            problems.every((p) => p.includes(v)),
            "lists the vocabulary",
          )
      }
    },
  )

  it.prop(
    "rejects a reverse entry pointing to a state that does not map to that value",
    [scenarioArb({ omit: false, reverseAll: true }), fc.nat(), fc.nat(), fc.boolean()],
    ([s, vi, si, inbound]) => {
      const image = [...s.sources.keys()]
      const value = image[vi % image.length] ?? ""
      const others = s.lifecycle.stateNames.filter((st) => s.config.states[st] !== value)
      const wrong = others[si % Math.max(1, others.length)] ?? "not_a_state"
      const result = StateMap.make(
        s.lifecycle,
        { states: s.config.states, reverse: { ...s.config.reverse, [value]: wrong } },
        { vendor: "acme", inbound },
      )
      assert.isTrue(Either.isLeft(result))
      const problems = problemsOf(result)
      assert.strictEqual(problems.length, 1, JSON.stringify(problems))
      assert.include(problems[0] ?? "", `reverse maps "${value}" to "${wrong}"`)
    },
  )

  it.prop(
    "rejects a reverse entry for a value no state maps to",
    [scenarioArb({ omit: false, reverseAll: true }), fc.boolean()],
    ([s, inbound]) => {
      const result = StateMap.make(
        s.lifecycle,
        { states: s.config.states, reverse: { ...s.config.reverse, Zz_unused: s.lifecycle.initial } },
        { vendor: "acme", inbound },
      )
      assert.deepStrictEqual(problemsOf(result), [`reverse has "Zz_unused", but no state maps to it. Remove it.`])
    },
  )

  it.prop(
    "lossy lists exactly the values several states share, once each",
    [scenarioArb({ omit: false, reverseAll: false })],
    ([s]) => {
      const map = Either.getOrThrow(build(s, false))
      assert.deepStrictEqual([...map.lossy].sort(), shared(s).sort())
    },
  )

  it.prop(
    "names every key of states that is not a state of the lifecycle",
    [
      scenarioArb({ omit: false, reverseAll: true }),
      fc.uniqueArray(fc.stringMatching(/^X[a-z]{0,4}$/), { maxLength: 3 }),
    ],
    ([s, extras]) => {
      const states = { ...s.config.states }
      for (const extra of extras) states[extra] = s.vocabulary[0] ?? "v"
      const result = StateMap.make(
        s.lifecycle,
        { states, reverse: s.config.reverse },
        { vendor: "acme", inbound: false },
      )
      assert.strictEqual(Either.isLeft(result), extras.length > 0)
      const problems = problemsOf(result)
      assert.strictEqual(problems.length, extras.length)
      for (const extra of extras) assert.isTrue(problems.some((p) => p.startsWith(`"${extra}" in states`)))
    },
  )
})

// --- the auto-dealer example ----------------------------------------------------------------

describe("StateMap.make (auto-dealer on a Voxys-like vendor)", () => {
  it("accepts a total map with a reverse for the shared value", () => {
    const map = Either.getOrThrow(StateMap.make(dealer, { states: voxysStates, reverse: { open: "contacted" } }, voxys))
    assert.strictEqual(map.vendor, "voxys")
    assert.deepStrictEqual(map.lossy, ["open"])
    assert.strictEqual(map.toVendor("followup_2"), "open")
    assert.strictEqual(map.fromVendor("open"), "contacted")
    assert.strictEqual(map.fromVendor("won"), "converted")
    assert.strictEqual(map.fromVendor("snoozed"), "snoozed")
    assert.isUndefined(map.fromVendor("archived"))
  })

  it("without the reverse, inbound use is refused naming the value and its states", () => {
    const result = StateMap.make(dealer, { states: voxysStates }, voxys)
    assert.deepStrictEqual(problemsOf(result), [
      `voxys value "open" stands for several states (new, contacted, followup_1, followup_2, followup_3, interested, test_drive_booked); declare reverse["open"] so inbound data can be read.`,
    ])
    assert.isTrue(Either.isRight(StateMap.make(dealer, { states: voxysStates }, { ...voxys, inbound: false })))
  })

  it("an unmapped state and a value outside the vocabulary are both reported, in one error", () => {
    const { snoozed: _, ...withoutSnoozed } = voxysStates
    const result = StateMap.make(
      dealer,
      { states: { ...withoutSnoozed, lost: "closed" }, reverse: { open: "new" } },
      voxys,
    )
    assert.isTrue(Either.isLeft(result))
    if (Either.isRight(result)) return
    assert.strictEqual(result.left._tag, "InvalidStateMap")
    assert.strictEqual(result.left.lifecycle, "auto-dealer-voice")
    assert.deepStrictEqual(result.left.problems, [
      `state "lost" maps to "closed", which voxys does not know. Use one of: open, won, lost, snoozed.`,
      `state "snoozed" is not mapped. Add "snoozed" to states with its voxys value.`,
    ])
    assert.include(result.left.message, `The voxys state map does not fit lifecycle "auto-dealer-voice":`)
  })

  it("maps dispositions both ways, passing unmapped ones through", () => {
    const map = Either.getOrThrow(
      StateMap.make(
        dealer,
        { states: voxysStates, reverse: { open: "new" }, dispositions: { not_interested: "NI", do_not_call: "DNC" } },
        voxys,
      ),
    )
    assert.strictEqual(map.dispositionToVendor("not_interested"), "NI")
    assert.strictEqual(map.dispositionToVendor("purchased"), "purchased")
    assert.strictEqual(map.dispositionFromVendor("DNC"), "do_not_call")
    assert.strictEqual(map.dispositionFromVendor("leased"), "leased")
  })

  it("rejects a disposition the lifecycle does not have", () => {
    const result = StateMap.make(
      dealer,
      { states: voxysStates, reverse: { open: "new" }, dispositions: { nope: "N" } },
      voxys,
    )
    assert.deepStrictEqual(problemsOf(result), [
      `disposition "nope" is not a disposition of lifecycle "auto-dealer-voice". Remove it or fix its name.`,
    ])
  })
})

describe("StateMap.make (names that are Object.prototype keys)", () => {
  const protoLifecycle = Lifecycle.unsafeMake({
    name: "proto",
    initial: "start",
    states: [{ name: "start" }, { name: "toString" }, { name: "constructor", final: true }],
    transitions: [
      { from: "start", to: "toString" },
      { from: "*", to: "constructor" },
    ],
    dispositions: { constructor: { required: false, allowed: ["valueOf"] } },
  })

  // Regression: plain-object lookups found inherited Object.prototype members, so a state named
  // "toString" or "constructor" was never reported unmapped and toVendor returned a function.
  it("an unmapped state named like a prototype key is still reported", () => {
    const result = StateMap.make(protoLifecycle, { states: { start: "open" } }, { vendor: "acme", inbound: false })
    assert.deepStrictEqual(problemsOf(result), [
      `state "toString" is not mapped. Add "toString" to states with its acme value.`,
      `state "constructor" is not mapped. Add "constructor" to states with its acme value.`,
    ])
  })

  // Regression: a vendor value named "constructor" picked up Object's constructor as its declared
  // reverse and was rejected.
  it("a vendor value named like a prototype key reads back with an empty reverse", () => {
    const result = StateMap.make(
      protoLifecycle,
      { states: { start: "constructor", toString: "b", constructor: "c" }, reverse: {} },
      { vendor: "acme", inbound: true },
    )
    assert.deepStrictEqual(problemsOf(result), [])
    assert.strictEqual(Either.getOrThrow(result).fromVendor("constructor"), "start")
  })

  // Regression: dispositionToVendor returned Object.prototype.valueOf for an unmapped "valueOf".
  it("an unmapped disposition named like a prototype key passes through unchanged", () => {
    const map = Either.getOrThrow(
      StateMap.make(
        protoLifecycle,
        { states: { start: "a", toString: "b", constructor: "c" } },
        { vendor: "acme", inbound: false },
      ),
    )
    assert.strictEqual(map.dispositionToVendor("valueOf"), "valueOf")
  })
})
