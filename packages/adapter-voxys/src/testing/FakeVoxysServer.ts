/**
 * A fake of the Voxys Connect CRM lead API for tests: a real HTTP server on 127.0.0.1 that
 * follows the vendor's documented behaviour (shared/vendors/voxys.md, rendered from the CRM
 * OpenAPI file `voxys_crm_swagger.json`) field by field: the `api_access_token` header,
 * account-scoped paths `/api/v1/accounts/{account_id}/…`, integer ids, the lead object, create,
 * get, partial update, delete, the paginated and sortable list, stats, bulk actions, the status
 * endpoint, conversion to a funnel card, and lead notes. Voxys sends no lead webhooks, so
 * neither does the fake: tests simulate changes made in the Voxys UI with `setStatusAtVendor`.
 * Faults are injected through the shared `FakeVendorControl` from `@leadstate/core/testing`.
 *
 * The fake is a Rails (Chatwoot) app in spirit: unknown routes are 404, unpermitted body fields
 * are ignored, validation errors are collected per field. Where the docs are silent it makes a
 * choice, marked "Choice:" below.
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
  HeldRequests,
  runScoped,
  startFakeVendor,
} from "@leadstate/core/testing"

import { Effect, type Scope } from "effect"

// ---------------------------------------------------------------------------------------------
// Wire types (the vendor's own nouns; the adapter keeps its own schemas)
// ---------------------------------------------------------------------------------------------

/** A lead's status, as documented. */
export type VoxysLeadStatus = "open" | "won" | "lost" | "snoozed"

/** Every documented lead status. */
export const leadStatuses: ReadonlyArray<VoxysLeadStatus> = ["open", "won", "lost", "snoozed"]

/** `agent_summary`: the assigned agent of a lead, the author of a note. */
export interface VoxysAgentSummary {
  readonly id: number
  readonly name: string
  readonly email: string
  readonly avatar_url: string | null
}

/** `company_summary`: the company of a lead. */
export interface VoxysCompanySummary {
  readonly id: number
  readonly name: string
  readonly domain: string | null
}

/** The documented lead object. Timestamps are ISO-8601 UTC with milliseconds. */
export interface VoxysLead {
  readonly id: number
  readonly custom_name: string
  readonly status: VoxysLeadStatus
  readonly lead_value: number | null
  readonly lead_currency: string | null
  readonly position: number | null
  readonly notes: string | null
  readonly assigned_agent: VoxysAgentSummary | null
  readonly company: VoxysCompanySummary | null
  readonly conversation_id: number | null
  readonly custom_attributes: Metadata.Metadata
  readonly created_at: string
  readonly updated_at: string
}

/** `POST /leads` body (`lead_create_payload`); `PATCH /leads/{id}` takes the same fields. */
export interface VoxysLeadCreatePayload {
  readonly custom_name?: string
  readonly lead_value?: number | null
  readonly lead_currency?: string | null
  readonly assigned_agent_id?: number | null
  readonly position?: number | null
  readonly conversation_id?: number | null
  readonly company_id?: number | null
  readonly custom_attributes?: Metadata.Metadata
}

/** `PATCH /leads/{id}` body (`lead_update_payload`): no `status` (use the status endpoint). */
export type VoxysLeadUpdatePayload = VoxysLeadCreatePayload

/** `PATCH /leads/{id}/status` body (`lead_status_payload`). */
export interface VoxysLeadStatusPayload {
  readonly status: VoxysLeadStatus
  readonly notes?: string | null
}

/** `action_type` of `POST /leads/bulk`. */
export type VoxysBulkActionType = "assign" | "status_change" | "delete"

/** `POST /leads/bulk` body (`lead_bulk_payload`). */
export interface VoxysBulkPayload {
  readonly lead_ids: ReadonlyArray<number>
  readonly action_type: VoxysBulkActionType
  /** `assign`: `{ assigned_agent_id }`; `status_change`: `{ status }`; `delete`: none. */
  readonly params?: { readonly assigned_agent_id?: number | null; readonly status?: VoxysLeadStatus }
}

/** `POST /leads/bulk` answer. */
export interface VoxysBulkResult {
  readonly success: boolean
  readonly affected_count: number
}

/** `POST /leads/{lead_id}/convert` body (`lead_convert_payload`). */
export interface VoxysConvertPayload {
  readonly funnel_id: number
  readonly funnel_stage_id?: number | null
}

/** `meta` of a paginated list. */
export interface VoxysListMeta {
  readonly current_page: number
  readonly total_pages: number
  readonly total_count: number
}

/** `GET /leads` answer. */
export interface VoxysLeadPage {
  readonly data: ReadonlyArray<VoxysLead>
  readonly meta: VoxysListMeta
}

/** `GET /leads/stats` answer (`lead_stats`; no `snoozed` count, as documented). */
export interface VoxysLeadStats {
  readonly total: number
  readonly open: number
  readonly won: number
  readonly lost: number
  readonly total_value: number
  readonly won_value: number
}

/** `lead_note`. */
export interface VoxysNote {
  readonly id: number
  readonly content: string
  readonly author: VoxysAgentSummary
  readonly created_at: string
}

/** `POST /leads/{lead_id}/notes` body. */
export interface VoxysNoteCreatePayload {
  readonly content: string
}

/** A funnel stage's `chatwoot_status`. */
export type VoxysChatwootStatus = "open" | "resolved" | "pending"

