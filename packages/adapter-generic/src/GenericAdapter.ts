/**
 * The generic REST lead adapter (PollyBot-style API: `PUT /api/v1/leads/{id}`, statuses
 * new|contacted|qualified|converted|lost|follow_up). Writes are synchronous: a 200 with the
 * updated lead confirms the change, and the returned status is checked against the expected one.
 * A write that timed out is read back before it is resent, and its lead is watched for a late
 * landing (`AmbiguousWrites`; the README's "Delivery guarantee").
 *
 * The vendor has no disposition or note field, so leadstate keeps them, with the exact
 * lifecycle state (several states may share one vendor status) and the write's id, in
 * `metadata.leadstate`; our lead id is kept in `metadata.external_id`, as the vendor's docs
 * suggest.
 *
 * @since 0.1.0
 */

import type { HttpClient } from "@effect/platform"
import {
  AmbiguousWrites,
  CrmAdapter,
  CrmError,
  CrmWebhooks,
  type Lifecycle,
  type Metadata,
  RetryPolicy,
  StateMap,
  type SyncIntent,
  VendorHttp,
} from "@leadstate/core"
import { Clock, Context, Duration, Effect, Either, Layer, type Redacted, type Schema } from "effect"
import * as GenericSchema from "./GenericSchema.js"
import * as GenericWebhooks from "./GenericWebhooks.js"

/** The statuses the vendor documents. */
export const defaultStatuses = ["new", "contacted", "qualified", "converted", "lost", "follow_up"] as const

/** Where the endpoints live; the vendor's docs disagree (chatbot- vs workspace-scoped). */
export interface GenericPaths {
  /** Create; `{chatbotId}` is replaced. Default `/api/v1/chatbots/{chatbotId}/leads` (as the Create page says). */
  readonly create: string
  /** One lead; `{leadId}` is replaced. Default `/api/v1/leads/{leadId}`. */
  readonly lead: string
  /** The list. Default `/api/v1/leads`. */
  readonly list: string
}

export const defaultPaths: GenericPaths = {
  create: "/api/v1/chatbots/{chatbotId}/leads",
  lead: "/api/v1/leads/{leadId}",
  list: "/api/v1/leads",
}

/** Options of the generic adapter. */
export interface GenericOptions {
  readonly lifecycle: Lifecycle.Lifecycle
  readonly stateMap: StateMap.StateMapConfig
  /** e.g. `https://your-domain.com`; the docs give no fixed host. */
  readonly baseUrl: string
  /** `sk-workspace_…`; sent as `Authorization: Bearer <key>`. */
  readonly apiKey: Redacted.Redacted<string>
  /** Needed when the create path is chatbot-scoped. */
  readonly chatbotId?: string
  readonly paths?: Partial<GenericPaths>
  /** The vendor's status vocabulary, if a tenant configured its own. */
  readonly statuses?: ReadonlyArray<string>
  /** Metadata keys holding the contact fields a create needs (name and email are required). */
  readonly contactFields?: {
    readonly name?: string
    readonly email?: string
    readonly phone?: string
    readonly source?: string
  }
  /** Secret for `X-Webhook-Signature` (HMAC-SHA256 of the raw body). */
  readonly webhookSecret?: Redacted.Redacted<string>
  readonly retry?: RetryPolicy.RetryPolicy
  readonly onRetry?: RetryPolicy.OnRetry
  /** How writes that timed out or lost their connection are checked (see the README's "Delivery guarantee"). */
  readonly ambiguous?: AmbiguousWrites.AmbiguousOptions
}

/** Filters of the list endpoint. */
export interface ListQuery {
  readonly page?: number
  /** At most 100. */
  readonly limit?: number
  readonly status?: string
  readonly source?: string
  readonly search?: string
}

/** The generic adapter with the vendor operations that are not intents. */
export interface GenericCrmService extends CrmAdapter.CrmAdapterService {
  readonly get: (vendorLeadId: string) => Effect.Effect<GenericSchema.GenericLead, CrmError.CrmError>
  readonly list: (query?: ListQuery) => Effect.Effect<GenericSchema.LeadPage, CrmError.CrmError>
  readonly remove: (vendorLeadId: string) => Effect.Effect<void, CrmError.CrmError>
}

