/**
 * Voxys sends no lead webhooks, so changes made in the Voxys UI are found by polling: the lead
 * list sorted by `updated_at` (newest first), read page by page down to the last poll's
 * watermark. Each changed lead that leadstate manages (`custom_attributes.external_id`) becomes a
 * `LeadChanged` event, the same inbound event a webhook adapter gives, unless its notes tag shows
 * that its status is leadstate's own last write (an echo).
 *
 * @example
 * const reconciler = VoxysReconciler.make(crm)
 * const { events, cursor } = yield* reconciler.poll({ since: savedCursor })
 * // apply events in order, then save cursor
 *
 * @since 0.1.0
 */
import { CrmError, type CrmWebhooks, type LeadEvent } from "@leadstate/core"
import { Context, type Duration, Effect, Either, Layer } from "effect"
import * as VoxysAdapter from "./VoxysAdapter.js"
import type * as VoxysSchema from "./VoxysSchema.js"

/** Options of one poll. */
export interface PollOptions {
  /** The cursor of the last poll (an ISO `updated_at`); undefined reads every lead once. */
  readonly since: string | undefined
  /** Leads per page, 1 to 100 (default 100). */
  readonly perPage?: number
}

/** What a poll found. */
export interface PollResult {
  /** One event per changed lead (its latest status), oldest change first. */
  readonly events: ReadonlyArray<CrmWebhooks.LeadChanged>
  /** The newest `updated_at` seen, or `since` when nothing changed: pass it to the next poll. */
  readonly cursor: string | undefined
}

/** The poller. */
export interface VoxysReconcilerService {
  readonly poll: (options: PollOptions) => Effect.Effect<PollResult, CrmError.CrmError>
  /**
   * Polls now and then every `interval`, calling `onEvents` with each poll's events (only when
   * there are some) and the cursor to save after applying them. The cursor advances only after
   * `onEvents` succeeds. A retryable vendor failure is logged and the next poll tries again from
   * the same cursor; others (e.g. Unauthorized) stop the loop, as does a failure of `onEvents`.
   */
  readonly runEvery: <E, R>(
    interval: Duration.DurationInput,
    onEvents: (events: ReadonlyArray<CrmWebhooks.LeadChanged>, cursor: string | undefined) => Effect.Effect<void, E, R>,
    options?: { readonly since?: string; readonly perPage?: number },
  ) => Effect.Effect<never, CrmError.CrmError | E, R>
}

/** The poller's tag. */
export class VoxysReconciler extends Context.Tag("@leadstate/adapter-voxys/VoxysReconciler")<
  VoxysReconciler,
  VoxysReconcilerService
>() {}

/** The actor of events found by polling. */
export const actor = "voxys:poll"

const invalid = (field: string, detail: string) =>
  new CrmError.CrmError({
    vendor: "voxys",
    operation: "PollLeads",
    reason: { _tag: "InvalidRequest", fields: [field], detail },
  })

