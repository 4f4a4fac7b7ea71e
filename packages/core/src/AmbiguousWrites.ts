/**
 * Writes whose outcome is unknown. A request that timed out or lost its connection may still be
 * applied by the vendor, later: sending it again blindly can apply it twice, and a copy that
 * lands after a newer write sets the lead back. Adapters guard their writes with:
 *
 * - {@link sendOnce}: one write under the retry policy, but after an ambiguous failure it waits
 *   `settleMs` and asks whether the vendor already holds the write before sending it again.
 * - {@link make}: the same per write, plus a per-lead memory (bounded, least recently used
 *   forgotten first) of writes whose outcome was ambiguous. While a lead is watched, each of its
 *   writes is preceded by a read-back and, when another ambiguous write of the lead may still
 *   land, followed by one after `settleMs`. A read-back that shows an older write of ours on top
 *   of a newer one (by write id, else by content) sends the newer one again, once, with a
 *   warning; when that does not restore it, the call fails with a `CrmError`.
 *
 * Writes of one lead are expected one at a time (the engine sends them in order).
 *
 * @since 0.2.0
 */
import { Clock, Duration, Effect, Either, Option } from "effect"
import type { VendorLead } from "./CrmAdapter.js"
import { CrmError } from "./CrmError.js"
import type { Json, Metadata } from "./Metadata.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as WriteId from "./WriteId.js"

/** How ambiguous writes are handled. */
export interface AmbiguousOptions {
  /**
   * After an ambiguous failure, how long to wait before reading the lead back (a late copy
   * usually lands within it), and after a write of a watched lead, before checking that no
   * older copy landed on top. Default 2 s.
   */
  readonly settleMs?: number
  /** How long after an ambiguous failure the lead stays watched. Default 60 s. */
  readonly watchMs?: number
  /** Leads watched at once; the least recently used is forgotten first. Default 1000. */
  readonly maxLeads?: number
}

/** The defaults of {@link AmbiguousOptions}. */
export const defaults: Required<AmbiguousOptions> = { settleMs: 2_000, watchMs: 60_000, maxLeads: 1_000 }

/**
 * True when a failed attempt may still have been applied: a timeout or a lost connection.
 * A refused connection never reached the vendor. Choice: only transport failures count; a 5xx
 * answer is taken at its word (not applied).
 */
export const isAmbiguous = (error: CrmError): boolean =>
  error.reason._tag === "Transport" && error.reason.kind !== "Refused"

/** One write as the guard sees it; `A` is the vendor's lead (its answer and its read-back). */
export interface Write<A> {
  /**
   * What the write sets, e.g. `"state"` or `"metadata"`: only writes of the same slot can
   * overwrite each other, so a late landing is looked for per slot.
   */
  readonly slot: string
  /** Our id of the write (`LeadRef.writeId`), when the vendor stores it. */
  readonly writeId?: string | undefined
  /** Names the write in messages, e.g. `status "lost" (state lost)`. */
  readonly label: string
  /**
   * True when the lead holds this write: `lastWriteId` equal to its id, or (no id to compare)
   * the values it sets (see {@link holdsState}, {@link holdsPatch}).
   */
  readonly holds: (lead: VendorLead) => boolean
  /**
   * Sends the write once (no retries) and answers the lead after it. `afterAmbiguous`: an earlier
   * attempt failed ambiguously.
   */
  readonly send: (afterAmbiguous: boolean) => Effect.Effect<A, CrmError>
}

/** Options of {@link sendOnce}. */
export interface SendOnceOptions<A> {
  readonly policy: RetryPolicy.RetryPolicy
  readonly onRetry?: RetryPolicy.OnRetry | undefined
  readonly settleMs: number
  /** One attempt (no retries); `afterAmbiguous`: an earlier one failed ambiguously (a duplicate may be ours). */
  readonly send: (afterAmbiguous: boolean) => Effect.Effect<A, CrmError>
  /**
   * Asked after an ambiguous failure, once `settleMs` has passed since it: the write's result
   * when the vendor already holds it. Without it the write is sent again without waiting.
   */
  readonly landed?: Effect.Effect<Option.Option<A>, CrmError>
}

