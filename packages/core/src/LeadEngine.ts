/**
 * The engine: composes a lifecycle, a `CrmAdapter` and a `LeadStore`. Applying an event loads
 * the lead, runs the pure transition, saves the snapshot and its outbox entries atomically
 * (with a version check) and then delivers the entries to the vendor, at least once, keyed
 * by an idempotency id. A write the vendor refuses rolls the lead back; webhooks settle
 * accepted writes and bring the vendor's own changes in.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  Layer,
  Option,
  Random,
  Runtime,
  Schedule,
  Schema,
} from "effect"
import type { CrmAdapterService, LeadRef, SyncReceipt } from "./CrmAdapter.js"
import { CrmAdapter } from "./CrmAdapter.js"
import { CrmError } from "./CrmError.js"
import { CrmWebhooks, type LeadChanged, type RawWebhook, WebhookError } from "./CrmWebhooks.js"
import { currentSchemaVersion, type HistoryEntry, type LeadSnapshot } from "./LeadSnapshot.js"
import {
  entryId,
  type LeadForWrite,
  LeadStore,
  type OutboxEntry,
  StoreError,
  type VersionConflict,
} from "./LeadStore.js"
import type { Lifecycle } from "./Lifecycle.js"
import type { LifecycleError } from "./LifecycleError.js"
import type * as Metadata from "./Metadata.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { dueEvents } from "./Scheduler.js"
import type { SetState, SyncIntent } from "./SyncIntent.js"
import { appendRecent, startChecked, type Transitioned, transition } from "./transition.js"
import * as WebhookBody from "./WebhookBody.js"
import { checkClockSkew, defaultMaxClockSkewMs } from "./WebhookInbox.js"
import * as WriteId from "./WriteId.js"

/** The lead is not in the store. */
export class LeadNotFound extends Schema.TaggedError<LeadNotFound>()("LeadNotFound", { leadId: Schema.String }) {
  override get message(): string {
    return `Lead "${this.leadId}" is not in the store; create it first.`
  }
}

/**
 * The lead was never created at the vendor: its `CreateLead` failed for good (a wrong API key,
 * a refused phone number, ...). Nothing was written. Fix the cause, then `engine.resync(leadId)`
 * creates it at the vendor in its current state.
 */
export class LeadNotAtVendor extends Schema.TaggedError<LeadNotAtVendor>()("LeadNotAtVendor", {
  leadId: Schema.String,
  /** Why the create failed, as the vendor answered. */
  reason: Schema.String,
}) {
  override get message(): string {
    return `Lead "${this.leadId}" is not at the vendor: creating it there failed for good (${this.reason}). Nothing was written. Fix the cause, then call engine.resync("${this.leadId}") to create it at the vendor in its current state.`
  }
}

/** `create` was called for a lead the store already has; nothing was written. */
export class LeadAlreadyExists extends Schema.TaggedError<LeadAlreadyExists>()("LeadAlreadyExists", {
  leadId: Schema.String,
  state: Schema.String,
}) {
  override get message(): string {
    return `Lead "${this.leadId}" already exists (state "${this.state}"); nothing was written. Apply events to it, or call engine.resync("${this.leadId}") to send its current state to the vendor again.`
  }
}

/** What applying an event achieved at the vendor. */
export type Outcome =
  /** Every write is confirmed by the vendor. */
  | { readonly _tag: "Confirmed" }
  /** The vendor accepted the write; its webhook will settle it. */
  | { readonly _tag: "Pending"; readonly correlationId: string }
  /** The write is queued: it failed with a retryable error (or waits behind an older write of the lead). */
  | { readonly _tag: "Queued"; readonly retryAt: number; readonly error: CrmError | undefined }

/** Engine settings. */
export interface EngineOptions {
  /**
   * Re-scheduling of writes that failed with a retryable error (the adapter already retried
   * them within its own policy): `maxAttempts` deliveries in all, backoff from `baseDelayMs`.
   * Default 8 attempts, 1 s doubling to at most 5 minutes, no budget.
   */
  readonly redelivery?: RetryPolicy.RetryPolicy
  /**
   * How long a claimed entry is reserved for its sender. Default 60 s. Keep it above the
   * adapter's request timeout plus `ambiguousSettleMs`: when a sender dies mid-request, the
   * next one reads the lead back once the lease has passed, and the vendor may still apply the
   * dead sender's request until that request's timeout; a shorter lease can send it twice.
   */
  readonly leaseMs?: number
  /** At most this many entries per claim of `dispatchDue`. Default 100. */
  readonly batchSize?: number
  /** Deliveries in flight at once in `dispatchDue` (each of a different lead). Default 8. */
  readonly dispatchConcurrency?: number
  /**
   * How long an accepted write may wait for its webhook. Past it, `dispatchDue` reads the lead
   * back (when the adapter can): applied -> confirmed; not applied -> sent again. A lead's
   * later writes wait until the earlier one is settled. Default 5 minutes.
   */
  readonly confirmTimeoutMs?: number
  /**
   * After an ambiguous failure (a timeout or a dropped connection: the vendor may still apply
   * the write), the redelivery waits at least this long, so that its read-back sees a late
   * write instead of sending it twice. Default 5 s.
   */
  readonly ambiguousSettleMs?: number
  /** Deadline steps fired per lead by one `fireDeadlines` (a long-idle lead's catch-up). Default 100. */
  readonly maxCatchUpSteps?: number
  /** `webhookHandler` answers 413 to a body larger than this, reading no further. Default 1 MiB. */
  readonly maxWebhookBodyBytes?: number
  /**
   * A webhook event dated further ahead of the Clock than this is refused (the delivery is
   * answered 400, nothing applied): a far-future event would make every later genuine one look
   * stale. Default 5 minutes.
   */
  readonly maxClockSkewMs?: number
}

/** What a batch of deliveries did. */
export interface DispatchReport {
  readonly confirmed: number
  readonly accepted: number
  /** Re-scheduled after a retryable failure. */
  readonly retried: number
  readonly failed: number
  /** Failed SetState writes whose lead was moved back. */
  readonly rolledBack: number
  /** Failed SetState writes whose lead had moved on, so it was left as is. */
  readonly notRolledBack: ReadonlyArray<{ readonly entryId: string; readonly reason: string }>
}