/** Builds the poller on a Voxys adapter (its list endpoint, lifecycle and state map). */
export const make = (crm: VoxysAdapter.VoxysCrmService): VoxysReconcilerService => {
  const toEvent = (lead: VoxysSchema.VoxysLead): Effect.Effect<ReadonlyArray<CrmWebhooks.LeadChanged>> => {
    const external = lead.custom_attributes?.external_id
    if (typeof external !== "string" || external === "") return Effect.succeed([])
    const { state, ours, vendorNote } = crm.interpret(lead)
    if (ours) return Effect.succeed([])
    if (state === undefined) {
      return Effect.as(
        Effect.logWarning(
          `voxys lead ${lead.id} has status "${lead.status}", which no lifecycle state maps to; the change is ignored`,
        ),
        [],
      )
    }
    const at = Date.parse(lead.updated_at)
    const event: LeadEvent.TransitionEvent = {
      type: "transition",
      to: state,
      actor,
      at,
      ...(vendorNote === undefined ? {} : { note: vendorNote }),
    }
    return Effect.succeed([
      {
        _tag: "LeadChanged",
        vendorEventId: `${lead.id}@${lead.updated_at}`,
        ref: { leadId: external, vendorLeadId: String(lead.id) },
        fromState: undefined,
        event,
        at,
      },
    ])
  }

  // Leads read at the cursor's exact timestamp by the last poll (see the inclusive watermark).
  const seenAtCursor = new Set<string>()

  const poll = (options: PollOptions): Effect.Effect<PollResult, CrmError.CrmError> =>
    Effect.gen(function* () {
      const perPage = options.perPage ?? 100
      if (!(Number.isInteger(perPage) && perPage >= 1 && perPage <= 100)) {
        return yield* invalid("perPage", `perPage must be an integer from 1 to 100, got ${perPage}`)
      }
      const sinceMs = options.since === undefined ? Number.NEGATIVE_INFINITY : Date.parse(options.since)
      if (Number.isNaN(sinceMs)) return yield* invalid("since", `"${options.since}" is not an ISO timestamp`)
      let cursor = options.since
      let cursorMs = sinceMs
      // Newest first; a lead seen twice (it moved while we paged) keeps its first, newest, copy.
      const changed = new Map<number, VoxysSchema.VoxysLead>()
      for (let page = 1; ; page++) {
        const result = yield* crm.list({ page, perPage, sortBy: "updated_at", sortOrder: "desc" })
        let reachedWatermark = false
        for (const lead of result.data) {
          const at = Date.parse(lead.updated_at)
          if (Number.isNaN(at)) continue
          // Inclusive watermark: Voxys timestamps may have whole-second precision, so a lead changed
          // in the cursor's second after the last poll must still be read; the ones that poll
          // already saw are remembered and skipped.
          if (at < sinceMs) {
            reachedWatermark = true
            break
          }
          if (at === sinceMs && seenAtCursor.has(`${lead.id}@${lead.updated_at}`)) continue
          if (!changed.has(lead.id)) changed.set(lead.id, lead)
          if (at > cursorMs) {
            cursorMs = at
            cursor = lead.updated_at
          }
        }
        if (reachedWatermark || result.data.length < perPage || page >= result.meta.total_pages) break
      }
      const atCursor = [...changed.values()]
        .filter((lead) => Date.parse(lead.updated_at) === cursorMs)
        .map((lead) => `${lead.id}@${lead.updated_at}`)
      if (cursorMs !== sinceMs) seenAtCursor.clear()
      for (const key of atCursor) seenAtCursor.add(key)
      const found = yield* Effect.forEach(changed.values(), toEvent)
      const events = found.flat().sort((a, b) => a.at - b.at || Number(a.ref.vendorLeadId) - Number(b.ref.vendorLeadId))
      return { events, cursor }
    })

  const runEvery: VoxysReconcilerService["runEvery"] = (interval, onEvents, options = {}) =>
    Effect.gen(function* () {
      let since = options.since
      for (;;) {
        const result = yield* Effect.either(
          poll({ since, ...(options.perPage === undefined ? {} : { perPage: options.perPage }) }),
        )
        if (Either.isRight(result)) {
          if (result.right.events.length > 0) yield* onEvents(result.right.events, result.right.cursor)
          since = result.right.cursor
        } else if (result.left.retryable) {
          yield* Effect.logWarning(`voxys poll failed, trying again at the next interval: ${result.left.message}`)
        } else {
          return yield* result.left
        }
        yield* Effect.sleep(interval)
      }
    })

  return { poll, runEvery }
}

/** The poller as a layer on `VoxysCrm`. */
export const layer: Layer.Layer<VoxysReconciler, never, VoxysAdapter.VoxysCrm> = Layer.effect(
  VoxysReconciler,
  Effect.map(VoxysAdapter.VoxysCrm, make),
)
