/**
 * The store port: where the engine keeps lead snapshots and the outbox of vendor writes.
 * A snapshot and the outbox entries its transition produced are saved in one atomic step,
 * guarded by the snapshot's version, so two writers on one lead never overwrite each other
 * and a crash never loses a pending vendor write. `layerMemory` is the in-memory default;
 * every store passes `storeSuite` from `@leadstate/testkit/storeSuite`.
 *
 * @since 0.1.0
 */

import { Context, Effect, Layer, Option, Schema } from "effect"
import type { CrmErrorReason } from "./CrmError.js"
import type { HistoryEntry, LeadSnapshot } from "./LeadSnapshot.js"
import type { SyncIntent } from "./SyncIntent.js"
import * as WriteId from "./WriteId.js"

/** A lead as stored: its snapshot and, once the vendor told us, the vendor's id for it. */
export interface StoredLead {
  readonly snapshot: LeadSnapshot
  readonly vendorLeadId: string | undefined
}

/** A lead loaded to apply an event: the lead, and whether it has unsettled vendor writes. */
export interface LeadForWrite {
  readonly lead: StoredLead
  /** The lead has a pending or accepted outbox entry (a new write must queue behind it). */
  readonly unsettled: boolean
}

/** One entry of a lead's history log: the move, and the lead version its save produced. */
export interface HistoryRecord extends HistoryEntry {
  /** The snapshot version saved with this entry (entries are ordered by it). */
  readonly version: number
}

/** Which part of a lead's history log {@link LeadStoreService.history} returns. */
export interface HistoryQuery {
  /** Only entries saved with a version greater than this (a cursor: the last version seen). */
  readonly after?: number | undefined
  /** At most this many entries (the oldest of those selected). */
  readonly limit?: number | undefined
}

/** Where an outbox entry stands: waiting to be sent, accepted (awaiting a webhook), or settled. */
export type OutboxStatus = "pending" | "accepted" | "confirmed" | "failed"

/** One vendor write to deliver, at least once. */
export interface OutboxEntry {
  /** Idempotency key: `${leadId}/${version}/${index}` (see {@link entryId}). */
  readonly id: string
  readonly leadId: string
  readonly intent: SyncIntent
  readonly status: OutboxStatus
  /** Send attempts started so far; above 0 the vendor may already have the write. */
  readonly attempts: number
  /**
   * Epoch ms before which the entry is not claimed: a retry's backoff or a sender's lease while
   * pending; the confirmation deadline while accepted (past it, the engine reads the lead back).
   */
  readonly availableAt: number
  /** The vendor's correlation id of an accepted write. */
  readonly correlationId?: string
  /** The last failure, kept for reports. */
  readonly failure?: { readonly reason: CrmErrorReason["_tag"]; readonly message: string }
}

/** The idempotency key of the `index`-th intent produced by the transition to `version`. */
export const entryId: (leadId: string, version: number, index: number) => string = WriteId.make

/** The store failed (connection, constraint, corrupt row); `operation` names the call. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `Lead store ${this.operation} failed: ${this.detail}`
  }
}

/**
 * Another writer saved the lead first (or it already exists, or it does not exist yet).
 * Nothing was written; reload the lead and apply the event again.
 */
export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  leadId: Schema.String,
  /** The version the writer read; `undefined`: it expected no lead. */
  expected: Schema.UndefinedOr(Schema.Number),
  /** The stored version; `undefined`: there is no lead. */
  actual: Schema.UndefinedOr(Schema.Number),
}) {
  override get message(): string {
    const show = (v: number | undefined) => (v === undefined ? "no lead" : `version ${v}`)
    return `Lead "${this.leadId}" changed concurrently: expected ${show(this.expected)}, found ${show(this.actual)}. Nothing was written; reload the lead and apply the event again.`
  }
}

/** The vendor event was recorded already (it was handled before); nothing was written. */
export class DuplicateEvent extends Schema.TaggedError<DuplicateEvent>()("DuplicateEvent", {
  vendorEventId: Schema.String,
}) {
  override get message(): string {
    return `Vendor event "${this.vendorEventId}" was handled already; nothing was written.`
  }
}

