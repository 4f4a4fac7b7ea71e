/**
 * A fake of the generic (PollyBot-style) lead API for tests: a real HTTP server on 127.0.0.1
 * that follows the vendor's documented behaviour (shared/vendors/generic.md and the vendor's
 * Update Lead page) field by field: Bearer `sk-workspace_…` keys, the `{ success, data }`
 * envelope, in-memory leads, list filters and pagination, partial PUT with metadata merge,
 * delete, rate-limit headers and 429, and HMAC-signed webhooks. Faults are injected through
 * the shared `FakeVendorControl` from `@leadstate/core/testing`.
 *
 * Where the docs are silent the fake makes a choice, marked "Choice:" below.
 *
 * @since 0.1.0
 */
import { STATUS_CODES } from "node:http"
import { CrmWebhooks, type Metadata } from "@leadstate/core"
import {
  type FakeRequest,
  type FakeResponse,
  type FakeVendorControl,
  type Fault,
  HeldRequests,
  makeWebhookSender,
  randomHex,
  runScoped,
  seededRandom,
  startFakeVendor,
  type WebhookDelivery,
} from "@leadstate/core/testing"

import { Effect, Redacted, type Scope } from "effect"

/** A lead as the vendor stores and returns it (wire shape; the adapter has its own schemas). */
export interface GenericLead {
  readonly id: string
  readonly name: string
  readonly email: string
  readonly phone?: string
  readonly source?: string
  readonly status: string
  readonly metadata: Metadata.Metadata
  readonly createdAt: string
  readonly updatedAt: string
  readonly workspaceId: string
}

/** What `putLead` needs: name and email; the rest gets defaults (new id, status "new", now). */
export type GenericLeadSeed = Pick<GenericLead, "name" | "email"> & Partial<GenericLead>

/** The list endpoint's pagination object, as documented. */
export interface GenericPagination {
  readonly page: number
  readonly limit: number
  readonly total: number
  readonly totalPages: number
  readonly hasNext: boolean
  readonly hasPrev: boolean
}

/** Event names the fake sends (Choice: the docs do not publish the event catalogue). */
export type GenericWebhookEventName = "lead.created" | "lead.updated" | "lead.deleted"

/**
 * The webhook body the fake sends. Choice: the docs do not publish the payload (generic.md §6),
 * so the fake sends `{ id: "evt_<16 hex>", event, createdAt, data: { lead } }`, where `lead` is
 * the full lead after the change (for `lead.deleted`, as it was before deletion).
 */
export interface GenericWebhookEvent {
  readonly id: string
  readonly event: GenericWebhookEventName
  readonly createdAt: string
  readonly data: { readonly lead: GenericLead }
}

/** The statuses the vendor documents. */
export const defaultStatuses: ReadonlyArray<string> = [
  "new",
  "contacted",
  "qualified",
  "converted",
  "lost",
  "follow_up",
]

/** Options of {@link startFakeGenericServer}. */
export interface FakeGenericServerOptions {
  /** The one valid key; must look like the vendor's keys (`sk-workspace_…`). */
  readonly apiKey: string
  /** The status vocabulary (default {@link defaultStatuses}). */
  readonly statuses?: ReadonlyArray<string>
  /** Requests per sliding hour per key (default 1000, as documented). */
  readonly rateLimitPerHour?: number
  /** Where to POST lead events, signed with `secret`; `events` filters them (default: all). */
  readonly webhook?: {
    readonly url: string
    readonly secret: string
    readonly events?: ReadonlyArray<GenericWebhookEventName>
  }
  /** Seed of lead/event ids and of `probability` faults (default 1). */
  readonly seed?: number
  /** The workspace every lead belongs to (default `ws_fake0001`). */
  readonly workspaceId?: string
  /**
   * HTTP status of `DUPLICATE_EMAIL` (default 409). Choice: the docs give the code but not the
   * status, and their status list (200, 201, 400, 401, 404, 429) has no 409, so 400 is plausible
   * too; set 400 to test an adapter against that reading.
   */
  readonly duplicateEmailStatus?: number
  /** The clock for timestamps and the rate-limit window (default `Date.now`). */
  readonly now?: () => number
}

