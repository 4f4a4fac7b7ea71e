/**
 * Shortest event sequences through a lifecycle: for every state, the fewest events that take
 * a new lead there. One breadth-first search over the compiled transition table finds them
 * all (time and memory linear in states + moves); the paths are made of ordinary
 * `LeadEvent`s, so each replays through the pure `transition` and the XState machine alike.
 * Use them for model-based tests, documentation and demos.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
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

/** How many states {@link shortestPaths} and {@link tree} accept unless told otherwise. */
export const defaultMaxStates = 5_000

/** Options for {@link tree} and {@link shortestPaths}. */
export interface Options {
  /**
   * Refuse lifecycles with more states than this (default {@link defaultMaxStates}). Listing
   * every path writes up to states × longest path events, so the output of a long chain grows
   * with the square of its length; pass `Infinity` to lift the limit.
   */
  readonly maxStates?: number
}

/** The lifecycle has more states than the path listing accepts (see {@link Options.maxStates}). */
export class TooManyStates extends Schema.TaggedError<TooManyStates>()("TooManyStates", {
  lifecycle: Schema.String,
  states: Schema.Number,
  maxStates: Schema.Number,
}) {
  override get message(): string {
    return `Lifecycle "${this.lifecycle}" has ${this.states} states, more than the ${this.maxStates} the path listing accepts: listing a path to every state can print states × path length events. Raise maxStates (the CLI's --max-states) if you want them all.`
  }
}

/** Every shortest path of a lifecycle, found once; read one path or all of them. */
export interface PathTree {
  /** The states some event sequence reaches, in the lifecycle's state order. */
  readonly states: ReadonlyArray<string>
  /** The number of events on the shortest path to `state`; undefined when none reaches it. */
  readonly length: (state: string) => number | undefined
  /** The shortest path to `state` (built on each call); undefined when none reaches it. */
  readonly pathTo: (state: string) => ReadonlyArray<PathEvent> | undefined
}

/** One move of the search: the event (its index in `eventsToTry`) and the state it leads to. */
interface Move {
  readonly event: number
  readonly to: number
}

const byEvent = (a: Move, b: Move) => a.event - b.event

/**
 * The moves out of each state, ordered by event. A `wake` is left out: it only returns to the
 * state the lead was snoozed from, which the search has reached before the snooze state.
 * Several snoozed leads (one per state they came from) have the same moves out, so the snooze
 * state is one node: the first snoozed lead reached finds everything the others would.
 */
const movesOf = (lifecycle: Lifecycle, events: ReadonlyArray<PathEvent>): ReadonlyArray<ReadonlyArray<Move>> => {
  const indexOf = new Map<string, number>(lifecycle.stateNames.map((name, i) => [name, i]))
  const transitionEvent = new Map<string, number>()
  const reopenEvent = new Map<string, number>() // key: to \0 reason
  const anyReopenEvent = new Map<string, number>() // to -> first reopen event into it
  let snooze: number | undefined
  let followUpDue: number | undefined
  events.forEach((event, i) => {
    switch (event.type) {
      case "transition":
        transitionEvent.set(event.to, i)
        break
      case "snooze":
        snooze = i
        break
      case "followUpDue":
        followUpDue = i
        break
      case "reopen":
        if (!anyReopenEvent.has(event.to)) anyReopenEvent.set(event.to, i)
        if (event.reason !== undefined) reopenEvent.set(`${event.to}\u0000${event.reason}`, i)
        break
    }
  })
  const snoozeState = lifecycle.snoozeState === undefined ? undefined : indexOf.get(lifecycle.snoozeState)
  return lifecycle.stateNames.map((name) => {
    const s = lifecycle.states.get(name)
    if (s === undefined) return []
    const moves: Array<Move> = []
    const add = (event: number | undefined, state: string | number | undefined) => {
      const to = typeof state === "string" ? indexOf.get(state) : state
      if (event !== undefined && to !== undefined) moves.push({ event, to })
    }
    for (const to of s.targets) add(transitionEvent.get(to), to)
    if (s.snoozable) add(snooze, snoozeState)
    if (s.followUpNext !== undefined) add(followUpDue, s.followUpNext.to)
    for (const rule of s.reopen.values()) {
      // The machine's guard accepts every reason when the rule lists none, else one of its reasons.
      let first: number | undefined
      if (rule.reasons === undefined) first = anyReopenEvent.get(rule.to)
      else {
        for (const reason of rule.reasons) {
          const i = reopenEvent.get(`${rule.to}\u0000${reason}`)
          if (i !== undefined && (first === undefined || i < first)) first = i
        }
      }
      add(first, rule.to)
    }
    return moves.sort(byEvent)
  })
}