/** What one webhook delivery did. */
export interface WebhookReport extends DispatchReport {
  readonly applied: number
  readonly duplicates: number
  readonly stale: number
  /** Settlement or change for a lead (or write) we do not know. */
  readonly unmatched: number
  /**
   * Second successes naming the same write of ours: the vendor applied it twice (a resend after
   * an ambiguous failure whose first attempt landed late). Logged as warnings. The first
   * success of a write confirmed already by read-back is late, not twice: counted `stale`.
   */
  readonly appliedTwice: number
  /** Vendor changes the lifecycle refused (reported, not thrown). */
  readonly rejected: ReadonlyArray<{ readonly vendorEventId: string; readonly error: LifecycleError }>
}

/** What `fireDeadlines` did. */
export interface DeadlineReport {
  readonly fired: number
  readonly errors: ReadonlyArray<{ readonly leadId: string; readonly error: ApplyError }>
}

/** Every error of `apply`. */
export type ApplyError =
  | LifecycleError
  | CrmError
  | VersionConflict
  | StoreError
  | LeadNotFound
  | LeadNotAtVendor
  | LeadAlreadyExists

/** The engine service. */
export interface LeadEngineService {
  readonly lifecycle: Lifecycle
  /** Starts a lead (it must not exist) and sends `CreateLead`. */
  readonly create: (
    leadId: string,
    options: { readonly at?: number; readonly metadata: Metadata.Metadata },
  ) => Effect.Effect<Outcome, ApplyError>
  /** Applies an event (stamped with the Clock's time when it has no `at`) and sends its writes. */
  readonly apply: (leadId: string, event: unknown) => Effect.Effect<Outcome, ApplyError>
  /**
   * The recovery path: sends the lead's current state to the vendor again, as new writes. A lead
   * whose create failed for good is created (in the initial state, then moved to its current
   * one); a lead whose writes failed for good is set to its current state. Queued behind writes
   * still on their way. Use it after fixing what made the vendor refuse (a key, a field).
   */
  readonly resync: (leadId: string) => Effect.Effect<Outcome, ApplyError>
  /** Applies many events with bounded concurrency; one result per item, in order. */
  readonly applyMany: (
    items: Iterable<{ readonly leadId: string; readonly event: unknown }>,
    options: { readonly concurrency: number },
  ) => Effect.Effect<ReadonlyArray<Either.Either<Outcome, ApplyError>>>
  /** Delivers every due pending entry (retries, leftovers of a crash), batch by batch. */
  readonly dispatchDue: Effect.Effect<DispatchReport, StoreError>
  /** Decodes a webhook and settles writes / applies vendor changes. */
  readonly handleWebhook: (raw: RawWebhook) => Effect.Effect<WebhookReport, WebhookError | StoreError>
  /**
   * `POST` handler: 200 with the report, 401 bad auth, 400 malformed or dated too far ahead,
   * 413 a body over `maxWebhookBodyBytes` (not read further), 500 store failure.
   */
  readonly webhookHandler: (request: Request) => Promise<Response>
  /** Fires the deadlines (follow-ups, wake-ups) that passed by the Clock's now. */
  readonly fireDeadlines: (limit?: number) => Effect.Effect<DeadlineReport, StoreError>
  /**
   * The background loop: `dispatchDue` then `fireDeadlines`, again every `intervalMs` (default
   * 1 s) on the Clock, forever. Fork it in a scope; several processes sharing a PostgreSQL
   * store may each run one. A store failure is logged and the loop goes on.
   */
  readonly worker: (options?: { readonly intervalMs?: number }) => Effect.Effect<never>
}

const defaultRedelivery: RetryPolicy.RetryPolicy = {
  ...RetryPolicy.defaults,
  maxAttempts: 8,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
  budgetMs: Number.POSITIVE_INFINITY,
}

interface Tally {
  confirmed: number
  accepted: number
  retried: number
  failed: number
  rolledBack: number
  notRolledBack: Array<{ entryId: string; reason: string }>
}

const emptyTally = (): Tally => ({ confirmed: 0, accepted: 0, retried: 0, failed: 0, rolledBack: 0, notRolledBack: [] })

/** One entry's delivery result. */
type Delivered =
  | { readonly _tag: "Confirmed" }
  | { readonly _tag: "Pending"; readonly correlationId: string }
  | { readonly _tag: "Queued"; readonly retryAt: number; readonly error: CrmError }
  | { readonly _tag: "Failed"; readonly error: CrmError }

/** Where a rollback takes a lead: the state the vendor last confirmed, as that write set it. */
interface RollbackTarget {
  readonly state: string
  readonly disposition: string | undefined
  /** Set when that write was a snooze: the state it wakes to, and when. */
  readonly snooze: { readonly from: string; readonly until: number } | undefined
}

/** The lifecycle state a write sets, if it sets one. */
const targetOf = (intent: SyncIntent): string | undefined =>
  intent._tag === "SetState" ? intent.to : intent._tag === "CreateLead" ? intent.state : undefined

/** The store's record of a success webhook naming a write (see `settleNamed`), by write id. */
const successKeyPrefix = "leadstate:success:"

const versionOf = (entry: OutboxEntry): number | undefined => {
  const parts = entry.id.split("/")
  const v = Number(parts[parts.length - 2])
  return Number.isInteger(v) ? v : undefined
}

/**
 * Builds an engine over the `CrmAdapter` and `LeadStore` in context (and `CrmWebhooks`,
 * when present, for webhooks).
 *
 * @example
 * const engine = yield* LeadEngine.make(lifecycle)
 * yield* engine.create("L-1", { metadata: { name: "Ann", email: "ann@example.org" } })
 * const outcome = yield* engine.apply("L-1", { type: "transition", to: "contacted" })
 */