/** The store, as the engine uses it. */
export interface LeadStoreService {
  readonly load: (leadId: string) => Effect.Effect<Option.Option<StoredLead>, StoreError>
  /**
   * {@link load} and {@link hasUnsettled} in one round trip: what the engine needs before
   * applying an event.
   */
  readonly loadForWrite: (leadId: string) => Effect.Effect<Option.Option<LeadForWrite>, StoreError>
  /**
   * Saves the snapshot, appends `outbox` and appends `history` to the lead's history log (each
   * entry recorded with `snapshot.version`), atomically, when the stored version equals
   * `expectedVersion` (`undefined`: the lead must not exist). Otherwise `VersionConflict`
   * and nothing is written. The vendor lead id already stored is kept.
   */
  readonly save: (
    snapshot: LeadSnapshot,
    expectedVersion: number | undefined,
    outbox: ReadonlyArray<OutboxEntry>,
    history?: ReadonlyArray<HistoryEntry>,
  ) => Effect.Effect<void, StoreError | VersionConflict>
  /**
   * `save` for a change the vendor reported: also records `vendorEventId` in the same atomic
   * step (so a crash never leaves the event recorded but its change unsaved, or the reverse).
   * An event recorded already is `DuplicateEvent`, and nothing is written.
   */
  readonly saveVendorChange: (
    snapshot: LeadSnapshot,
    expectedVersion: number | undefined,
    outbox: ReadonlyArray<OutboxEntry>,
    vendorEventId: string,
    history?: ReadonlyArray<HistoryEntry>,
  ) => Effect.Effect<void, StoreError | VersionConflict | DuplicateEvent>
  /**
   * The lead's history log, oldest first: every entry saved with its snapshots (a lead's
   * first snapshot brings its "start" entry). Empty for an unknown lead.
   */
  readonly history: (leadId: string, query?: HistoryQuery) => Effect.Effect<ReadonlyArray<HistoryRecord>, StoreError>
  readonly setVendorLeadId: (leadId: string, vendorLeadId: string) => Effect.Effect<void, StoreError>
  /**
   * Entries that need the engine, oldest first, at most `limit`: each lead's oldest unsettled
   * (pending or accepted) entry, when its `availableAt <= now`. They are leased by moving
   * `availableAt` to `now + leaseMs`. A lead's later writes wait until the earlier one is
   * settled, so they reach the vendor one at a time and in order; an accepted entry comes
   * back once its confirmation deadline passed without a webhook.
   */
  readonly claim: (now: number, limit: number, leaseMs: number) => Effect.Effect<ReadonlyArray<OutboxEntry>, StoreError>
  /** Replaces the entry with the same id. */
  readonly updateOutbox: (entry: OutboxEntry) => Effect.Effect<void, StoreError>
  /** The lead's entries, oldest first, settled ones included. */
  readonly outbox: (leadId: string) => Effect.Effect<ReadonlyArray<OutboxEntry>, StoreError>
  /** One entry of the lead's, by id (settled or not). */
  readonly outboxEntry: (leadId: string, entryId: string) => Effect.Effect<Option.Option<OutboxEntry>, StoreError>
  /**
   * Whether the lead has an unsettled (pending or accepted) entry. Its cost does not grow with
   * the lead's settled entries, so the engine asks it on every transition instead of reading
   * the whole outbox.
   */
  readonly hasUnsettled: (leadId: string) => Effect.Effect<boolean, StoreError>
  /** The lead's oldest entry awaiting its webhook. */
  readonly oldestAccepted: (leadId: string) => Effect.Effect<Option.Option<OutboxEntry>, StoreError>
  /** Leads whose deadline (`snapshot.due.at`) has passed by `now`, at most `limit`. */
  readonly dueLeads: (now: number, limit: number) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /** Records a vendor event id; true the first time, false for a duplicate. */
  readonly rememberEvent: (vendorEventId: string) => Effect.Effect<boolean, StoreError>
}

/** The store tag. */
export class LeadStore extends Context.Tag("@leadstate/core/LeadStore")<LeadStore, LeadStoreService>() {
  /** A fresh in-memory store per layer build. */
  static readonly layerMemory: Layer.Layer<LeadStore> = Layer.effect(
    LeadStore,
    Effect.sync(() => unsafeMakeMemory()),
  )
}

