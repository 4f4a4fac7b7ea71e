/**
 * Fuzz target: the pure `transition(lifecycle, snapshot, event)` with arbitrary events (hostile
 * values, and well-formed events with hostile parts) on leads of the example lifecycles and of
 * generated ones, in any state a path reaches. It must return the next snapshot (which
 * encodes) or a typed lifecycle error.
 *
 * @since 0.1.0
 */
import { autoDealer, b2b, LeadSnapshot, Lifecycle, Paths, start, transition as step } from "@leadstate/core"
import { Either, FastCheck as fc } from "effect"
import { arbValidDefinition } from "../arbitraries.js"
import * as FuzzTarget from "./FuzzTarget.js"
import { hostileValue, jsonText, mutate } from "./Hostile.js"

const lifecycleTags = new Set([
  "InvalidTransition",
  "DispositionRequired",
  "UnknownDisposition",
  "LeadIsFinal",
  "UnknownState",
  "InvalidEvent",
])

const examples = [Lifecycle.unsafeMake(autoDealer), Lifecycle.unsafeMake(b2b)]

const lifecycle: fc.Arbitrary<Lifecycle.Lifecycle> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...examples) },
  { weight: 1, arbitrary: arbValidDefinition().map((d) => Lifecycle.unsafeMake(d)) },
)

/** A lead of `lc` moved along the shortest path to one of its states. */
const leadIn = (lc: Lifecycle.Lifecycle, index: number): LeadSnapshot.LeadSnapshot => {
  const paths = Paths.shortestPaths(lc)
  const path = paths[index % Math.max(1, paths.length)]
  let lead = start(lc, { leadId: "fuzz-lead", at: 1_000 }).snapshot
  for (const event of path?.events ?? []) {
    const next = step(lc, lead, event)
    if (Either.isRight(next)) lead = next.right.snapshot
  }
  return lead
}

/** Well-formed events for `lc`: every move it declares, plus metadata updates and a snooze with a deadline. */
const eventsOf = (lc: Lifecycle.Lifecycle): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom<unknown>(...Paths.eventsToTry(lc)).map((e) => ({ ...(e as object), at: 2_000 })),
    fc.constant<unknown>({ type: "updateMetadata", metadata: { name: "Ana", score: 3 }, at: 2_000 }),
    fc.constant<unknown>({ type: "snooze", until: 90_000, note: "later", actor: "agent", at: 2_000 }),
  )

interface Input {
  readonly lifecycle: Lifecycle.Lifecycle
  readonly snapshot: LeadSnapshot.LeadSnapshot
  readonly event: unknown
}

const input: fc.Arbitrary<Input> = lifecycle.chain((lc) =>
  fc.record({
    lifecycle: fc.constant(lc),
    snapshot: fc.nat().map((i) => leadIn(lc, i)),
    event: fc.oneof(
      { weight: 2, arbitrary: hostileValue() },
      { weight: 5, arbitrary: mutate(eventsOf(lc)) },
      { weight: 1, arbitrary: eventsOf(lc) },
    ),
  }),
)

/** `transition(lifecycle, snapshot, event)`. */
export const transition: FuzzTarget.FuzzTarget = FuzzTarget.sync(
  "transition (events)",
  input,
  ({ lifecycle: lc, snapshot, event }) => {
    const result = step(lc, snapshot, event)
    if (Either.isRight(result)) {
      // The next snapshot can be stored.
      LeadSnapshot.toJson(result.right.snapshot)
      return undefined
    }
    const error: unknown = result.left
    const tag = (error as { readonly _tag?: unknown })._tag
    if (typeof tag !== "string" || !lifecycleTags.has(tag)) return { kind: "untyped failure", error }
    return typeof result.left.message === "string" ? undefined : { kind: "unusable result", error }
  },
  ({ lifecycle: lc, snapshot, event }) =>
    `lifecycle "${lc.name}", lead in "${snapshot.state}", event ${jsonText(event).slice(0, 300)}`,
)