/** The fake's control: the shared fault/recording control plus the lead store and webhooks. */
export interface FakeGenericServerControl extends FakeVendorControl {
  /** Every stored lead, in creation order. */
  readonly leads: () => ReadonlyArray<GenericLead>
  /** One stored lead. */
  readonly lead: (id: string) => GenericLead | undefined
  /**
   * Stores a lead directly (test setup; no webhook, no rate limit), replacing one with the same
   * id. `chatbotId` makes it visible under `/api/v1/chatbots/{chatbotId}/leads`. Throws when
   * another lead has the email.
   */
  readonly putLead: (lead: GenericLeadSeed, options?: { readonly chatbotId?: string }) => GenericLead
  /** Webhooks sent so far, oldest first. */
  readonly webhookDeliveries: () => ReadonlyArray<WebhookDelivery>
  /** Resolves once every webhook queued so far has been delivered (or has failed). */
  readonly webhooksSettled: () => Promise<void>
  /**
   * Holds the next request matching `method` and `path` (exact, or a RegExp on the path) until
   * `release()`. With the adapter's request timeout shorter than the hold, the request lands
   * late: after the adapter gave up on it, whenever the test releases it. `reset()` releases
   * every hold.
   */
  readonly hold: (match: HeldRequests.HoldMatch) => HeldRequests.HeldRequest
}

const KEY_PREFIX = "sk-workspace_"
const WINDOW_MS = 60 * 60 * 1000
const MAX_LIMIT = 100
const DEFAULT_LIMIT = 20
// Choice: a simple "something@domain.tld" check; the docs only say "must be valid".
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const ROUTE = /^\/api\/v1(?:\/chatbots\/([^/]+))?\/leads(?:\/([^/]+))?\/?$/

type Json = Metadata.Json

interface Failure {
  readonly status: number
  readonly error: string
  readonly code: string
  readonly details?: Json
  readonly retryAfter?: number
}

const failure = (f: Failure): FakeResponse => ({
  status: f.status,
  body: {
    success: false,
    error: f.error,
    code: f.code,
    ...(f.details === undefined ? {} : { details: f.details }),
    ...(f.retryAfter === undefined ? {} : { retryAfter: f.retryAfter }),
  },
})

/**
 * A `VALIDATION_ERROR`, 400. The `details` shape `{ field, value, message }` is the one on the
 * vendor's Update Lead page (one offending field per answer; the first one found).
 */
const invalid = (field: string, value: unknown, message: string): FakeResponse =>
  failure({
    status: 400,
    error: "Validation failed",
    code: "VALIDATION_ERROR",
    details: { field, value: value === undefined ? null : (value as Json), message },
  })

const notFound = failure({ status: 404, error: "Lead not found", code: "LEAD_NOT_FOUND" })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const has = (record: Record<string, unknown>, key: string): boolean => Object.hasOwn(record, key)

const positiveInt = (value: string | undefined, fallback: number): number | undefined => {
  if (value === undefined) return fallback
  return /^[1-9]\d*$/.test(value) ? Number(value) : undefined
}

/** The fields the list endpoint returns; the docs say list items may omit some fields. */
const summary = (lead: GenericLead) => ({
  id: lead.id,
  name: lead.name,
  email: lead.email,
  status: lead.status,
  metadata: lead.metadata,
  createdAt: lead.createdAt,
  updatedAt: lead.updatedAt,
})

