/**
 * Paths on big lifecycles: the search is one breadth-first pass over the compiled table
 * (linear), never the XState machine, and listing every path is refused past `maxStates`.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import * as Lifecycle from "../src/Lifecycle.js"
import { defaultMaxStates, shortestPaths, TooManyStates, tree } from "../src/Paths.js"
import { start, transition } from "../src/transition.js"

/** `n` states in a chain with a skip every third state, a wildcard to "lost", snooze, follow-ups, reopen. */
const chain = (n: number) => {
  const names = Array.from({ length: n }, (_, i) => `s${i}`)
  return Lifecycle.unsafeMake({
    name: `chain-${n}`,
    initial: "s0",
    states: [
      ...names.map((name) => ({ name })),
      { name: "won", final: true },
      { name: "lost", final: true },
      { name: "nap" },
    ],
    transitions: [
      ...names.slice(1).map((to, i) => ({ from: `s${i}`, to })),
      ...names.flatMap((from, i) => (i % 3 === 0 && i + 2 < n ? [{ from, to: `s${i + 2}` }] : [])),
      { from: `s${n - 1}`, to: "won" },
      { from: "*", to: "lost" },
    ],
    dispositions: { lost: { required: true, allowed: ["no_answer"] } },
    snooze: { state: "nap" },
    reopen: [{ from: "lost", to: "s1", reasons: ["called_back"] }],
  })
}

/** The lifecycle with its XState machine made unusable: a search that builds it fails. */
const withoutMachine = (lifecycle: Lifecycle.Lifecycle): Lifecycle.Lifecycle =>
  Object.create(lifecycle, {
    machine: {
      get: () => {
        throw new Error("the path search built the XState machine")
      },
    },
  })

describe("Paths on big lifecycles", () => {
  it("never builds the XState machine", () => {
    const lifecycle = withoutMachine(chain(50))
    expect(shortestPaths(lifecycle).map((p) => p.state)).toEqual(lifecycle.stateNames)
  })

  it("finds the tree of a 10,000-state lifecycle, and any path in it", () => {
    const lifecycle = chain(10_000)
    const found = tree(lifecycle, { maxStates: Number.POSITIVE_INFINITY })
    if (Either.isLeft(found)) throw found.left
    expect(found.right.states).toEqual(lifecycle.stateNames)
    // Two states per move along the chain, where a skip exists: s0 →(skip) s2 → s3 →(skip) s5 …
    expect(found.right.length("s9999")).toBe(6666)
    expect(found.right.length("won")).toBe(6667)
    expect(found.right.length("nap")).toBe(1)
    expect(found.right.length("nowhere")).toBeUndefined()
    expect(found.right.pathTo("nowhere")).toBeUndefined()
    const events = found.right.pathTo("won") ?? []
    let lead = start(lifecycle, { leadId: "L", at: 0 }).snapshot
    for (const event of events) lead = Either.getOrThrow(transition(lifecycle, lead, event)).snapshot
    expect(lead.state).toBe("won")
  })

  it("refuses a lifecycle with more states than maxStates: TooManyStates, with what to do", () => {
    const lifecycle = chain(defaultMaxStates - 2) // + won, lost, nap
    expect(lifecycle.stateNames.length).toBe(defaultMaxStates + 1)
    const found = tree(lifecycle)
    expect(Either.isLeft(found)).toBe(true)
    if (Either.isRight(found)) return
    expect(found.left).toBeInstanceOf(TooManyStates)
    expect(found.left._tag).toBe("TooManyStates")
    expect(found.left.message).toBe(
      `Lifecycle "chain-4998" has 5001 states, more than the 5000 the path listing accepts: listing a path to every state can print states × path length events. Raise maxStates (the CLI's --max-states) if you want them all.`,
    )
    expect(() => shortestPaths(lifecycle)).toThrow(TooManyStates)
    expect(Either.isRight(tree(lifecycle, { maxStates: defaultMaxStates + 1 }))).toBe(true)
  })

  it("accepts exactly maxStates states", () => {
    const lifecycle = chain(7) // 10 states
    expect(shortestPaths(lifecycle, { maxStates: 10 })).toHaveLength(10)
    expect(() => shortestPaths(lifecycle, { maxStates: 9 })).toThrow(
      'Lifecycle "chain-7" has 10 states, more than the 9 the path listing accepts',
    )
  })
})
