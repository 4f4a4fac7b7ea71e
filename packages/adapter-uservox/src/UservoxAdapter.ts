/**
 * The uservox adapter. Creates are synchronous (`POST /leads/initiate`); state changes are
 * not: `POST /leads/update` only answers "accepted", and the outcome arrives later as an
 * update-result webhook. So `send(SetState)` returns `Accepted`, and `awaitConfirmation`
 * settles it: `success: true` confirms, `success: false` fails with a typed reason
 * (`CallInProgress` is retryable later), and when no webhook arrives in time the lead is read
 * back (`GET /leads/get`) and settled from its `currentState`, or `VendorIgnoredWrite`.
 *
 * Correlation: the accepted answer carries no `updateId`, so pending updates are matched to
 * results by lead (`referenceId`, which is our lead id, or the uservox `leadId`), oldest first;
 * uservox runs one lead's update jobs in order. `correlationId` is `<leadId>#<n>`.
 *
 * Write ids: when the engine names the write (`LeadRef.writeId`), it goes into the request's
 * explicit metadata under `leadstate_write_id`; uservox merges metadata and keeps it on the
 * lead, so a read-back reports the last write of ours that landed (`VendorLead.lastWriteId`).
 *
 * Listing: uservox documents no endpoint that lists leads (`capabilities.listLeads` is false,
 * so there is no `listLeads`). To walk them, take the ids from the engine's store, or from a
 * list the user gives, and read each one back.
 *
 * Rate limit: every HTTP attempt (retries included) passes a strict sliding-window limiter
 * (`SlidingWindowLimiter`). A 429 that is uservox's duplicate-submission block stops every
 * request from the key for the documented 60 minutes (on Effect's `Clock`): calls fail at once
 * with `RateLimited { blocked: true }`, saying until when, and send nothing.
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform"
import {
  CrmAdapter,
  CrmError,
  CrmWebhooks,
  type Lifecycle,
  type Metadata,
  RetryPolicy,
  StateMap,
  VendorHttp,
  WebhookInbox,
  WriteId,
} from "@leadstate/core"
import {
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  Either,
  Layer,
  type Redacted,
  type Schema,
  type Scope,
} from "effect"
import * as SlidingWindowLimiter from "./SlidingWindowLimiter.js"
import * as UservoxSchema from "./UservoxSchema.js"
import * as UservoxWebhooks from "./UservoxWebhooks.js"

const VENDOR = "uservox"

export const WRITE_ID_KEY = UservoxSchema.WRITE_ID_KEY

/**
 * Where a disposition for a state that takes none at uservox is kept (with the state it was
 * written for, so a read-back in another state does not report it). Choice: the docs only
 * document `disposition` with `interested` and `lost`; sending it with other states may be ignored.
 */
export const DISPOSITION_KEY = "leadstate_disposition"
/** The metadata key naming the uservox state a kept disposition was written for. */
export const DISPOSITION_STATE_KEY = "leadstate_disposition_state"
/** The states uservox documents `disposition` with (vendor state names). */
export const documentedDispositionStates: ReadonlyArray<string> = ["interested", "lost"]
/** How long uservox blocks a key after more than 5 duplicate submissions within 60 s (documented). */
export const BLOCK_MS = 60 * 60 * 1000

/** Options of the uservox adapter. */
export interface UservoxOptions {
  readonly lifecycle: Lifecycle.Lifecycle
  /** Lifecycle states -> the process's state names; dispositions -> the process's disposition names. */
  readonly stateMap: StateMap.StateMapConfig
  /** Default `https://crm.uservox.ai/api/v1`. */
  readonly baseUrl?: string
  /** Project-scoped API token, sent as `Authorization: Bearer <token>`. */
  readonly apiToken: Redacted.Redacted<string>
  readonly projectId: string
  readonly processId: string
  /**
   * How leads are addressed on update and read-back: by `referenceId` (our lead id, with
   * projectId and processId; the default, so our id is the key) or by uservox's `leadId`.
   */
  readonly addressBy?: "referenceId" | "leadId"
  /** `init` on create: start the calling flow at once. Default false: the lifecycle decides. */
  readonly init?: boolean
  /** Metadata keys holding the contact fields (name or firstName, phone or email). */
  readonly contactFields?: {
    readonly name?: string
    readonly firstName?: string
    readonly lastName?: string
    readonly phone?: string
    readonly email?: string
  }
  /** How the process's callback authenticates (bearer token or custom header). */
  readonly webhookAuth: UservoxWebhooks.WebhookAuth
  /** How long to wait for an update's webhook before reading the lead back. Default 60 s. */
  readonly confirmTimeoutMs?: number
  /**
   * Client-side limit on every HTTP attempt, retries included: never more than `limit` start in
   * any window of `intervalMs`. Default 100 per 5 s, uservox's documented project limit.
   */
  readonly rateLimit?: { readonly limit: number; readonly intervalMs: number }
  /**
   * The process's states (uservox names) that take a `disposition` with `targetState`. Default
   * `interested` and `lost`, the documented ones. For other states the disposition is not sent:
   * it is kept in the update's metadata (`leadstate_disposition`) where a read-back finds it.
   * Every name must be a state of `stateMap`.
   */
  readonly dispositionStates?: ReadonlyArray<string>
  readonly retry?: RetryPolicy.RetryPolicy
  readonly onRetry?: RetryPolicy.OnRetry
}

