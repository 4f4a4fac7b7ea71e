/**
 * Shortest event sequences through a lifecycle: for every state, the fewest events that take
 * a new lead there. Found with `xstate/graph` on the lifecycle's XState machine, and made of
 * ordinary `LeadEvent`s, so each path replays through the pure `transition` as well. Use them
 * for model-based tests, documentation and demos.
 *
 * @since 0.1.0
 */
import { getShortestPaths } from "xstate/graph"
import type { FollowUpDueEvent, ReopenEvent, SnoozeEvent, TransitionEvent, WakeEvent } from "./LeadEvent.js"
import type { Lifecycle } from "./Lifecycle.js"

/** An event a path is made of: every `LeadEvent` kind but `updateMetadata`, which moves no lead. */
export type PathEvent = TransitionEvent | SnoozeEvent | WakeEvent | FollowUpDueEvent | ReopenEvent

/** The shortest way from the initial state to `state`. */
export interface StatePath {
  readonly state: string
  /** The events to apply, in order, to a lead fresh from `start`; empty for the initial state. */
  readonly events: ReadonlyArray<PathEvent>
}

/**
 * One event for every move the lifecycle declares, each carrying what the move needs: a
 * `transition` to every target (with the target's first allowed disposition when it requires
 * one), then `snooze`, `wake` and `followUpDue` where the lifecycle has them, then a `reopen`
 * into every reopen target (with the rule's first reason when it lists reasons). Targets come
 * in definition order, without repeats. A reopen rule that lists no reasons cannot be used,
 * so it gives no event.
 *
 * @example
 * eventsToTry(Lifecycle.unsafeMake(b2b))
 * // [{ type: "transition", to: "qualified" }, { type: "transition", to: "lost", disposition: "no_budget" },
 * //  { type: "transition", to: "proposal_sent" }, { type: "transition", to: "won" },
 * //  { type: "reopen", to: "qualified" }]
 */
export const eventsToTry = (lifecycle: Lifecycle): ReadonlyArray<PathEvent> => {
  const events: Array<PathEvent> = []
  const targets = new Set<string>()
  for (const s of lifecycle.states.values()) {
    for (const to of s.targetList) {
      if (targets.has(to)) continue
      targets.add(to)
      const rule = lifecycle.states.get(to)?.dispositions
      const disposition = rule?.required === true ? rule.list[0] : undefined
      events.push(disposition === undefined ? { type: "transition", to } : { type: "transition", to, disposition })
    }
  }
  const states = [...lifecycle.states.values()]
  if (states.some((s) => s.snoozable)) events.push({ type: "snooze" }, { type: "wake" })
  if (states.some((s) => s.followUpNext !== undefined)) events.push({ type: "followUpDue" })
  const reopen = new Set<string>()
  for (const s of states) {
    for (const rule of s.reopen.values()) {
      const reason = rule.reasons?.[0]
      const key = `${rule.to}\u0000${reason ?? ""}`
      if (rule.reasons?.length === 0 || reopen.has(key)) continue
      reopen.add(key)
      events.push(reason === undefined ? { type: "reopen", to: rule.to } : { type: "reopen", to: rule.to, reason })
    }
  }
  return events
}

const lexCompare = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  if (a.length !== b.length) return a.length - b.length
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/**
 * The shortest event sequence from the initial state to every state, in the lifecycle's state
 * order; the initial state's path is empty. The search runs `getShortestPaths` from
 * `xstate/graph` on `lifecycle.machine` with the events of {@link eventsToTry}, telling
 * machine snapshots apart by state and context (a snoozed lead remembers where it came
 * from). Of several shortest paths, the one whose events come first in {@link eventsToTry}
 * wins, so the result is the same on every run. A state that no event sequence reaches (only
 * possible behind a reopen rule that lists no reasons) has no entry.
 *
 * @example
 * import { start, transition } from "@leadstate/core"
 *
 * for (const { state, events } of shortestPaths(lifecycle)) {
 *   let lead = start(lifecycle, { leadId: "L1", at: 0 }).snapshot
 *   for (const event of events) lead = Either.getOrThrow(transition(lifecycle, lead, event)).snapshot
 *   assert(lead.state === state)
 * }
 */
export const shortestPaths = (lifecycle: Lifecycle): ReadonlyArray<StatePath> => {
  const events = eventsToTry(lifecycle)
  const byObject = new Map<unknown, { readonly index: number; readonly event: PathEvent }>(
    events.map((event, index) => [event, { index, event }]),
  )
  const best = new Map<string, { readonly indices: ReadonlyArray<number>; readonly events: ReadonlyArray<PathEvent> }>()
  for (const path of getShortestPaths(lifecycle.machine, { events })) {
    const state = path.state.value
    if (typeof state !== "string") continue
    // Steps start with XState's own `xstate.init`, which is not one of ours.
    const steps = path.steps.flatMap((step) => {
      const found = byObject.get(step.event)
      return found === undefined ? [] : [found]
    })
    const candidate = { indices: steps.map((s) => s.index), events: steps.map((s) => s.event) }
    const current = best.get(state)
    if (current === undefined || lexCompare(candidate.indices, current.indices) < 0) best.set(state, candidate)
  }
  return lifecycle.stateNames.flatMap((state) => {
    const path = best.get(state)
    return path === undefined ? [] : [{ state, events: path.events }]
  })
}