export const make = (
  lifecycle: Lifecycle,
  options: EngineOptions = {},
): Effect.Effect<LeadEngineService, never, CrmAdapter | LeadStore> =>
  Effect.gen(function* () {
    const adapter: CrmAdapterService = yield* CrmAdapter
    const store = yield* LeadStore
    const webhooks = yield* Effect.serviceOption(CrmWebhooks)
    const runtime = yield* Effect.runtime<never>()
    const redelivery = options.redelivery ?? defaultRedelivery
    const leaseMs = options.leaseMs ?? 60_000
    const batchSize = options.batchSize ?? 100
    const confirmTimeoutMs = options.confirmTimeoutMs ?? 5 * 60_000
    const maxCatchUpSteps = options.maxCatchUpSteps ?? 100
    const dispatchConcurrency = options.dispatchConcurrency ?? 8
    const ambiguousSettleMs = options.ambiguousSettleMs ?? 5_000
    const maxWebhookBodyBytes = options.maxWebhookBodyBytes ?? WebhookBody.defaultMaxBytes
    const maxClockSkewMs = options.maxClockSkewMs ?? defaultMaxClockSkewMs
    const spanAttributes = (leadId: string) => ({ "leadstate.lead_id": leadId, "leadstate.vendor": adapter.vendor })
    // One span per engine operation, without a stack trace: capturing one per call cost about
    // a third of an apply's CPU on the in-memory store; the attributes say what it was.

    /** The lead and whether it has unsettled writes: one store round trip. */
    const loadForWrite = (leadId: string) =>
      Effect.flatMap(
        store.loadForWrite(leadId),
        Option.match({
          onNone: () => Effect.fail(new LeadNotFound({ leadId })),
          onSome: (loaded) => Effect.succeed(loaded),
        }),
      )

    /** The state (and disposition) the vendor last confirmed before `entry`, from the lead's outbox. */
    const lastConfirmed = (entries: ReadonlyArray<OutboxEntry>, entry: OutboxEntry) => {
      const earlier = entries.slice(
        0,
        entries.findIndex((e) => e.id === entry.id),
      )
      for (const e of earlier.reverse()) {
        if (e.status !== "confirmed") continue
        if (e.intent._tag === "SetState") {
          const snooze =
            e.intent.snoozeUntil === undefined ? undefined : { from: e.intent.from, until: e.intent.snoozeUntil }
          return { state: e.intent.to, disposition: e.intent.disposition, snooze }
        }
        if (e.intent._tag === "CreateLead") return { state: e.intent.state, disposition: undefined, snooze: undefined }
      }
      return undefined
    }

    /**
     * A snapshot returning the lead to `target`, the state the vendor last confirmed (history
     * event "rollback"), so that engine and vendor agree again after a write failed for good.
     */
    const compensate = (snapshot: LeadSnapshot, intent: SetState, target: RollbackTarget, at: number): Transitioned => {
      // The move before the failed one, when the snapshot still has it in `recent`.
      const before = snapshot.recent.length >= 2 ? snapshot.recent[snapshot.recent.length - 2] : undefined
      const entry: HistoryEntry = { event: "rollback", from: intent.to, to: target.state, at }
      const interval = lifecycle.followUpIntervalMs
      const next: { -readonly [K in keyof LeadSnapshot]: LeadSnapshot[K] } = {
        schemaVersion: currentSchemaVersion,
        leadId: snapshot.leadId,
        state: target.state,
        previousState: intent.to,
        // Back where it was: since when it was there, when the failed move left that state.
        enteredAt: before !== undefined && before.to === target.state ? before.at : at,
        updatedAt: at,
        version: snapshot.version + 1,
        metadata: snapshot.metadata,
        recent: appendRecent(lifecycle, snapshot.recent, entry),
      }
      if (target.disposition !== undefined) next.disposition = target.disposition
      if (interval !== undefined && lifecycle.states.get(target.state)?.followUpNext !== undefined) {
        next.due = { event: "followUpDue", at: at + interval }
      }
      if (target.snooze !== undefined) {
        // Back to a snooze: where it wakes to, and when.
        next.snoozedFrom = target.snooze.from
        next.due = { event: "wake", at: target.snooze.until }
      }
      return { snapshot: next, intents: [], history: [entry] }
    }

    /** Moves a lead back after its SetState failed, when nothing moved it since. */
    const rollback = (entry: OutboxEntry, tally: Tally) =>
      Effect.gen(function* () {
        const intent = entry.intent
        if (intent._tag !== "SetState") return
        const version = versionOf(entry)
        const lead = yield* store.load(entry.leadId)
        if (Option.isNone(lead)) return
        const snapshot = lead.value.snapshot
        if (snapshot.version !== version || snapshot.state !== intent.to) {
          tally.notRolledBack.push({
            entryId: entry.id,
            reason: `the lead moved on (version ${snapshot.version}, state "${snapshot.state}") after the failed write`,
          })
          return
        }
        const now = yield* Clock.currentTimeMillis
        // Usually intent.from; when earlier writes failed too, the last state the vendor has.
        const target: RollbackTarget = lastConfirmed(yield* store.outbox(entry.leadId), entry) ?? {
          state: intent.from,
          disposition: undefined,
          snooze: undefined,
        }
        const back = compensate(snapshot, intent, target, now)
        const saved = yield* Effect.either(store.save(back.snapshot, snapshot.version, [], back.history))
        if (Either.isLeft(saved)) {
          if (saved.left._tag === "StoreError") return yield* Effect.fail(saved.left)
          tally.notRolledBack.push({ entryId: entry.id, reason: saved.left.message })
          return
        }
        tally.rolledBack++
        yield* Effect.logWarning("vendor refused a write; lead rolled back").pipe(
          Effect.annotateLogs({ leadId: entry.leadId, entryId: entry.id, from: intent.to, to: target.state }),
        )
      })

    const failure = (error: CrmError) => ({ reason: error.reason._tag, message: error.message })

    /** Why the lead is not at the vendor, when its latest create failed for good. */
    const notCreated = (entries: ReadonlyArray<OutboxEntry>): string | undefined => {
      const create = entries.findLast((e) => e.intent._tag === "CreateLead")
      return create?.status === "failed" ? (create.failure?.message ?? "the vendor refused it") : undefined
    }

    /** Settles an entry after a retryable or final failure. */
    const settleFailure = (entry: OutboxEntry, error: CrmError, tally: Tally) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const delay = RetryPolicy.nextDelay(redelivery, error, Math.max(1, entry.attempts), 0, yield* Random.next)
        if (delay !== undefined) {
          const retryAt = now + (error.reason._tag === "Transport" ? Math.max(delay, ambiguousSettleMs) : delay)
          const { correlationId: _, ...rest } = entry
          yield* store.updateOutbox({ ...rest, status: "pending", availableAt: retryAt, failure: failure(error) })
          tally.retried++
          return { _tag: "Queued", retryAt, error } satisfies Delivered
        }
        if (error.reason._tag === "Transport" && entry.attempts <= redelivery.maxAttempts) {
          // Out of attempts, and the last one may still land at the vendor: one more pass after
          // the ambiguity window, which only reads back (attempts past the maximum mark it).
          const retryAt = now + ambiguousSettleMs
          const { correlationId: _, ...rest } = entry
          yield* store.updateOutbox({
            ...rest,
            status: "pending",
            attempts: redelivery.maxAttempts + 1,
            availableAt: retryAt,
            failure: failure(error),
          })
          tally.retried++
          return { _tag: "Queued", retryAt, error } satisfies Delivered
        }
        if (error.retryable) {
          // Out of attempts on a failure the vendor may have applied anyway: ask the vendor.
          const lead = yield* store.load(entry.leadId)
          const ref: LeadRef = {
            leadId: entry.leadId,
            vendorLeadId: Option.isSome(lead) ? lead.value.vendorLeadId : undefined,
            writeId: entry.id,
          }
          const applied = yield* Effect.orElseSucceed(alreadyApplied(entry, ref), () => Option.none())
          if (Option.isSome(applied)) {
            yield* store.updateOutbox({ ...entry, status: "confirmed" })
            tally.confirmed++
            return { _tag: "Confirmed" } satisfies Delivered
          }
        }
        yield* store.updateOutbox({ ...entry, status: "failed", failure: failure(error) })
        tally.failed++
        yield* rollback(entry, tally)
        return { _tag: "Failed", error } satisfies Delivered
      })

    /**
     * Was a previous attempt applied? Read the lead back (when the adapter can). A read-back
     * that fails with a retryable error fails: not knowing is no reason to send twice.
     */
    const alreadyApplied = (entry: OutboxEntry, ref: LeadRef): Effect.Effect<Option.Option<SyncReceipt>, CrmError> =>
      Effect.gen(function* () {
        const target = targetOf(entry.intent)
        if (target === undefined || !adapter.capabilities.readBack) return Option.none<SyncReceipt>()
        const read = yield* Effect.either(adapter.readBack(ref))
        if (Either.isLeft(read) && read.left.retryable) return yield* Effect.fail(read.left)
        if (Either.isLeft(read)) return Option.none<SyncReceipt>()
        // The vendor keeps our write ids: this write (or a later one of ours) landed, or it did
        // not; the state alone cannot tell when the lead was already in the target state.
        const order =
          read.right.lastWriteId === undefined ? undefined : WriteId.compare(read.right.lastWriteId, entry.id)
        const landed = order !== undefined ? order >= 0 : read.right.state === target
        if (!landed) return Option.none<SyncReceipt>()
        return Option.some<SyncReceipt>({
          _tag: "Confirmed",
          vendorLeadId: read.right.vendorLeadId,
          vendorState: read.right.vendorState,
        })
      })

    /**
     * Leads with a send in flight in this engine, until its answer is recorded. A vendor can
     * report the outcome by webhook before that (the answer is still on its way); the webhook
     * then waits for it rather than finding no accepted write.
     */
    const sendsInFlight = new Set<string>()
    /**
     * Entries this engine has claimed or saved for itself and not finished delivering. A lease
     * is a wall-clock window: on a starved event loop it can pass while the delivery is still
     * under way, and the entry is claimed again. Within this engine, an entry in this set is
     * never delivered twice at once, whatever the clock says.
     */
    const deliveries = new Set<string>()
    const sending = <A, E>(leadId: string, send: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.zipRight(
        Effect.sync(() => sendsInFlight.add(leadId)),
        send,
      )

    /** The lead's oldest accepted write, waiting (up to 2 s) for a send of ours still in flight. */
    const acceptedWrite = (leadId: string) =>
      Effect.gen(function* () {
        for (let waited = 0; sendsInFlight.has(leadId) && waited < 2_000; waited += 10) {
          yield* Effect.sleep(Duration.millis(10))
        }
        return yield* store.oldestAccepted(leadId)
      })

    /**
     * Settles the write a vendor's success names by its write id. A pending one (its attempt
     * timed out, or a resend is scheduled) is confirmed: the vendor has it, nothing is resent.
     * One confirmed already was applied a second time: reported, and logged, never hidden.
     */
    const settleNamed = (leadId: string, writeId: string) =>
      Effect.gen(function* () {
        for (let waited = 0; sendsInFlight.has(leadId) && waited < 2_000; waited += 10) {
          yield* Effect.sleep(Duration.millis(10))
        }
        // Recorded per write: a write confirmed by read-back still gets its success webhook,
        // late; only a second success naming the same write means the vendor applied it twice.
        const firstSuccess = yield* store.rememberEvent(`${successKeyPrefix}${writeId}`)
        const found = yield* store.outboxEntry(leadId, writeId)
        if (Option.isNone(found)) return "unmatched" as const
        const entry = found.value
        if (entry.status === "confirmed") {
          if (firstSuccess) return "stale" as const
          yield* Effect.logWarning("the vendor applied a write of ours a second time").pipe(
            Effect.annotateLogs({ leadId, entryId: writeId }),
          )
          return "appliedTwice" as const
        }
        if (entry.status === "failed") {
          // Given up on (and possibly rolled back), yet it landed: `resync` sets the vendor right.
          yield* Effect.logWarning("a write given up on landed at the vendor late; resync the lead").pipe(
            Effect.annotateLogs({ leadId, entryId: writeId }),
          )
          return "stale" as const
        }
        const { correlationId: _, ...rest } = entry
        yield* store.updateOutbox({ ...rest, status: "confirmed" })
        return "confirmed" as const
      })

    /**
     * A re-sent `CreateLead` the vendor refuses as a duplicate, naming the existing lead: the
     * earlier attempt arrived, so that lead is ours.
     */
    const duplicateOfOurs = (entry: OutboxEntry, priorAttempts: number, error: CrmError): SyncReceipt | undefined =>
      priorAttempts > 0 && entry.intent._tag === "CreateLead" && error.reason._tag === "DuplicateLead"
        ? { _tag: "Confirmed", vendorLeadId: error.reason.existingId, vendorState: undefined }
        : undefined

    /**
     * Delivers one claimed entry. `fresh`: the entry was just saved by `commit` with this
     * attempt already counted (one store write less) and the lead's vendor id is known.
     */
    const deliver = (entry: OutboxEntry, tally: Tally, fresh?: { readonly vendorLeadId: string | undefined }) =>
      Effect.gen(function* () {
        const lead = fresh === undefined ? yield* store.load(entry.leadId) : Option.some(fresh)
        const leadExists = Option.isSome(lead)
        const vendorLeadId = Option.getOrUndefined(Option.flatMapNullable(lead, (l) => l.vendorLeadId))
        const ref: LeadRef = { leadId: entry.leadId, vendorLeadId, writeId: entry.id }
        if (vendorLeadId === undefined && entry.intent._tag !== "CreateLead" && fresh === undefined) {
          // Queued behind a create that then failed for good: the vendor has no such lead. Not
          // sent, not rolled back (the lead keeps its state); `resync` creates it later.
          const reason = notCreated(yield* store.outbox(entry.leadId))
          if (reason !== undefined) {
            const error = new CrmError({
              vendor: adapter.vendor,
              operation: entry.intent._tag,
              leadId: entry.leadId,
              reason: { _tag: "NotFound", detail: new LeadNotAtVendor({ leadId: entry.leadId, reason }).message },
            })
            const { correlationId: _, ...rest } = entry
            yield* store.updateOutbox({ ...rest, status: "failed", failure: failure(error) })
            tally.failed++
            return { _tag: "Failed", error } satisfies Delivered
          }
        }
        // Sends started before this one (a fresh entry has this one counted already).
        const priorAttempts = fresh === undefined ? entry.attempts : entry.attempts - 1
        const checked =
          priorAttempts > 0 ? yield* Effect.either(alreadyApplied(entry, ref)) : Either.right(Option.none())
        if (Either.isLeft(checked)) {
          return yield* settleFailure({ ...entry, attempts: entry.attempts + 1 }, checked.left, tally)
        }
        const previously = checked.right
        if (fresh === undefined && Option.isNone(previously) && entry.attempts >= redelivery.maxAttempts) {
          // Out of attempts: after a last attempt that timed out, or a last accepted write
          // whose webhook never came, the vendor does not have it. Not sent again.
          const error = new CrmError({
            vendor: adapter.vendor,
            operation: entry.intent._tag,
            leadId: entry.leadId,
            reason:
              entry.status === "accepted"
                ? {
                    _tag: "VendorIgnoredWrite",
                    detail: `no outcome within the confirm timeout after ${entry.attempts} attempts`,
                    expected: targetOf(entry.intent) ?? entry.intent._tag,
                    actual: "unchanged",
                  }
                : {
                    _tag: "Transport",
                    kind: "Timeout",
                    detail: "the last attempt timed out and the vendor does not have the write",
                  },
          })
          const { correlationId: _, ...rest } = entry
          yield* store.updateOutbox({ ...rest, status: "failed", failure: failure(error) })
          tally.failed++
          yield* rollback(entry, tally)
          return { _tag: "Failed", error } satisfies Delivered
        }
        // Record the attempt before sending (after a crash, attempts > 0 says it may have
        // arrived), as pending again (a webhook must not settle a send still in flight), with
        // a fresh lease for the send.
        const now = yield* Clock.currentTimeMillis
        const { correlationId: _previous, ...unaccepted } = entry
        const attempted: OutboxEntry =
          fresh !== undefined
            ? entry
            : { ...unaccepted, status: "pending", attempts: entry.attempts + 1, availableAt: now + leaseMs }
        if (fresh === undefined && Option.isNone(previously)) yield* store.updateOutbox(attempted)
        const sent = Option.isSome(previously)
          ? Either.right(previously.value)
          : yield* Effect.either(sending(entry.leadId, adapter.send(entry.intent, ref)))
        let receipt: SyncReceipt
        if (Either.isLeft(sent)) {
          const adopted = duplicateOfOurs(entry, priorAttempts, sent.left)
          if (adopted === undefined) return yield* settleFailure(attempted, sent.left, tally)
          receipt = adopted
        } else receipt = sent.right
        if (receipt.vendorLeadId !== undefined && receipt.vendorLeadId !== vendorLeadId && leadExists) {
          yield* store.setVendorLeadId(entry.leadId, receipt.vendorLeadId)
        }
        if (receipt._tag === "Confirmed") {
          yield* store.updateOutbox({ ...attempted, status: "confirmed" })
          tally.confirmed++
          return { _tag: "Confirmed" } satisfies Delivered
        }
        const deadline = (yield* Clock.currentTimeMillis) + confirmTimeoutMs
        yield* store.updateOutbox({
          ...attempted,
          status: "accepted",
          correlationId: receipt.correlationId,
          availableAt: deadline,
        })
        tally.accepted++
        return { _tag: "Pending", correlationId: receipt.correlationId } satisfies Delivered
      }).pipe(
        // Cleared once the answer is recorded (or the delivery ends otherwise).
        Effect.ensuring(
          Effect.sync(() => {
            sendsInFlight.delete(entry.leadId)
            deliveries.delete(entry.id)
          }),
        ),
        Effect.withSpan("LeadEngine.dispatch", {
          attributes: { ...spanAttributes(entry.leadId), entry: entry.id },
          captureStackTrace: false,
        }),
      )

    const report = (tally: Tally): DispatchReport => ({ ...tally, notRolledBack: [...tally.notRolledBack] })

    /**
     * Delivers what is due, pipelined: `dispatchConcurrency` senders, each taking the next
     * claimed entry as soon as it is free; a sender finding none claims as many entries as
     * senders are idle (at most `batchSize`), so a free slot is filled at once (no waiting for a
     * whole batch) and several engines on one store share the backlog instead of one leasing a
     * large batch. At most one claim runs per delivery that ends (others wait for its entries),
     * so idle senders never storm the store. A claim holds at most one entry per lead and a
     * lead's next entry is claimable only once the earlier one is settled, so a lead's writes
     * still go out one at a time, in order. Returns when a claim finds nothing left to deliver
     * and no delivery is in flight.
     */
    const dispatchDue: Effect.Effect<DispatchReport, StoreError> = Effect.gen(function* () {
      const tally = emptyTally()
      const claimed: Array<OutboxEntry> = []
      const claimLock = yield* Effect.makeSemaphore(1)
      let busy = 0
      let drained = false
      // Whether a claim ran since a delivery last ended (or entries last arrived): then an idle
      // sender waits for `changed` instead of claiming again.
      let claimedSinceChange = false
      let changed = yield* Deferred.make<void>()
      const notify = Effect.gen(function* () {
        claimedSinceChange = false
        const done = changed
        changed = yield* Deferred.make<void>()
        yield* Deferred.succeed(done, undefined)
      })
      type Next = OutboxEntry | { readonly wait: Deferred.Deferred<void> } | undefined
      const next: Effect.Effect<Next, StoreError> = claimLock.withPermits(1)(
        Effect.gen(function* () {
          const take = () => {
            const entry = claimed.shift()
            if (entry !== undefined) busy++
            return entry
          }
          if (claimed.length > 0) return take()
          if (drained) return undefined
          if (claimedSinceChange) return { wait: changed }
          const now = yield* Clock.currentTimeMillis
          const limit = Math.max(1, Math.min(batchSize, dispatchConcurrency - busy))
          const batch = yield* store.claim(now, limit, leaseMs)
          claimedSinceChange = true
          // An entry still being delivered here (its lease ran out on a busy loop) is skipped:
          // the claim renewed its lease, and its own delivery settles it.
          for (const entry of batch) {
            if (deliveries.has(entry.id)) continue
            deliveries.add(entry.id)
            claimed.push(entry)
          }
          if (claimed.length === 0) {
            // Nothing to deliver and nothing in flight here: done. With deliveries in flight, a
            // lead's next write may become due when one ends: wait for that.
            if (busy > 0) return { wait: changed }
            drained = true
            yield* notify
            return undefined
          }
          // More than this sender takes: wake the idle ones.
          if (claimed.length > 1) {
            yield* notify
            claimedSinceChange = true
          }
          return take()
        }),
      )
      const sender = Effect.gen(function* () {
        for (;;) {
          const entry = yield* next
          if (entry === undefined) return
          if ("wait" in entry) {
            yield* Deferred.await(entry.wait)
            continue
          }
          yield* deliver(entry, tally).pipe(
            Effect.ensuring(
              Effect.gen(function* () {
                busy--
                deliveries.delete(entry.id)
                yield* notify
              }),
            ),
          )
        }
      })
      yield* Effect.all(
        Array.from({ length: Math.max(1, dispatchConcurrency) }, () => sender),
        { concurrency: "unbounded", discard: true },
      ).pipe(
        // Claimed but not started (interrupted, or a store failure elsewhere): leased, not ours.
        Effect.ensuring(
          Effect.sync(() => {
            for (const entry of claimed) deliveries.delete(entry.id)
          }),
        ),
      )
      return report(tally)
    }).pipe(
      Effect.withSpan("LeadEngine.dispatchDue", {
        attributes: { "leadstate.vendor": adapter.vendor },
        captureStackTrace: false,
      }),
    )

    /** Saves a step and delivers its entries (pre-leased to this caller). */
    const commit = (previous: LeadForWrite | undefined, step: Transitioned, resyncing = false) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const leadId = step.snapshot.leadId
        // The outbox is read only for a lead not (yet) at the vendor: did its create fail for good?
        const stranded =
          previous !== undefined && previous.lead.vendorLeadId === undefined
            ? notCreated(yield* store.outbox(leadId))
            : undefined
        if (stranded !== undefined && !resyncing) return yield* new LeadNotAtVendor({ leadId, reason: stranded })
        // An older write of the lead that is not settled yet goes first (via dispatchDue).
        const blocked = previous?.unsettled === true
        const expected = previous?.lead.snapshot.version
        const entries: Array<OutboxEntry> = step.intents.map((intent, index) => ({
          id: entryId(leadId, step.snapshot.version, index),
          leadId,
          intent,
          status: "pending",
          // The first one is sent right after the save: its attempt is counted in the save, so
          // that after a crash in between, the next sender reads back before sending.
          attempts: !blocked && index === 0 ? 1 : 0,
          // Leased to this caller, unless it waits behind an older write.
          availableAt: blocked ? now : now + leaseMs,
        }))
        if (blocked) {
          yield* store.save(step.snapshot, expected, entries, step.history)
          return { _tag: "Queued", retryAt: now, error: undefined } satisfies Outcome
        }
        // Leased to this caller: in the in-flight set until each is delivered or released.
        for (const entry of entries) deliveries.add(entry.id)
        const release = Effect.sync(() => {
          for (const entry of entries) deliveries.delete(entry.id)
        })
        return yield* Effect.ensuring(
          Effect.gen(function* () {
            yield* store.save(step.snapshot, expected, entries, step.history)
            const tally = emptyTally()
            let outcome: Outcome = { _tag: "Confirmed" }
            for (const entry of entries) {
              const fresh = entry === entries[0] ? { vendorLeadId: previous?.lead.vendorLeadId } : undefined
              const delivered = yield* deliver(entry, tally, fresh)
              if (delivered._tag === "Failed") return yield* Effect.fail(delivered.error)
              if (delivered._tag === "Queued") {
                // Later entries of the lead wait behind this one; release their lease.
                yield* release
                for (const rest of entries.slice(entries.indexOf(entry) + 1)) {
                  yield* store.updateOutbox({ ...rest, availableAt: delivered.retryAt })
                }
                return { _tag: "Queued", retryAt: delivered.retryAt, error: delivered.error } satisfies Outcome
              }
              if (delivered._tag === "Pending") outcome = delivered
            }
            return outcome
          }),
          release,
        )
      })

    const stamp = (event: unknown, now: number): unknown =>
      typeof event === "object" && event !== null && !Array.isArray(event) && !("at" in event)
        ? { ...event, at: now }
        : event

    const apply = (leadId: string, event: unknown): Effect.Effect<Outcome, ApplyError> =>
      Effect.gen(function* () {
        const loaded = yield* loadForWrite(leadId)
        const now = yield* Clock.currentTimeMillis
        const step = transition(lifecycle, loaded.lead.snapshot, stamp(event, now))
        if (Either.isLeft(step)) return yield* Effect.fail(step.left)
        return yield* commit(loaded, step.right)
      }).pipe(Effect.withSpan("LeadEngine.apply", { attributes: spanAttributes(leadId), captureStackTrace: false }))

    const create = (leadId: string, opts: { readonly at?: number; readonly metadata: Metadata.Metadata }) =>
      Effect.gen(function* () {
        const existing = yield* store.load(leadId)
        if (Option.isSome(existing)) {
          return yield* new LeadAlreadyExists({ leadId, state: existing.value.snapshot.state })
        }
        const at = opts.at ?? (yield* Clock.currentTimeMillis)
        // Checked: a bad time or metadata is a typed InvalidEvent, never a defect or a bad save.
        const started = startChecked(lifecycle, { leadId, at, metadata: opts.metadata })
        if (Either.isLeft(started)) return yield* Effect.fail(started.left)
        return yield* commit(undefined, started.right)
      }).pipe(Effect.withSpan("LeadEngine.create", { attributes: spanAttributes(leadId), captureStackTrace: false }))

    const resync = (leadId: string): Effect.Effect<Outcome, ApplyError> =>
      Effect.gen(function* () {
        const loaded = yield* loadForWrite(leadId)
        const lead = loaded.lead
        const entries = yield* store.outbox(leadId)
        const now = yield* Clock.currentTimeMillis
        const current = lead.snapshot
        const snapshot: LeadSnapshot = { ...current, version: current.version + 1, updatedAt: now }
        const toCurrent = (from: string): SetState => ({
          _tag: "SetState",
          leadId,
          from,
          to: current.state,
          at: now,
          ...(current.disposition === undefined ? {} : { disposition: current.disposition }),
          ...(current.due?.event === "wake" ? { snoozeUntil: current.due.at } : {}),
        })
        const intents: Array<SyncIntent> = []
        if (lead.vendorLeadId === undefined && notCreated(entries) !== undefined) {
          intents.push({ _tag: "CreateLead", leadId, state: lifecycle.initial, metadata: current.metadata, at: now })
          if (current.state !== lifecycle.initial) intents.push(toCurrent(lifecycle.initial))
        } else {
          const confirmed = entries.findLast((e) => e.status === "confirmed" && targetOf(e.intent) !== undefined)
          intents.push(toCurrent((confirmed === undefined ? undefined : targetOf(confirmed.intent)) ?? current.state))
        }
        return yield* commit(loaded, { snapshot, intents, history: [] }, true)
      }).pipe(Effect.withSpan("LeadEngine.resync", { attributes: spanAttributes(leadId), captureStackTrace: false }))

    /** Applies a vendor-side change: saved, with its writes recorded as already confirmed. */
    const applyVendorChange = (leadId: string, event: LeadChanged) =>
      Effect.gen(function* () {
        const { lead, unsettled: behindOurs } = yield* loadForWrite(leadId)
        if (event.at < lead.snapshot.updatedAt) return "stale" as const
        const step = transition(lifecycle, lead.snapshot, event.event)
        if (Either.isLeft(step)) return step.left
        const now = yield* Clock.currentTimeMillis
        // The vendor already has this change, unless writes of ours are still on their way
        // (`behindOurs`): they are older and would overwrite it there, so then it is sent again
        // after them.
        const entries: Array<OutboxEntry> = step.right.intents.map((intent, index) => ({
          id: entryId(leadId, step.right.snapshot.version, index),
          leadId,
          intent,
          status: behindOurs ? "pending" : "confirmed",
          attempts: 0,
          availableAt: now,
        }))
        // The event is recorded with the change, atomically: a crash loses neither.
        yield* store.saveVendorChange(
          step.right.snapshot,
          lead.snapshot.version,
          entries,
          event.vendorEventId,
          step.right.history,
        )
        return "applied" as const
      }).pipe(Effect.retry({ times: 3, while: (e) => e._tag === "VersionConflict" }))

    const handleWebhook = (raw: RawWebhook): Effect.Effect<WebhookReport, WebhookError | StoreError> =>
      Effect.gen(function* () {
        if (Option.isNone(webhooks)) {
          return yield* Effect.fail(
            new WebhookError({
              vendor: adapter.vendor,
              reason: "Unsupported",
              detail: "the engine was built without a CrmWebhooks decoder",
            }),
          )
        }
        const events = yield* webhooks.value.decode(raw)
        const now = yield* Clock.currentTimeMillis
        for (const event of events) {
          const refused = checkClockSkew(webhooks.value.vendor, event, now, maxClockSkewMs)
          if (refused !== undefined) return yield* refused
        }
        const tally = emptyTally()
        let applied = 0
        let duplicates = 0
        let stale = 0
        let unmatched = 0
        let appliedTwice = 0
        const rejected: Array<{ vendorEventId: string; error: LifecycleError }> = []
        for (const event of events) {
          const leadId = event.ref.leadId
          yield* Effect.annotateCurrentSpan("leadstate.lead_id", leadId)
          if (event._tag === "LeadChanged") {
            const result = yield* Effect.either(applyVendorChange(leadId, event))
            if (Either.isLeft(result)) {
              if (result.left._tag === "StoreError") return yield* Effect.fail(result.left)
              if (result.left._tag === "VersionConflict") {
                // Still contended after retries: fail the delivery (500), so the vendor sends it
                // again; the event was not recorded.
                return yield* new StoreError({ operation: "handleWebhook", detail: result.left.message })
              }
              if (result.left._tag === "DuplicateEvent") duplicates++
              else unmatched++ // a lead we do not have
              continue
            }
            // Not applied (stale, refused): recorded now, so a redelivery counts as a duplicate.
            if (result.right !== "applied" && !(yield* store.rememberEvent(event.vendorEventId))) {
              duplicates++
              continue
            }
            if (result.right === "applied") applied++
            else if (result.right === "stale") stale++
            else rejected.push({ vendorEventId: event.vendorEventId, error: result.right })
            continue
          }
          // A settlement is recorded first: if we crash before settling, the write's confirm
          // deadline reads the lead back instead.
          if (!(yield* store.rememberEvent(event.vendorEventId))) {
            duplicates++
            continue
          }
          const named = event.ref.writeId
          if (named !== undefined && event._tag === "SyncConfirmed") {
            // The vendor names the write it applied (our write id, stored with the lead): settle
            // exactly that one, whatever attempt it came from and whatever the clocks say.
            const outcome = yield* settleNamed(leadId, named)
            if (outcome === "unmatched") unmatched++
            else if (outcome === "confirmed") tally.confirmed++
            else if (outcome === "appliedTwice") appliedTwice++
            else stale++
            continue
          }
          const entry = yield* acceptedWrite(leadId)
          if (Option.isNone(entry)) {
            unmatched++
            continue
          }
          // A re-sent write (read back as not applied) may still get the outcome of its earlier
          // attempt, late; an outcome older than the current attempt's acceptance is not its own.
          // (Vendor and engine clocks may differ: ignoring an outcome only defers the settling to
          // the read-back at the confirm deadline.)
          const acceptedAt = entry.value.availableAt - confirmTimeoutMs
          if (entry.value.attempts > 1 && event.at < acceptedAt) {
            stale++
            continue
          }
          if (event.ref.vendorLeadId !== undefined) {
            const lead = yield* store.load(leadId)
            if (Option.isSome(lead) && lead.value.vendorLeadId === undefined) {
              yield* store.setVendorLeadId(leadId, event.ref.vendorLeadId)
            }
          }
          if (event._tag === "SyncConfirmed") {
            yield* store.updateOutbox({ ...entry.value, status: "confirmed" })
            tally.confirmed++
          } else {
            const error = new CrmError({
              vendor: adapter.vendor,
              operation: entry.value.intent._tag,
              leadId,
              reason: event.reason,
            })
            yield* settleFailure(entry.value, error, tally)
          }
        }
        return { ...report(tally), applied, duplicates, stale, unmatched, appliedTwice, rejected }
      }).pipe(
        Effect.withSpan("LeadEngine.handleWebhook", {
          attributes: { "leadstate.vendor": adapter.vendor },
          captureStackTrace: false,
        }),
      )

    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

    const webhookHandler = async (request: Request): Promise<Response> => {
      if (request.method !== "POST") return json(405, { error: "webhooks are POSTed" })
      const headers: Record<string, string> = {}
      request.headers.forEach((value, key) => {
        headers[key] = value
      })
      const read = await WebhookBody.read(request, maxWebhookBodyBytes)
      if (read._tag === "TooLarge") return WebhookBody.tooLarge(read.maxBytes)
      if (read._tag === "Unreadable") return json(400, { error: `the body could not be read: ${read.detail}` })
      const exit = await Runtime.runPromiseExit(runtime)(handleWebhook({ headers, body: read.bytes }))
      if (Exit.isSuccess(exit)) {
        const { rejected, notRolledBack, ...counts } = exit.value
        return json(200, { ...counts, rejected: rejected.length, notRolledBack: notRolledBack.length })
      }
      const error = Cause.failureOption(exit.cause)
      if (Option.isNone(error) || error.value._tag === "StoreError") {
        return json(500, { error: "internal error while handling the webhook" })
      }
      const status =
        error.value.reason === "InvalidSignature"
          ? 401
          : error.value.reason === "Malformed" || error.value.reason === "ClockSkew"
            ? 400
            : 200
      return json(status, { error: error.value.message, reason: error.value.reason })
    }

    const fireDeadlines = (limit = 1_000): Effect.Effect<DeadlineReport, StoreError> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const leadIds = yield* store.dueLeads(now, limit)
        let fired = 0
        const errors: Array<{ leadId: string; error: ApplyError }> = []
        for (const leadId of leadIds) {
          // One step at a time, each saved with its own writes: a lead idle for a week walks
          // its whole follow-up sequence, each step stamped with its own deadline.
          for (let step = 0; step < maxCatchUpSteps; step++) {
            const lead = yield* store.load(leadId)
            if (Option.isNone(lead)) break
            const [event] = dueEvents(lead.value.snapshot, now)
            if (event === undefined) break
            const result = yield* Effect.either(apply(leadId, event))
            if (Either.isRight(result)) fired++
            else if (result.left._tag === "StoreError") return yield* Effect.fail(result.left)
            else {
              errors.push({ leadId, error: result.left })
              break
            }
          }
        }
        return { fired, errors }
      }).pipe(
        Effect.withSpan("LeadEngine.fireDeadlines", {
          attributes: { "leadstate.vendor": adapter.vendor },
          captureStackTrace: false,
        }),
      )

    const applyMany = (
      items: Iterable<{ readonly leadId: string; readonly event: unknown }>,
      opts: { readonly concurrency: number },
    ) => Effect.forEach(items, (item) => Effect.either(apply(item.leadId, item.event)), opts)

    const worker = (opts: { readonly intervalMs?: number } = {}): Effect.Effect<never> =>
      Effect.gen(function* () {
        yield* dispatchDue
        yield* fireDeadlines()
      }).pipe(
        // A defect (from an adapter or a store) must not stop the loop either.
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.interrupt
            : Effect.logError("leadstate worker pass failed; retrying at the next interval", cause),
        ),
        Effect.repeat(Schedule.spaced(Duration.millis(opts.intervalMs ?? 1_000))),
        Effect.andThen(Effect.never),
      )

    return {
      lifecycle,
      worker,
      create,
      apply,
      resync,
      applyMany,
      dispatchDue,
      handleWebhook,
      webhookHandler,
      fireDeadlines,
    } satisfies LeadEngineService
  })

/** The engine tag, for apps that pass the engine through layers. */
export class LeadEngine extends Context.Tag("@leadstate/core/LeadEngine")<LeadEngine, LeadEngineService>() {
  /** The engine over the `CrmAdapter`, `LeadStore` (and optional `CrmWebhooks`) layers given to it. */
  static readonly layer = (
    lifecycle: Lifecycle,
    options: EngineOptions = {},
  ): Layer.Layer<LeadEngine, never, CrmAdapter | LeadStore> => Layer.effect(LeadEngine, make(lifecycle, options))
}

/** {@link LeadEngine.layer}, as a module-level export. */
export const layer = LeadEngine.layer