/** What the attempts of one write did. */
interface Attempts {
  /** Requests sent for the write. */
  copies: number
  /** When the last ambiguous failure happened, if any. */
  ambiguousAt: number | undefined
  /** The `landed` check confirmed the write. */
  landed: boolean
}

const guarded = <A>(options: SendOnceOptions<A>, attempts: Attempts): Effect.Effect<A, CrmError> =>
  RetryPolicy.retrying(
    options.policy,
    options.onRetry,
  )(
    Effect.gen(function* () {
      const ambiguousAt = attempts.ambiguousAt
      if (ambiguousAt !== undefined && options.landed !== undefined) {
        // The copy sent last may still be on its way: give it time, then look before resending.
        const wait = ambiguousAt + options.settleMs - (yield* Clock.currentTimeMillis)
        if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        const found = yield* options.landed
        if (Option.isSome(found)) {
          attempts.landed = true
          return found.value
        }
      }
      attempts.copies++
      return yield* options.send(ambiguousAt !== undefined).pipe(
        Effect.tapError((error) =>
          isAmbiguous(error)
            ? Effect.map(Clock.currentTimeMillis, (now) => {
                attempts.ambiguousAt = now
              })
            : Effect.void,
        ),
      )
    }),
  )

/**
 * Sends one write under `policy`. A retryable failure is retried as usual, except that after an
 * ambiguous one (see {@link isAmbiguous}) nothing is sent again blindly: once `settleMs` has
 * passed, `landed` says whether the vendor already holds the write (then it is the result, with
 * no second request), else it is sent again.
 */
export const sendOnce = <A>(options: SendOnceOptions<A>): Effect.Effect<A, CrmError> =>
  Effect.suspend(() => guarded(options, { copies: 0, ambiguousAt: undefined, landed: false }))

/** One write of a lead, for {@link AmbiguousWrites.write}. */
export interface WriteOptions<A> {
  readonly leadId: string
  readonly operation: string
  readonly write: Write<A>
  /** Reads the lead back once (no retries). */
  readonly read: Effect.Effect<A, CrmError>
  /**
   * Runs once the write is confirmed, before the check for a late landing: the other requests
   * of the same intent (they are not watched themselves).
   */
  readonly andThen?: (lead: A) => Effect.Effect<void, CrmError>
}

/** The guard of one adapter, built by {@link make}. */
export interface AmbiguousWrites<A> {
  /**
   * Sends a write of a lead as {@link sendOnce} does, with the lead's read-backs before and after
   * while it is watched (a failed read-back before fails the write: it is retried as a whole);
   * answers the lead that holds the write (the vendor's answer, or a read-back when no request
   * was needed).
   */
  readonly write: (options: WriteOptions<A>) => Effect.Effect<A, CrmError>
}

/** Writes are numbered in the order the guard sees them, so a late landing is told from a newer write. */
interface Numbered<A> {
  readonly write: Write<A>
  readonly seq: number
}

interface Pending<A> extends Numbered<A> {
  readonly until: number
}

interface Entry<A> {
  pending: Array<Pending<A>>
  /** The newest write confirmed per slot since the lead is watched. */
  readonly newest: Map<string, Numbered<A>>
}

/** Ambiguous writes remembered per lead; older ones are dropped past this. */
const MAX_PENDING = 8

const sameWrite = <A>(a: Write<A>, b: Write<A>): boolean =>
  a === b || (a.writeId !== undefined && a.writeId === b.writeId)

