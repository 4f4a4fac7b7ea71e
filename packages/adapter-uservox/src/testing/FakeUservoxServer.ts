/**
 * A fake of the Uservox ("Vox CRM") lead API for tests: a real HTTP server on 127.0.0.1 that
 * follows the vendor's documented behaviour (shared/vendors/uservox.md and the vendor's pages)
 * field by field: `Authorization: Bearer <token>` with 403 (not 401) for auth problems, a
 * project-scoped token, 24-hex ObjectIds, Initiate / Bulk Initiate / Update / Get Lead under
 * `/api/v1`, the ~100 requests per 5 s rate limit, the duplicate-submission block (more than 5
 * duplicates within 60 s block the key for 60 minutes), an ASYNCHRONOUS Update Lead whose outcome
 * is POSTed later to the process's callback URL, and activity ("call completed") webhooks.
 * Faults are injected through the shared `FakeVendorControl` from `@leadstate/core/testing`;
 * webhook faults (duplicate, out-of-order, dropped deliveries) through `webhookFaults`.
 *
 * Where the docs are silent the fake makes a choice, marked "Choice:" below.
 *
 * @since 0.1.0
 */
import { STATUS_CODES } from "node:http"
import type { Metadata } from "@leadstate/core"
import {
  type FakeRequest,
  type FakeResponse,
  type FakeVendorControl,
  type Fault,
  makeWebhookSender,
  randomHex,
  runScoped,
  seededRandom,
  startFakeVendor,
  type WebhookDelivery,
} from "@leadstate/core/testing"
import { Effect, type Scope } from "effect"

type Json = Metadata.Json
type JsonObject = { readonly [key: string]: Json }

// ---------------------------------------------------------------------------------------------
// Wire types (the fake's view of the vendor; the adapter has its own schemas)
// ---------------------------------------------------------------------------------------------

/** How a process's callback authenticates: a bearer token or one custom header. */
export type UservoxCallbackAuth = { readonly bearer: string } | { readonly header: string; readonly value: string }

/** A Process as configured in the Uservox app (states, and its "Lead Update Callback"). */
export interface UservoxProcessConfig {
  readonly processId: string
  /** The process's state names; the first is the entry state of new leads. */
  readonly states: ReadonlyArray<string>
  /** Where the process POSTs its webhooks, and how it authenticates; no webhooks when absent. */
  readonly callback?: { readonly url: string; readonly auth: UservoxCallbackAuth }
  /**
   * The states an update's `disposition` goes with (per process). Default `interested` and
   * `lost`, the states the docs show `disposition` with. Choice: the docs do not say what a
   * disposition sent with another state does; the fake ignores it (the job succeeds, the lead's
   * `lastDisposition` is unchanged).
   */
  readonly dispositionStates?: ReadonlyArray<string>
}

/** `analysis.dispositionType` values, lowercase as in the payload. */
export type UservoxDispositionType = "success" | "failure" | "neutral"

/** `activity.result.analysis` of a call activity. */
export interface UservoxCallAnalysis {
  readonly success: boolean
  readonly disposition: string
  readonly dispositionType: UservoxDispositionType
  readonly summary: string
}

/**
 * `activity.result` of a call activity: the documented fields whose shape is known.
 * Choice: `wsId`, `callRequest` and `callMetadata` are documented by name only and are not sent.
 */
export interface UservoxCallResult {
  readonly success: boolean
  readonly type: "call"
  readonly leadId: string
  readonly projectId: string
  readonly activityId: string
  readonly referenceId: string | null
  readonly flowId: string
  readonly channelId: number
  readonly hasTransfer: boolean
  readonly telephonyType: string
  readonly input: JsonObject
  readonly providerCallId: string
  readonly status: "completed"
  readonly analysis: UservoxCallAnalysis
}

/** The `activity` object of an activity webhook (§4.3). */
export interface UservoxActivity {
  readonly type: "call"
  readonly status: "success"
  readonly fromState: string
  readonly toState: string
  /** Epoch milliseconds. */
  readonly scheduledAt: number
  readonly result: UservoxCallResult
}

/**
 * An element of a lead's `activities` (Get Lead). Choice: the element shape is not documented;
 * the fake stores the webhook's `activity` object with its id as `_id`.
 */
export interface UservoxLeadActivity extends UservoxActivity {
  readonly _id: string
}

/** A lead as the vendor stores it and Get Lead returns it. */
export interface UservoxLead {
  readonly _id: string
  readonly name: string
  /** Present when the lead was created with `firstName` (the integration guide's shape). */
  readonly firstName?: string
  readonly lastName?: string
  /** Choice: `null` when the lead was created without one (the docs show `"email": null`). */
  readonly phone: string | null
  readonly email: string | null
  readonly projectId: string
  readonly processId: string
  readonly referenceId: string | null
  readonly groupId?: string
  readonly currentState: string
  /** Choice: `null` until a disposition is set. */
  readonly lastDisposition: string | null
  readonly metadata: JsonObject
  readonly createdAt: string
  readonly updatedAt: string
  readonly activities: ReadonlyArray<UservoxLeadActivity>
}

/** A lead as Initiate and Bulk Initiate return it: without `lastDisposition` and `activities`. */
export type UservoxInitiatedLead = Omit<UservoxLead, "lastDisposition" | "activities">

/** One element of Bulk Initiate's `errors` array. */
export interface UservoxBulkError {
  readonly referenceId: string | null
  readonly error: string
  /** The submitted lead (or `{ leadId }` for the `leadIds` form). */
  readonly data: unknown
  /** Only in the `leadIds` form (the older integration guide's shape). */
  readonly leadId?: string
}