const faultBody = (fault: Extract<Fault, { readonly _tag: "Status" | "RateLimit" }>): unknown => {
  if (fault._tag === "RateLimit") {
    return {
      success: false,
      error: "Rate limit exceeded",
      code: "RATE_LIMIT_EXCEEDED",
      retryAfter: fault.retryAfterSeconds,
    }
  }
  // Choice: the vendor's codes where a status has one; INTERNAL_ERROR (undocumented) otherwise.
  const code =
    {
      400: "VALIDATION_ERROR",
      401: "INVALID_API_KEY",
      404: "LEAD_NOT_FOUND",
      409: "DUPLICATE_EMAIL",
      429: "RATE_LIMIT_EXCEEDED",
    }[fault.status] ?? "INTERNAL_ERROR"
  return { success: false, error: STATUS_CODES[fault.status] ?? "Error", code }
}

/**
 * Starts the fake generic lead API on 127.0.0.1; it closes with the scope.
 *
 * @example
 * const api = yield* startFakeGenericServer({ apiKey: "sk-workspace_test" })
 * const lead = api.putLead({ name: "Ann", email: "ann@example.org" })
 * // GET `${api.url}/api/v1/leads/${lead.id}` with `Authorization: Bearer sk-workspace_test`
 */
export const startFakeGenericServer = (
  options: FakeGenericServerOptions,
): Effect.Effect<FakeGenericServerControl, never, Scope.Scope> =>
  Effect.gen(function* () {
    if (!options.apiKey.startsWith(KEY_PREFIX)) {
      return yield* Effect.dieMessage(
        `FakeGenericServer: apiKey must start with "${KEY_PREFIX}" like the vendor's keys`,
      )
    }
    const statuses = options.statuses ?? defaultStatuses
    const limitPerHour = options.rateLimitPerHour ?? 1000
    const workspaceId = options.workspaceId ?? "ws_fake0001"
    const duplicateStatus = options.duplicateEmailStatus ?? 409
    const now = options.now ?? Date.now
    const seed = options.seed ?? 1
    const statusMessage = `Status must be one of: ${statuses.join(", ")}`
    const secret = options.webhook === undefined ? undefined : Redacted.make(options.webhook.secret)

    let random = seededRandom(seed)
    // Map iteration order is insertion order: creation order, which is also the list order.
    const leads = new Map<string, GenericLead>()
    const chatbotOf = new Map<string, string>()
    const usedIds = new Set<string>()
    let window: Array<number> = []
    const sender = makeWebhookSender()

    const iso = () => new Date(now()).toISOString()
    const newId = (prefix: string): string => {
      for (;;) {
        const id = `${prefix}_${randomHex(random, 8)}`
        if (!usedIds.has(id)) {
          usedIds.add(id)
          return id
        }
      }
    }
    const emailOwner = (email: string): GenericLead | undefined => {
      // Choice: emails compare case-insensitively.
      const wanted = email.toLowerCase()
      for (const lead of leads.values()) if (lead.email.toLowerCase() === wanted) return lead
      return undefined
    }
    const duplicate = (email: string, existing: GenericLead): FakeResponse =>
      // The details shape `{ email, existingLeadId, message }` is the vendor's (Update Lead page).
      failure({
        status: duplicateStatus,
        error: "Email already exists",
        code: "DUPLICATE_EMAIL",
        details: {
          email,
          existingLeadId: existing.id,
          message: "A different lead with this email already exists in your workspace",
        },
      })

    const emit = (event: GenericWebhookEventName, lead: GenericLead): void => {
      const hook = options.webhook
      if (hook === undefined || secret === undefined) return
      if (hook.events !== undefined && !hook.events.includes(event)) return
      const payload: GenericWebhookEvent = { id: newId("evt"), event, createdAt: iso(), data: { lead } }
      const raw = JSON.stringify(payload)
      const signature = CrmWebhooks.hmacSha256Hex(secret, Buffer.from(raw, "utf8"))
      void sender.send(
        hook.url,
        { "Content-Type": "application/json", "X-Webhook-Signature": `sha256=${signature}` },
        raw,
      )
    }

    /** Rate-limit headers; `count` says whether this request is counted in the window. */
    const rateLimit = (count: boolean): { readonly headers: Record<string, string>; readonly retryAfter?: number } => {
      const at = now()
      window = window.filter((t) => t > at - WINDOW_MS)
      const exceeded = count && window.length >= limitPerHour
      if (count && !exceeded) window.push(at)
      const oldest = window[0] ?? at
      const headers = {
        "X-RateLimit-Limit": String(limitPerHour),
        "X-RateLimit-Remaining": String(Math.max(0, limitPerHour - window.length)),
        "X-RateLimit-Reset": String(Math.ceil((oldest + WINDOW_MS) / 1000)),
        "X-RateLimit-Used": String(window.length),
      }
      if (!exceeded) return { headers }
      const retryAfter = Math.max(1, Math.ceil((oldest + WINDOW_MS - at) / 1000))
      return { headers: { ...headers, "Retry-After": String(retryAfter) }, retryAfter }
    }

    const validateOptional = (body: Record<string, unknown>, field: "phone" | "source"): FakeResponse | undefined => {
      const value = body[field]
      return value === undefined || value === null || typeof value === "string"
        ? undefined
        : invalid(field, value, `${field === "phone" ? "Phone" : "Source"} must be a string`)
    }

    const create = (body: unknown, chatbotId: string | undefined): FakeResponse => {
      if (!isRecord(body)) return invalid("body", body, "Request body must be a JSON object")
      const { name, email, status, metadata } = body
      if (typeof name !== "string" || name.trim() === "") return invalid("name", name, "Name is required")
      if (typeof email !== "string" || email.trim() === "") return invalid("email", email, "Email is required")
      if (!EMAIL.test(email)) return invalid("email", email, "Email must be a valid email address")
      const bad = validateOptional(body, "phone") ?? validateOptional(body, "source")
      if (bad !== undefined) return bad
      // Choice: the default status on create is "new" (the docs do not say).
      if (status !== undefined && status !== null && (typeof status !== "string" || !statuses.includes(status))) {
        return invalid("status", status, statusMessage)
      }
      if (metadata !== undefined && metadata !== null && !isRecord(metadata)) {
        return invalid("metadata", metadata, "Metadata must be an object")
      }
      const existing = emailOwner(email)
      if (existing !== undefined) return duplicate(email, existing)
      const at = iso()
      const lead: GenericLead = {
        id: newId("lead"),
        name,
        email,
        ...(typeof body.phone === "string" ? { phone: body.phone } : {}),
        ...(typeof body.source === "string" ? { source: body.source } : {}),
        status: typeof status === "string" ? status : (statuses[0] ?? "new"),
        // Choice: null values inside metadata are dropped on create, as on update.
        metadata: isRecord(metadata) ? withoutNulls(metadata as Metadata.Metadata) : {},
        createdAt: at,
        updatedAt: at,
        workspaceId,
      }
      leads.set(lead.id, lead)
      if (chatbotId !== undefined) chatbotOf.set(lead.id, chatbotId)
      emit("lead.created", lead)
      return { status: 201, body: { success: true, data: lead } }
    }

    const list = (query: Readonly<Record<string, string>>, chatbotId: string | undefined): FakeResponse => {
      const page = positiveInt(query.page, 1)
      if (page === undefined) return invalid("page", query.page, "Page must be a positive integer")
      const requested = positiveInt(query.limit, DEFAULT_LIMIT)
      if (requested === undefined) return invalid("limit", query.limit, "Limit must be a positive integer")
      // Choice: a limit above the documented maximum of 100 is capped, not refused.
      const limit = Math.min(requested, MAX_LIMIT)
      if (query.status !== undefined && !statuses.includes(query.status)) {
        return invalid("status", query.status, statusMessage)
      }
      const search = query.search?.toLowerCase()
      // Choice: the docs give no sort order; leads are listed oldest first (creation order).
      const matching = [...leads.values()].filter(
        (lead) =>
          (chatbotId === undefined || chatbotOf.get(lead.id) === chatbotId) &&
          (query.status === undefined || lead.status === query.status) &&
          (query.source === undefined || lead.source === query.source) &&
          (search === undefined ||
            lead.name.toLowerCase().includes(search) ||
            lead.email.toLowerCase().includes(search)),
      )
      const total = matching.length
      const totalPages = Math.ceil(total / limit)
      const pagination: GenericPagination = {
        page,
        limit,
        total,
        totalPages,
        hasNext: page < totalPages,
        hasPrev: page > 1,
      }
      const leadsOnPage = matching.slice((page - 1) * limit, page * limit).map(summary)
      return { status: 200, body: { success: true, data: { leads: leadsOnPage, pagination } } }
    }

    const update = (lead: GenericLead, body: unknown): FakeResponse => {
      if (!isRecord(body)) return invalid("body", body, "Request body must be a JSON object")
      // Validate everything first, so a refused update changes nothing.
      if (has(body, "name") && (typeof body.name !== "string" || body.name.trim() === "")) {
        return invalid("name", body.name, "Name is required")
      }
      if (has(body, "email")) {
        const email = body.email
        if (typeof email !== "string" || email.trim() === "") return invalid("email", email, "Email is required")
        if (!EMAIL.test(email)) return invalid("email", email, "Email must be a valid email address")
        const owner = emailOwner(email)
        if (owner !== undefined && owner.id !== lead.id) return duplicate(email, owner)
      }
      const bad = validateOptional(body, "phone") ?? validateOptional(body, "source")
      if (bad !== undefined) return bad
      if (has(body, "status") && (typeof body.status !== "string" || !statuses.includes(body.status))) {
        return invalid("status", body.status, statusMessage)
      }
      if (has(body, "metadata") && body.metadata !== null && !isRecord(body.metadata)) {
        return invalid("metadata", body.metadata, "Metadata must be an object")
      }
      // id, createdAt, workspaceId (and updatedAt) cannot be changed; Choice: they are ignored, not refused.
      const next: { -readonly [K in keyof GenericLead]: GenericLead[K] } = { ...lead, updatedAt: iso() }
      if (typeof body.name === "string") next.name = body.name
      if (typeof body.email === "string") next.email = body.email
      if (typeof body.status === "string") next.status = body.status
      for (const field of ["phone", "source"] as const) {
        const value = body[field]
        if (value === null) delete next[field]
        else if (typeof value === "string") next[field] = value
      }
      if (body.metadata === null) next.metadata = {}
      else if (isRecord(body.metadata)) next.metadata = mergeMetadata(lead.metadata, body.metadata as Metadata.Metadata)
      leads.set(lead.id, next)
      emit("lead.updated", next)
      return { status: 200, body: { success: true, data: next } }
    }

    const remove = (lead: GenericLead): FakeResponse => {
      leads.delete(lead.id)
      chatbotOf.delete(lead.id)
      emit("lead.deleted", lead)
      return {
        status: 200,
        body: { success: true, message: "Lead deleted successfully", data: { id: lead.id, deletedAt: iso() } },
      }
    }

    const route = (req: FakeRequest): FakeResponse => {
      const match = ROUTE.exec(req.path)
      if (match === null) return failure({ status: 404, error: "Not found", code: "NOT_FOUND" })
      const chatbotId = match[1] === undefined ? undefined : decodeURIComponent(match[1])
      const leadId = match[2] === undefined ? undefined : decodeURIComponent(match[2])
      if (req.rawBody.trim() !== "" && typeof req.body === "string") {
        return invalid("body", null, "Request body must be valid JSON")
      }
      if (leadId === undefined) {
        if (req.method === "POST") return create(req.body, chatbotId)
        if (req.method === "GET") return list(req.query, chatbotId)
      } else {
        const lead = leads.get(leadId)
        const visible = lead !== undefined && (chatbotId === undefined || chatbotOf.get(leadId) === chatbotId)
        if (req.method === "GET") return visible ? { status: 200, body: { success: true, data: lead } } : notFound
        if (req.method === "PUT") return visible ? update(lead, req.body) : notFound
        if (req.method === "DELETE") return visible ? remove(lead) : notFound
      }
      return failure({ status: 405, error: "Method not allowed", code: "METHOD_NOT_ALLOWED" })
    }

    const handle = (req: FakeRequest): FakeResponse => {
      const authorization = req.headers.authorization
      const authFailure =
        authorization === undefined || authorization.trim() === ""
          ? failure({ status: 401, error: "Missing authorization header", code: "MISSING_AUTH_HEADER" })
          : authorization !== `Bearer ${options.apiKey}`
            ? failure({ status: 401, error: "Invalid or inactive API key", code: "INVALID_API_KEY" })
            : undefined
      // Unauthenticated requests are not counted (the limit is per key) but still get the headers.
      const limited = rateLimit(authFailure === undefined)
      const response =
        authFailure ??
        (limited.retryAfter === undefined
          ? route(req)
          : failure({
              status: 429,
              error: "Rate limit exceeded",
              code: "RATE_LIMIT_EXCEEDED",
              retryAfter: limited.retryAfter,
            }))
      return { ...response, headers: { ...response.headers, ...limited.headers } }
    }

    const held = HeldRequests.make(handle)

    const resetState = () => {
      held.releaseAll()
      leads.clear()
      chatbotOf.clear()
      usedIds.clear()
      window = []
      random = seededRandom(seed)
      sender.clear()
    }

    const control = yield* startFakeVendor({ handle: held.handle, onReset: resetState, seed, faultBody })

    const putLead = (seedLead: GenericLeadSeed, putOptions: { readonly chatbotId?: string } = {}): GenericLead => {
      const at = iso()
      const id = seedLead.id ?? newId("lead")
      usedIds.add(id)
      const owner = emailOwner(seedLead.email)
      if (owner !== undefined && owner.id !== id) {
        throw new Error(`putLead: ${owner.id} already has the email ${seedLead.email}`)
      }
      const lead: GenericLead = {
        status: statuses[0] ?? "new",
        metadata: {},
        createdAt: at,
        updatedAt: at,
        workspaceId,
        ...seedLead,
        id,
      }
      leads.set(id, lead)
      if (putOptions.chatbotId === undefined) chatbotOf.delete(id)
      else chatbotOf.set(id, putOptions.chatbotId)
      return lead
    }

    const fake: FakeGenericServerControl = {
      ...control,
      leads: () => [...leads.values()],
      lead: (id) => leads.get(id),
      putLead,
      webhookDeliveries: sender.deliveries,
      webhooksSettled: sender.settled,
      hold: held.hold,
    }
    return fake
  })

/**
 * {@link startFakeGenericServer} for tests not written with Effect; call `close()` when done.
 *
 * @example
 * const api = await startFakeGenericServerPromise({ apiKey: "sk-workspace_test" })
 * // ... use api.url ...
 * await api.close()
 */
export const startFakeGenericServerPromise = (
  options: FakeGenericServerOptions,
): Promise<FakeGenericServerControl & { readonly close: () => Promise<void> }> =>
  runScoped(startFakeGenericServer(options))

/** Shallow merge as the vendor documents it: keys replaced (arrays too), `null` removes a key. */
const mergeMetadata = (base: Metadata.Metadata, patch: Metadata.Metadata): Metadata.Metadata => {
  const out: Record<string, Json> = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else out[key] = value
  }
  return out
}

const withoutNulls = (metadata: Metadata.Metadata): Metadata.Metadata => mergeMetadata({}, metadata)
