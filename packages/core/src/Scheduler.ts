/**
 * Timers as data. A snooze or follow-up stores an absolute deadline in the snapshot (XState
 * does not resume `after` timers on restore); these functions turn passed deadlines into
 * events. The pure ones take `now`; the Effect ones read Effect's `Clock`, so tests drive
 * them with `TestClock`.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Either } from "effect"
import type { LeadEvent } from "./LeadEvent.js"
import type { LeadSnapshot } from "./LeadSnapshot.js"
import type { Lifecycle } from "./Lifecycle.js"
import type { LifecycleError } from "./LifecycleError.js"
import type { SyncIntent } from "./SyncIntent.js"
import { transition } from "./transition.js"

/** The event due for `snapshot` at `now` (epoch ms), stamped with its deadline, if any. */
export const dueEvents = (snapshot: LeadSnapshot, now: number): ReadonlyArray<LeadEvent> => {
  const due = snapshot.due
  return due !== undefined && due.at <= now ? [{ type: due.event, at: due.at }] : []
}

/** The result of catching a lead up on its deadlines. */
export interface CaughtUp {
  readonly snapshot: LeadSnapshot
  /** The events fired, in order, each stamped with its own deadline. */
  readonly fired: ReadonlyArray<LeadEvent>
  readonly intents: ReadonlyArray<SyncIntent>
}

/**
 * Fires every deadline that has passed by `now`, one after another (a lead idle for a week
 * walks its whole follow-up sequence). `maxSteps` bounds the walk.
 */
export const catchUp = (
  lifecycle: Lifecycle,
  snapshot: LeadSnapshot,
  now: number,
  maxSteps = 100,
): Either.Either<CaughtUp, LifecycleError> => {
  let current = snapshot
  const fired: Array<LeadEvent> = []
  const intents: Array<SyncIntent> = []
  for (let step = 0; step < maxSteps; step++) {
    const [event] = dueEvents(current, now)
    if (event === undefined) break
    const result = transition(lifecycle, current, event)
    if (Either.isLeft(result)) return Either.left(result.left)
    current = result.right.snapshot
    fired.push(event)
    intents.push(...result.right.intents)
  }
  return Either.right({ snapshot: current, fired, intents })
}

/** {@link dueEvents} at the current `Clock` time. */
export const dueNow = (snapshot: LeadSnapshot): Effect.Effect<ReadonlyArray<LeadEvent>> =>
  Effect.map(Clock.currentTimeMillis, (now) => dueEvents(snapshot, now))

/** {@link catchUp} at the current `Clock` time. */
export const catchUpNow = (lifecycle: Lifecycle, snapshot: LeadSnapshot): Effect.Effect<CaughtUp, LifecycleError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => catchUp(lifecycle, snapshot, now))

/**
 * Sleeps (on Effect's `Clock`) until the lead's next deadline, then catches it up. Completes
 * at once with nothing fired when the lead has no deadline.
 */
export const awaitNextDeadline = (
  lifecycle: Lifecycle,
  snapshot: LeadSnapshot,
): Effect.Effect<CaughtUp, LifecycleError> =>
  Effect.gen(function* () {
    const due = snapshot.due
    if (due === undefined) return { snapshot, fired: [], intents: [] }
    const now = yield* Clock.currentTimeMillis
    if (due.at > now) yield* Effect.sleep(Duration.millis(due.at - now))
    return yield* catchUpNow(lifecycle, snapshot)
  })