/** Bulk Initiate's 200 body: partial success. */
export interface UservoxBulkResult {
  readonly success: ReadonlyArray<UservoxInitiatedLead>
  readonly errors: ReadonlyArray<UservoxBulkError>
}

/** The update-job result webhook (§4.2). */
export interface UservoxUpdateWebhook {
  readonly action_type: "update"
  readonly updateId: string
  readonly success: boolean
  readonly error: string | null
  readonly leadId: string
  /** Choice: `null` when the lead has no referenceId (the docs only show leads that have one). */
  readonly referenceId: string | null
  /** Epoch milliseconds. */
  readonly timestamp: number
  /** The lead's metadata after the merge; `null` on failure. */
  readonly data: JsonObject | null
}

/** The activity webhook (§4.3); note it is also `action_type: "update"`. */
export interface UservoxActivityWebhook {
  readonly action_type: "update"
  readonly activityId: string
  readonly lastActivityId: string
  readonly leadId: string
  readonly processId: string
  readonly referenceId: string | null
  readonly timestamp: number
  readonly activity: UservoxActivity
}

/** Any webhook the fake sends. */
export type UservoxWebhook = UservoxUpdateWebhook | UservoxActivityWebhook

/** What `completeCall` needs: where the call moved the lead and how the AI classified it. */
export interface UservoxCallOutcome {
  readonly toState: string
  readonly disposition: string
  readonly dispositionType: UservoxDispositionType
  /** Default: `Call completed with disposition "<disposition>".` */
  readonly summary?: string
  /** `analysis.success` (whether the call reached its goal); default `dispositionType === "success"`. */
  readonly success?: boolean
  /** `activity.scheduledAt`, epoch ms; default the clock's now. */
  readonly scheduledAt?: number
}

/** Probabilities (0..1) of webhook delivery faults; the decisions use a PRNG seeded from `seed`. */
export interface UservoxWebhookFaults {
  /** Send a delivery twice in a row (same body, same updateId / activityId). */
  readonly duplicate?: number
  /** Hold a delivery back and send it right after the next one (or at `flushWebhooks`). */
  readonly reorder?: number
  /** Never send a delivery (it is listed by `droppedWebhooks`). */
  readonly drop?: number
}

/** What `putLead` needs: the process; the rest gets defaults (new id, entry state, now, …). */
export type UservoxLeadSeed = Pick<UservoxLead, "processId"> & Partial<Omit<UservoxLead, "processId">>

/** Options of {@link startFakeUservoxServer}. */
export interface FakeUservoxServerOptions {
  /** The one valid API token (`Authorization: Bearer <apiToken>`). */
  readonly apiToken: string
  /** The project the token belongs to. */
  readonly projectId: string
  /** The project's processes. */
  readonly processes: ReadonlyArray<UservoxProcessConfig>
  /** How long an async update job takes, in wall-clock ms (default 20). */
  readonly updateDelayMs?: number
  /** Seed of ids and of `probability` / webhook faults (default 1). */
  readonly seed?: number
  /** The clock of timestamps, the rate-limit window and the duplicate block (default `Date.now`). */
  readonly now?: () => number
  /**
   * Requests allowed per sliding window, per project, counted separately for the initiate
   * endpoints (single + bulk) and Get Lead. Default `{ limit: 100, windowMs: 5000 }` as documented.
   */
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number }
  /**
   * Webhook deliveries in flight at once (default 1: one after another, in order). Choice: the
   * docs do not say how uservox delivers; a higher value lets a load test deliver like a busy vendor.
   */
  readonly webhookConcurrency?: number
  /** Bulk Initiate's maximum (default 1000; "server config may override"). */
  readonly bulkMax?: number
}

/** The fake's control: the shared fault/recording control plus the lead store and webhooks. */
export interface FakeUservoxServerControl extends FakeVendorControl {
  /** `${url}/api/v1`, the base URL an adapter is configured with. */
  readonly baseUrl: string
  /** Every stored lead, in creation order. */
  readonly leads: () => ReadonlyArray<UservoxLead>
  /** One stored lead by `_id`. */
  readonly lead: (id: string) => UservoxLead | undefined
  /** One stored lead of the fake's project by referenceId within a process. */
  readonly leadByReference: (referenceId: string, processId: string) => UservoxLead | undefined
  /** Whether the lead was initiated ("initialized for calling": `init` true, the default). */
  readonly initiated: (id: string) => boolean
  /**
   * Stores a lead directly (test setup: no validation beyond the process and referenceId
   * uniqueness, no rate limit), replacing one with the same `_id`. Throws on an unknown process.
   */
  readonly putLead: (lead: UservoxLeadSeed, options?: { readonly initiated?: boolean }) => UservoxLead
  /**
   * Marks a call as in progress (or not) for the lead: while on, update jobs for it fail with
   * "Lead update is not allowed while a call is in progress for this lead". `completeCall` ends it.
   */
  readonly callInProgress: (leadId: string, on: boolean) => void
  /**
   * A vendor-side call completes: moves the lead to `toState` (from its current state), sets its
   * last disposition, appends the activity and POSTs the activity webhook. Returns the payload.
   * Throws on an unknown lead or a state the lead's process does not have.
   */
  readonly completeCall: (leadId: string, outcome: UservoxCallOutcome) => UservoxActivityWebhook
  /** Sets the webhook fault probabilities (replacing earlier ones) and re-seeds their PRNG. */
  readonly webhookFaults: (faults: UservoxWebhookFaults) => void
  /** Webhooks sent so far (after faults), oldest first. */
  readonly deliveries: () => ReadonlyArray<WebhookDelivery>
  /** Webhooks the `drop` fault swallowed, oldest first. */
  readonly droppedWebhooks: () => ReadonlyArray<UservoxWebhook>
  /** Every finished update job's result, oldest first, whether or not a callback is configured. */
  readonly updateResults: () => ReadonlyArray<UservoxUpdateWebhook>
  /** Resolves once pending update jobs have run and every queued or held webhook has been sent. */
  readonly flushWebhooks: () => Promise<void>
  /** Update jobs accepted but not yet run. */
  readonly pendingJobs: () => number
  /** Until when (epoch ms, on the fake's clock) the key is blocked for duplicates, if it is. */
  readonly blockedUntil: () => number | undefined
}

