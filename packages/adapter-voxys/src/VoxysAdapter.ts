/**
 * The Voxys Connect CRM adapter (`https://connect.voxys.ai/api/v1/accounts/{account_id}/…`,
 * header `api_access_token`, integer ids, lead statuses open|won|lost|snoozed). Writes are
 * synchronous: `PATCH /leads/{id}/status` answers with the updated lead, whose status is checked
 * against the one sent. A write that timed out is read back before it is resent, and its lead is
 * watched for a late landing (`AmbiguousWrites`; the README's "Delivery guarantee").
 *
 * Voxys has four statuses, so several lifecycle states usually share `open`. With every status
 * change leadstate writes a tag line at the top of the lead's `notes`
 * (`[leadstate] state=<state>[ disposition=<d>][ write=<write id>]`, then the note), so read-back
 * and the poller recover the exact lifecycle state and the last write of ours, and the poller
 * recognises its own writes. Our lead id is kept in `custom_attributes.external_id`, as the
 * vendor's docs suggest. Voxys sends no lead webhooks: use `VoxysReconciler` to poll for changes
 * made in the Voxys UI.
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform"
import {
  AmbiguousWrites,
  CrmAdapter,
  CrmError,
  type Lifecycle,
  Metadata,
  RetryPolicy,
  StateMap,
  type SyncIntent,
  VendorHttp,
} from "@leadstate/core"
import { Context, Effect, Either, Layer, Option, type Redacted, type Schema } from "effect"
import * as VoxysSchema from "./VoxysSchema.js"

const VENDOR = "voxys"

/** The documented server. */
export const defaultBaseUrl = "https://connect.voxys.ai"

/** Options of the Voxys adapter. */
export interface VoxysOptions {
  readonly lifecycle: Lifecycle.Lifecycle
  /**
   * Every lifecycle state to `open`, `won`, `lost` or `snoozed`, with `reverse` naming the state
   * a shared status stands for when it is read back (required: the adapter reads back and polls).
   */
  readonly stateMap: StateMap.StateMapConfig
  /** Default {@link defaultBaseUrl}. */
  readonly baseUrl?: string
  /** The numeric account id (every path is under `/api/v1/accounts/{accountId}`). */
  readonly accountId: number
  /** A user access token (Profile Settings), sent as the `api_access_token` header. */
  readonly apiAccessToken: Redacted.Redacted<string>
  /**
   * Metadata keys that fill the lead's own fields on create and merge: `name` (default `"name"`)
   * becomes `custom_name` (else our lead id is used), `value` becomes `lead_value` and
   * `currency` `lead_currency` (neither by default). Everything else goes to `custom_attributes`.
   */
  readonly contactFields?: {
    readonly name?: string
    readonly value?: string
    readonly currency?: string
  }
  /**
   * Converts the lead into a deal (`POST /leads/{id}/convert`) when it enters `state`: a funnel
   * card in `funnelId`, at `funnelStageId` (default: the funnel's first stage).
   */
  readonly convert?: {
    readonly state: string
    readonly funnelId: number
    readonly funnelStageId?: number
  }
  readonly retry?: RetryPolicy.RetryPolicy
  readonly onRetry?: RetryPolicy.OnRetry
  /** How writes that timed out or lost their connection are checked (see the README's "Delivery guarantee"). */
  readonly ambiguous?: AmbiguousWrites.AmbiguousOptions
}

/** Filters and order of `GET /leads`. */
export interface ListQuery {
  readonly page?: number
  /** At most 100 (the documented maximum); default 25. */
  readonly perPage?: number
  readonly status?: VoxysSchema.VoxysStatus
  readonly assignedAgentId?: number
  readonly sortBy?: "created_at" | "updated_at" | "lead_value" | "position" | "custom_name"
  readonly sortOrder?: "asc" | "desc"
}

/** What a bulk status change did to each lead: none is silently dropped. */
export interface BulkOutcome {
  readonly updated: ReadonlyArray<string>
  readonly failed: ReadonlyArray<{ readonly id: string; readonly reason: CrmError.CrmErrorReason }>
}