/** One lead of a bulk initiate. */
export interface BulkLead {
  readonly leadId: string
  readonly metadata: Metadata.Metadata
}

/** The outcome of a bulk initiate: every input lead is in exactly one of the two lists. */
export interface BulkResult {
  readonly created: ReadonlyArray<{ readonly leadId: string; readonly vendorLeadId: string }>
  readonly failed: ReadonlyArray<{ readonly leadId: string; readonly reason: CrmError.CrmErrorReason }>
}

/** The uservox adapter with its vendor-specific operations. */
export interface UservoxCrmService extends CrmAdapter.CrmAdapterService {
  /** Settles an `Accepted` receipt: waits for its webhook, or reads the lead back after the timeout. */
  readonly awaitConfirmation: (
    receipt: CrmAdapter.Accepted,
    ref: CrmAdapter.LeadRef,
  ) => Effect.Effect<CrmAdapter.Confirmed, CrmError.CrmError>
  /** Feeds decoded webhook events to the pending updates (the webhook handler does this). */
  readonly settle: (events: ReadonlyArray<CrmWebhooks.WebhookEvent>) => Effect.Effect<void>
  /** Updates still waiting for their outcome. */
  readonly pendingCount: Effect.Effect<number>
  /** Starts (or restarts) the calling flow of an existing lead: `POST /leads/initiate { leadId }`. */
  readonly startCalling: (ref: CrmAdapter.LeadRef) => Effect.Effect<CrmAdapter.Confirmed, CrmError.CrmError>
  /** Creates many leads, in chunks of at most 1000; per-item failures are reported, never dropped. */
  readonly bulkInitiate: (leads: ReadonlyArray<BulkLead>) => Effect.Effect<BulkResult, CrmError.CrmError>
  /** Until when (epoch ms, on Effect's `Clock`) uservox blocks the key and nothing is sent, if it does. */
  readonly blockedUntil: Effect.Effect<number | undefined>
}

/** The uservox adapter's own tag (its layer provides `CrmAdapter` and `CrmWebhooks` too). */
export class UservoxCrm extends Context.Tag("@leadstate/adapter-uservox/UservoxCrm")<UservoxCrm, UservoxCrmService>() {}

export const capabilities: CrmAdapter.Capabilities = {
  create: true,
  readBack: true,
  asyncConfirmation: true,
  dispositions: true,
  snooze: false,
  bulk: true,
  delete: false,
  webhooks: { signature: "bearer" },
  // No list endpoint is documented: "Query Leads" is named in the API index, but its method,
  // path and pagination are unknown (vendors/uservox.md §3.5), so nothing is guessed. Leads
  // come from the engine's store, or from a list of lead ids, each read back with `readBack`.
  listLeads: false,
}

const BULK_LIMIT = 1000

const message = (body: unknown): string => {
  if (typeof body === "object" && body !== null) {
    const e = (body as Record<string, unknown>).error
    if (typeof e === "string") return e
  }
  return typeof body === "string" && body !== "" ? body.slice(0, 200) : "no detail given"
}

/** Fields a uservox 400 message is about, guessed from its words (uservox has no error codes). */
const fieldsOf = (text: string): Array<string> => {
  const fields: Array<string> = []
  for (const [pattern, field] of [
    [/projectId/i, "projectId"],
    [/processId/i, "processId"],
    [/referenceId/i, "referenceId"],
    [/leadId|lead object/i, "leadId"],
    [/phone/i, "phone"],
    [/email/i, "email"],
    [/name/i, "name"],
    [/state/i, "targetState"],
  ] as const) {
    if (pattern.test(text)) fields.push(field)
  }
  return fields
}

