/**
 * Runs a whole lead journey without a network and returns every step: for apps' own tests
 * and for the CLI.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import type { LeadSnapshot } from "./LeadSnapshot.js"
import type { Lifecycle } from "./Lifecycle.js"
import type { LifecycleError } from "./LifecycleError.js"
import type { Metadata } from "./Metadata.js"
import * as Scheduler from "./Scheduler.js"
import type { SyncIntent } from "./SyncIntent.js"
import { start, transition } from "./transition.js"

/** One step of a simulation. */
export type SimulationStep =
  | {
      readonly _tag: "Applied"
      readonly index: number
      readonly event: unknown
      readonly from: string
      readonly to: string
      /** True when the step was a deadline that fired by itself (see `fireDeadlines`). */
      readonly scheduled: boolean
      readonly intents: ReadonlyArray<SyncIntent>
      readonly snapshot: LeadSnapshot
    }
  | {
      readonly _tag: "Rejected"
      readonly index: number
      readonly event: unknown
      readonly from: string
      readonly error: LifecycleError
    }

/** The whole journey. */
export interface Simulation {
  readonly initial: LeadSnapshot
  readonly steps: ReadonlyArray<SimulationStep>
  readonly final: LeadSnapshot
  readonly applied: number
  readonly rejected: number
}

/** Options for {@link simulate}. */
export interface SimulateOptions {
  readonly leadId?: string
  /** Creation time (epoch ms); default 0. */
  readonly at?: number
  readonly metadata?: Metadata
  /** Start from this snapshot instead of a new lead. */
  readonly from?: LeadSnapshot
  /**
   * Before each event, fire the snooze and follow-up deadlines that passed by the event's
   * `at` (as a scheduler would have). Default false.
   */
  readonly fireDeadlines?: boolean
}

/**
 * Applies `events` in order to one lead. Rejected events are recorded and skipped; the
 * journey goes on from the last good snapshot.
 *
 * @example
 * const run = simulate(lifecycle, [
 *   { type: "transition", to: "contacted", at: 1 },
 *   { type: "transition", to: "lost", disposition: "wrong_number", at: 2 },
 * ])
 * run.final.state // "lost"
 */
export const simulate = (
  lifecycle: Lifecycle,
  events: Iterable<unknown>,
  options: SimulateOptions = {},
): Simulation => {
  const initial =
    options.from ??
    start(lifecycle, {
      leadId: options.leadId ?? "lead-1",
      at: options.at ?? 0,
      ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
    }).snapshot
  const steps: Array<SimulationStep> = []
  let snapshot = initial
  let applied = 0
  let rejected = 0
  const apply = (event: unknown, scheduled: boolean) => {
    const from = snapshot.state
    const result = transition(lifecycle, snapshot, event)
    if (Either.isRight(result)) {
      snapshot = result.right.snapshot
      applied++
      steps.push({
        _tag: "Applied",
        index: steps.length,
        event,
        from,
        to: snapshot.state,
        scheduled,
        intents: result.right.intents,
        snapshot,
      })
    } else {
      rejected++
      steps.push({ _tag: "Rejected", index: steps.length, event, from, error: result.left })
    }
  }
  for (const event of events) {
    if (options.fireDeadlines === true) {
      const at = typeof event === "object" && event !== null ? (event as { readonly at?: unknown }).at : undefined
      if (typeof at === "number") {
        for (let guard = 0; guard < 100; guard++) {
          const [due] = Scheduler.dueEvents(snapshot, at)
          if (due === undefined) break
          apply(due, true)
        }
      }
    }
    apply(event, false)
  }
  return { initial, steps, final: snapshot, applied, rejected }
}