/** `funnel` (a pipeline). */
export interface VoxysFunnel {
  readonly id: number
  readonly name: string
  readonly description: string | null
  readonly color: string | null
  readonly position: number
  readonly is_public: boolean
  readonly is_active: boolean
  readonly stages_count: number
  readonly created_at: string
  readonly updated_at: string
}

/** `funnel_stage`. */
export interface VoxysFunnelStage {
  readonly id: number
  readonly funnel_id: number
  readonly name: string
  readonly color: string | null
  readonly position: number
  readonly chatwoot_status: VoxysChatwootStatus | null
  readonly cards_count: number
  readonly created_at: string
  readonly updated_at: string
}

/** `funnel_card` (a deal): the lead is embedded as it is now. */
export interface VoxysFunnelCard {
  readonly id: number
  readonly funnel_id: number
  readonly funnel_stage_id: number
  readonly lead: VoxysLead
  readonly position: number
  readonly created_at: string
  readonly updated_at: string
}

/** `POST /funnels/{id}/cards/{card_id}/move` body. */
export interface VoxysCardMovePayload {
  readonly target_stage_id: number
  readonly position?: number | null
}

/** `error_response`: 401, 404 (and, in the fake, 400 and injected 429/5xx). */
export interface VoxysErrorBody {
  readonly error: string
}

/** `validation_error`: 422, messages per field. */
export interface VoxysValidationErrorBody {
  readonly errors: { readonly [field: string]: ReadonlyArray<string> }
}

// ---------------------------------------------------------------------------------------------
// Options and control
// ---------------------------------------------------------------------------------------------

/** A funnel the fake knows, with its stages in order (ids are yours to choose). */
export interface VoxysFunnelSeed {
  readonly id: number
  readonly name: string
  readonly stages: ReadonlyArray<{
    readonly id: number
    readonly name: string
    readonly chatwoot_status?: VoxysChatwootStatus | null
  }>
}

/** The agents of the default account; the first one owns the access token. */
export const defaultAgents: ReadonlyArray<VoxysAgentSummary> = [
  { id: 1, name: "Fake Admin", email: "admin@voxys.test", avatar_url: null },
  { id: 2, name: "Sara K.", email: "sara@voxys.test", avatar_url: null },
  { id: 3, name: "Omar H.", email: "omar@voxys.test", avatar_url: null },
]

/** The companies of the default account. */
export const defaultCompanies: ReadonlyArray<VoxysCompanySummary> = [
  { id: 10, name: "Acme Corp", domain: "acme.com" },
  { id: 11, name: "Al Noor Logistics", domain: "alnoor.example" },
]

/** The funnels of the default account. */
export const defaultFunnels: ReadonlyArray<VoxysFunnelSeed> = [
  {
    id: 3,
    name: "Sales Pipeline",
    stages: [
      { id: 7, name: "Qualification", chatwoot_status: "open" },
      { id: 8, name: "Proposal", chatwoot_status: "open" },
      { id: 9, name: "Negotiation", chatwoot_status: "pending" },
    ],
  },
  { id: 4, name: "Renewals", stages: [{ id: 12, name: "Due" }] },
]

/** Options of {@link startFakeVoxysServer}. */
export interface FakeVoxysServerOptions {
  /** The one valid `api_access_token`. */
  readonly apiAccessToken: string
  /** The one account the token may use (a positive integer). */
  readonly accountId: number
  /** Seed of the PRNG deciding `probability` faults (default 1). Ids are sequential from 1. */
  readonly seed?: number
  /** The clock for `created_at`/`updated_at` (default `Date.now`). */
  readonly now?: () => number
  /** Agents for `assigned_agent_id` (default {@link defaultAgents}); the first owns the token. */
  readonly agents?: ReadonlyArray<VoxysAgentSummary>
  /** Companies for `company_id` (default {@link defaultCompanies}). */
  readonly companies?: ReadonlyArray<VoxysCompanySummary>
  /** Funnels for conversion (default {@link defaultFunnels}). */
  readonly funnels?: ReadonlyArray<VoxysFunnelSeed>
  /**
   * What `custom_attributes` in `PATCH /leads/{id}` does (default `"replace"`). Choice: the docs
   * do not say; voxys.md advises sending the full object, so the fake replaces the whole object
   * (an adapter sending only changed keys loses the others). Chatwoot itself merges contacts'
   * custom attributes shallowly: set `"merge"` to test an adapter against that reading.
   */
  readonly customAttributesUpdate?: "replace" | "merge"
}

/** A lead for {@link FakeVoxysServerControl.putLead}: lead fields of every kind, plus its source inbox. */
export type VoxysLeadSeed = Partial<VoxysLead> & {
  /** Makes the lead match `GET /leads?source_inbox_id=…` (not part of the lead object). */
  readonly source_inbox_id?: number | null
}