/** Maps uservox's answers (no error codes, only messages) to reasons. */
export const classify = (response: VendorHttp.ErrorResponse): CrmError.CrmErrorReason => {
  const text = message(response.body)
  const detail = `HTTP ${response.status}: ${text}`
  switch (response.status) {
    case 400:
      return /already exists|already been made|duplicate/i.test(text)
        ? { _tag: "DuplicateLead", detail }
        : { _tag: "InvalidRequest", detail, fields: fieldsOf(text) }
    case 401:
    case 403:
      return { _tag: "Unauthorized", detail }
    case 404:
      return { _tag: "NotFound", detail }
    case 429:
      // More than 5 duplicates in 60 s blocks the key for 60 minutes: do not retry blindly.
      if (/block/i.test(text)) return { _tag: "RateLimited", detail, retryAfterMs: BLOCK_MS, blocked: true }
      {
        // No rate-limit headers are documented; honour a Retry-After if one comes, else back off.
        const retryAfterMs = VendorHttp.parseRetryAfter(response.headers["retry-after"], Date.now())
        return retryAfterMs === undefined
          ? { _tag: "RateLimited", detail }
          : { _tag: "RateLimited", detail, retryAfterMs }
      }
    default:
      return VendorHttp.defaultReason({ ...response, body: text })
  }
}

interface Pending {
  readonly correlationId: string
  readonly expected: string
  readonly writeId: string | undefined
  readonly deferred: Deferred.Deferred<CrmAdapter.Confirmed, CrmError.CrmError>
  readonly sentAt: number
}

const str = (m: Metadata.Metadata, key: string | undefined): string | undefined => {
  const v = key === undefined ? undefined : m[key]
  return typeof v === "string" && v !== "" ? v : undefined
}

const invalid = (field: string, detail: string) =>
  new CrmAdapter.InvalidAdapterConfig({ vendor: VENDOR, field, detail })

/** The configured disposition states, checked against the state map's uservox names. */
const dispositionStatesOf = (
  options: UservoxOptions,
): Either.Either<ReadonlySet<string>, CrmAdapter.InvalidAdapterConfig> => {
  if (options.dispositionStates === undefined) return Either.right(new Set(documentedDispositionStates))
  const known = new Set(Object.values(options.stateMap.states))
  const unknown = options.dispositionStates.filter((s) => !known.has(s))
  return unknown.length === 0
    ? Either.right(new Set(options.dispositionStates))
    : Either.left(
        invalid(
          "dispositionStates",
          `${unknown.map((s) => `"${s}"`).join(", ")} ${unknown.length === 1 ? "is not a state" : "are not states"} of the state map; use uservox state names from stateMap.states: ${[...known].join(", ")}`,
        ),
      )
}

const rateLimitOf = (
  options: UservoxOptions,
): Either.Either<SlidingWindowLimiter.SlidingWindowLimiterOptions, CrmAdapter.InvalidAdapterConfig> => {
  const limit = options.rateLimit ?? { limit: 100, intervalMs: 5_000 }
  return Number.isSafeInteger(limit.limit) &&
    limit.limit > 0 &&
    Number.isFinite(limit.intervalMs) &&
    limit.intervalMs > 0
    ? Either.right(limit)
    : Either.left(
        invalid(
          "rateLimit",
          `limit must be a positive integer and intervalMs a positive number of milliseconds, got ${limit.limit} per ${limit.intervalMs} ms`,
        ),
      )
}

/**
 * Builds the adapter; fails with `InvalidStateMap` when the map does not fit the lifecycle, and
 * with `InvalidAdapterConfig` for an unusable `rateLimit` or `dispositionStates`.
 */
export const make = (
  options: UservoxOptions,
): Effect.Effect<
  UservoxCrmService,
  StateMap.InvalidStateMap | CrmAdapter.InvalidAdapterConfig,
  HttpClient.HttpClient | Scope.Scope