/** The generic adapter's own tag (its layer provides `CrmAdapter` too). */
export class GenericCrm extends Context.Tag("@leadstate/adapter-generic/GenericCrm")<GenericCrm, GenericCrmService>() {}

const VENDOR = "generic"

export const capabilities: CrmAdapter.Capabilities = {
  create: true,
  readBack: true,
  asyncConfirmation: false,
  // No disposition field at the vendor: kept in metadata.leadstate, so it round-trips.
  dispositions: true,
  snooze: false,
  bulk: false,
  delete: true,
  webhooks: { signature: "hmac-sha256" },
  // GET /api/v1/leads?page=&limit= (limit at most 100), walked while pagination.hasNext.
  listLeads: true,
}

/** The list endpoint's documented maximum `limit`. */
const MAX_LIMIT = 100

const str = (m: Metadata.Metadata, key: string | undefined): string | undefined => {
  const v = key === undefined ? undefined : m[key]
  return typeof v === "string" && v !== "" ? v : undefined
}

/**
 * The error envelope's fields, each only when it has the documented type: an error body is the
 * vendor's (or a proxy's) free text, read field by field, never trusted as a whole.
 */
const codeOf = (
  body: unknown,
):
  | {
      readonly error: string | undefined
      readonly code: string | undefined
      readonly details: unknown
      readonly retryAfter: number | undefined
    }
  | undefined => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined
  const record = body as Record<string, unknown>
  if (record.success !== false) return undefined
  const retryAfter = record.retryAfter
  return {
    error: typeof record.error === "string" ? record.error : undefined,
    code: typeof record.code === "string" ? record.code : undefined,
    details: record.details,
    retryAfter:
      typeof retryAfter === "number" && Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
  }
}

/**
 * Field names of a VALIDATION_ERROR. The Update page documents `details: { field, value,
 * message }`; a list of those, or a `{ field: message }` map, are read too.
 */
const validationFields = (details: unknown): Array<string> => {
  if (Array.isArray(details)) return details.flatMap(validationFields)
  if (typeof details !== "object" || details === null) return []
  const record = details as Record<string, unknown>
  if (typeof record.field === "string") return [record.field]
  return Object.keys(record).filter((k) => k !== "message" && k !== "value")
}

/** Maps the vendor's error envelope (`{success:false, error, code, details}`) to a reason. */
export const classify = (response: VendorHttp.ErrorResponse): CrmError.CrmErrorReason => {
  const body = codeOf(response.body)
  const detail = `HTTP ${response.status}${body?.code === undefined ? "" : ` ${body.code}`}: ${body?.error ?? "no detail given"}`
  const details = body?.details
  switch (body?.code) {
    case "VALIDATION_ERROR":
      return { _tag: "InvalidRequest", detail, fields: validationFields(details) }
    case "DUPLICATE_EMAIL": {
      // Documented: details { email, existingLeadId, message }; older shapes use existingId or id.
      const record = typeof details === "object" && details !== null ? (details as Record<string, unknown>) : {}
      const existing = record.existingLeadId ?? record.existingId ?? record.id
      return typeof existing === "string"
        ? { _tag: "DuplicateLead", detail, existingId: existing }
        : { _tag: "DuplicateLead", detail }
    }
    case "MISSING_AUTH_HEADER":
    case "INVALID_API_KEY":
      return { _tag: "Unauthorized", detail }
    case "RATE_LIMIT_EXCEEDED":
      break
    default:
      if (response.status !== 429) return VendorHttp.defaultReason({ ...response, body: body?.error ?? response.body })
  }
  const now = Date.now()
  const retryAfterMs =
    body?.retryAfter !== undefined
      ? body.retryAfter * 1000
      : (VendorHttp.parseRetryAfter(response.headers["retry-after"], now) ?? resetDelay(response.headers, now))
  return retryAfterMs === undefined ? { _tag: "RateLimited", detail } : { _tag: "RateLimited", detail, retryAfterMs }
}

const resetDelay = (headers: Readonly<Record<string, string>>, now: number): number | undefined => {
  const reset = Number(headers["x-ratelimit-reset"])
  return Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined
}

