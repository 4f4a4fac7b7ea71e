import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { autoDealer } from "../src/examples/autoDealer.js"
import { b2b } from "../src/examples/b2b.js"
import type { LeadSnapshot } from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import { shortestPaths } from "../src/Paths.js"
import { start, transition } from "../src/transition.js"

/** Every state reachable by a shortest path, with the snapshot that reaches it. */
const reachable = (lifecycle: Lifecycle.Lifecycle): ReadonlyArray<LeadSnapshot> =>
  shortestPaths(lifecycle).map((path) =>
    path.events.reduce<LeadSnapshot>(
      (s, e) => Either.getOrThrow(transition(lifecycle, s, e)).snapshot,
      start(lifecycle, { leadId: `to-${path.state}`, at: 0 }).snapshot,
    ),
  )

describe.each([autoDealer, b2b])("every illegal move on every reachable state of $name", (definition) => {
  const lifecycle = Lifecycle.unsafeMake(definition)

  it("is rejected: InvalidTransition from an active state, LeadIsFinal from a final one", () => {
    let checked = 0
    for (const snapshot of reachable(lifecycle)) {
      const here = lifecycle.states.get(snapshot.state)
      if (here === undefined) throw new Error(`unknown state ${snapshot.state}`)
      for (const to of lifecycle.stateNames) {
        if (here.targets.has(to) && !here.final) continue
        const d = lifecycle.states.get(to)?.dispositions
        const event = { type: "transition", to, ...(d?.list[0] === undefined ? {} : { disposition: d.list[0] }) }
        const result = transition(lifecycle, snapshot, event)
        expect(Either.isLeft(result), `${snapshot.state} -> ${to} should be refused`).toBe(true)
        if (Either.isLeft(result)) expect(result.left._tag).toBe(here.final ? "LeadIsFinal" : "InvalidTransition")
        checked++
      }
    }
    expect(checked).toBeGreaterThan(lifecycle.stateNames.length)
  })
})