/** Builds the guard for one adapter; `view` reads the vendor's lead as a `VendorLead`. */
export const make = <A>(config: {
  readonly vendor: string
  readonly policy: RetryPolicy.RetryPolicy
  readonly onRetry?: RetryPolicy.OnRetry | undefined
  readonly options?: AmbiguousOptions | undefined
  readonly view: (lead: A) => VendorLead
}): AmbiguousWrites<A> => {
  const { vendor, policy, onRetry, view } = config
  const { settleMs, watchMs, maxLeads } = { ...defaults, ...config.options }
  // Map order is insertion order: the first key is the least recently used.
  const leads = new Map<string, Entry<A>>()
  let seq = 0

  const watched = (leadId: string, now: number): Entry<A> | undefined => {
    const entry = leads.get(leadId)
    if (entry === undefined) return undefined
    leads.delete(leadId)
    entry.pending = entry.pending.filter((p) => p.until > now)
    if (entry.pending.length === 0) return undefined
    leads.set(leadId, entry)
    return entry
  }

  const remember = (leadId: string, write: Write<A>, now: number): void => {
    const entry: Entry<A> = watched(leadId, now) ?? { pending: [], newest: new Map() }
    const pending = { write, seq: ++seq, until: now + watchMs }
    entry.pending = [...entry.pending.filter((p) => !sameWrite(p.write, write)), pending].slice(-MAX_PENDING)
    leads.delete(leadId)
    leads.set(leadId, entry)
    for (const oldest of leads.keys()) {
      if (leads.size <= maxLeads) break
      leads.delete(oldest)
    }
  }

  /**
   * An older write of ours landed on top of the newest one of its slot: the lead's write id is an
   * older one, or (no ids to compare) the lead no longer holds the newest write but holds an
   * ambiguous one sent before it.
   */
  const isLate = (entry: Entry<A>, newest: Numbered<A>, lead: VendorLead): boolean => {
    const { write } = newest
    if (write.writeId !== undefined && lead.lastWriteId !== undefined) {
      const order = WriteId.compare(lead.lastWriteId, write.writeId)
      if (order !== undefined) return order < 0
    }
    return (
      !write.holds(lead) &&
      entry.pending.some(
        (p) => p.seq < newest.seq && p.write.slot === write.slot && !sameWrite(p.write, write) && p.write.holds(lead),
      )
    )
  }

  const landedCheck = (read: Effect.Effect<A, CrmError>, write: Write<A>) =>
    Effect.map(read, (lead) => (write.holds(view(lead)) ? Option.some(lead) : Option.none()))

  const withDetail = (error: CrmError, prefix: string): CrmError =>
    new CrmError({
      vendor: error.vendor,
      operation: error.operation,
      ...(error.leadId === undefined ? {} : { leadId: error.leadId }),
      ...(error.attempts === undefined ? {} : { attempts: error.attempts }),
      reason: { ...error.reason, detail: `${prefix}: ${error.reason.detail}` },
    })

  /** Finds late landings in `lead` and sends each overwritten write again, once. */
  const repair = (options: WriteOptions<A>, entry: Entry<A>, lead: VendorLead) =>
    Effect.forEach(
      [...entry.newest.values()].filter((newest) => isLate(entry, newest, lead)),
      ({ write: newest }) =>
        Effect.gen(function* () {
          const what = `an older write of lead ${options.leadId} landed late and overwrote ${newest.label}`
          yield* Effect.logWarning(`${vendor}: ${what}; sending it again`).pipe(
            Effect.annotateLogs({ vendor, operation: options.operation, leadId: options.leadId }),
          )
          const again = yield* sendOnce({
            policy,
            onRetry,
            settleMs,
            send: newest.send,
            landed: landedCheck(options.read, newest),
          }).pipe(Effect.mapError((error) => withDetail(error, `${what}, and sending it again failed`)))
          const now = view(again)
          if (!newest.holds(now)) {
            return yield* new CrmError({
              vendor,
              operation: options.operation,
              leadId: options.leadId,
              reason: {
                _tag: "VendorIgnoredWrite",
                expected: newest.label,
                actual: now.vendorState,
                detail: `${what}, and sending it again did not restore it (the vendor holds "${now.vendorState}")`,
              },
            })
          }
        }),
      { discard: true },
    )

  const write = (options: WriteOptions<A>): Effect.Effect<A, CrmError> =>
    Effect.gen(function* () {
      const { leadId, write } = options
      const readWithRetries = RetryPolicy.retrying(policy, onRetry)(options.read)
      let held: A | undefined
      const before = watched(leadId, yield* Clock.currentTimeMillis)
      if (before !== undefined) {
        const lead = yield* readWithRetries
        yield* repair(options, before, view(lead))
        // This very write is there already (an earlier delivery of it landed): nothing to send.
        if (write.writeId !== undefined && view(lead).lastWriteId === write.writeId) held = lead
      }
      if (held === undefined) {
        const attempts: Attempts = { copies: 0, ambiguousAt: undefined, landed: false }
        const sent = yield* Effect.either(
          guarded({ policy, onRetry, settleMs, send: write.send, landed: landedCheck(options.read, write) }, attempts),
        )
        // Unless its one copy was found by its write id (it landed: nothing of it is still on its
        // way), an ambiguous write may yet land: watch the lead.
        const proven =
          attempts.landed &&
          attempts.copies === 1 &&
          write.writeId !== undefined &&
          Either.isRight(sent) &&
          view(sent.right).lastWriteId === write.writeId
        if (attempts.ambiguousAt !== undefined && !proven) remember(leadId, write, yield* Clock.currentTimeMillis)
        if (Either.isLeft(sent)) return yield* sent.left
        held = sent.right
      }
      if (options.andThen !== undefined) yield* options.andThen(held)
      const entry = watched(leadId, yield* Clock.currentTimeMillis)
      if (entry === undefined) return held
      entry.newest.set(write.slot, { write, seq: ++seq })
      // Another ambiguous write of this lead may still land on top of this one: look once it had time.
      if (entry.pending.some((p) => !sameWrite(p.write, write))) {
        yield* Effect.sleep(Duration.millis(settleMs))
        const after = yield* Effect.either(readWithRetries)
        if (Either.isLeft(after)) {
          yield* Effect.logWarning(
            `${vendor}: could not read lead ${leadId} back after ${write.label}; it is checked again before its next write`,
          ).pipe(Effect.annotateLogs({ vendor, operation: options.operation, leadId, reason: after.left.reason._tag }))
        } else yield* repair(options, entry, view(after.right))
      }
      return held
    })

  return { write }
}

