/**
 * The former `shortestPaths`, kept as a reference model: `getShortestPaths` from `xstate/graph`
 * on the lifecycle's XState machine, telling machine snapshots apart by state and context, then
 * of each state's paths the shortest whose events come first in `eventsToTry`. Quadratic in
 * time and memory (fine for the small lifecycles the tests give it).
 */
import { getShortestPaths } from "xstate/graph"
import type { Lifecycle } from "../src/Lifecycle.js"
import { eventsToTry, type PathEvent, type StatePath } from "../src/Paths.js"

const lexCompare = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  if (a.length !== b.length) return a.length - b.length
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

export const xstateShortestPaths = (lifecycle: Lifecycle): ReadonlyArray<StatePath> => {
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