/** A fresh in-memory store (two engines given the same one share their leads). */
export const makeMemory: Effect.Effect<LeadStoreService> = Effect.sync(() => unsafeMakeMemory())

/** {@link LeadStore.layerMemory}, as a module-level export. */
export const layerMemory: Layer.Layer<LeadStore> = LeadStore.layerMemory

/**
 * Times every store can keep: epoch ms that round to a safe integer (the SQL stores keep
 * BIGINT milliseconds). Anything else is refused, by every store alike.
 */
const storable = (ms: number): boolean => Number.isSafeInteger(Math.ceil(ms))

/** Pending or accepted: the entry still needs the engine. */
const isUnsettled = (entry: OutboxEntry): boolean => entry.status === "pending" || entry.status === "accepted"

const unsafeMakeMemory = (): LeadStoreService => {
  // Every operation is one synchronous block, so each is atomic with respect to other fibers.
  const leads = new Map<string, StoredLead>()
  // Insertion order is creation order; replacing a value keeps its place.
  const entries = new Map<string, OutboxEntry>()
  const events = new Set<string>()
  /** Each lead's history log, oldest first. */
  const logs = new Map<string, Array<HistoryRecord>>()
  /** Entry ids per lead, oldest first (so `outbox` and `oldestAccepted` need not scan every entry). */
  const byLead = new Map<string, Array<string>>()
  /** The ids of each lead's unsettled entries (a lead without any has no key), for `hasUnsettled`. */
  const unsettledByLead = new Map<string, Set<string>>()
  const track = (entry: OutboxEntry): void => {
    const ids = unsettledByLead.get(entry.leadId)
    if (isUnsettled(entry)) {
      if (ids === undefined) unsettledByLead.set(entry.leadId, new Set([entry.id]))
      else ids.add(entry.id)
    } else if (ids !== undefined) {
      ids.delete(entry.id)
      if (ids.size === 0) unsettledByLead.delete(entry.leadId)
    }
  }
  const ofLead = (leadId: string): Array<OutboxEntry> => {
    const out: Array<OutboxEntry> = []
    for (const id of byLead.get(leadId) ?? []) {
      const entry = entries.get(id)
      if (entry !== undefined) out.push(entry)
    }
    return out
  }
  const fail = (operation: string, detail: string) => Effect.fail(new StoreError({ operation, detail }))
  const save = (
    snapshot: LeadSnapshot,
    expectedVersion: number | undefined,
    outbox: ReadonlyArray<OutboxEntry>,
    history: ReadonlyArray<HistoryEntry> = [],
  ): Effect.Effect<void, StoreError | VersionConflict> =>
    Effect.suspend((): Effect.Effect<void, StoreError | VersionConflict> => {
      const current = leads.get(snapshot.leadId)
      const actual = current?.snapshot.version
      if (actual !== expectedVersion) {
        return Effect.fail(new VersionConflict({ leadId: snapshot.leadId, expected: expectedVersion, actual }))
      }
      if (snapshot.due !== undefined && !storable(snapshot.due.at)) {
        return fail("save", `the deadline of lead "${snapshot.leadId}" (${snapshot.due.at}) is not a storable time`)
      }
      const ids = new Set<string>()
      for (const entry of outbox) {
        if (entries.has(entry.id) || ids.has(entry.id)) return fail("save", `outbox entry "${entry.id}" exists`)
        if (!storable(entry.availableAt)) {
          return fail("save", `availableAt of outbox entry "${entry.id}" (${entry.availableAt}) is not a storable time`)
        }
        if (entry.leadId !== snapshot.leadId) {
          return fail("save", `outbox entry "${entry.id}" belongs to lead "${entry.leadId}"`)
        }
        ids.add(entry.id)
      }
      for (const entry of history) {
        if (!storable(entry.at)) {
          return fail(
            "save",
            `a history entry of lead "${snapshot.leadId}" has a time (${entry.at}) that is not storable`,
          )
        }
      }
      leads.set(snapshot.leadId, { snapshot, vendorLeadId: current?.vendorLeadId })
      if (history.length > 0) {
        const log = logs.get(snapshot.leadId) ?? []
        if (log.length === 0) logs.set(snapshot.leadId, log)
        for (const entry of history) log.push({ ...entry, version: snapshot.version })
      }
      for (const entry of outbox) {
        entries.set(entry.id, entry)
        const ids = byLead.get(entry.leadId)
        if (ids === undefined) byLead.set(entry.leadId, [entry.id])
        else ids.push(entry.id)
        track(entry)
      }
      return Effect.void
    })
  return {
    load: (leadId) => Effect.sync(() => Option.fromNullable(leads.get(leadId))),
    loadForWrite: (leadId) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(leads.get(leadId)), (lead) => ({
          lead,
          unsettled: unsettledByLead.has(leadId),
        })),
      ),
    save,
    history: (leadId, query) =>
      Effect.sync(() => {
        const log = logs.get(leadId) ?? []
        const after = query?.after
        // Versions only grow along the log: the first entry past `after`, by binary search.
        let lo = 0
        if (after !== undefined) {
          let hi = log.length
          while (lo < hi) {
            const mid = (lo + hi) >>> 1
            if ((log[mid] as HistoryRecord).version > after) hi = mid
            else lo = mid + 1
          }
        }
        const limit = query?.limit
        return log.slice(lo, limit === undefined ? undefined : lo + Math.max(0, limit))
      }),
    saveVendorChange: (snapshot, expectedVersion, outbox, vendorEventId, history) =>
      Effect.suspend((): Effect.Effect<void, StoreError | VersionConflict | DuplicateEvent> => {
        if (events.has(vendorEventId)) return Effect.fail(new DuplicateEvent({ vendorEventId }))
        // save is synchronous within this block: nothing runs between the check and the add.
        return Effect.tap(save(snapshot, expectedVersion, outbox, history), () =>
          Effect.sync(() => events.add(vendorEventId)),
        )
      }),
    setVendorLeadId: (leadId, vendorLeadId) =>
      Effect.suspend(() => {
        const current = leads.get(leadId)
        if (current === undefined) return fail("setVendorLeadId", `no lead "${leadId}"`)
        leads.set(leadId, { ...current, vendorLeadId })
        return Effect.void
      }),
    claim: (now, limit, leaseMs) =>
      Effect.suspend((): Effect.Effect<ReadonlyArray<OutboxEntry>, StoreError> => {
        if (!storable(now + leaseMs)) return fail("claim", `the lease's end (${now + leaseMs}) is not a storable time`)
        const claimed: Array<OutboxEntry> = []
        const blocked = new Set<string>()
        for (const entry of entries.values()) {
          if (claimed.length >= limit) break
          if (!isUnsettled(entry) || blocked.has(entry.leadId)) continue
          blocked.add(entry.leadId)
          if (entry.availableAt > now) continue
          const leased = { ...entry, availableAt: now + leaseMs }
          entries.set(entry.id, leased)
          claimed.push(leased)
        }
        return Effect.succeed(claimed)
      }),
    updateOutbox: (entry) =>
      Effect.suspend(() => {
        if (entries.get(entry.id)?.leadId !== entry.leadId) {
          return fail("updateOutbox", `no outbox entry "${entry.id}" of lead "${entry.leadId}"`)
        }
        if (!storable(entry.availableAt)) {
          return fail("updateOutbox", `availableAt of "${entry.id}" (${entry.availableAt}) is not a storable time`)
        }
        entries.set(entry.id, entry)
        track(entry)
        return Effect.void
      }),
    outbox: (leadId) => Effect.sync(() => ofLead(leadId)),
    outboxEntry: (leadId, entryId) =>
      Effect.sync(() => Option.filter(Option.fromNullable(entries.get(entryId)), (e) => e.leadId === leadId)),
    hasUnsettled: (leadId) => Effect.sync(() => unsettledByLead.has(leadId)),
    oldestAccepted: (leadId) =>
      Effect.sync(() => Option.fromNullable(ofLead(leadId).find((e) => e.status === "accepted"))),
    dueLeads: (now, limit) =>
      Effect.sync(() => {
        const out: Array<string> = []
        for (const [leadId, lead] of leads) {
          if (out.length >= limit) break
          const due = lead.snapshot.due
          if (due !== undefined && due.at <= now) out.push(leadId)
        }
        return out
      }),
    rememberEvent: (vendorEventId) =>
      Effect.sync(() => {
        if (events.has(vendorEventId)) return false
        events.add(vendorEventId)
        return true
      }),
  }
}