/** The fake's control: the shared fault/recording control plus the account's CRM state. */
export interface FakeVoxysServerControl extends FakeVendorControl {
  readonly accountId: number
  /** `${url}/api/v1/accounts/${accountId}`: the base of every documented lead path. */
  readonly accountUrl: string
  /** Every stored lead, by ascending id. */
  readonly leads: () => ReadonlyArray<VoxysLead>
  /** One stored lead. */
  readonly lead: (id: number) => VoxysLead | undefined
  /**
   * Stores a lead directly (test setup, no request recorded), replacing one with the same id.
   * Defaults: the next id, `custom_name` "Lead <id>", status `open`, nulls, `{}` attributes,
   * `created_at` now, `updated_at` = `created_at`.
   */
  readonly putLead: (lead?: VoxysLeadSeed) => VoxysLead
  /**
   * A change made by a person in the Voxys UI: sets the status (and `notes` when given) and
   * always bumps `updated_at` to now, so a poller sorting by `updated_at` sees it. Throws for
   * an unknown id.
   */
  readonly setStatusAtVendor: (id: number, status: VoxysLeadStatus, notes?: string | null) => VoxysLead
  /** A deletion made in the Voxys UI (with the lead's notes and cards). Throws for an unknown id. */
  readonly deleteAtVendor: (id: number) => void
  /** A lead's notes, newest first (as `GET /leads/{id}/notes` answers). */
  readonly notes: (leadId: number) => ReadonlyArray<VoxysNote>
  /** Every funnel card (deal), by ascending id. */
  readonly cards: () => ReadonlyArray<VoxysFunnelCard>
  /**
   * Holds the next request matching `method` and `path` (exact, or a RegExp on the path) until
   * `release()`. With the adapter's request timeout shorter than the hold, the request lands
   * late: after the adapter gave up on it, whenever the test releases it. `reset()` releases
   * every hold.
   */
  readonly hold: (match: HeldRequests.HoldMatch) => HeldRequests.HeldRequest
}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

const DEFAULT_PER_PAGE = 25
const MAX_PER_PAGE = 100
const SORT_FIELDS = ["created_at", "updated_at", "lead_value", "position", "custom_name"] as const
type SortField = (typeof SORT_FIELDS)[number]

const BLANK = "can't be blank"
const NOT_IN_LIST = "is not included in the list"
const NOT_A_NUMBER = "is not a number"
const NOT_AN_INTEGER = "must be an integer"
const NOT_A_STRING = "must be a string"
const MUST_EXIST = "must exist"

type Params = Readonly<Record<string, unknown>>
type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface CardRecord {
  readonly id: number
  readonly funnel_id: number
  readonly funnel_stage_id: number
  readonly lead_id: number
  readonly position: number
  readonly created_at: string
  readonly updated_at: string
}

/** Field errors collected Rails-style: every bad field at once, messages in order. */
class FieldErrors {
  private readonly map: Record<string, Array<string>> = {}
  add(field: string, message: string): void {
    const messages = this.map[field]
    if (messages === undefined) this.map[field] = [message]
    else messages.push(message)
  }
  get isEmpty(): boolean {
    return Object.keys(this.map).length === 0
  }
  response(): FakeResponse {
    const body: VoxysValidationErrorBody = { errors: this.map }
    return { status: 422, body }
  }
}

const error = (status: number, message: string): FakeResponse => {
  const body: VoxysErrorBody = { error: message }
  return { status, body }
}

const invalid = (field: string, message: string): FakeResponse => {
  const errors = new FieldErrors()
  errors.add(field, message)
  return errors.response()
}

const ok = (body: unknown, status = 200): FakeResponse => ({ status, body })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const isStatus = (u: unknown): u is VoxysLeadStatus =>
  typeof u === "string" && (leadStatuses as ReadonlyArray<string>).includes(u)

const isInteger = (u: unknown): u is number => typeof u === "number" && Number.isInteger(u)

/** A path segment or query value that is a (non-negative) integer, else undefined. */
const intOf = (raw: string | undefined): number | undefined =>
  raw !== undefined && /^\d{1,15}$/.test(raw) ? Number(raw) : undefined

const faultBody = (fault: Extract<Fault, { readonly _tag: "Status" | "RateLimit" }>): unknown => {
  // Choice: the docs define no 429 or 5xx body; injected ones use the `error_response` shape.
  if (fault._tag === "RateLimit") return { error: "Too Many Requests" }
  if (fault.status === 422) return { errors: { base: ["Unprocessable Entity"] } }
  return { error: STATUS_CODES[fault.status] ?? "Error" }
}

/** Postgres order: NULL sorts after every value ascending (so first descending). */
const compareKeys = (a: number | string | null, b: number | string | null): number => {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1
  return a < b ? -1 : a > b ? 1 : 0
}