const buildTree = (lifecycle: Lifecycle): PathTree => {
  const events = eventsToTry(lifecycle)
  const moves = movesOf(lifecycle, events)
  const n = lifecycle.stateNames.length
  const indexOf = new Map<string, number>(lifecycle.stateNames.map((name, i) => [name, i]))
  const parent = new Int32Array(n).fill(-1)
  const via = new Int32Array(n).fill(-1)
  const depth = new Int32Array(n).fill(-1)
  const start = indexOf.get(lifecycle.initial)
  if (start !== undefined) {
    // Breadth first, each state's moves in event order: the first way found to a state is
    // the shortest, and of the shortest the one whose events come first in `eventsToTry`.
    const queue = new Int32Array(n)
    let tail = 0
    queue[tail++] = start
    depth[start] = 0
    for (let head = 0; head < tail; head++) {
      const from = queue[head] ?? 0
      for (const move of moves[from] ?? []) {
        if ((depth[move.to] ?? 0) >= 0) continue
        depth[move.to] = (depth[from] ?? 0) + 1
        parent[move.to] = from
        via[move.to] = move.event
        queue[tail++] = move.to
      }
    }
  }
  const length = (state: string): number | undefined => {
    const i = indexOf.get(state)
    const d = i === undefined ? -1 : (depth[i] ?? -1)
    return d < 0 ? undefined : d
  }
  return {
    states: lifecycle.stateNames.filter((state) => length(state) !== undefined),
    length,
    pathTo: (state) => {
      const i = indexOf.get(state)
      const d = length(state)
      if (i === undefined || d === undefined) return undefined
      const path = new Array<PathEvent>(d)
      for (let at = i, k = d - 1; k >= 0; at = parent[at] ?? 0, k--) {
        const event = events[via[at] ?? 0]
        if (event !== undefined) path[k] = event
      }
      return path
    },
  }
}

/**
 * Finds the shortest path to every state with one breadth-first search over the compiled
 * transition table: a lead is told apart by its state (a snoozed lead also by where it wakes
 * to, which never shortens a path), and each state's moves are tried in the order of
 * {@link eventsToTry}, so of several shortest paths the one whose events come first wins, on
 * every run. Linear in states + moves; paths are built only when asked for. A lifecycle with
 * more than `maxStates` states is refused with {@link TooManyStates}.
 *
 * @example
 * const found = Paths.tree(lifecycle)
 * if (Either.isRight(found)) console.log(found.right.pathTo("won"))
 */
export const tree = (lifecycle: Lifecycle, options: Options = {}): Either.Either<PathTree, TooManyStates> => {
  const maxStates = options.maxStates ?? defaultMaxStates
  const states = lifecycle.stateNames.length
  if (states > maxStates) return Either.left(new TooManyStates({ lifecycle: lifecycle.name, states, maxStates }))
  return Either.right(buildTree(lifecycle))
}

/**
 * The shortest event sequence from the initial state to every state, in the lifecycle's state
 * order; the initial state's path is empty. Of several shortest paths, the one whose events
 * come first in {@link eventsToTry} wins, so the result is the same on every run (see
 * {@link tree}). A state that no event sequence reaches has no entry. Throws
 * {@link TooManyStates} for a lifecycle with more than `maxStates` states (default
 * {@link defaultMaxStates}); use {@link tree} to get it as a value.
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
export const shortestPaths = (lifecycle: Lifecycle, options?: Options): ReadonlyArray<StatePath> => {
  const found = Either.getOrThrowWith(tree(lifecycle, options), (e) => e)
  return found.states.flatMap((state) => {
    const events = found.pathTo(state)
    return events === undefined ? [] : [{ state, events }]
  })
}