> =>
  Effect.gen(function* () {
    const map = yield* StateMap.make(options.lifecycle, options.stateMap, { vendor: VENDOR, inbound: true })
    const dispositionStates = yield* dispositionStatesOf(options)
    const limit = yield* rateLimitOf(options)
    const addressBy = options.addressBy ?? "referenceId"
    const contact = {
      name: "name",
      firstName: "firstName",
      lastName: "lastName",
      phone: "phone",
      email: "email",
      ...options.contactFields,
    }
    const confirmTimeout = Duration.millis(options.confirmTimeoutMs ?? 60_000)
    const limiter = yield* SlidingWindowLimiter.make(limit)
    const policy = options.retry ?? RetryPolicy.defaults
    // One attempt per `http.execute`: the retries happen below, each attempt through the limiter.
    const http = yield* VendorHttp.make({
      vendor: VENDOR,
      baseUrl: options.baseUrl ?? "https://crm.uservox.ai/api/v1",
      secretHeaders: [{ name: "Authorization", prefix: "Bearer ", value: options.apiToken }],
      headers: { accept: "application/json" },
      policy: { ...policy, maxAttempts: 1 },
      classify,
    })
    const fail = (operation: string, leadId: string | undefined, reason: CrmError.CrmErrorReason) =>
      new CrmError.CrmError({ vendor: VENDOR, operation, ...(leadId === undefined ? {} : { leadId }), reason })

    // The duplicate-submission block: until this time (Clock ms) nothing is sent from the key.
    let blockedUntil: number | undefined
    const currentBlock = Effect.map(Clock.currentTimeMillis, (now) => {
      if (blockedUntil !== undefined && now >= blockedUntil) blockedUntil = undefined
      return blockedUntil === undefined ? undefined : { now, until: blockedUntil }
    })
    const refuseIfBlocked = (operation: string, leadId: string | undefined) =>
      Effect.flatMap(currentBlock, (block) =>
        block === undefined
          ? Effect.void
          : Effect.fail(
              fail(operation, leadId, {
                _tag: "RateLimited",
                blocked: true,
                retryAfterMs: block.until - block.now,
                detail: `uservox blocked this API key for repeated duplicate submissions until ${new Date(block.until).toISOString()} (60 minutes from its 429); nothing is sent from the key before then. Fix the duplicate leads rather than resending them`,
              }),
            ),
      )
    const noteBlock = (error: CrmError.CrmError) => {
      const reason = error.reason
      if (reason._tag !== "RateLimited" || reason.blocked !== true) return Effect.void
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          blockedUntil = Math.max(blockedUntil ?? 0, now + (reason.retryAfterMs ?? BLOCK_MS))
        }),
      )
    }
    /** One HTTP attempt: refused while blocked, else through the limiter (and the block checked again). */
    const attempt = <A, I>(
      request: CrmAdapter.PlannedRequest,
      operation: string,
      leadId: string | undefined,
      schema: Schema.Schema<A, I>,
    ) =>
      Effect.zipRight(
        refuseIfBlocked(operation, leadId),
        limiter(
          Effect.zipRight(
            refuseIfBlocked(operation, leadId),
            Effect.tapError(http.execute(request, { operation, leadId, schema }), noteBlock),
          ),
        ),
      )
    const execute = <A, I>(
      request: CrmAdapter.PlannedRequest,
      operation: string,
      leadId: string | undefined,
      schema: Schema.Schema<A, I>,
    ) => RetryPolicy.retrying(policy, options.onRetry)(attempt(request, operation, leadId, schema))

    /** `leadId`, or `referenceId` + `projectId` + `processId`, as configured. */
    const address = (
      operation: string,
      ref: CrmAdapter.LeadRef,
    ): Either.Either<Record<string, string>, CrmError.CrmError> => {
      if (addressBy === "referenceId") {
        return Either.right({ referenceId: ref.leadId, projectId: options.projectId, processId: options.processId })
      }
      return ref.vendorLeadId === undefined
        ? Either.left(
            fail(operation, ref.leadId, {
              _tag: "InvalidRequest",
              fields: ["leadId"],
              detail:
                'addressBy is "leadId" but the uservox lead id is not known; create the lead through leadstate first',
            }),
          )
        : Either.right({ leadId: ref.vendorLeadId })
    }

    const leadInput = (leadId: string, metadata: Metadata.Metadata, writeId?: string) => {
      const name = str(metadata, contact.name)
      const firstName = str(metadata, contact.firstName)
      const lastName = str(metadata, contact.lastName)
      const phone = str(metadata, contact.phone)
      const email = str(metadata, contact.email)
      const missing = [
        ...(name === undefined && firstName === undefined ? [contact.name] : []),
        ...(phone === undefined && email === undefined ? [contact.phone] : []),
      ]
      if (missing.length > 0) return Either.left(missing)
      const used = new Set(Object.values(contact))
      const rest: Record<string, Metadata.Json> = {}
      for (const [k, v] of Object.entries(metadata)) if (!used.has(k)) rest[k] = v
      if (writeId !== undefined) rest[WRITE_ID_KEY] = writeId
      return Either.right({
        projectId: options.projectId,
        processId: options.processId,
        ...(name === undefined ? {} : { name }),
        ...(firstName === undefined ? {} : { firstName }),
        ...(lastName === undefined ? {} : { lastName }),
        ...(phone === undefined ? {} : { phone }),
        ...(email === undefined ? {} : { email: email.toLowerCase() }),
        referenceId: leadId,
        metadata: rest,
      })
    }

    // Pending updates by lead, oldest first (correlation: see the module comment).
    const pending = new Map<string, Array<Pending>>()
    let sequence = 0
    const keyOf = (ref: CrmAdapter.LeadRef) => ref.leadId
    // An update nobody awaits or settles (e.g. the engine settles from its own store) must not
    // stay forever: entries older than this are forgotten when new ones are registered.
    const forgetAfterMs = Math.max(2 * Duration.toMillis(confirmTimeout), 10 * 60_000)
    const register = (ref: CrmAdapter.LeadRef, expected: string) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const correlationId = `${ref.leadId}#${++sequence}`
        const deferred = yield* Deferred.make<CrmAdapter.Confirmed, CrmError.CrmError>()
        const queue = (pending.get(keyOf(ref)) ?? []).filter((p) => now - p.sentAt < forgetAfterMs)
        queue.push({ correlationId, expected, writeId: ref.writeId, deferred, sentAt: now })
        pending.set(keyOf(ref), queue)
        if (sequence % 1000 === 0) {
          for (const [key, q] of pending) {
            const fresh = q.filter((p) => now - p.sentAt < forgetAfterMs)
            if (fresh.length === 0) pending.delete(key)
            else pending.set(key, fresh)
          }
        }
        return correlationId
      })

    const writeIdOf = (ref: CrmAdapter.LeadRef) => (ref.writeId === undefined ? {} : { [WRITE_ID_KEY]: ref.writeId })

    const handlers: CrmAdapter.IntentHandlers = {
      CreateLead: {
        plan: (intent, ref) =>
          Either.match(leadInput(intent.leadId, intent.metadata, ref.writeId), {
            onLeft: (missing) =>
              Either.left(
                fail("CreateLead", intent.leadId, {
                  _tag: "InvalidRequest",
                  fields: missing,
                  detail: `uservox needs a name (or firstName) and a phone (or email); put them in the lead's metadata under ${missing.map((m) => `"${m}"`).join(" and ")}`,
                }),
              ),
            onRight: (lead) =>
              Either.right([http.plan("POST", "/leads/initiate", { body: { lead, init: options.init ?? false } })]),
          }),
        send: (intent, ref) =>
          Effect.flatMap(handlers.CreateLead.plan(intent, ref), (requests) =>
            Effect.map(
              Effect.forEach(requests, (r) => execute(r, "CreateLead", intent.leadId, UservoxSchema.InitiateResponse)),
              (answers): CrmAdapter.SyncReceipt => ({
                _tag: "Confirmed",
                vendorLeadId: answers.at(-1)?.value._id,
                vendorState: answers.at(-1)?.value.currentState ?? undefined,
              }),
            ),
          ).pipe(
            // A retried create whose first attempt went through is refused as "already exists":
            // the referenceId is our lead id, so a lead holding it is ours (de-facto idempotency).
            Effect.catchIf(
              (e) => e.reason._tag === "DuplicateLead",
              (duplicate) =>
                lookUp(intent.leadId, "CreateLead").pipe(
                  Effect.map(
                    (lead): CrmAdapter.SyncReceipt => ({
                      _tag: "Confirmed",
                      vendorLeadId: lead._id,
                      vendorState: lead.currentState ?? undefined,
                    }),
                  ),
                  Effect.mapError(() => duplicate),
                ),
            ),
          ),
      },
      SetState: {
        plan: (intent, ref) =>
          Either.map(address("SetState", ref), (who) => {
            const targetState = map.toVendor(intent.to)
            const disposition =
              intent.disposition === undefined ? undefined : map.dispositionToVendor(intent.disposition)
            // A disposition goes with the states that take one; for others it is kept in metadata.
            const sent = disposition !== undefined && dispositionStates.has(targetState) ? disposition : undefined
            const kept =
              disposition !== undefined && sent === undefined
                ? { [DISPOSITION_KEY]: disposition, [DISPOSITION_STATE_KEY]: targetState }
                : {}
            return [
              http.plan("POST", "/leads/update", {
                body: {
                  ...who,
                  targetState,
                  ...(sent === undefined ? {} : { disposition: sent }),
                  // Always explicit: without `metadata`, uservox merges every unknown top-level field into it.
                  metadata: {
                    ...intent.metadata,
                    ...(intent.note === undefined ? {} : { leadstateNote: intent.note }),
                    ...kept,
                    ...writeIdOf(ref),
                  },
                  ...(intent.actor === undefined ? {} : { userId: intent.actor }),
                },
              }),
            ]
          }),
        send: (intent, ref) =>
          Effect.gen(function* () {
            const requests = yield* handlers.SetState.plan(intent, ref)
            for (const r of requests) yield* accepted(r, "SetState", intent.leadId)
            const correlationId = yield* register(ref, map.toVendor(intent.to))
            return { _tag: "Accepted", vendorLeadId: ref.vendorLeadId, correlationId } satisfies CrmAdapter.Accepted
          }),
      },
      MergeMetadata: {
        plan: (intent, ref) =>
          Either.map(address("MergeMetadata", ref), (who) => [
            http.plan("POST", "/leads/update", {
              body: { ...who, metadata: { ...intent.metadata, ...writeIdOf(ref) } },
            }),
          ]),
        send: (intent, ref) =>
          Effect.gen(function* () {
            const requests = yield* handlers.MergeMetadata.plan(intent, ref)
            for (const r of requests) yield* accepted(r, "MergeMetadata", intent.leadId)
            // A metadata merge cannot be refused for a running call's sake in a way that matters
            // to the lifecycle; its result webhook is matched like any other update.
            const correlationId = yield* register(ref, "")
            return { _tag: "Accepted", vendorLeadId: ref.vendorLeadId, correlationId } satisfies CrmAdapter.Accepted
          }),
      },
    }

    /** Sends an update; `success: false` in the 200 is a refusal, not a malformed answer. */
    const accepted = (request: CrmAdapter.PlannedRequest, operation: string, leadId: string) =>
      Effect.flatMap(execute(request, operation, leadId, UservoxSchema.UpdateAccepted), ({ value }) =>
        value.success === false
          ? Effect.fail(
              fail(operation, leadId, {
                _tag: "InvalidRequest",
                fields: [],
                detail: `uservox did not accept the update: ${value.message ?? "no reason given"}`,
              }),
            )
          : Effect.void,
      )

    /** The lead whose referenceId is our lead id, at the configured project and process. */
    const lookUp = (leadId: string, operation: string) =>
      Effect.map(
        execute(
          http.plan("GET", "/leads/get", {
            query: { referenceId: leadId, projectId: options.projectId, processId: options.processId },
          }),
          operation,
          leadId,
          UservoxSchema.GetLeadResponse,
        ),
        ({ value }) => value.data,
      )

    const readBack = (ref: CrmAdapter.LeadRef) =>
      Effect.gen(function* () {
        const who = yield* address("readBack", ref)
        const { value } = yield* execute(
          http.plan("GET", "/leads/get", { query: who }),
          "GetLead",
          ref.leadId,
          UservoxSchema.GetLeadResponse,
        )
        const lead = value.data
        const vendorState = lead.currentState ?? ""
        // The adapter's own keys are reported as lastWriteId and disposition, not as metadata.
        const {
          [WRITE_ID_KEY]: writeId,
          [DISPOSITION_KEY]: kept,
          [DISPOSITION_STATE_KEY]: keptFor,
          ...metadata
        } = lead.metadata ?? {}
        // Choice: a disposition kept in metadata wins while the lead is in the state it was written for.
        const disposition =
          typeof kept === "string" && keptFor === vendorState ? kept : (lead.lastDisposition ?? undefined)
        return {
          vendorLeadId: lead._id,
          vendorState,
          state: map.fromVendor(vendorState),
          disposition: disposition === undefined ? undefined : map.dispositionFromVendor(disposition),
          metadata,
          ...(typeof writeId === "string" ? { lastWriteId: writeId } : {}),
        } satisfies CrmAdapter.VendorLead
      })

    const take = (ref: CrmAdapter.LeadRef, correlationId?: string): Pending | undefined => {
      const queue = pending.get(keyOf(ref))
      if (queue === undefined) return undefined
      const i = correlationId === undefined ? 0 : queue.findIndex((p) => p.correlationId === correlationId)
      const [found] = i < 0 ? [] : queue.splice(i, 1)
      if (queue.length === 0) pending.delete(keyOf(ref))
      return found
    }

    const settle = (events: ReadonlyArray<CrmWebhooks.WebhookEvent>) =>
      Effect.forEach(
        events,
        (event) => {
          if (event._tag === "LeadChanged") return Effect.void
          const p = take(event.ref)
          if (p === undefined) return Effect.void
          const confirmed: CrmAdapter.Confirmed = {
            _tag: "Confirmed",
            vendorLeadId: event.ref.vendorLeadId,
            vendorState: p.expected === "" ? undefined : p.expected,
          }
          return event._tag === "SyncConfirmed"
            ? Deferred.succeed(p.deferred, confirmed)
            : Deferred.fail(p.deferred, fail("SetState", event.ref.leadId, event.reason))
        },
        { discard: true },
      )

    const awaitConfirmation = (receipt: CrmAdapter.Accepted, ref: CrmAdapter.LeadRef) =>
      Effect.gen(function* () {
        const queue = pending.get(keyOf(ref)) ?? []
        const p = queue.find((q) => q.correlationId === receipt.correlationId)
        if (p === undefined) {
          return yield* Effect.fail(
            fail("awaitConfirmation", ref.leadId, {
              _tag: "InvalidRequest",
              fields: ["correlationId"],
              detail: `no pending update ${receipt.correlationId} (already settled, or sent by another process)`,
            }),
          )
        }
        const outcome = yield* Effect.timeoutOption(Deferred.await(p.deferred), confirmTimeout)
        if (outcome._tag === "Some") return outcome.value
        // No webhook in time: read the lead back and settle from its write id or currentState.
        take(ref, p.correlationId)
        const lead = yield* readBack(ref)
        const landed = p.writeId !== undefined && lead.lastWriteId === p.writeId
        // A metadata merge shows only through its write id: an older one (or none) means not applied.
        const older =
          p.writeId !== undefined &&
          (lead.lastWriteId === undefined || (WriteId.compare(lead.lastWriteId, p.writeId) ?? 0) < 0)
        if (p.expected === "" && older) {
          return yield* Effect.fail(
            fail("MergeMetadata", ref.leadId, {
              _tag: "VendorIgnoredWrite",
              expected: p.writeId ?? "",
              actual: lead.lastWriteId ?? "(no write id)",
              detail: `no update webhook within ${Duration.format(confirmTimeout)}, and the lead's last write is ${lead.lastWriteId === undefined ? "not named (no write id)" : `"${lead.lastWriteId}"`}, not "${p.writeId}": the merge was not applied (or not yet)`,
            }),
          )
        }
        if (landed || p.expected === "" || lead.vendorState === p.expected) {
          return {
            _tag: "Confirmed",
            vendorLeadId: lead.vendorLeadId,
            vendorState: lead.vendorState,
          } satisfies CrmAdapter.Confirmed
        }
        return yield* Effect.fail(
          fail("SetState", ref.leadId, {
            _tag: "VendorIgnoredWrite",
            expected: p.expected,
            actual: lead.vendorState,
            detail: `no update webhook within ${Duration.format(confirmTimeout)}, and the lead is still in "${lead.vendorState}"`,
          }),
        )
      })

    const adapter = CrmAdapter.make({ vendor: VENDOR, capabilities, handlers, readBack })

    const bulkInitiate = (leads: ReadonlyArray<BulkLead>) =>
      Effect.gen(function* () {
        const created: Array<{ leadId: string; vendorLeadId: string }> = []
        const failed: Array<{ leadId: string; reason: CrmError.CrmErrorReason }> = []
        const valid: Array<{ leadId: string; input: Record<string, unknown> }> = []
        for (const lead of leads) {
          const input = leadInput(lead.leadId, lead.metadata)
          if (Either.isLeft(input)) {
            failed.push({
              leadId: lead.leadId,
              reason: { _tag: "InvalidRequest", fields: input.left, detail: "missing contact fields for uservox" },
            })
          } else valid.push({ leadId: lead.leadId, input: input.right })
        }
        for (let i = 0; i < valid.length; i += BULK_LIMIT) {
          const chunk = valid.slice(i, i + BULK_LIMIT)
          const request = http.plan("POST", "/leads/bulk/initiate", {
            body: {
              leads: chunk.map((c) => c.input as { readonly [k: string]: Metadata.Json }),
              init: options.init ?? false,
            },
          })
          const { value } = yield* execute(request, "BulkInitiate", undefined, UservoxSchema.BulkInitiateResponse)
          const seen = new Set<string>()
          for (const lead of value.success) {
            const leadId = lead.referenceId ?? undefined
            if (leadId !== undefined) {
              created.push({ leadId, vendorLeadId: lead._id })
              seen.add(leadId)
            }
          }
          for (const e of value.errors) {
            const data = e.data
            const fromData =
              typeof data === "object" && data !== null
                ? (data as { readonly referenceId?: unknown }).referenceId
                : undefined
            const leadId = e.referenceId ?? (typeof fromData === "string" ? fromData : undefined)
            if (leadId === undefined) continue
            seen.add(leadId)
            failed.push({ leadId, reason: classify({ status: 400, headers: {}, body: { error: e.error } }) })
          }
          // The documented success item is { _id, name, currentState }, without a referenceId: ask
          // uservox about every lead the answer did not name (GET /leads/get by referenceId), and
          // never drop one silently.
          for (const c of chunk) {
            if (seen.has(c.leadId)) continue
            const found = yield* Effect.either(lookUp(c.leadId, "BulkInitiate"))
            if (Either.isRight(found)) created.push({ leadId: c.leadId, vendorLeadId: found.right._id })
            else {
              failed.push({
                leadId: c.leadId,
                reason:
                  found.left.reason._tag === "NotFound"
                    ? {
                        _tag: "MalformedResponse",
                        status: 200,
                        detail: "the bulk answer does not mention this lead, and uservox does not have it",
                      }
                    : found.left.reason,
              })
            }
          }
        }
        return { created, failed } satisfies BulkResult
      })

    return {
      ...adapter,
      awaitConfirmation,
      settle,
      pendingCount: Effect.sync(() => [...pending.values()].reduce((n, q) => n + q.length, 0)),
      startCalling: (ref) =>
        Effect.gen(function* () {
          if (ref.vendorLeadId === undefined) {
            return yield* Effect.fail(
              fail("StartCalling", ref.leadId, {
                _tag: "InvalidRequest",
                fields: ["leadId"],
                detail: "the uservox lead id is not known",
              }),
            )
          }
          const { value } = yield* execute(
            http.plan("POST", "/leads/initiate", { body: { leadId: ref.vendorLeadId } }),
            "StartCalling",
            ref.leadId,
            UservoxSchema.InitiateResponse,
          )
          return {
            _tag: "Confirmed",
            vendorLeadId: value._id,
            vendorState: value.currentState ?? undefined,
          } satisfies CrmAdapter.Confirmed
        }),
      bulkInitiate,
      blockedUntil: Effect.map(currentBlock, (block) => block?.until),
    }
  })