/** Builds the adapter; fails with `InvalidStateMap` when the map does not fit the lifecycle. */
export const make = (
  options: GenericOptions,
): Effect.Effect<GenericCrmService, StateMap.InvalidStateMap, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const statuses = options.statuses ?? defaultStatuses
    const map = yield* StateMap.make(options.lifecycle, options.stateMap, {
      vendor: VENDOR,
      vocabulary: statuses,
      inbound: options.webhookSecret !== undefined,
    })
    const paths = { ...defaultPaths, ...options.paths }
    const contact = { name: "name", email: "email", phone: "phone", source: "source", ...options.contactFields }
    // X-RateLimit-Remaining: 0 means wait until X-RateLimit-Reset before the next request.
    let blockedUntil = 0
    const policy = options.retry ?? RetryPolicy.defaults
    const config: VendorHttp.VendorHttpConfig = {
      vendor: VENDOR,
      baseUrl: options.baseUrl,
      secretHeaders: [{ name: "Authorization", prefix: "Bearer ", value: options.apiKey }],
      headers: { accept: "application/json" },
      policy,
      classify,
      ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }),
    }
    const http = yield* VendorHttp.make(config)
    // Writes are retried by hand (AmbiguousWrites): a timed-out write is read back before it is resent.
    const once = yield* VendorHttp.make({ ...config, policy: { ...policy, maxAttempts: 1 } })
    const settleMs = options.ambiguous?.settleMs ?? AmbiguousWrites.defaults.settleMs
    const waitForRateLimit = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      if (blockedUntil > now) yield* Effect.sleep(Duration.millis(blockedUntil - now))
    })
    const execute = <A, I>(
      request: CrmAdapter.PlannedRequest,
      operation: string,
      leadId: string | undefined,
      schema: Schema.Schema<A, I>,
      client: VendorHttp.VendorHttp = http,
    ) =>
      Effect.zipRight(waitForRateLimit, client.execute(request, { operation, leadId, schema })).pipe(
        Effect.tap(({ headers }) =>
          Effect.sync(() => {
            const remaining = Number(headers["x-ratelimit-remaining"])
            if (remaining === 0) blockedUntil = Date.now() + (resetDelay(headers, Date.now()) ?? 0)
          }),
        ),
      )
    const leadPath = (vendorLeadId: string) => paths.lead.replace("{leadId}", VendorHttp.segment(vendorLeadId))
    const fail = (operation: string, leadId: string, reason: CrmError.CrmErrorReason) =>
      new CrmError.CrmError({ vendor: VENDOR, operation, leadId, reason })
    const needVendorId = (operation: string, ref: CrmAdapter.LeadRef) =>
      ref.vendorLeadId === undefined
        ? Either.left(
            fail(operation, ref.leadId, {
              _tag: "InvalidRequest",
              fields: ["vendorLeadId"],
              detail:
                "the generic API addresses leads by its own id (lead_…); create the lead through leadstate first or pass the vendor id",
            }),
          )
        : Either.right(ref.vendorLeadId)

    const writeIdOf = (ref: CrmAdapter.LeadRef) => (ref.writeId === undefined ? {} : { writeId: ref.writeId })

    const leadstateBlock = (intent: SyncIntent.SetState, ref: CrmAdapter.LeadRef) => ({
      leadstate: {
        leadId: intent.leadId,
        state: intent.to,
        ...(intent.disposition === undefined ? {} : { disposition: map.dispositionToVendor(intent.disposition) }),
        ...(intent.note === undefined ? {} : { note: intent.note }),
        ...(intent.actor === undefined ? {} : { actor: intent.actor }),
        ...(intent.snoozeUntil === undefined ? {} : { snoozeUntil: new Date(intent.snoozeUntil).toISOString() }),
        at: new Date(intent.at).toISOString(),
        ...writeIdOf(ref),
      },
    })

    /** A lead as leadstate reads it: the exact state, disposition and write id from `metadata.leadstate`. */
    const toVendorLead = (lead: GenericSchema.GenericLead): CrmAdapter.VendorLead => {
      const metadata = lead.metadata ?? {}
      const block = GenericWebhooks.leadstateBlock(metadata)
      // The exact lifecycle state is in metadata.leadstate while it agrees with the status.
      const agrees = block?.state !== undefined && map.toVendor(block.state) === lead.status
      const state = agrees ? block?.state : map.fromVendor(lead.status)
      const raw = metadata.leadstate
      const writeId =
        agrees && typeof raw === "object" && raw !== null && !Array.isArray(raw)
          ? (raw as Metadata.Metadata).writeId
          : undefined
      return {
        vendorLeadId: lead.id,
        vendorState: lead.status,
        state,
        disposition:
          block?.disposition === undefined || !agrees ? undefined : map.dispositionFromVendor(block.disposition),
        metadata,
        ...(typeof writeId === "string" ? { lastWriteId: writeId } : {}),
      }
    }

    const guard = AmbiguousWrites.make({
      vendor: VENDOR,
      policy,
      onRetry: options.onRetry,
      options: options.ambiguous,
      view: toVendorLead,
    })

    const confirmed = (lead: GenericSchema.GenericLead): CrmAdapter.SyncReceipt => ({
      _tag: "Confirmed",
      vendorLeadId: lead.id,
      vendorState: lead.status,
    })

    const checkStatus = (operation: string, leadId: string, expected: string) => (lead: GenericSchema.GenericLead) =>
      lead.status === expected
        ? Effect.succeed(lead)
        : Effect.fail(
            fail(operation, leadId, {
              _tag: "VendorIgnoredWrite",
              expected,
              actual: lead.status,
              detail: `the vendor answered with status "${lead.status}" instead of "${expected}"`,
            }),
          )

    /** Sends every request of a plan in order, once each; the last answer is the lead after the write. */
    const sendPlan = (
      plan: Either.Either<ReadonlyArray<CrmAdapter.PlannedRequest>, CrmError.CrmError>,
      operation: string,
      leadId: string,
    ) =>
      Effect.flatMap(plan, (requests) =>
        Effect.reduce(requests, undefined as GenericSchema.GenericLead | undefined, (_, request) =>
          Effect.map(
            execute(request, operation, leadId, GenericSchema.Success(GenericSchema.GenericLead), once),
            ({ value }) => value.data,
          ),
        ),
      ).pipe(
        Effect.flatMap((lead) =>
          lead === undefined
            ? Effect.fail(
                fail(operation, leadId, { _tag: "Unsupported", capability: operation, detail: "nothing to send" }),
              )
            : Effect.succeed(lead),
        ),
      )

    const get = (vendorLeadId: string, leadId?: string, client: VendorHttp.VendorHttp = http) =>
      Effect.map(
        execute(
          http.plan("GET", leadPath(vendorLeadId)),
          "GetLead",
          leadId,
          GenericSchema.Success(GenericSchema.GenericLead),
          client,
        ),
        ({ value }) => value.data,
      )

    /** One read, no retries: the ambiguity guard retries around it. */
    const readOnce = (vendorLeadId: string, leadId: string) => get(vendorLeadId, leadId, once)

    /**
     * A create resent after an ambiguous attempt is refused as a duplicate when the first one
     * landed: the existing lead is ours when it carries our lead id in `metadata.external_id`.
     */
    const adoptDuplicate = (error: CrmError.CrmError, leadId: string, email: string) =>
      Effect.gen(function* () {
        const existingId = error.reason._tag === "DuplicateLead" ? error.reason.existingId : undefined
        let candidate: GenericSchema.GenericLead | undefined
        if (existingId !== undefined) candidate = yield* get(existingId, leadId)
        else {
          // The duplicate names no lead: search by email (unique at the vendor).
          const page = yield* execute(
            http.plan("GET", paths.list, { query: { search: email, limit: 100 } }),
            "CreateLead",
            leadId,
            GenericSchema.Success(GenericSchema.LeadPage),
          )
          const found = page.value.data.leads.find((lead) => lead.email?.toLowerCase() === email.toLowerCase())
          if (found !== undefined) candidate = yield* get(found.id, leadId)
        }
        return candidate?.metadata?.external_id === leadId ? candidate : yield* Effect.fail(error)
      })

    const handlers: CrmAdapter.IntentHandlers = {
      CreateLead: {
        plan: (intent, ref) => {
          const name = str(intent.metadata, contact.name)
          const email = str(intent.metadata, contact.email)
          const missing = [
            ...(name === undefined ? [contact.name] : []),
            ...(email === undefined ? [contact.email] : []),
          ]
          if (missing.length > 0) {
            return Either.left(
              fail("CreateLead", intent.leadId, {
                _tag: "InvalidRequest",
                fields: missing,
                detail: `the generic API requires name and email to create a lead; put them in the lead's metadata under ${missing.map((m) => `"${m}"`).join(" and ")}`,
              }),
            )
          }
          if (paths.create.includes("{chatbotId}") && options.chatbotId === undefined) {
            return Either.left(
              fail("CreateLead", intent.leadId, {
                _tag: "InvalidRequest",
                fields: ["chatbotId"],
                detail: "the create path is chatbot-scoped; configure chatbotId or a workspace-level create path",
              }),
            )
          }
          const used = new Set(Object.values(contact))
          const rest: Record<string, Metadata.Json> = {}
          for (const [k, v] of Object.entries(intent.metadata)) if (!used.has(k)) rest[k] = v
          const phone = str(intent.metadata, contact.phone)
          const source = str(intent.metadata, contact.source)
          return Either.right([
            http.plan("POST", paths.create.replace("{chatbotId}", VendorHttp.segment(options.chatbotId ?? "")), {
              body: {
                name: name ?? "",
                email: email ?? "",
                ...(phone === undefined ? {} : { phone }),
                ...(source === undefined ? {} : { source }),
                status: map.toVendor(intent.state),
                // The leadstate block from the start, so read-back and the lead.created echo know
                // the exact lifecycle state even when several states share the status.
                metadata: {
                  ...rest,
                  external_id: intent.leadId,
                  leadstate: {
                    leadId: intent.leadId,
                    state: intent.state,
                    at: new Date(intent.at).toISOString(),
                    ...writeIdOf(ref),
                  },
                },
              },
            }),
          ])
        },
        send: (intent, ref) =>
          Effect.gen(function* () {
            const plan = handlers.CreateLead.plan(intent, ref)
            const email = str(intent.metadata, contact.email) ?? ""
            // No read-back before resending a create: the vendor's email uniqueness refuses a
            // second copy, and that duplicate is adopted when it is ours.
            const lead = yield* AmbiguousWrites.sendOnce({
              policy,
              onRetry: options.onRetry,
              settleMs,
              send: (afterAmbiguous) =>
                sendPlan(plan, "CreateLead", intent.leadId).pipe(
                  Effect.catchIf(
                    (e) => afterAmbiguous && e.reason._tag === "DuplicateLead",
                    (e) => adoptDuplicate(e, intent.leadId, email),
                  ),
                ),
            })
            return confirmed(yield* checkStatus("CreateLead", intent.leadId, map.toVendor(intent.state))(lead))
          }),
      },
      SetState: {
        plan: (intent, ref) =>
          Either.map(needVendorId("SetState", ref), (id) => [
            http.plan("PUT", leadPath(id), {
              body: {
                status: map.toVendor(intent.to),
                metadata: { ...intent.metadata, ...leadstateBlock(intent, ref) },
              },
            }),
          ]),
        send: (intent, ref) =>
          Effect.gen(function* () {
            const id = yield* needVendorId("SetState", ref)
            const plan = handlers.SetState.plan(intent, ref)
            const expected = map.toVendor(intent.to)
            const lead = yield* guard.write({
              leadId: intent.leadId,
              operation: "SetState",
              read: readOnce(id, intent.leadId),
              write: {
                slot: "state",
                writeId: ref.writeId,
                label: `status "${expected}" (state ${intent.to})`,
                holds: AmbiguousWrites.holdsState({
                  writeId: ref.writeId,
                  vendorState: expected,
                  state: intent.to,
                  disposition: intent.disposition,
                }),
                send: () =>
                  Effect.flatMap(
                    sendPlan(plan, "SetState", intent.leadId),
                    checkStatus("SetState", intent.leadId, expected),
                  ),
              },
            })
            return confirmed(lead)
          }),
      },
      MergeMetadata: {
        plan: (intent, ref) =>
          Either.map(needVendorId("MergeMetadata", ref), (id) => [
            http.plan("PUT", leadPath(id), { body: { metadata: intent.metadata } }),
          ]),
        send: (intent, ref) =>
          Effect.gen(function* () {
            const id = yield* needVendorId("MergeMetadata", ref)
            const plan = handlers.MergeMetadata.plan(intent, ref)
            const lead = yield* guard.write({
              leadId: intent.leadId,
              operation: "MergeMetadata",
              read: readOnce(id, intent.leadId),
              write: {
                slot: "metadata",
                label: `metadata ${Object.keys(intent.metadata).join(", ")}`,
                holds: (lead) => AmbiguousWrites.holdsPatch(lead.metadata, intent.metadata),
                send: () => sendPlan(plan, "MergeMetadata", intent.leadId),
              },
            })
            return confirmed(lead)
          }),
      },
    }

    const listPage = (query: ListQuery, operation: string) =>
      Effect.map(
        execute(
          http.plan("GET", paths.list, {
            query: {
              page: query.page,
              limit: query.limit === undefined ? undefined : Math.min(MAX_LIMIT, query.limit),
              status: query.status,
              source: query.source,
              search: query.search,
            },
          }),
          operation,
          undefined,
          GenericSchema.Success(GenericSchema.LeadPage),
        ),
        ({ value }) => value.data,
      )

    /**
     * A list item as a full lead. The docs say list items "may omit some fields for performance"
     * without saying which: an item without its status or its metadata (where the exact state
     * and the last write id live) is read in full with Get.
     */
    const fullLead = (item: GenericSchema.GenericLeadSummary) =>
      item.status !== undefined && item.metadata !== undefined
        ? Effect.succeed<GenericSchema.GenericLead>({ ...item, status: item.status })
        : get(item.id)

    /**
     * The docs give no sort order (generic.md §3.2): leads come in the order the vendor lists
     * them. A lead created or deleted while the pages are walked may shift the pages; a lead met
     * twice is given once (`CrmAdapter.pagedLeads`).
     */
    const listLeads = (listOptions?: CrmAdapter.ListLeadsOptions) => {
      const limit = CrmAdapter.pageSizeOf(listOptions?.pageSize, MAX_LIMIT)
      return CrmAdapter.pagedLeads((page) =>
        Effect.flatMap(listPage({ page, limit }, "listLeads"), ({ leads, pagination }) =>
          Effect.map(Effect.forEach(leads, fullLead), (full) => ({
            leads: full.map(toVendorLead),
            hasNext: pagination.hasNext,
          })),
        ),
      )
    }

    const adapter = CrmAdapter.make({
      vendor: VENDOR,
      capabilities,
      handlers,
      readBack: (ref) =>
        Effect.flatMap(needVendorId("readBack", ref), (id) => Effect.map(get(id, ref.leadId), toVendorLead)),
      listLeads,
    })

    return {
      ...adapter,
      get: (id) => get(id),
      list: (query = {}) => listPage(query, "ListLeads"),
      remove: (id) =>
        Effect.asVoid(execute(http.plan("DELETE", leadPath(id)), "DeleteLead", undefined, GenericSchema.Deleted)),
    }
  })

