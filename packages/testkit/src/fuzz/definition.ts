/**
 * Fuzz target: the lifecycle definition decoder, `Lifecycle.make`, on hostile values, on
 * valid definitions with hostile parts, and on both after a JSON round trip. It must return a
 * lifecycle (whose XState machine builds) or `InvalidLifecycle` with at least one problem.
 *
 * @since 0.1.0
 */
import { autoDealer, b2b, InvalidLifecycle, Lifecycle } from "@leadstate/core"
import { Either, FastCheck as fc } from "effect"
import { arbValidDefinition } from "../arbitraries.js"
import * as FuzzTarget from "./FuzzTarget.js"
import { hostileValue, jsonText, mutate } from "./Hostile.js"

const input: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: hostileValue() },
      { weight: 4, arbitrary: mutate(arbValidDefinition()) },
      { weight: 2, arbitrary: mutate(fc.constantFrom<unknown>(autoDealer, b2b)) },
      { weight: 1, arbitrary: arbValidDefinition() },
    ),
    fc.boolean(),
  )
  .map(([value, viaJson]) => (viaJson ? JSON.parse(jsonText(value)) : value))

/** `Lifecycle.make(input)`. */
export const definition: FuzzTarget.FuzzTarget = FuzzTarget.sync("Lifecycle.make (definition decoder)", input, (u) => {
  const result = Lifecycle.make(u)
  if (Either.isRight(result)) {
    // An accepted definition runs: its machine builds (small ones; big ones are fuzzed elsewhere).
    if (result.right.stateNames.length <= 200) void result.right.machine
    return undefined
  }
  const error = result.left
  if (!(error instanceof InvalidLifecycle.InvalidLifecycle)) return { kind: "untyped failure", error }
  if (error.problems.length === 0 || typeof error.message !== "string") return { kind: "unusable result", error }
  return undefined
})