/** How leadstate reads a Voxys lead against the lifecycle. */
export interface Interpretation {
  /** The lifecycle state: the tagged one while it maps to the status, else the status's reverse. */
  readonly state: string | undefined
  readonly disposition: string | undefined
  /** True when the notes tag names a state that maps to the current status: leadstate's own write. */
  readonly ours: boolean
  /** The write id in the tag, when it is ours (`ours`) and the engine gave one. */
  readonly writeId: string | undefined
  /** The notes when someone else wrote them (no leadstate tag). */
  readonly vendorNote: string | undefined
}

/** The Voxys adapter with the vendor operations that are not intents. */
export interface VoxysCrmService extends CrmAdapter.CrmAdapterService {
  readonly lifecycle: Lifecycle.Lifecycle
  readonly stateMap: StateMap.StateMap
  readonly get: (vendorLeadId: string) => Effect.Effect<VoxysSchema.VoxysLead, CrmError.CrmError>
  readonly list: (query?: ListQuery) => Effect.Effect<VoxysSchema.LeadPage, CrmError.CrmError>
  /** Deletes permanently (`DELETE /leads/{id}`). */
  readonly remove: (vendorLeadId: string) => Effect.Effect<void, CrmError.CrmError>
  /** Adds an entry to the lead's notes list (`POST /leads/{id}/notes`); the `notes` field is untouched. */
  readonly addNote: (vendorLeadId: string, content: string) => Effect.Effect<VoxysSchema.Note, CrmError.CrmError>
  /**
   * `POST /leads/bulk` with `status_change`, 100 ids per call. Voxys answers only a count; when it
   * is short, every lead is read back and each one not changed is reported with its reason
   * (`NotFound` for a missing lead). Bulk changes carry no notes tag: the poller reports them.
   */
  readonly bulkSetStatus: (
    vendorLeadIds: ReadonlyArray<string>,
    status: VoxysSchema.VoxysStatus,
  ) => Effect.Effect<BulkOutcome, CrmError.CrmError>
  readonly interpret: (lead: VoxysSchema.VoxysLead) => Interpretation
}

/** The Voxys adapter's own tag (its layer provides `CrmAdapter` too). */
export class VoxysCrm extends Context.Tag("@leadstate/adapter-voxys/VoxysCrm")<VoxysCrm, VoxysCrmService>() {}

export const capabilities: CrmAdapter.Capabilities = {
  create: true,
  readBack: true,
  asyncConfirmation: false,
  // No disposition field at Voxys: written in the notes tag, so it round-trips.
  dispositions: true,
  // Status `snoozed`; Voxys has no wake-up time for leads, so leadstate keeps the deadline.
  snooze: true,
  bulk: true,
  delete: true,
  // Voxys sends no lead webhooks; poll with VoxysReconciler.
  webhooks: false,
  // GET /leads?page=&per_page= (per_page at most 100), oldest first, walked to meta.total_pages.
  listLeads: true,
}

/** `per_page`'s documented maximum. */
const MAX_PER_PAGE = 100

/**
 * Maps Voxys error bodies to reasons: 401 `{error}` Unauthorized, 404 NotFound, 422
 * `{errors: {field: [...]}}` InvalidRequest naming the fields, 429 RateLimited (Retry-After),
 * 5xx VendorUnavailable.
 */
export const classify = (response: VendorHttp.ErrorResponse): CrmError.CrmErrorReason => {
  const { message, fields } = VoxysSchema.errorDetail(response.body)
  if (response.status === 400 || response.status === 422) {
    return { _tag: "InvalidRequest", detail: `HTTP ${response.status}: ${message}`, fields: [...fields] }
  }
  return VendorHttp.defaultReason({ ...response, body: message })
}

const VENDOR_ID = /^[1-9][0-9]{0,14}$/
const ID_PLACEHOLDER = "{id}"

type Fields = { [key: string]: Metadata.Json }

/**
 * Builds the adapter; fails with `InvalidStateMap` when the map (or `convert.state`) does not fit
 * the lifecycle, and with `InvalidAdapterConfig` for an unusable `accountId`.
 */