/** The generic adapter's webhook decoder, for the same options. */
export const makeWebhooks = (
  options: GenericOptions,
): Either.Either<CrmWebhooks.CrmWebhooksService, StateMap.InvalidStateMap> =>
  Either.map(
    StateMap.make(options.lifecycle, options.stateMap, {
      vendor: VENDOR,
      vocabulary: options.statuses ?? defaultStatuses,
      inbound: options.webhookSecret !== undefined,
    }),
    (map) => GenericWebhooks.make({ secret: options.webhookSecret, map }),
  )

/**
 * The adapter as one layer providing `GenericCrm`, `CrmAdapter` and `CrmWebhooks`. It fails
 * at build time with `InvalidStateMap` when the map does not fit the lifecycle, and requires
 * an `HttpClient` (the app picks fetch, undici or a test client).
 *
 * @example
 * const CrmLive = GenericAdapter.layer({ lifecycle, stateMap, baseUrl, apiKey: Redacted.make(key) })
 *   .pipe(Layer.provide(FetchHttpClient.layer))
 */
export const layer = (
  options: GenericOptions,
): Layer.Layer<
  GenericCrm | CrmAdapter.CrmAdapter | CrmWebhooks.CrmWebhooks,
  StateMap.InvalidStateMap,
  HttpClient.HttpClient
> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const crm = yield* make(options)
      const webhooks = yield* makeWebhooks(options)
      return Context.make(GenericCrm, crm).pipe(
        Context.add(CrmAdapter.CrmAdapter, crm),
        Context.add(CrmWebhooks.CrmWebhooks, webhooks),
      )
    }),
  )
