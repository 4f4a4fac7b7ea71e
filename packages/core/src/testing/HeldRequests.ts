/**
 * Holding requests back in a fake vendor: `hold({ method, path })` makes the next matching
 * request wait, unanswered, until `release()`; it is then handled as usual, even when its client
 * gave up on it long ago. So a test makes a write land late, deterministically, without timing.
 *
 * @since 0.2.0
 */
import type { FakeRequest, FakeResponse } from "./FakeVendor.js"

/** A request held back by `hold`. */
export interface HeldRequest {
  /** Resolves when a matching request has arrived (it waits, unanswered). */
  readonly arrived: Promise<void>
  /** Lets it go on: it is handled as usual, even when its client gave up on it (it lands late). */
  readonly release: () => void
  /** Resolves once it has been handled after `release` (its change is applied). */
  readonly handled: Promise<void>
}

/** Which requests to hold: a method and/or a path (exact, or a pattern). */
export interface HoldMatch {
  readonly method?: string
  readonly path?: string | RegExp
}

/** The holds of one fake server. */
export interface HeldRequests {
  /** Holds the next request matching `match` (once). */
  readonly hold: (match: HoldMatch) => HeldRequest
  /** `handle`, waiting first when the request is held. */
  readonly handle: (request: FakeRequest) => Promise<FakeResponse>
  /** Releases every hold and forgets them (the fake's reset). */
  readonly releaseAll: () => void
}

const deferred = () => {
  let resolve: () => void = () => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

interface Hold {
  readonly match: HoldMatch
  readonly arrive: () => void
  readonly released: Promise<void>
  readonly release: () => void
  readonly done: () => void
}

const matches = (match: HoldMatch, request: FakeRequest): boolean =>
  (match.method === undefined || match.method.toUpperCase() === request.method) &&
  (match.path === undefined ||
    (typeof match.path === "string" ? match.path === request.path : match.path.test(request.path)))

/** Holds in front of a fake vendor's `handle`. */
export const make = (handle: (request: FakeRequest) => FakeResponse | Promise<FakeResponse>): HeldRequests => {
  let holds: Array<Hold> = []
  return {
    hold: (match) => {
      const arrived = deferred()
      const released = deferred()
      const handled = deferred()
      holds.push({
        match,
        arrive: arrived.resolve,
        released: released.promise,
        release: released.resolve,
        done: handled.resolve,
      })
      return { arrived: arrived.promise, release: released.resolve, handled: handled.promise }
    },
    handle: async (request) => {
      const held = holds.find((h) => matches(h.match, request))
      if (held === undefined) return handle(request)
      holds = holds.filter((h) => h !== held)
      held.arrive()
      await held.released
      try {
        return await handle(request)
      } finally {
        held.done()
      }
    },
    releaseAll: () => {
      for (const h of holds) h.release()
      holds = []
    },
  }
}
