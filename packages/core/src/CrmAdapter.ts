/**
 * THE outbound contract: how leadstate tells a CRM about a lead. An adapter declares its
 * capabilities and gives one handler per `SyncIntent` tag (a missing handler is a compile
 * error). Every handler can return its *plan* (the vendor requests it would send, secrets
 * redacted) without sending anything, and `send` executes exactly that plan.
 *
 * @since 0.1.0
 */
import { Chunk, Context, Effect, Either, Option, Schema, Stream } from "effect"
import { CrmError } from "./CrmError.js"
import type { Json } from "./Metadata.js"
import type { SyncIntent } from "./SyncIntent.js"

/** Which lead at the vendor: our id, and the vendor's id once known. */
export interface LeadRef {
  readonly leadId: string
  readonly vendorLeadId?: string | undefined
  /**
   * The id of the write being sent (`${leadId}/${version}/${index}`, see `WriteId`), when the
   * engine sends it. Adapters store it at the vendor where the vendor keeps free data, so a
   * read-back can tell whether this write landed (`VendorLead.lastWriteId`).
   */
  readonly writeId?: string | undefined
}

/** One HTTP request an intent becomes. Header values that are secrets appear as `<redacted>`. */
export interface PlannedRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Json
}

/** The vendor applied the change and answered with the result. */
export interface Confirmed {
  readonly _tag: "Confirmed"
  readonly vendorLeadId: string | undefined
  /** The vendor's state after the write, as the vendor names it, when it says. */
  readonly vendorState: string | undefined
}

/** The vendor accepted the change; its outcome comes later (by webhook), matched by `correlationId`. */
export interface Accepted {
  readonly _tag: "Accepted"
  readonly vendorLeadId: string | undefined
  readonly correlationId: string
}

/** What a successful `send` returns. */
export type SyncReceipt = Confirmed | Accepted

/** A lead as the vendor holds it, read back. */
export interface VendorLead {
  readonly vendorLeadId: string
  /** The vendor's own state/status value. */
  readonly vendorState: string
  /** The lifecycle state it maps back to, when the state map can tell. */
  readonly state: string | undefined
  readonly disposition: string | undefined
  readonly metadata: Readonly<Record<string, Json>>
  /**
   * The id of the last write of ours the vendor holds (see `LeadRef.writeId`), when the adapter
   * stores write ids and the lead carries one.
   */
  readonly lastWriteId?: string | undefined
}

/** What an adapter can do; the conformance suite checks each claim and the docs list them. */
export interface Capabilities {
  readonly create: boolean
  readonly readBack: boolean
  /** Writes are confirmed later by webhook rather than in the response. */
  readonly asyncConfirmation: boolean
  /** The vendor stores a disposition with a state change. */
  readonly dispositions: boolean
  /** The vendor has a snoozed status with a wake-up time. */
  readonly snooze: boolean
  readonly bulk: boolean
  readonly delete: boolean
  /** How the vendor's webhooks are authenticated, or false when it sends none. */
  readonly webhooks: false | { readonly signature: "hmac-sha256" | "bearer" | "header" }
  /**
   * The vendor can list its leads page by page (`CrmAdapterService.listLeads`). Absent means
   * false: the adapter's leads then come from the engine's store, or from a list of ids read back.
   */
  readonly listLeads?: boolean
}

/** Options of `CrmAdapterService.listLeads`. */
export interface ListLeadsOptions {
  /** Leads per vendor request; capped at the vendor's maximum (default: that maximum). */
  readonly pageSize?: number
}

/** How an adapter handles one kind of intent. */
export interface IntentHandler<I extends SyncIntent> {
  readonly plan: (intent: I, ref: LeadRef) => Either.Either<ReadonlyArray<PlannedRequest>, CrmError>
  readonly send: (intent: I, ref: LeadRef) => Effect.Effect<SyncReceipt, CrmError>
}

/** One handler per intent tag. */
export type IntentHandlers = {
  readonly [K in SyncIntent["_tag"]]: IntentHandler<Extract<SyncIntent, { readonly _tag: K }>>
}

/** An adapter, as the engine uses it. */
export interface CrmAdapterService {
  readonly vendor: string
  readonly capabilities: Capabilities
  readonly plan: (intent: SyncIntent, ref: LeadRef) => Either.Either<ReadonlyArray<PlannedRequest>, CrmError>
  readonly send: (intent: SyncIntent, ref: LeadRef) => Effect.Effect<SyncReceipt, CrmError>
  readonly readBack: (ref: LeadRef) => Effect.Effect<VendorLead, CrmError>
  /**
   * Every lead the vendor holds, in the vendor's list order, each mapped back through the state
   * map like `readBack`. Pages are fetched lazily, one at a time, as the stream is pulled; a
   * vendor failure on any page ends the stream with a typed `CrmError`. Present exactly when
   * `capabilities.listLeads` is true.
   */
  readonly listLeads?: (options?: ListLeadsOptions) => Stream.Stream<VendorLead, CrmError>
}

