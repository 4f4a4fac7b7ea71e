/**
 * Starves this process's event loop, as a busy machine or a CPU-heavy neighbour in the same
 * process does: every `everyMs` on average it blocks the loop (a busy wait) for a random time
 * between `minBlockMs` and `maxBlockMs`. Timers fire late, answers are read after the requests
 * timed out, leases and windows measured on the wall clock pass while nothing runs. Seeded, so a
 * run can be repeated. Stops when its scope closes.
 */
import { Effect, type Scope } from "effect"

export interface HogOptions {
  readonly everyMs: number
  readonly minBlockMs: number
  readonly maxBlockMs: number
  readonly seed?: number
}

export interface HogReport {
  /** How many times it blocked the loop, and for how long in all. */
  readonly blocks: number
  readonly blockedMs: number
  readonly longestMs: number
}

/** A small seeded PRNG (mulberry32). */
const prng = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Starts the hog in the current scope; `report()` tells what it did so far. */
export const start = (options: HogOptions): Effect.Effect<{ readonly report: () => HogReport }, never, Scope.Scope> =>
  Effect.gen(function* () {
    const random = prng(options.seed ?? 1)
    const totals = { blocks: 0, blockedMs: 0, longestMs: 0 }
    let timer: ReturnType<typeof setTimeout> | undefined
    const next = () => {
      timer = setTimeout(
        () => {
          const ms = options.minBlockMs + random() * (options.maxBlockMs - options.minBlockMs)
          const until = performance.now() + ms
          while (performance.now() < until) {
            // busy: nothing else runs in this process meanwhile
          }
          totals.blocks++
          totals.blockedMs += ms
          totals.longestMs = Math.max(totals.longestMs, ms)
          next()
        },
        options.everyMs * (0.5 + random()),
      )
    }
    yield* Effect.acquireRelease(Effect.sync(next), () => Effect.sync(() => clearTimeout(timer)))
    return {
      report: () => ({
        blocks: totals.blocks,
        blockedMs: Math.round(totals.blockedMs),
        longestMs: Math.round(totals.longestMs),
      }),
    }
  })