// ---------------------------------------------------------------------------------------------
// Constants and helpers
// ---------------------------------------------------------------------------------------------

const BASE = "/api/v1"
const DUPLICATE_WINDOW_MS = 60_000
const DUPLICATE_LIMIT = 5
const BLOCK_MS = 60 * 60_000
/** The states the docs show an update's `disposition` with. */
const DISPOSITION_STATES: ReadonlyArray<string> = ["interested", "lost"]

const MESSAGES = {
  projectMismatch: "projectId does not match authenticated project",
  initiateNeither: "Either leadId or lead object is required",
  projectRequired: "projectId is required in lead object",
  // Choice: the docs give no message for a missing processId; this mirrors the projectId one.
  processRequired: "processId is required in lead object",
  bulkNeither: "Either leadIds or leads array is required",
  notArray: "Input must be an array",
  blocked: "API key temporarily blocked due to repeated duplicate submissions",
  tooMany: "Too many requests",
  getNeither: "Either leadId or referenceId is required",
  getIncomplete: "projectId and processId are required when using referenceId",
  repeating: "Phone number contains repeating digits pattern",
  phoneTaken: "A call attempt has already been made to this phone number for this project",
  callInProgress: "Lead update is not allowed while a call is in progress for this lead",
  updateAccepted: "Lead update initiated",
} as const

const processNotFound = (processId: string) => `Process not found for lead with processId: ${processId}`
const leadIdNotFound = (id: string) => `Lead with ID ${id} not found`
// Choice: the docs only show "Lead with ID <leadId> …" (truncated); this is the referenceId form.
const referenceNotFound = (referenceId: string) => `Lead with referenceId ${referenceId} not found`
const referenceTaken = (referenceId: string) =>
  `Lead with referenceId ${referenceId} already exists for this project and process`
// Choice: the docs say emails are unique per project but give no message.
const emailTaken = (email: string) => `Lead with email ${email} already exists for this project`
// Undocumented: the docs do not say what an unknown targetState does; the fake fails the job.
const invalidTargetState = (state: string) => `Invalid target state: ${state}`

// Choice: a simple "something@domain.tld" check; the docs only say "well-formed".
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
/** The update fields that are never swept into metadata when `metadata` is omitted (documented). */
const UPDATE_RESERVED = new Set([
  "leadId",
  "referenceId",
  "projectId",
  "processId",
  "targetState",
  "name",
  "disposition",
  "userId",
])

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isJsonObject = (u: unknown): u is JsonObject => isRecord(u)
const nonEmpty = (u: unknown): u is string => typeof u === "string" && u.trim() !== ""

/** `{ "error": message }`: the shape of most documented errors (Initiate, Bulk, auth). */
const plain = (status: number, error: string): FakeResponse => ({ status, body: { error } })
/** `{ "success": false, "error": message }`: Get Lead's and the 429s' shape. */
const flagged = (status: number, error: string): FakeResponse => ({ status, body: { success: false, error } })

const digitsOf = (phone: string): string => phone.replace(/\D/g, "")

/**
 * Phone validation. Choice (the docs only say "suspicious patterns (e.g. repeating digits)"):
 * after removing spaces, dashes, dots and parentheses the number must be an optional `+` and
 * 10–15 digits; it is a "repeating digits pattern" when it has a run of 8 or more identical
 * digits or its last 10 digits are one 2-digit block repeated (`1212121212`). Runs of up to 7
 * pass, so documented examples such as `8888833333` and `+919800000001` are accepted.
 */
const phoneProblem = (phone: string): string | undefined => {
  const compact = phone.replace(/[\s\-().]/g, "")
  if (!/^\+?\d{10,15}$/.test(compact)) return "Invalid phone number format"
  const digits = digitsOf(compact)
  if (/(\d)\1{7,}/.test(digits) || /^(\d\d)\1{4}$/.test(digits.slice(-10))) return MESSAGES.repeating
  return undefined
}

/** Masks all but the last 4 digits, in the form of the docs' example (`******0001`). */
const maskPhone = (phone: string | null): string | null => (phone === null ? null : `******${phone.slice(-4)}`)

/** Shallow merge. Choice: a `null` value is stored as `null` (the docs only say "merged"). */
const mergeMetadata = (base: JsonObject, patch: JsonObject): JsonObject => ({ ...base, ...patch })

const initiatedView = (lead: UservoxLead): UservoxInitiatedLead => {
  const { lastDisposition: _lastDisposition, activities: _activities, ...rest } = lead
  return rest
}

const faultBody = (fault: Extract<Fault, { readonly _tag: "Status" | "RateLimit" }>): unknown =>
  fault._tag === "RateLimit" || fault.status === 429
    ? { success: false, error: MESSAGES.tooMany }
    : { error: STATUS_CODES[fault.status] ?? "Error" }

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface Stored {
  lead: UservoxLead
  initiated: boolean
}

interface Job {
  readonly timer: ReturnType<typeof setTimeout>
  readonly done: Promise<void>
  readonly finish: () => void
}

interface Outgoing {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly payload: UservoxWebhook
}