export const make = (
  options: VoxysOptions,
): Effect.Effect<VoxysCrmService, StateMap.InvalidStateMap | CrmAdapter.InvalidAdapterConfig, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { lifecycle, convert } = options
    if (!(Number.isInteger(options.accountId) && options.accountId > 0)) {
      return yield* new CrmAdapter.InvalidAdapterConfig({
        vendor: "voxys",
        field: "accountId",
        detail: `it must be a positive integer (the number in /api/v1/accounts/{account_id}), got ${options.accountId}`,
      })
    }
    const convertProblems =
      convert !== undefined && !lifecycle.states.has(convert.state)
        ? [
            `convert.state "${convert.state}" is not a state of lifecycle "${lifecycle.name}". Use one of: ${lifecycle.stateNames.join(", ")}.`,
          ]
        : []
    const built = StateMap.make(lifecycle, options.stateMap, {
      vendor: VENDOR,
      vocabulary: VoxysSchema.statuses,
      inbound: true,
    })
    if (Either.isLeft(built) || convertProblems.length > 0) {
      const [first, ...rest] = [...(Either.isLeft(built) ? built.left.problems : []), ...convertProblems]
      if (first !== undefined) {
        return yield* new StateMap.InvalidStateMap({
          vendor: VENDOR,
          lifecycle: lifecycle.name,
          problems: [first, ...rest],
        })
      }
    }
    const map = yield* built
    const contact = { name: "name", ...options.contactFields }
    const policy = options.retry ?? RetryPolicy.defaults
    const config: VendorHttp.VendorHttpConfig = {
      vendor: VENDOR,
      baseUrl: options.baseUrl ?? defaultBaseUrl,
      secretHeaders: [{ name: "api_access_token", value: options.apiAccessToken }],
      headers: { accept: "application/json" },
      policy,
      classify,
      ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }),
    }
    const http = yield* VendorHttp.make(config)
    // Writes are retried by hand: a create is looked for before it is resent (see createOnce), and
    // an update that timed out is read back first (AmbiguousWrites).
    const once = yield* VendorHttp.make({ ...config, policy: { ...policy, maxAttempts: 1 } })
    const settleMs = options.ambiguous?.settleMs ?? AmbiguousWrites.defaults.settleMs

    const leadsPath = `/api/v1/accounts/${VendorHttp.segment(options.accountId)}/leads`
    const leadPath = (id: string) => `${leadsPath}/${VendorHttp.segment(id)}`

    const fail = (operation: string, leadId: string | undefined, reason: CrmError.CrmErrorReason) =>
      new CrmError.CrmError({ vendor: VENDOR, operation, ...(leadId === undefined ? {} : { leadId }), reason })

    const execute = <A, I>(
      client: VendorHttp.VendorHttp,
      request: CrmAdapter.PlannedRequest,
      operation: string,
      leadId: string | undefined,
      schema: Schema.Schema<A, I>,
    ) => Effect.map(client.execute(request, { operation, leadId, schema }), ({ value }) => value)

    /** The vendor id of a ref: Voxys ids are positive integers, refused before any request otherwise. */
    const vendorId = (
      operation: string,
      leadId: string | undefined,
      id: string | undefined,
    ): Either.Either<string, CrmError.CrmError> => {
      if (id !== undefined && VENDOR_ID.test(id)) return Either.right(id)
      return Either.left(
        fail(operation, leadId, {
          _tag: "InvalidRequest",
          fields: ["vendorLeadId"],
          detail:
            id === undefined
              ? "Voxys addresses leads by its own numeric id; create the lead through leadstate first or pass the vendor id"
              : `"${id}" is not a Voxys lead id (a positive integer)`,
        }),
      )
    }

    // --- metadata <-> lead fields -----------------------------------------------------------

    const fieldOf = (key: string): "custom_name" | "lead_value" | "lead_currency" | undefined =>
      key === contact.name
        ? "custom_name"
        : key === contact.value
          ? "lead_value"
          : key === contact.currency
            ? "lead_currency"
            : undefined
    const fits = (field: "custom_name" | "lead_value" | "lead_currency", v: Metadata.Json) =>
      field === "custom_name"
        ? typeof v === "string" && v.trim() !== ""
        : field === "lead_value"
          ? typeof v === "number" || v === null
          : typeof v === "string" || v === null

    /**
     * Splits metadata into the lead's own fields and `custom_attributes`. A value that does not
     * fit its field (a non-numeric value, a blank name) stays an attribute, so nothing is lost; a
     * `null` also clears any copy kept as an attribute.
     */
    const split = (metadata: Metadata.Metadata) => {
      const fields: Fields = {}
      const attributes: Fields = {}
      for (const [key, value] of Object.entries(metadata)) {
        const field = fieldOf(key)
        if (field !== undefined && fits(field, value)) {
          fields[field] = value
          if (value === null) attributes[key] = null
        } else attributes[key] = value
      }
      return { fields, attributes }
    }

    /** The lead's metadata as leadstate sees it: attributes (null means absent) and its own fields. */
    const metadataOf = (lead: VoxysSchema.VoxysLead): Metadata.Metadata => {
      const out: Fields = {}
      for (const [key, value] of Object.entries(lead.custom_attributes ?? {})) if (value !== null) out[key] = value
      if (typeof lead.custom_name === "string") out[contact.name] = lead.custom_name
      if (contact.value !== undefined && typeof lead.lead_value === "number") out[contact.value] = lead.lead_value
      if (contact.currency !== undefined && typeof lead.lead_currency === "string")
        out[contact.currency] = lead.lead_currency
      return out
    }

    /**
     * The merged `custom_attributes`. A removed key is sent as `null` (not just left out), so it
     * is cleared whether Voxys replaces the object or merges into it (undocumented); leadstate
     * reads a null attribute as absent. `external_id` is always kept.
     */
    const mergedAttributes = (current: Metadata.Metadata, patch: Metadata.Metadata, leadId: string): Fields => {
      const merged: Fields = { ...Metadata.merge(current, patch) }
      for (const [key, value] of Object.entries(patch)) if (value === null && key !== "external_id") merged[key] = null
      const external = current.external_id
      merged.external_id = typeof external === "string" && external !== "" ? external : leadId
      return merged
    }

    /** `PATCH /leads/{id}` for a metadata patch; the body planned shows the patch (see MergeMetadata). */
    const updateRequest = (id: string, metadata: Metadata.Metadata) => {
      const { fields, attributes } = split(metadata)
      return http.plan("PATCH", leadPath(id), { body: { ...fields, custom_attributes: attributes } })
    }

    /** Sends a planned metadata update with the attributes merged into `current`'s, once (no retries). */
    const updateOnce = (
      request: CrmAdapter.PlannedRequest,
      current: VoxysSchema.VoxysLead,
      metadata: Metadata.Metadata,
      operation: string,
      leadId: string,
    ) => {
      const { fields, attributes } = split(metadata)
      const body = {
        ...fields,
        custom_attributes: mergedAttributes(current.custom_attributes ?? {}, attributes, leadId),
      }
      return execute(once, { ...request, body }, operation, leadId, VoxysSchema.VoxysLead)
    }

    /** The content check of a metadata update: the lead read back holds every value of the patch. */
    const holdsMetadata = (metadata: Metadata.Metadata) => (lead: CrmAdapter.VendorLead) =>
      AmbiguousWrites.holdsPatch(lead.metadata, metadata)

    // --- status ------------------------------------------------------------------------------

    const statusBody = (
      state: string,
      disposition: string | undefined,
      note: string | undefined,
      writeId: string | undefined,
    ) => ({
      status: map.toVendor(state),
      notes: VoxysSchema.formatNotes(
        state,
        disposition === undefined ? undefined : map.dispositionToVendor(disposition),
        note,
        ...(writeId === undefined ? [] : [writeId]),
      ),
    })

    const confirmed = (lead: VoxysSchema.VoxysLead): CrmAdapter.SyncReceipt => ({
      _tag: "Confirmed",
      vendorLeadId: String(lead.id),
      vendorState: lead.status,
    })

    const confirm = (operation: string, leadId: string, expected: string) => (lead: VoxysSchema.VoxysLead) =>
      lead.status === expected
        ? Effect.succeed(lead)
        : Effect.fail(
            fail(operation, leadId, {
              _tag: "VendorIgnoredWrite",
              expected,
              actual: lead.status,
              detail: `Voxys answered with status "${lead.status}" instead of "${expected}" for lead ${lead.id}`,
            }),
          )

    const interpret = (lead: VoxysSchema.VoxysLead): Interpretation => {
      const tag = VoxysSchema.parseNotes(lead.notes)
      const ours = tag.state !== undefined && lifecycle.states.has(tag.state) && map.toVendor(tag.state) === lead.status
      return {
        state: ours ? tag.state : map.fromVendor(lead.status),
        disposition: ours && tag.disposition !== undefined ? map.dispositionFromVendor(tag.disposition) : undefined,
        ours,
        writeId: ours ? tag.writeId : undefined,
        vendorNote: tag.state === undefined ? tag.note : undefined,
      }
    }

    const toVendorLead = (lead: VoxysSchema.VoxysLead): CrmAdapter.VendorLead => {
      const { state, disposition, writeId } = interpret(lead)
      return {
        vendorLeadId: String(lead.id),
        vendorState: lead.status,
        state,
        disposition,
        metadata: metadataOf(lead),
        ...(writeId === undefined ? {} : { lastWriteId: writeId }),
      }
    }

    const guard = AmbiguousWrites.make({
      vendor: VENDOR,
      policy,
      onRetry: options.onRetry,
      options: options.ambiguous,
      view: toVendorLead,
    })

    /** One read, no retries: the ambiguity guard retries around it. */
    const readOnce = (id: string, leadId: string) =>
      execute(once, http.plan("GET", leadPath(id)), "GetLead", leadId, VoxysSchema.VoxysLead)

    /** The status write of a lead, guarded against ambiguous failures and late landings. */
    const writeStatus = (
      operation: string,
      request: CrmAdapter.PlannedRequest,
      id: string,
      leadId: string,
      expected: {
        readonly state: string
        readonly disposition: string | undefined
        readonly writeId: string | undefined
      },
      andThen?: (lead: VoxysSchema.VoxysLead) => Effect.Effect<void, CrmError.CrmError>,
    ) => {
      const vendorState = map.toVendor(expected.state)
      return guard.write({
        leadId,
        operation,
        read: readOnce(id, leadId),
        write: {
          slot: "state",
          writeId: expected.writeId,
          label: `status "${vendorState}" (state ${expected.state})`,
          holds: AmbiguousWrites.holdsState({ ...expected, vendorState }),
          send: () =>
            Effect.flatMap(
              execute(once, request, operation, leadId, VoxysSchema.VoxysLead),
              confirm(operation, leadId, vendorState),
            ),
        },
        ...(andThen === undefined ? {} : { andThen }),
      })
    }

    // --- create ------------------------------------------------------------------------------

    /** Our lead among the newest ones (there is no server-side filter on attributes). */
    const findCreated = (leadId: string) =>
      Effect.map(
        execute(
          once,
          http.plan("GET", leadsPath, { query: { page: 1, per_page: 100, sort_by: "created_at", sort_order: "desc" } }),
          "CreateLead",
          leadId,
          VoxysSchema.LeadPage,
        ),
        (page) => page.data.find((lead) => lead.custom_attributes?.external_id === leadId),
      )

    /**
     * `POST /leads` is not idempotent. After a failure that may have reached Voxys (a timeout or a
     * reset), the next attempt waits `settleMs`, then looks for the lead among the newest ones by
     * `custom_attributes.external_id`, so a retry does not create a second lead. This narrows
     * the window; it cannot close it (Voxys has no idempotency key).
     */
    const createOnce = (request: CrmAdapter.PlannedRequest, leadId: string) =>
      AmbiguousWrites.sendOnce({
        policy,
        onRetry: options.onRetry,
        settleMs,
        send: () => execute(once, request, "CreateLead", leadId, VoxysSchema.VoxysLead),
        landed: Effect.map(findCreated(leadId), Option.fromNullable),
      })

    const createRequests = (intent: SyncIntent.CreateLead, ref: CrmAdapter.LeadRef) => {
      const { fields, attributes } = split(intent.metadata)
      const post = http.plan("POST", leadsPath, {
        body: {
          ...fields,
          custom_name: typeof fields.custom_name === "string" ? fields.custom_name : intent.leadId,
          custom_attributes: { ...attributes, external_id: intent.leadId },
        },
      })
      // Voxys takes no status on create (leads start open) and its create payload has no notes:
      // the status endpoint follows at once with the initial state and its tag, so the poller
      // knows the lead is ours and in which state. The id is only known after the create.
      const status = http.plan("PATCH", `${leadsPath}/${ID_PLACEHOLDER}/status`, {
        body: statusBody(intent.state, undefined, undefined, ref.writeId),
      })
      return { post, status }
    }

    // --- set state ---------------------------------------------------------------------------

    const setStateRequests = (intent: SyncIntent.SetState, ref: CrmAdapter.LeadRef) =>
      Either.map(vendorId("SetState", intent.leadId, ref.vendorLeadId), (id) => ({
        id,
        status: http.plan("PATCH", `${leadPath(id)}/status`, {
          body: statusBody(intent.to, intent.disposition, intent.note, ref.writeId),
        }),
        // The status endpoint takes no attributes: metadata that comes with a transition follows
        // as a lead update, merged into the attributes the status answer returned.
        update:
          intent.metadata === undefined || Object.keys(intent.metadata).length === 0
            ? undefined
            : updateRequest(id, intent.metadata),
        convert:
          convert !== undefined && intent.to === convert.state
            ? http.plan("POST", `${leadPath(id)}/convert`, {
                body: {
                  funnel_id: convert.funnelId,
                  ...(convert.funnelStageId === undefined ? {} : { funnel_stage_id: convert.funnelStageId }),
                },
              })
            : undefined,
      }))

    /** A second conversion into the same funnel is a 422 on `lead_id`: the deal already exists. */
    const alreadyConverted = (e: CrmError.CrmError) =>
      e.reason._tag === "InvalidRequest" &&
      e.reason.fields.includes("lead_id") &&
      e.reason.detail.includes("already been taken")

    // --- merge metadata ----------------------------------------------------------------------

    const mergeRequests = (intent: SyncIntent.MergeMetadata, ref: CrmAdapter.LeadRef) =>
      Either.map(vendorId("MergeMetadata", intent.leadId, ref.vendorLeadId), (id) => ({
        id,
        read: http.plan("GET", leadPath(id)),
        // Whether PATCH replaces or merges custom_attributes is undocumented: the lead is read
        // first and the whole merged object is sent. The plan shows the patch; the body sent is
        // the current attributes merged with it (so `send` differs from `plan` in that body).
        update: updateRequest(id, intent.metadata),
      }))

    const handlers: CrmAdapter.IntentHandlers = {
      CreateLead: {
        plan: (intent, ref) => {
          const { post, status } = createRequests(intent, ref)
          return Either.right([post, status])
        },
        send: (intent, ref) =>
          Effect.gen(function* () {
            const { post, status } = createRequests(intent, ref)
            const created = yield* createOnce(post, intent.leadId)
            const id = String(created.id)
            const lead = yield* writeStatus(
              "CreateLead",
              { ...status, url: status.url.replace(ID_PLACEHOLDER, VendorHttp.segment(id)) },
              id,
              intent.leadId,
              { state: intent.state, disposition: undefined, writeId: ref.writeId },
            ).pipe(
              Effect.mapError(
                (e) =>
                  new CrmError.CrmError({
                    ...e,
                    reason: {
                      ...e.reason,
                      detail: `${e.reason.detail} (the lead was created as Voxys lead ${id}, but its initial status was not set)`,
                    },
                  }),
              ),
            )
            return confirmed(lead)
          }),
      },
      SetState: {
        plan: (intent, ref) =>
          Either.map(setStateRequests(intent, ref), ({ status, update, convert }) => [
            status,
            ...(update === undefined ? [] : [update]),
            ...(convert === undefined ? [] : [convert]),
          ]),
        send: (intent, ref) =>
          Effect.gen(function* () {
            const { id, status, update, convert } = yield* setStateRequests(intent, ref)
            const metadata = intent.metadata
            // The metadata update and the conversion follow the status write, before its check
            // for a late landing; the update is guarded against ambiguous failures too.
            const rest = (lead: VoxysSchema.VoxysLead) =>
              Effect.gen(function* () {
                if (update !== undefined && metadata !== undefined) {
                  yield* AmbiguousWrites.sendOnce({
                    policy,
                    onRetry: options.onRetry,
                    settleMs,
                    send: () => updateOnce(update, lead, metadata, "SetState", intent.leadId),
                    landed: Effect.map(readOnce(id, intent.leadId), (read) =>
                      holdsMetadata(metadata)(toVendorLead(read)) ? Option.some(read) : Option.none(),
                    ),
                  })
                }
                if (convert !== undefined) {
                  yield* execute(http, convert, "ConvertLead", intent.leadId, VoxysSchema.FunnelCard).pipe(
                    Effect.asVoid,
                    Effect.catchIf(alreadyConverted, () => Effect.void),
                  )
                }
              })
            const lead = yield* writeStatus(
              "SetState",
              status,
              id,
              intent.leadId,
              { state: intent.to, disposition: intent.disposition, writeId: ref.writeId },
              rest,
            )
            return confirmed(lead)
          }),
      },
      MergeMetadata: {
        plan: (intent, ref) => Either.map(mergeRequests(intent, ref), ({ read, update }) => [read, update]),
        send: (intent, ref) =>
          Effect.gen(function* () {
            const { id, read, update } = yield* mergeRequests(intent, ref)
            const lead = yield* guard.write({
              leadId: intent.leadId,
              operation: "MergeMetadata",
              read: readOnce(id, intent.leadId),
              write: {
                slot: "metadata",
                label: `metadata ${Object.keys(intent.metadata).join(", ")}`,
                holds: holdsMetadata(intent.metadata),
                send: () =>
                  Effect.flatMap(
                    execute(once, read, "MergeMetadata", intent.leadId, VoxysSchema.VoxysLead),
                    (current) => updateOnce(update, current, intent.metadata, "MergeMetadata", intent.leadId),
                  ),
              },
            })
            return confirmed(lead)
          }),
      },
    }

    const get = (operation: string, id: string | undefined, leadId?: string) =>
      Effect.flatMap(vendorId(operation, leadId, id), (valid) =>
        execute(http, http.plan("GET", leadPath(valid)), operation, leadId, VoxysSchema.VoxysLead),
      )

    const list = (query: ListQuery, operation: string) =>
      execute(
        http,
        http.plan("GET", leadsPath, {
          query: {
            page: query.page,
            per_page: query.perPage === undefined ? undefined : CrmAdapter.pageSizeOf(query.perPage, MAX_PER_PAGE),
            status: query.status,
            assigned_agent_id: query.assignedAgentId,
            sort_by: query.sortBy,
            sort_order: query.sortOrder,
          },
        }),
        operation,
        undefined,
        VoxysSchema.LeadPage,
      )

    /**
     * Every lead, oldest first. The docs' default order is `created_at` descending; the walk asks
     * for ascending instead, so a lead created while the pages are read lands on a later page
     * rather than pushing every lead one place down (which would repeat one at each page turn).
     * The docs do not say how ties on `created_at` are ordered. A lead met twice is given once
     * (`CrmAdapter.pagedLeads`).
     */
    const listLeads = (listOptions?: CrmAdapter.ListLeadsOptions) => {
      const perPage = CrmAdapter.pageSizeOf(listOptions?.pageSize, MAX_PER_PAGE)
      return CrmAdapter.pagedLeads((page) =>
        Effect.map(list({ page, perPage, sortBy: "created_at", sortOrder: "asc" }, "listLeads"), (result) => ({
          leads: result.data.map(toVendorLead),
          hasNext: result.meta.current_page < result.meta.total_pages,
        })),
      )
    }

    const adapter = CrmAdapter.make({
      vendor: VENDOR,
      capabilities,
      handlers,
      readBack: (ref) => Effect.map(get("readBack", ref.vendorLeadId, ref.leadId), toVendorLead),
      listLeads,
    })

    const bulkSetStatus = (ids: ReadonlyArray<string>, status: VoxysSchema.VoxysStatus) =>
      Effect.gen(function* () {
        if (!VoxysSchema.isStatus(status)) {
          return yield* fail("BulkSetStatus", undefined, {
            _tag: "InvalidRequest",
            fields: ["status"],
            detail: `"${status}" is not a Voxys lead status (${VoxysSchema.statuses.join(", ")})`,
          })
        }
        const updated: Array<string> = []
        const failed: Array<{ readonly id: string; readonly reason: CrmError.CrmErrorReason }> = []
        const valid: Array<string> = []
        for (const id of new Set(ids)) {
          const checked = vendorId("BulkSetStatus", undefined, id)
          if (Either.isLeft(checked)) failed.push({ id, reason: checked.left.reason })
          else valid.push(id)
        }
        // The maximum batch size is undocumented: 100 ids per call.
        for (let i = 0; i < valid.length; i += 100) {
          const chunk = valid.slice(i, i + 100)
          const result = yield* execute(
            http,
            http.plan("POST", `${leadsPath}/bulk`, {
              body: { lead_ids: chunk.map(Number), action_type: "status_change", params: { status } },
            }),
            "BulkSetStatus",
            undefined,
            VoxysSchema.BulkResult,
          )
          if (result.success && result.affected_count >= chunk.length) {
            updated.push(...chunk)
            continue
          }
          // Only a count comes back: read every lead of the batch to tell which ones failed.
          const reads = yield* Effect.forEach(chunk, (id) => Effect.either(get("BulkSetStatus", id)), {
            concurrency: 4,
          })
          chunk.forEach((id, index) => {
            const read = reads[index]
            if (read === undefined) return
            if (Either.isLeft(read)) failed.push({ id, reason: read.left.reason })
            else if (read.right.status === status) updated.push(id)
            else
              failed.push({
                id,
                reason: {
                  _tag: "VendorIgnoredWrite",
                  expected: status,
                  actual: read.right.status,
                  detail: `the bulk change left lead ${id} at status "${read.right.status}"`,
                },
              })
          })
        }
        return { updated, failed }
      })

    return {
      ...adapter,
      lifecycle,
      stateMap: map,
      interpret,
      get: (id) => get("GetLead", id),
      list: (query = {}) => list(query, "ListLeads"),
      remove: (id) =>
        Effect.flatMap(vendorId("DeleteLead", undefined, id), (valid) =>
          Effect.asVoid(
            execute(http, http.plan("DELETE", leadPath(valid)), "DeleteLead", undefined, VoxysSchema.NoContent),
          ),
        ),
      addNote: (id, content) =>
        Effect.flatMap(vendorId("AddNote", undefined, id), (valid) =>
          execute(
            http,
            http.plan("POST", `${leadPath(valid)}/notes`, { body: { content } }),
            "AddNote",
            undefined,
            VoxysSchema.Note,
          ),
        ),
      bulkSetStatus,
    }
  })

/**
 * The adapter as one layer providing `VoxysCrm` and `CrmAdapter` (no `CrmWebhooks`: Voxys sends
 * no lead webhooks). It fails at build time with `InvalidStateMap` when the map does not fit the
 * lifecycle, and requires an `HttpClient` (the app picks fetch, undici or a test client).
 *
 * @example
 * const CrmLive = VoxysAdapter.layer({ lifecycle, stateMap, accountId: 7, apiAccessToken: Redacted.make(token) })
 *   .pipe(Layer.provide(FetchHttpClient.layer))
 */
export const layer = (
  options: VoxysOptions,
): Layer.Layer<
  VoxysCrm | CrmAdapter.CrmAdapter,
  StateMap.InvalidStateMap | CrmAdapter.InvalidAdapterConfig,
  HttpClient.HttpClient
> =>
  Layer.effectContext(
    Effect.map(make(options), (crm) => Context.make(VoxysCrm, crm).pipe(Context.add(CrmAdapter.CrmAdapter, crm))),
  )