const sortKey = (lead: VoxysLead, field: SortField): number | string | null => {
  switch (field) {
    case "created_at":
      return Date.parse(lead.created_at)
    case "updated_at":
      return Date.parse(lead.updated_at)
    case "lead_value":
      return lead.lead_value
    case "position":
      return lead.position
    case "custom_name":
      return lead.custom_name
  }
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * Starts the fake Voxys Connect CRM API on 127.0.0.1; it closes with the scope.
 *
 * @example
 * const voxys = yield* startFakeVoxysServer({ apiAccessToken: "tok", accountId: 1 })
 * const lead = voxys.putLead({ custom_name: "Fleet renewal" })
 * // PATCH `${voxys.accountUrl}/leads/${lead.id}/status` with header `api_access_token: tok`
 * // and body { "status": "won" } answers 200 with the updated lead
 */
export const startFakeVoxysServer = (
  options: FakeVoxysServerOptions,
): Effect.Effect<FakeVoxysServerControl, never, Scope.Scope> =>
  Effect.gen(function* () {
    if (options.apiAccessToken === "") return yield* Effect.dieMessage("FakeVoxysServer: apiAccessToken is empty")
    if (!(Number.isInteger(options.accountId) && options.accountId > 0)) {
      return yield* Effect.dieMessage(`FakeVoxysServer: accountId must be a positive integer, got ${options.accountId}`)
    }
    const agents = options.agents ?? defaultAgents
    const tokenOwner = agents[0]
    if (tokenOwner === undefined) return yield* Effect.dieMessage("FakeVoxysServer: agents must not be empty")
    const companies = options.companies ?? defaultCompanies
    const funnels = options.funnels ?? defaultFunnels
    const now = options.now ?? Date.now
    const seed = options.seed ?? 1
    const mergeAttributes = options.customAttributesUpdate === "merge"
    const iso = () => new Date(now()).toISOString()
    const startedAt = iso()

    const leads = new Map<number, VoxysLead>()
    const sourceInbox = new Map<number, number>()
    const notes = new Map<number, Array<VoxysNote>>()
    const cards = new Map<number, CardRecord>()
    let nextLeadId = 1
    let nextNoteId = 1
    let nextCardId = 1

    const agentOf = (id: number) => agents.find((a) => a.id === id)
    const companyOf = (id: number) => companies.find((c) => c.id === id)
    const funnelOf = (id: number) => funnels.find((f) => f.id === id)

    const removeLead = (id: number): void => {
      leads.delete(id)
      sourceInbox.delete(id)
      notes.delete(id)
      // Choice: deleting a lead deletes its funnel cards (a card cannot exist without its lead).
      for (const card of [...cards.values()]) if (card.lead_id === id) cards.delete(card.id)
    }

    const cardView = (card: CardRecord): VoxysFunnelCard | undefined => {
      const lead = leads.get(card.lead_id)
      if (lead === undefined) return undefined
      const { lead_id: _, ...rest } = card
      return { ...rest, lead }
    }

    const cardsInStage = (stageId: number): Array<CardRecord> =>
      [...cards.values()]
        .filter((c) => c.funnel_stage_id === stageId)
        .sort((a, b) => a.position - b.position || a.id - b.id)

    const renumber = (stageId: number, ordered: ReadonlyArray<CardRecord>): void => {
      ordered.forEach((card, index) => {
        if (card.position !== index + 1 || card.funnel_stage_id !== stageId) {
          cards.set(card.id, { ...card, funnel_stage_id: stageId, position: index + 1 })
        }
      })
    }

    const stageViews = (funnel: VoxysFunnelSeed): Array<VoxysFunnelStage> =>
      funnel.stages.map((stage, index) => ({
        id: stage.id,
        funnel_id: funnel.id,
        name: stage.name,
        color: null,
        position: index + 1,
        chatwoot_status: stage.chatwoot_status ?? null,
        cards_count: cardsInStage(stage.id).length,
        created_at: startedAt,
        updated_at: startedAt,
      }))

    const funnelView = (funnel: VoxysFunnelSeed, index: number): VoxysFunnel => ({
      id: funnel.id,
      name: funnel.name,
      description: null,
      color: null,
      position: index + 1,
      is_public: true,
      is_active: true,
      stages_count: funnel.stages.length,
      created_at: startedAt,
      updated_at: startedAt,
    })

    /**
     * Validates the create/update fields present in `params` and returns the changes to apply.
     * Unknown fields (`status`, `id`, `created_at`, …) are ignored, as Rails' strong parameters
     * do; every bad field is reported at once.
     */
    const leadChanges = (
      params: Params,
      errors: FieldErrors,
      current: VoxysLead | undefined,
    ): Partial<Mutable<VoxysLead>> => {
      const changes: Partial<Mutable<VoxysLead>> = {}
      const has = (field: string) => Object.hasOwn(params, field)
      // Choice: the spec marks no create field as required, but a lead always has a string
      // `custom_name`, so a missing, null or blank one is refused on create (and null/blank on update).
      if (has("custom_name") || current === undefined) {
        const name = params.custom_name
        if (typeof name === "string" && name.trim() !== "") changes.custom_name = name
        else
          errors.add(
            "custom_name",
            name === undefined || name === null || typeof name === "string" ? BLANK : NOT_A_STRING,
          )
      }
      if (has("lead_value")) {
        const value = params.lead_value
        // Choice: JSON types are strict (no "42000" strings); the spec says number | null.
        if (value === null || (typeof value === "number" && Number.isFinite(value))) changes.lead_value = value
        else errors.add("lead_value", NOT_A_NUMBER)
      }
      if (has("lead_currency")) {
        const value = params.lead_currency
        if (value === null || typeof value === "string") changes.lead_currency = value
        else errors.add("lead_currency", NOT_A_STRING)
      }
      for (const field of ["position", "conversation_id"] as const) {
        if (!has(field)) continue
        const value = params[field]
        // Choice: conversations are not modelled; any integer conversation_id is accepted.
        if (value === null || isInteger(value)) changes[field] = value
        else errors.add(field, NOT_AN_INTEGER)
      }
      if (has("assigned_agent_id")) {
        const value = params.assigned_agent_id
        if (value === null) changes.assigned_agent = null
        else if (!isInteger(value)) errors.add("assigned_agent_id", NOT_AN_INTEGER)
        else {
          // Choice: an id that is not an agent of the account is a 422 "must exist".
          const agent = agentOf(value)
          if (agent === undefined) errors.add("assigned_agent_id", MUST_EXIST)
          else changes.assigned_agent = agent
        }
      }
      if (has("company_id")) {
        const value = params.company_id
        if (value === null) changes.company = null
        else if (!isInteger(value)) errors.add("company_id", NOT_AN_INTEGER)
        else {
          const company = companyOf(value)
          if (company === undefined) errors.add("company_id", MUST_EXIST)
          else changes.company = company
        }
      }
      if (has("custom_attributes")) {
        const value = params.custom_attributes
        if (!isRecord(value)) errors.add("custom_attributes", "must be an object")
        else {
          const attributes = value as Metadata.Metadata
          changes.custom_attributes =
            current !== undefined && mergeAttributes ? { ...current.custom_attributes, ...attributes } : attributes
        }
      }
      return changes
    }

    /**
     * Applies changes; `updated_at` moves only when something changed (ActiveRecord dirty
     * tracking), so a no-op write does not show up as a change to a poller.
     */
    const save = (lead: VoxysLead, changes: Partial<VoxysLead>): VoxysLead => {
      const next: VoxysLead = { ...lead, ...changes }
      if (sameJson(next, lead)) return lead
      const saved = { ...next, updated_at: iso() }
      leads.set(lead.id, saved)
      return saved
    }

    // --- handlers ----------------------------------------------------------------------------

    const list = (query: Readonly<Record<string, string>>): FakeResponse => {
      // Choice: as Kaminari does, a missing or invalid page/per_page falls back to the default and
      // per_page is capped at 100 (no 422: the docs list only 200 and 401 for this endpoint).
      const page = Math.max(1, intOf(query.page) ?? 1)
      const requested = intOf(query.per_page)
      const perPage = requested === undefined || requested < 1 ? DEFAULT_PER_PAGE : Math.min(requested, MAX_PER_PAGE)
      // Choice: an unknown sort_by/sort_order falls back to the default (created_at, desc).
      const sortBy: SortField = SORT_FIELDS.find((f) => f === query.sort_by) ?? "created_at"
      const direction = query.sort_order === "asc" ? 1 : -1
      const agentId = query.assigned_agent_id
      const inboxId = query.source_inbox_id
      // Choice: a filter value that can never match (unknown status, non-integer id) gives an
      // empty list, like an SQL WHERE on it; empty filter values are ignored.
      const matching = [...leads.values()].filter(
        (lead) =>
          (query.status === undefined || query.status === "" || lead.status === query.status) &&
          (agentId === undefined ||
            agentId === "" ||
            (lead.assigned_agent !== null && lead.assigned_agent.id === intOf(agentId))) &&
          (inboxId === undefined || inboxId === "" || sourceInbox.get(lead.id) === intOf(inboxId)),
      )
      // Choice: ties (equal sort keys) are broken by id in the same direction, so the order is
      // total and pages neither skip nor repeat leads while nothing changes.
      matching.sort(
        (a, b) => direction * (compareKeys(sortKey(a, sortBy), sortKey(b, sortBy)) || compareKeys(a.id, b.id)),
      )
      const total = matching.length
      const body: VoxysLeadPage = {
        data: matching.slice((page - 1) * perPage, page * perPage),
        meta: { current_page: page, total_pages: Math.ceil(total / perPage), total_count: total },
      }
      return ok(body)
    }

    const create = (params: Params): FakeResponse => {
      const errors = new FieldErrors()
      const changes = leadChanges(params, errors, undefined)
      if (!errors.isEmpty) return errors.response()
      const id = nextLeadId++
      const at = iso()
      // `status` is not accepted on create (documented): new leads are `open`.
      const lead: VoxysLead = {
        id,
        custom_name: "",
        status: "open",
        lead_value: null,
        lead_currency: null,
        position: null,
        notes: null,
        assigned_agent: null,
        company: null,
        conversation_id: null,
        custom_attributes: {},
        ...changes,
        created_at: at,
        updated_at: at,
      }
      leads.set(id, lead)
      return ok(lead, 201)
    }

    const stats = (): FakeResponse => {
      const all = [...leads.values()]
      const count = (status: VoxysLeadStatus) => all.filter((l) => l.status === status).length
      const sum = (ls: ReadonlyArray<VoxysLead>) => ls.reduce((total, l) => total + (l.lead_value ?? 0), 0)
      const body: VoxysLeadStats = {
        total: all.length,
        open: count("open"),
        won: count("won"),
        lost: count("lost"),
        // Choice: values are summed as numbers across currencies (the docs do not say otherwise).
        total_value: sum(all),
        won_value: sum(all.filter((l) => l.status === "won")),
      }
      return ok(body)
    }

    const bulk = (params: Params): FakeResponse => {
      const errors = new FieldErrors()
      const ids = params.lead_ids
      if (ids === undefined || ids === null || (Array.isArray(ids) && ids.length === 0)) errors.add("lead_ids", BLANK)
      else if (!Array.isArray(ids) || !ids.every(isInteger)) errors.add("lead_ids", "must be an array of integers")
      const action = params.action_type
      if (action === undefined || action === null || action === "") errors.add("action_type", BLANK)
      else if (action !== "assign" && action !== "status_change" && action !== "delete") {
        errors.add("action_type", NOT_IN_LIST)
      }
      const extra = isRecord(params.params) ? params.params : {}
      if (params.params !== undefined && params.params !== null && !isRecord(params.params)) {
        errors.add("params", "must be an object")
      }
      let change: Partial<VoxysLead> = {}
      if (action === "status_change") {
        // Choice: `params.notes` is undocumented for bulk and ignored; use the status endpoint
        // for a status with notes.
        if (extra.status === undefined || extra.status === null) errors.add("status", BLANK)
        else if (!isStatus(extra.status)) errors.add("status", NOT_IN_LIST)
        else change = { status: extra.status }
      }
      if (action === "assign") {
        // Choice: `assigned_agent_id: null` unassigns; a missing one is refused.
        const value = extra.assigned_agent_id
        if (value === undefined) errors.add("assigned_agent_id", BLANK)
        else if (value === null) change = { assigned_agent: null }
        else if (!isInteger(value)) errors.add("assigned_agent_id", NOT_AN_INTEGER)
        else {
          const agent = agentOf(value)
          if (agent === undefined) errors.add("assigned_agent_id", MUST_EXIST)
          else change = { assigned_agent: agent }
        }
      }
      if (!errors.isEmpty || !Array.isArray(ids)) return errors.response()
      // Documented: no per-item errors, only a count. Choice: unknown ids are skipped silently,
      // duplicates count once, and every existing lead named counts (changed or not); changed
      // leads get a new updated_at (leads are saved one by one, not with update_all); no limit
      // on the number of ids.
      const existing = [...new Set(ids as ReadonlyArray<number>)].flatMap((id) => {
        const lead = leads.get(id)
        return lead === undefined ? [] : [lead]
      })
      for (const lead of existing) {
        if (action === "delete") removeLead(lead.id)
        else save(lead, change)
      }
      const body: VoxysBulkResult = { success: true, affected_count: existing.length }
      return ok(body)
    }

    const update = (lead: VoxysLead, params: Params): FakeResponse => {
      const errors = new FieldErrors()
      const changes = leadChanges(params, errors, lead)
      if (!errors.isEmpty) return errors.response()
      return ok(save(lead, changes))
    }

    const changeStatus = (lead: VoxysLead, params: Params): FakeResponse => {
      const errors = new FieldErrors()
      const { status } = params
      if (status === undefined || status === null || status === "") errors.add("status", BLANK)
      else if (!isStatus(status)) errors.add("status", NOT_IN_LIST)
      // Choice: `notes` sets the lead's `notes` field (a string, or null to clear it); when the
      // key is absent the field is left as it was. It does not add an entry to the notes list.
      const hasNotes = Object.hasOwn(params, "notes")
      const notesValue = params.notes
      if (hasNotes && notesValue !== null && typeof notesValue !== "string") errors.add("notes", NOT_A_STRING)
      if (!errors.isEmpty || !isStatus(status)) return errors.response()
      // Documented: no transition rules (any status to any status); synchronous.
      const changes: Partial<Mutable<VoxysLead>> = { status }
      if (hasNotes && (notesValue === null || typeof notesValue === "string")) changes.notes = notesValue
      return ok(save(lead, changes))
    }

    const convert = (lead: VoxysLead, params: Params): FakeResponse => {
      const errors = new FieldErrors()
      const funnelId = params.funnel_id
      if (funnelId === undefined || funnelId === null) errors.add("funnel_id", BLANK)
      else if (!isInteger(funnelId)) errors.add("funnel_id", NOT_AN_INTEGER)
      const stageId = params.funnel_stage_id
      if (stageId !== undefined && stageId !== null && !isInteger(stageId))
        errors.add("funnel_stage_id", NOT_AN_INTEGER)
      if (!errors.isEmpty || !isInteger(funnelId)) return errors.response()
      const funnel = funnelOf(funnelId)
      if (funnel === undefined) return error(404, "Funnel not found")
      // Choice: a missing/null stage means the funnel's first stage; a stage of another funnel
      // is a 404 like an unknown one.
      const stage = isInteger(stageId) ? funnel.stages.find((s) => s.id === stageId) : funnel.stages[0]
      if (stage === undefined) return error(404, "Funnel stage not found")
      // Choice: a lead has at most one card per funnel; converting it again into the same funnel
      // is refused (so a retried conversion cannot create a duplicate deal).
      if ([...cards.values()].some((c) => c.lead_id === lead.id && c.funnel_id === funnel.id)) {
        return invalid("lead_id", "has already been taken")
      }
      const at = iso()
      // Choice: the new card goes last in its stage (positions are 1-based); the lead itself is
      // not changed (status stays as it was, updated_at does not move).
      const card: CardRecord = {
        id: nextCardId++,
        funnel_id: funnel.id,
        funnel_stage_id: stage.id,
        lead_id: lead.id,
        position: cardsInStage(stage.id).length + 1,
        created_at: at,
        updated_at: at,
      }
      cards.set(card.id, card)
      return ok(cardView(card), 201)
    }

    const listNotes = (lead: VoxysLead): FakeResponse => ok([...(notes.get(lead.id) ?? [])].reverse())

    const addNote = (lead: VoxysLead, params: Params): FakeResponse => {
      const { content } = params
      if (typeof content !== "string" || content.trim() === "") {
        return invalid(
          "content",
          content === undefined || content === null || typeof content === "string" ? BLANK : NOT_A_STRING,
        )
      }
      // Choice: the author is the token's owner (the first agent); the lead's updated_at does not move.
      const note: VoxysNote = { id: nextNoteId++, content, author: tokenOwner, created_at: iso() }
      notes.set(lead.id, [...(notes.get(lead.id) ?? []), note])
      return ok(note, 201)
    }

    const listCards = (funnel: VoxysFunnelSeed, query: Readonly<Record<string, string>>): FakeResponse => {
      const stageOrder = new Map(funnel.stages.map((s, i) => [s.id, i]))
      const views = [...cards.values()]
        .filter((c) => c.funnel_id === funnel.id)
        .filter(
          (c) => query.stage_id === undefined || query.stage_id === "" || c.funnel_stage_id === intOf(query.stage_id),
        )
        .sort(
          (a, b) =>
            (stageOrder.get(a.funnel_stage_id) ?? 0) - (stageOrder.get(b.funnel_stage_id) ?? 0) ||
            a.position - b.position ||
            a.id - b.id,
        )
        .flatMap((c) => {
          const view = cardView(c)
          return view === undefined ? [] : [view]
        })
        .filter(
          (v) => query.lead_status === undefined || query.lead_status === "" || v.lead.status === query.lead_status,
        )
      return ok(views)
    }

    const moveCard = (funnel: VoxysFunnelSeed, rawCardId: string, params: Params): FakeResponse => {
      const cardId = intOf(rawCardId)
      const card = cardId === undefined ? undefined : cards.get(cardId)
      if (card === undefined || card.funnel_id !== funnel.id) return error(404, "Funnel card not found")
      const { target_stage_id: target, position } = params
      const errors = new FieldErrors()
      if (target === undefined || target === null) errors.add("target_stage_id", BLANK)
      else if (!isInteger(target)) errors.add("target_stage_id", NOT_AN_INTEGER)
      if (position !== undefined && position !== null && !isInteger(position)) errors.add("position", NOT_AN_INTEGER)
      if (!errors.isEmpty || !isInteger(target)) return errors.response()
      const stage = funnel.stages.find((s) => s.id === target)
      if (stage === undefined) return error(404, "Funnel stage not found")
      // Choice: `position` is 1-based and clamped; without it the card goes last. Both stages
      // are renumbered 1..n; only the moved card gets a new updated_at.
      const from = cardsInStage(card.funnel_stage_id).filter((c) => c.id !== card.id)
      const to = card.funnel_stage_id === stage.id ? from : cardsInStage(stage.id)
      const index = isInteger(position) ? Math.min(Math.max(position, 1), to.length + 1) - 1 : to.length
      const moved: CardRecord = { ...card, funnel_stage_id: stage.id, updated_at: iso() }
      cards.set(card.id, moved)
      const ordered = [...to.slice(0, index), moved, ...to.slice(index)]
      if (card.funnel_stage_id !== stage.id) renumber(card.funnel_stage_id, from)
      renumber(stage.id, ordered)
      const view = cards.get(card.id)
      return ok(view === undefined ? undefined : cardView(view))
    }

    // --- routing -----------------------------------------------------------------------------

    interface Route {
      readonly method: string
      readonly pattern: RegExp
      readonly run: (match: RegExpExecArray, params: Params, req: FakeRequest) => FakeResponse
    }

    /** Runs `f` with the lead named by the path, or answers the documented 404. */
    const withLead =
      (f: (lead: VoxysLead, params: Params) => FakeResponse) =>
      (match: RegExpExecArray, params: Params): FakeResponse => {
        const id = intOf(match[1])
        const lead = id === undefined ? undefined : leads.get(id)
        return lead === undefined ? error(404, "Lead not found") : f(lead, params)
      }

    const withFunnel =
      (f: (funnel: VoxysFunnelSeed, match: RegExpExecArray, params: Params, req: FakeRequest) => FakeResponse) =>
      (match: RegExpExecArray, params: Params, req: FakeRequest): FakeResponse => {
        const id = intOf(match[1])
        const funnel = id === undefined ? undefined : funnelOf(id)
        return funnel === undefined ? error(404, "Funnel not found") : f(funnel, match, params, req)
      }

    // Paths relative to /api/v1/accounts/{account_id}. Literal routes come before `{id}` ones.
    const routes: ReadonlyArray<Route> = [
      { method: "GET", pattern: /^\/leads$/, run: (_m, _p, req) => list(req.query) },
      { method: "POST", pattern: /^\/leads$/, run: (_m, params) => create(params) },
      { method: "GET", pattern: /^\/leads\/stats$/, run: () => stats() },
      { method: "POST", pattern: /^\/leads\/bulk$/, run: (_m, params) => bulk(params) },
      { method: "GET", pattern: /^\/leads\/([^/]+)$/, run: withLead((lead) => ok(lead)) },
      { method: "PATCH", pattern: /^\/leads\/([^/]+)$/, run: withLead(update) },
      {
        method: "DELETE",
        pattern: /^\/leads\/([^/]+)$/,
        run: withLead((lead) => {
          removeLead(lead.id)
          return { status: 204 }
        }),
      },
      { method: "PATCH", pattern: /^\/leads\/([^/]+)\/status$/, run: withLead(changeStatus) },
      { method: "POST", pattern: /^\/leads\/([^/]+)\/convert$/, run: withLead(convert) },
      { method: "GET", pattern: /^\/leads\/([^/]+)\/notes$/, run: withLead(listNotes) },
      { method: "POST", pattern: /^\/leads\/([^/]+)\/notes$/, run: withLead(addNote) },
      { method: "GET", pattern: /^\/funnels$/, run: () => ok(funnels.map(funnelView)) },
      {
        method: "GET",
        pattern: /^\/funnels\/([^/]+)$/,
        run: withFunnel((funnel) => ok(funnelView(funnel, funnels.indexOf(funnel)))),
      },
      { method: "GET", pattern: /^\/funnels\/([^/]+)\/stages$/, run: withFunnel((funnel) => ok(stageViews(funnel))) },
      {
        method: "GET",
        pattern: /^\/funnels\/([^/]+)\/cards$/,
        run: withFunnel((funnel, _m, _p, req) => listCards(funnel, req.query)),
      },
      {
        method: "POST",
        pattern: /^\/funnels\/([^/]+)\/cards\/([^/]+)\/move$/,
        run: withFunnel((funnel, match, params) => moveCard(funnel, match[2] ?? "", params)),
      },
    ]

    const ACCOUNT_PATH = /^\/api\/v1\/accounts\/([^/]+)(\/.*)$/

    const handle = (req: FakeRequest): FakeResponse => {
      // Rails ignores one trailing slash.
      const path = req.path.length > 1 && req.path.endsWith("/") ? req.path.slice(0, -1) : req.path
      const scoped = ACCOUNT_PATH.exec(path)
      const rest = scoped?.[2] ?? ""
      let found: { readonly route: Route; readonly match: RegExpExecArray } | undefined
      for (const route of routes) {
        const match = route.method === req.method ? route.pattern.exec(rest) : null
        if (match !== null) {
          found = { route, match }
          break
        }
      }
      // Choice: an unknown path or method is a 404 before authentication (Rails routing), with
      // the `error_response` shape.
      if (scoped === null || found === undefined) return error(404, `No route matches [${req.method}] "${req.path}"`)
      // Documented: the `api_access_token` header; a missing or wrong token is 401
      // `{ "error": "Unauthorized" }` (the body the CRM OpenAPI documents).
      if (req.headers.api_access_token !== options.apiAccessToken) return error(401, "Unauthorized")
      // Choice (undocumented): another numeric account id is 401 "You are not authorized to
      // access this account" (Chatwoot's answer when the token's user is not a member of the
      // account); a non-numeric one is 404 "Account not found" (Chatwoot's Account.find).
      const accountId = intOf(scoped[1])
      if (accountId === undefined) return error(404, "Account not found")
      if (accountId !== options.accountId) return error(401, "You are not authorized to access this account")
      const contentType = req.headers["content-type"] ?? ""
      let params: Params = {}
      if (req.rawBody.trim() !== "" && contentType.includes("json")) {
        // Choice: a body that is not JSON is 400 with the error_response shape (Rails' parse error).
        if (typeof req.body === "string") return error(400, "Bad Request: the body is not valid JSON")
        // A JSON body that is not an object carries no fields (Rails puts it under `_json`).
        if (isRecord(req.body)) params = req.body
      }
      // Choice: like Rails, a body without a JSON content type is not parsed: it carries no fields.
      return found.route.run(found.match, params, req)
    }

    const held = HeldRequests.make(handle)

    const resetState = () => {
      held.releaseAll()
      leads.clear()
      sourceInbox.clear()
      notes.clear()
      cards.clear()
      nextLeadId = 1
      nextNoteId = 1
      nextCardId = 1
    }

    const control = yield* startFakeVendor({ handle: held.handle, onReset: resetState, seed, faultBody })

    const putLead = (leadSeed: VoxysLeadSeed = {}): VoxysLead => {
      const { source_inbox_id: inbox, ...fields } = leadSeed
      const id = fields.id ?? nextLeadId
      if (!(Number.isInteger(id) && id > 0)) throw new RangeError(`putLead: id must be a positive integer, got ${id}`)
      nextLeadId = Math.max(nextLeadId, id + 1)
      const createdAt = fields.created_at ?? iso()
      const lead: VoxysLead = {
        custom_name: `Lead ${id}`,
        status: "open",
        lead_value: null,
        lead_currency: null,
        position: null,
        notes: null,
        assigned_agent: null,
        company: null,
        conversation_id: null,
        custom_attributes: {},
        ...fields,
        id,
        created_at: createdAt,
        updated_at: fields.updated_at ?? createdAt,
      }
      leads.set(id, lead)
      if (inbox === undefined || inbox === null) sourceInbox.delete(id)
      else sourceInbox.set(id, inbox)
      return lead
    }

    const existing = (id: number, what: string): VoxysLead => {
      const lead = leads.get(id)
      if (lead === undefined) throw new Error(`${what}: no lead ${id}`)
      return lead
    }

    const setStatusAtVendor = (id: number, status: VoxysLeadStatus, notesValue?: string | null): VoxysLead => {
      const lead = existing(id, "setStatusAtVendor")
      const next: VoxysLead = {
        ...lead,
        status,
        ...(notesValue === undefined ? {} : { notes: notesValue }),
        updated_at: iso(),
      }
      leads.set(id, next)
      return next
    }

    const fake: FakeVoxysServerControl = {
      ...control,
      accountId: options.accountId,
      accountUrl: `${control.url}/api/v1/accounts/${options.accountId}`,
      leads: () => [...leads.values()].sort((a, b) => a.id - b.id),
      lead: (id) => leads.get(id),
      putLead,
      setStatusAtVendor,
      deleteAtVendor: (id) => {
        existing(id, "deleteAtVendor")
        removeLead(id)
      },
      notes: (leadId) => [...(notes.get(leadId) ?? [])].reverse(),
      cards: () =>
        [...cards.values()]
          .sort((a, b) => a.id - b.id)
          .flatMap((c) => {
            const view = cardView(c)
            return view === undefined ? [] : [view]
          }),
      hold: held.hold,
    }
    return fake
  })

/**
 * {@link startFakeVoxysServer} for tests not written with Effect; call `close()` when done.
 *
 * @example
 * const voxys = await startFakeVoxysServerPromise({ apiAccessToken: "tok", accountId: 1 })
 * // ... use voxys.accountUrl ...
 * await voxys.close()
 */
export const startFakeVoxysServerPromise = (
  options: FakeVoxysServerOptions,
): Promise<FakeVoxysServerControl & { readonly close: () => Promise<void> }> => runScoped(startFakeVoxysServer(options))