const sameJson = (a: Json | undefined, b: Json): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false
    return a.every((x, i) => {
      const y = b[i]
      return y !== undefined && sameJson(x, y)
    })
  }
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  const ra = a as { readonly [key: string]: Json }
  const rb = b as { readonly [key: string]: Json }
  return kb.every((k) => {
    const y = rb[k]
    return Object.hasOwn(ra, k) && y !== undefined && sameJson(ra[k], y)
  })
}

/**
 * The content check of a state write: the lead holds it when its `lastWriteId` is the write's id,
 * or, when there is no id on either side to compare, when its vendor state, lifecycle state and
 * disposition are the ones written.
 */
export const holdsState =
  (expected: {
    readonly writeId: string | undefined
    readonly vendorState: string
    readonly state: string
    readonly disposition: string | undefined
  }) =>
  (lead: VendorLead): boolean =>
    expected.writeId !== undefined && lead.lastWriteId !== undefined
      ? lead.lastWriteId === expected.writeId
      : lead.vendorState === expected.vendorState &&
        lead.state === expected.state &&
        lead.disposition === expected.disposition

/**
 * True when `metadata` holds every value of `patch` (a `null` in the patch: the key is absent),
 * compared as JSON (key order aside): the content check of a metadata merge.
 */
export const holdsPatch = (metadata: Metadata, patch: Metadata): boolean =>
  Object.entries(patch).every(([key, value]) =>
    value === null ? !Object.hasOwn(metadata, key) || metadata[key] === null : sameJson(metadata[key], value),
  )