/** The uservox webhook decoder for the same options. */
export const makeWebhooks = (
  options: UservoxOptions,
): Either.Either<CrmWebhooks.CrmWebhooksService, StateMap.InvalidStateMap> =>
  Either.map(StateMap.make(options.lifecycle, options.stateMap, { vendor: VENDOR, inbound: true }), (map) =>
    UservoxWebhooks.make({ auth: options.webhookAuth, map }),
  )

/**
 * The adapter as one layer providing `UservoxCrm`, `CrmAdapter` and `CrmWebhooks`. Fails at
 * build time with `InvalidStateMap` or `InvalidAdapterConfig`; requires an `HttpClient`.
 */
export const layer = (
  options: UservoxOptions,
): Layer.Layer<
  UservoxCrm | CrmAdapter.CrmAdapter | CrmWebhooks.CrmWebhooks,
  StateMap.InvalidStateMap | CrmAdapter.InvalidAdapterConfig,
  HttpClient.HttpClient
> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const crm = yield* make(options)
      const webhooks = yield* makeWebhooks(options)
      return Context.make(UservoxCrm, crm).pipe(
        Context.add(CrmAdapter.CrmAdapter, crm),
        Context.add(CrmWebhooks.CrmWebhooks, webhooks),
      )
    }),
  )

/**
 * A webhook inbox for uservox: update results settle the adapter's pending updates, and lead
 * changes (calls that moved a lead) go to `onLeadChanged`. Duplicates and stale deliveries
 * are dropped. Mount `inbox.handler` on any server (or `WebhookInbox.nodeListener(inbox.handler)`).
 */
export const makeInbox = (
  crm: UservoxCrmService,
  webhooks: CrmWebhooks.CrmWebhooksService,
  onLeadChanged: (event: CrmWebhooks.LeadChanged) => Effect.Effect<void> = () => Effect.void,
): WebhookInbox.WebhookInbox =>
  WebhookInbox.make({
    webhooks,
    onEvent: (event) => (event._tag === "LeadChanged" ? onLeadChanged(event) : crm.settle([event])),
  })