/** What a validated update request asks for, captured when the request is accepted. */
interface UpdateRequest {
  /**
   * Drawn when the request is accepted, not when the job runs, so ids stay deterministic for a
   * seed however the job timers interleave with requests.
   */
  readonly updateId: string
  readonly leadId: string
  readonly metadata: JsonObject | undefined
  readonly name: string | undefined
  readonly targetState: string | undefined
  readonly disposition: string | undefined
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/**
 * Starts the fake Uservox lead API on 127.0.0.1; it closes with the scope (pending update jobs
 * are cancelled).
 *
 * @example
 * const vox = yield* startFakeUservoxServer({
 *   apiToken: "tok", projectId: "6650aa11bb22cc33dd44ee55",
 *   processes: [{ processId: "6650aa11bb22cc33dd44ee66", states: ["make_first_call", "interested", "lost"],
 *     callback: { url: receiver.url, auth: { bearer: "hook-secret" } } }],
 * })
 * // POST `${vox.baseUrl}/leads/initiate` with `Authorization: Bearer tok`
 */
export const startFakeUservoxServer = (
  options: FakeUservoxServerOptions,
): Effect.Effect<FakeUservoxServerControl, never, Scope.Scope> =>
  Effect.gen(function* () {
    const processes = new Map<string, UservoxProcessConfig>()
    for (const process of options.processes) {
      if (process.states.length === 0) {
        return yield* Effect.dieMessage(`FakeUservoxServer: process ${process.processId} has no states`)
      }
      processes.set(process.processId, process)
    }
    const projectId = options.projectId
    const seed = options.seed ?? 1
    const now = options.now ?? Date.now
    const updateDelayMs = options.updateDelayMs ?? 20
    const rate = options.rateLimit ?? { limit: 100, windowMs: 5000 }
    const bulkMax = options.bulkMax ?? 1000

    let random = seededRandom(seed)
    let faultRandom = seededRandom(seed ^ 0x5eed)
    let faults: UservoxWebhookFaults = {}
    // Map iteration order is insertion order: creation order.
    const leads = new Map<string, Stored>()
    const usedIds = new Set<string>()
    const calling = new Set<string>()
    const flowIds = new Map<string, string>()
    const jobs = new Set<Job>()
    let windows: { initiate: Array<number>; get: Array<number> } = { initiate: [], get: [] }
    let duplicates: Array<number> = []
    let blockedUntil: number | undefined
    let held: ReadonlyArray<Outgoing> | undefined
    let dropped: Array<UservoxWebhook> = []
    let results: Array<UservoxUpdateWebhook> = []
    const sender = makeWebhookSender({ timeoutMs: 5000, concurrency: options.webhookConcurrency ?? 1 })

    const iso = () => new Date(now()).toISOString()
    const newObjectId = (): string => {
      for (;;) {
        const id = randomHex(random, 12)
        if (!usedIds.has(id)) {
          usedIds.add(id)
          return id
        }
      }
    }
    const entryState = (process: UservoxProcessConfig): string => process.states[0] ?? ""

    // --- lookups -------------------------------------------------------------------------------

    const byReference = (referenceId: string, processId: string, project: string): Stored | undefined => {
      for (const stored of leads.values()) {
        const { lead } = stored
        if (lead.referenceId === referenceId && lead.processId === processId && lead.projectId === project) {
          return stored
        }
      }
      return undefined
    }
    const phoneOwner = (phone: string): UservoxLead | undefined => {
      // Choice: phones compare by their digits only (`+91 98000-00001` = `+919800000001`).
      const wanted = digitsOf(phone)
      for (const { lead } of leads.values()) {
        if (lead.projectId === projectId && lead.phone !== null && digitsOf(lead.phone) === wanted) return lead
      }
      return undefined
    }
    const emailOwner = (email: string): UservoxLead | undefined => {
      for (const { lead } of leads.values()) if (lead.projectId === projectId && lead.email === email) return lead
      return undefined
    }

    // --- protections ---------------------------------------------------------------------------

    /**
     * Counts one duplicate submission; the one that makes it more than 5 within 60 s blocks the
     * key for 60 minutes. Choice: that submission still gets its own 400 (or bulk item error); the
     * block applies from the next request on.
     */
    const noteDuplicate = () => {
      const at = now()
      duplicates = duplicates.filter((t) => t > at - DUPLICATE_WINDOW_MS)
      duplicates.push(at)
      if (duplicates.length > DUPLICATE_LIMIT) {
        blockedUntil = at + BLOCK_MS
        duplicates = []
      }
    }
    const isBlocked = (): boolean => {
      if (blockedUntil === undefined) return false
      if (now() < blockedUntil) return true
      blockedUntil = undefined
      return false
    }
    /** Sliding-window limit; refused requests are not counted. */
    const admit = (bucket: "initiate" | "get"): boolean => {
      const at = now()
      const window = windows[bucket].filter((t) => t > at - rate.windowMs)
      windows = { ...windows, [bucket]: window }
      if (window.length >= rate.limit) return false
      window.push(at)
      return true
    }

    // --- webhooks ------------------------------------------------------------------------------

    const callbackHeaders = (auth: UservoxCallbackAuth): Record<string, string> =>
      "bearer" in auth ? { authorization: `Bearer ${auth.bearer}` } : { [auth.header]: auth.value }

    const send = (batch: ReadonlyArray<Outgoing>) => {
      for (const out of batch) void sender.send(out.url, out.headers, out.payload)
    }

    const chance = (p: number | undefined): boolean => p !== undefined && p > 0 && faultRandom() < p

    /** Sends a webhook to the process's callback, through the webhook faults. */
    const emit = (processId: string, payload: UservoxWebhook) => {
      const callback = processes.get(processId)?.callback
      if (callback === undefined) return
      if (chance(faults.drop)) {
        dropped.push(payload)
        return
      }
      const out: Outgoing = {
        url: callback.url,
        headers: { "content-type": "application/json", ...callbackHeaders(callback.auth) },
        payload,
      }
      const batch = chance(faults.duplicate) ? [out, out] : [out]
      if (held !== undefined) {
        const late = held
        held = undefined
        send(batch)
        send(late)
      } else if (chance(faults.reorder)) {
        held = batch
      } else {
        send(batch)
      }
    }

    // --- leads ---------------------------------------------------------------------------------

    type Created = { readonly ok: true; readonly lead: UservoxLead } | { readonly ok: false; readonly error: string }

    /**
     * Validates a lead input (projectId and process already checked) and stores it. Duplicate
     * failures are counted for the duplicate block.
     */
    const createLead = (input: Record<string, unknown>, process: UservoxProcessConfig, init: boolean): Created => {
      const fail = (error: string): Created => ({ ok: false, error })
      const { phone, email, name, firstName, lastName, referenceId, metadata, groupId } = input
      const hasPhone = nonEmpty(phone)
      const hasEmail = nonEmpty(email)
      // Choice: the docs name the rules but not these three messages.
      if (!hasPhone && !hasEmail) return fail("Either phone or email is required")
      if (!nonEmpty(name) && !nonEmpty(firstName)) return fail("Either name or firstName is required")
      if (lastName !== undefined && lastName !== null && typeof lastName !== "string") {
        return fail("lastName must be a string")
      }
      if (phone !== undefined && phone !== null && typeof phone !== "string") return fail("Invalid phone number format")
      if (hasPhone) {
        const problem = phoneProblem(phone)
        if (problem !== undefined) return fail(problem)
      }
      if (email !== undefined && email !== null && typeof email !== "string") return fail("Invalid email format")
      if (hasEmail) {
        if (!EMAIL.test(email)) return fail("Invalid email format")
        // Choice: the docs say emails must be lowercase; the fake refuses rather than lowercases.
        if (email !== email.toLowerCase()) return fail("Email must be lowercase")
      }
      if (referenceId !== undefined && referenceId !== null && typeof referenceId !== "string") {
        return fail("referenceId must be a string")
      }
      if (groupId !== undefined && groupId !== null && typeof groupId !== "string") {
        return fail("groupId must be a string")
      }
      if (metadata !== undefined && metadata !== null && !isJsonObject(metadata)) {
        return fail("metadata must be an object")
      }
      const duplicate = (error: string): Created => {
        noteDuplicate()
        return fail(error)
      }
      if (nonEmpty(referenceId) && byReference(referenceId, process.processId, projectId) !== undefined) {
        return duplicate(referenceTaken(referenceId))
      }
      if (hasPhone && phoneOwner(phone) !== undefined) return duplicate(MESSAGES.phoneTaken)
      if (hasEmail && emailOwner(email) !== undefined) return duplicate(emailTaken(email))
      const at = iso()
      const first = nonEmpty(firstName) ? firstName : undefined
      const last = nonEmpty(lastName) ? lastName : undefined
      const lead: UservoxLead = {
        _id: newObjectId(),
        // `name` wins; else firstName + lastName (the integration guide's input).
        name: nonEmpty(name) ? name : [first, last].filter((s) => s !== undefined).join(" "),
        ...(first === undefined ? {} : { firstName: first }),
        ...(last === undefined ? {} : { lastName: last }),
        phone: hasPhone ? phone : null,
        email: hasEmail ? email : null,
        projectId,
        processId: process.processId,
        referenceId: nonEmpty(referenceId) ? referenceId : null,
        ...(nonEmpty(groupId) ? { groupId } : {}),
        currentState: entryState(process),
        lastDisposition: null,
        metadata: isJsonObject(metadata) ? metadata : {},
        createdAt: at,
        updatedAt: at,
        activities: [],
      }
      leads.set(lead._id, { lead, initiated: init })
      return { ok: true, lead }
    }

    // --- routes --------------------------------------------------------------------------------

    const initiate = (body: unknown): FakeResponse => {
      if (!isRecord(body)) return plain(400, MESSAGES.initiateNeither)
      const hasId = body.leadId !== undefined && body.leadId !== null
      const hasLead = body.lead !== undefined && body.lead !== null
      if (hasId === hasLead) return plain(400, MESSAGES.initiateNeither)
      const init = body.init ?? true
      // Choice: a non-boolean `init` is refused (the docs type it boolean).
      if (typeof init !== "boolean") return plain(400, "init must be a boolean")
      if (hasId) {
        const leadId = body.leadId
        const stored = typeof leadId === "string" ? leads.get(leadId) : undefined
        if (stored === undefined) return plain(404, leadIdNotFound(String(leadId)))
        if (stored.lead.projectId !== projectId) return plain(403, MESSAGES.projectMismatch)
        // Choice: re-initiating is idempotent (200, the lead as is); `init: false` never un-initiates.
        if (init) stored.initiated = true
        return { status: 200, body: { success: true, ...initiatedView(stored.lead) } }
      }
      const input = body.lead
      if (!isRecord(input)) return plain(400, MESSAGES.initiateNeither)
      if (!nonEmpty(input.projectId)) return plain(400, MESSAGES.projectRequired)
      if (input.projectId !== projectId) return plain(403, MESSAGES.projectMismatch)
      if (!nonEmpty(input.processId)) return plain(400, MESSAGES.processRequired)
      const process = processes.get(input.processId)
      if (process === undefined) return plain(404, processNotFound(input.processId))
      const created = createLead(input, process, init)
      if (!created.ok) return plain(400, created.error)
      return { status: 200, body: { success: true, ...initiatedView(created.lead) } }
    }

    const bulkInitiate = (body: unknown): FakeResponse => {
      if (!isRecord(body)) return plain(400, MESSAGES.bulkNeither)
      const hasLeads = body.leads !== undefined && body.leads !== null
      const hasIds = body.leadIds !== undefined && body.leadIds !== null
      // Choice: both at once is refused like neither (as Initiate's "exactly one").
      if (hasLeads === hasIds) return plain(400, MESSAGES.bulkNeither)
      const items = hasLeads ? body.leads : body.leadIds
      if (!Array.isArray(items)) return plain(400, MESSAGES.notArray)
      if (items.length > bulkMax) return plain(400, `Maximum of ${bulkMax} leads allowed per request`)
      const init = body.init ?? true
      if (typeof init !== "boolean") return plain(400, "init must be a boolean")
      // Choice: the `v=1.2` "simplified response format" is undocumented; the query is ignored.
      const success: Array<UservoxInitiatedLead> = []
      const errors: Array<UservoxBulkError> = []

      if (hasIds) {
        // Request-level first: a lead of another project refuses the whole request (403).
        for (const id of items) {
          const stored = typeof id === "string" ? leads.get(id) : undefined
          if (stored !== undefined && stored.lead.projectId !== projectId) return plain(403, MESSAGES.projectMismatch)
        }
        for (const id of items) {
          const stored = typeof id === "string" ? leads.get(id) : undefined
          if (stored === undefined) {
            errors.push({
              leadId: String(id),
              referenceId: null,
              error: leadIdNotFound(String(id)),
              data: { leadId: id },
            })
            continue
          }
          if (init) stored.initiated = true
          success.push(initiatedView(stored.lead))
        }
        const result: UservoxBulkResult = { success, errors }
        return { status: 200, body: result }
      }

      // Request-level checks (documented as whole-request 403 / 404), before any lead is created.
      for (const item of items) {
        if (!isRecord(item)) continue
        // Choice: the docs give 403 for a missing projectId here (Initiate gives 400), no message.
        if (!nonEmpty(item.projectId)) return plain(403, MESSAGES.projectRequired)
        if (item.projectId !== projectId) return plain(403, MESSAGES.projectMismatch)
      }
      for (const item of items) {
        if (isRecord(item) && nonEmpty(item.processId) && !processes.has(item.processId)) {
          return plain(404, processNotFound(item.processId))
        }
      }
      for (const item of items) {
        const referenceId = isRecord(item) && typeof item.referenceId === "string" ? item.referenceId : null
        const failItem = (error: string) => errors.push({ referenceId, error, data: item === undefined ? null : item })
        if (!isRecord(item)) {
          failItem("Lead must be an object")
          continue
        }
        const process = nonEmpty(item.processId) ? processes.get(item.processId) : undefined
        if (process === undefined) {
          failItem(MESSAGES.processRequired)
          continue
        }
        // Items are processed in order, so a later item duplicating an earlier one fails.
        const created = createLead(item, process, init)
        if (created.ok) success.push(initiatedView(created.lead))
        else failItem(created.error)
      }
      const result: UservoxBulkResult = { success, errors }
      return { status: 200, body: result }
    }

    /** Resolves `leadId` or `referenceId + projectId + processId` (Update and Get share the rules). */
    const locate = (fields: {
      readonly leadId?: unknown
      readonly referenceId?: unknown
      readonly projectId?: unknown
      readonly processId?: unknown
    }): { readonly stored: Stored } | { readonly response: FakeResponse } => {
      // A projectId that is sent must be the token's, whichever way the lead is addressed.
      if (nonEmpty(fields.projectId) && fields.projectId !== projectId) {
        return { response: flagged(403, MESSAGES.projectMismatch) }
      }
      if (nonEmpty(fields.leadId)) {
        const stored = leads.get(fields.leadId)
        if (stored === undefined) return { response: flagged(404, leadIdNotFound(fields.leadId)) }
        if (stored.lead.projectId !== projectId) return { response: flagged(403, MESSAGES.projectMismatch) }
        return { stored }
      }
      if (!nonEmpty(fields.referenceId)) return { response: flagged(400, MESSAGES.getNeither) }
      if (!nonEmpty(fields.projectId) || !nonEmpty(fields.processId)) {
        return { response: flagged(400, MESSAGES.getIncomplete) }
      }
      const stored = byReference(fields.referenceId, fields.processId, projectId)
      if (stored === undefined) return { response: flagged(404, referenceNotFound(fields.referenceId)) }
      return { stored }
    }

    const runUpdate = (request: UpdateRequest) => {
      const stored = leads.get(request.leadId)
      // A lead removed by `reset` has no job left (jobs are cancelled), so this is defensive.
      if (stored === undefined) return
      const lead = stored.lead
      const process = processes.get(lead.processId)
      const error = calling.has(lead._id)
        ? MESSAGES.callInProgress
        : request.targetState !== undefined && process !== undefined && !process.states.includes(request.targetState)
          ? invalidTargetState(request.targetState)
          : null
      let data: JsonObject | null = null
      if (error === null) {
        const next: Mutable<UservoxLead> = { ...lead, updatedAt: iso() }
        if (request.metadata !== undefined) next.metadata = mergeMetadata(lead.metadata, request.metadata)
        if (request.name !== undefined) next.name = request.name
        if (request.targetState !== undefined) next.currentState = request.targetState
        const takesDisposition = process?.dispositionStates ?? DISPOSITION_STATES
        if (request.disposition !== undefined && takesDisposition.includes(next.currentState)) {
          next.lastDisposition = request.disposition
        }
        stored.lead = next
        data = next.metadata
      }
      const payload: UservoxUpdateWebhook = {
        action_type: "update",
        updateId: request.updateId,
        success: error === null,
        error,
        leadId: lead._id,
        referenceId: lead.referenceId,
        timestamp: now(),
        data,
      }
      results.push(payload)
      emit(lead.processId, payload)
    }

    const schedule = (request: UpdateRequest) => {
      let finish = () => {}
      const done = new Promise<void>((resolve) => {
        finish = resolve
      })
      const job: Job = {
        timer: setTimeout(() => {
          jobs.delete(job)
          try {
            runUpdate(request)
          } finally {
            finish()
          }
        }, updateDelayMs),
        done,
        finish: () => finish(),
      }
      jobs.add(job)
    }

    const cancelJobs = () => {
      for (const job of jobs) {
        clearTimeout(job.timer)
        job.finish()
      }
      jobs.clear()
    }

    const update = (body: unknown): FakeResponse => {
      if (!isRecord(body)) return flagged(400, MESSAGES.getNeither)
      // Choice: the docs list no HTTP errors for Update; it answers Get Lead's messages and shape.
      const located = locate(body)
      if ("response" in located) return located.response
      const { metadata, name, targetState, disposition } = body
      // Choice: wrongly typed fields are refused with 400 (undocumented).
      if (metadata !== undefined && metadata !== null && !isJsonObject(metadata)) {
        return flagged(400, "metadata must be an object")
      }
      if (name !== undefined && name !== null && !nonEmpty(name)) return flagged(400, "name must be a non-empty string")
      if (targetState !== undefined && targetState !== null && !nonEmpty(targetState)) {
        return flagged(400, "targetState must be a non-empty string")
      }
      if (disposition !== undefined && disposition !== null && typeof disposition !== "string") {
        return flagged(400, "disposition must be a string")
      }
      // The documented rule: without `metadata`, every non-reserved top-level field is metadata.
      let patch: JsonObject | undefined
      if (isJsonObject(metadata)) patch = metadata
      else if (metadata === undefined) {
        const swept: Record<string, Json> = {}
        for (const [key, value] of Object.entries(body as JsonObject)) {
          if (!UPDATE_RESERVED.has(key)) swept[key] = value
        }
        patch = Object.keys(swept).length === 0 ? undefined : swept
      }
      schedule({
        updateId: newObjectId(),
        leadId: located.stored.lead._id,
        metadata: patch,
        name: nonEmpty(name) ? name : undefined,
        targetState: nonEmpty(targetState) ? targetState : undefined,
        disposition: typeof disposition === "string" ? disposition : undefined,
      })
      // As documented: no updateId in the immediate answer (the webhook carries one).
      return { status: 200, body: { success: true, message: MESSAGES.updateAccepted } }
    }

    const get = (query: Readonly<Record<string, string>>): FakeResponse => {
      const located = locate(query)
      if ("response" in located) return located.response
      const lead = located.stored.lead
      // Choice: only the literal "true" masks (the docs type `masked` boolean, default false).
      const data = query.masked === "true" ? { ...lead, phone: maskPhone(lead.phone) } : lead
      return { status: 200, body: { success: true, data } }
    }

    const route = (req: FakeRequest): FakeResponse => {
      const path = req.path.length > 1 ? req.path.replace(/\/+$/, "") : req.path
      const endpoint = path.startsWith(`${BASE}/`) ? path.slice(BASE.length) : undefined
      const key = `${req.method} ${endpoint ?? ""}`
      const known =
        key === "POST /leads/initiate" ||
        key === "POST /leads/bulk/initiate" ||
        key === "POST /leads/update" ||
        key === "GET /leads/get"
      // Choice: unknown routes answer an Express-style 404 (after authentication).
      if (!known) return plain(404, `Cannot ${req.method} ${req.path}`)
      if (req.method === "POST" && req.rawBody.trim() !== "" && typeof req.body === "string") {
        // Choice: the docs do not say what a body that is not JSON gets.
        return plain(400, "Invalid JSON body")
      }
      if (isBlocked()) return flagged(429, MESSAGES.blocked)
      // Choice: no rate-limit headers (none documented, so an adapter must cope without
      // Retry-After). Update Lead has "standard rate limiting" with no numbers: not limited here.
      if (key === "GET /leads/get") return admit("get") ? get(req.query) : flagged(429, MESSAGES.tooMany)
      if (key === "POST /leads/update") return update(req.body)
      if (!admit("initiate")) return flagged(429, MESSAGES.tooMany)
      return key === "POST /leads/initiate" ? initiate(req.body) : bulkInitiate(req.body)
    }

    const handle = (req: FakeRequest): FakeResponse => {
      const authorization = req.headers.authorization
      // Choice: the 403 messages are not documented.
      if (authorization === undefined || authorization.trim() === "") {
        return plain(403, "Authorization token is required")
      }
      if (authorization !== `Bearer ${options.apiToken}`) return plain(403, "Invalid API token")
      return route(req)
    }

    const resetState = () => {
      cancelJobs()
      leads.clear()
      usedIds.clear()
      calling.clear()
      flowIds.clear()
      windows = { initiate: [], get: [] }
      duplicates = []
      blockedUntil = undefined
      held = undefined
      dropped = []
      results = []
      faults = {}
      random = seededRandom(seed)
      faultRandom = seededRandom(seed ^ 0x5eed)
      sender.clear()
    }

    const control = yield* startFakeVendor({ handle, onReset: resetState, seed, faultBody })
    // Added after the server, so it runs before the server closes.
    yield* Effect.addFinalizer(() => Effect.sync(cancelJobs))

    // --- test controls -------------------------------------------------------------------------

    const putLead = (seedLead: UservoxLeadSeed, putOptions: { readonly initiated?: boolean } = {}): UservoxLead => {
      const process = processes.get(seedLead.processId)
      if (process === undefined) throw new Error(`putLead: unknown process ${seedLead.processId}`)
      const id = seedLead._id ?? newObjectId()
      usedIds.add(id)
      const project = seedLead.projectId ?? projectId
      if (seedLead.referenceId !== undefined && seedLead.referenceId !== null) {
        const owner = byReference(seedLead.referenceId, seedLead.processId, project)
        if (owner !== undefined && owner.lead._id !== id) {
          throw new Error(`putLead: ${owner.lead._id} already has referenceId ${seedLead.referenceId}`)
        }
      }
      const at = iso()
      const lead: UservoxLead = {
        name: "Test Lead",
        phone: null,
        email: null,
        referenceId: null,
        currentState: entryState(process),
        lastDisposition: null,
        metadata: {},
        createdAt: at,
        updatedAt: at,
        activities: [],
        ...seedLead,
        projectId: project,
        _id: id,
      }
      leads.set(id, { lead, initiated: putOptions.initiated ?? true })
      return lead
    }

    const completeCall = (leadId: string, outcome: UservoxCallOutcome): UservoxActivityWebhook => {
      const stored = leads.get(leadId)
      if (stored === undefined) throw new Error(`completeCall: unknown lead ${leadId}`)
      const lead = stored.lead
      const process = processes.get(lead.processId)
      if (process === undefined || !process.states.includes(outcome.toState)) {
        throw new Error(`completeCall: process ${lead.processId} has no state ${outcome.toState}`)
      }
      const activityId = newObjectId()
      // Choice: the lead's previous activity id; on its first activity, the activity's own id
      // (the docs show a string, never null, and do not say what a first activity carries).
      const lastActivityId = lead.activities.at(-1)?._id ?? activityId
      let flowId = flowIds.get(lead.processId)
      if (flowId === undefined) {
        flowId = newObjectId()
        flowIds.set(lead.processId, flowId)
      }
      const timestamp = now()
      const activity: UservoxActivity = {
        type: "call",
        status: "success",
        fromState: lead.currentState,
        toState: outcome.toState,
        scheduledAt: outcome.scheduledAt ?? timestamp,
        result: {
          success: true,
          type: "call",
          leadId: lead._id,
          projectId: lead.projectId,
          activityId,
          referenceId: lead.referenceId,
          flowId,
          channelId: 1,
          hasTransfer: false,
          telephonyType: "provider",
          // Documented as "your metadata plus system vars"; the fake adds only `name`.
          input: { ...lead.metadata, name: lead.name },
          providerCallId: `prov-${randomHex(random, 6)}`,
          status: "completed",
          analysis: {
            success: outcome.success ?? outcome.dispositionType === "success",
            disposition: outcome.disposition,
            dispositionType: outcome.dispositionType,
            summary: outcome.summary ?? `Call completed with disposition "${outcome.disposition}".`,
          },
        },
      }
      stored.lead = {
        ...lead,
        currentState: outcome.toState,
        lastDisposition: outcome.disposition,
        updatedAt: new Date(timestamp).toISOString(),
        activities: [...lead.activities, { _id: activityId, ...activity }],
      }
      calling.delete(lead._id)
      const payload: UservoxActivityWebhook = {
        action_type: "update",
        activityId,
        lastActivityId,
        leadId: lead._id,
        processId: lead.processId,
        referenceId: lead.referenceId,
        timestamp,
        activity,
      }
      emit(lead.processId, payload)
      return payload
    }

    const webhookFaults = (next: UservoxWebhookFaults) => {
      for (const [name, p] of Object.entries(next)) {
        if (p !== undefined && !(typeof p === "number" && p >= 0 && p <= 1)) {
          throw new RangeError(`webhookFaults.${name} must be within [0, 1], got ${String(p)}`)
        }
      }
      faults = { ...next }
      faultRandom = seededRandom(seed ^ 0x5eed)
    }

    const flushWebhooks = async (): Promise<void> => {
      for (;;) {
        if (jobs.size > 0) {
          await Promise.all([...jobs].map((job) => job.done))
          continue
        }
        if (held !== undefined) {
          const late = held
          held = undefined
          send(late)
        }
        await sender.settled()
        if (jobs.size === 0 && held === undefined) return
      }
    }

    const fake: FakeUservoxServerControl = {
      ...control,
      baseUrl: `${control.url}${BASE}`,
      leads: () => [...leads.values()].map((s) => s.lead),
      lead: (id) => leads.get(id)?.lead,
      leadByReference: (referenceId, processId) => byReference(referenceId, processId, projectId)?.lead,
      initiated: (id) => leads.get(id)?.initiated ?? false,
      putLead,
      callInProgress: (leadId, on) => {
        if (on) calling.add(leadId)
        else calling.delete(leadId)
      },
      completeCall,
      webhookFaults,
      deliveries: sender.deliveries,
      droppedWebhooks: () => [...dropped],
      updateResults: () => [...results],
      flushWebhooks,
      pendingJobs: () => jobs.size,
      blockedUntil: () => (isBlocked() ? blockedUntil : undefined),
    }
    return fake
  })

/**
 * {@link startFakeUservoxServer} for tests not written with Effect; call `close()` when done.
 *
 * @example
 * const vox = await startFakeUservoxServerPromise({ apiToken: "tok", projectId, processes })
 * // ... use vox.baseUrl ...
 * await vox.close()
 */
export const startFakeUservoxServerPromise = (
  options: FakeUservoxServerOptions,
): Promise<FakeUservoxServerControl & { readonly close: () => Promise<void> }> =>
  runScoped(startFakeUservoxServer(options))