/** The adapter service tag; each adapter's `layer` provides it. */
export class CrmAdapter extends Context.Tag("@leadstate/core/CrmAdapter")<CrmAdapter, CrmAdapterService>() {}

/** An adapter's options are unusable (a missing id, a malformed URL, ...); raised when it is built. */
export class InvalidAdapterConfig extends Schema.TaggedError<InvalidAdapterConfig>()("InvalidAdapterConfig", {
  vendor: Schema.String,
  field: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `The ${this.vendor} adapter's option "${this.field}" is unusable: ${this.detail}`
  }
}

/** The `CrmError` an adapter returns for something it cannot do, without any HTTP call. */
export const unsupported = (vendor: string, operation: string, capability: string, leadId?: string): CrmError =>
  new CrmError({
    vendor,
    operation,
    ...(leadId === undefined ? {} : { leadId }),
    reason: { _tag: "Unsupported", capability, detail: `${vendor} does not support ${capability}` },
  })

/** One page of a vendor's lead list, as an adapter read it. */
export interface LeadPage {
  readonly leads: ReadonlyArray<VendorLead>
  /** The vendor says another page follows. */
  readonly hasNext: boolean
}

/**
 * The page size to ask a vendor for: `requested` rounded down and kept within 1 and `max`;
 * `max` when none (or no finite number) is given.
 */
export const pageSizeOf = (requested: number | undefined, max: number): number =>
  requested === undefined || !Number.isFinite(requested) ? max : Math.max(1, Math.min(max, Math.floor(requested)))

/**
 * Walks a vendor's lead list from page 1, lazily and in order, for `listLeads`. It stops after
 * the page that says it is the last, or at an empty page (so a vendor that always says "more"
 * cannot loop forever). A lead met again on a later page (the list shifted while it was walked)
 * is given once, where it was first met.
 *
 * @example
 * listLeads: (options) => CrmAdapter.pagedLeads((page) => fetchPage(page, CrmAdapter.pageSizeOf(options?.pageSize, 100)))
 */
export const pagedLeads = <R>(
  fetchPage: (page: number) => Effect.Effect<LeadPage, CrmError, R>,
): Stream.Stream<VendorLead, CrmError, R> =>
  Stream.suspend(() => {
    const seen = new Set<string>()
    return Stream.paginateChunkEffect(1, (page: number) =>
      Effect.map(fetchPage(page), ({ leads, hasNext }) => {
        const fresh = leads.filter((lead) => {
          if (seen.has(lead.vendorLeadId)) return false
          seen.add(lead.vendorLeadId)
          return true
        })
        const next = hasNext && leads.length > 0 ? Option.some(page + 1) : Option.none()
        return [Chunk.fromIterable(fresh), next] as const
      }),
    )
  })

const capabilityOf: { readonly [K in SyncIntent["_tag"]]: keyof Capabilities | undefined } = {
  CreateLead: "create",
  SetState: undefined,
  MergeMetadata: undefined,
}

/**
 * Builds an adapter from its handlers. Intents that need a capability the adapter does not
 * declare fail with `Unsupported` before any handler runs.
 */
export const make = (options: {
  readonly vendor: string
  readonly capabilities: Capabilities
  readonly handlers: IntentHandlers
  readonly readBack?: (ref: LeadRef) => Effect.Effect<VendorLead, CrmError>
  /** Given only when `capabilities.listLeads` is true (otherwise it is left out). */
  readonly listLeads?: (options?: ListLeadsOptions) => Stream.Stream<VendorLead, CrmError>
}): CrmAdapterService => {
  const { vendor, capabilities, handlers } = options
  const gate = (intent: SyncIntent): CrmError | undefined => {
    const capability = capabilityOf[intent._tag]
    return capability !== undefined && capabilities[capability] === false
      ? unsupported(vendor, intent._tag, capability, intent.leadId)
      : undefined
  }
  const handlerFor = <I extends SyncIntent>(intent: I) => handlers[intent._tag] as unknown as IntentHandler<I>
  return {
    vendor,
    capabilities,
    plan: (intent, ref) => {
      const refused = gate(intent)
      return refused === undefined ? handlerFor(intent).plan(intent, ref) : Either.left(refused)
    },
    send: (intent, ref) => {
      const refused = gate(intent)
      return refused === undefined ? handlerFor(intent).send(intent, ref) : Effect.fail(refused)
    },
    readBack:
      options.readBack !== undefined && capabilities.readBack
        ? options.readBack
        : (ref) => Effect.fail(unsupported(vendor, "readBack", "readBack", ref.leadId)),
    ...(options.listLeads !== undefined && capabilities.listLeads === true ? { listLeads: options.listLeads } : {}),
  }
}
