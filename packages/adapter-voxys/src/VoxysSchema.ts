/**
 * Wire schemas of the Voxys Connect CRM lead API (`voxys_crm_swagger.json`), named after the
 * vendor's own nouns, and the one piece of wire format leadstate adds: the tag line it writes at
 * the top of a lead's `notes`. Only what the adapter reads is required.
 *
 * @since 0.1.0
 */
import { Metadata } from "@leadstate/core"
import { Schema } from "effect"

/** The documented lead statuses. */
export const statuses = ["open", "won", "lost", "snoozed"] as const

/** A lead status. */
export type VoxysStatus = (typeof statuses)[number]

/** True for a documented lead status. */
export const isStatus = (u: unknown): u is VoxysStatus => typeof u === "string" && statuses.some((s) => s === u)

const Nullable = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(Schema.NullOr(schema))

/** `agent_summary`. */
export const AgentSummary = Schema.Struct({
  id: Schema.Int,
  name: Nullable(Schema.String),
  email: Nullable(Schema.String),
  avatar_url: Nullable(Schema.String),
})

/** `company_summary`. */
export const CompanySummary = Schema.Struct({
  id: Schema.Int,
  name: Nullable(Schema.String),
  domain: Nullable(Schema.String),
})

/**
 * A lead as Voxys returns it. `status` is read as a plain string (a status Voxys adds later reads
 * back as an unmapped value rather than a malformed answer).
 */
export const VoxysLead = Schema.Struct({
  id: Schema.Int,
  custom_name: Nullable(Schema.String),
  status: Schema.String,
  // Documented as a float; Rails may serialise decimals as strings ("15000.0"): read both.
  lead_value: Nullable(Schema.Union(Schema.Number, Schema.NumberFromString)),
  lead_currency: Nullable(Schema.String),
  position: Nullable(Schema.Int),
  notes: Nullable(Schema.String),
  assigned_agent: Nullable(AgentSummary),
  company: Nullable(CompanySummary),
  conversation_id: Nullable(Schema.Int),
  custom_attributes: Nullable(Metadata.Metadata),
  created_at: Schema.String,
  updated_at: Schema.String,
})
export type VoxysLead = typeof VoxysLead.Type

/** `meta` of a paginated list. */
export const ListMeta = Schema.Struct({
  current_page: Schema.Int,
  total_pages: Schema.Int,
  total_count: Schema.Int,
})

/** `GET /leads`: `{ data, meta }`. */
export const LeadPage = Schema.Struct({ data: Schema.Array(VoxysLead), meta: ListMeta })
export type LeadPage = typeof LeadPage.Type

/** `POST /leads/bulk`: only a count, no per-lead outcome. */
export const BulkResult = Schema.Struct({ success: Schema.Boolean, affected_count: Schema.Int })
export type BulkResult = typeof BulkResult.Type

/** `funnel_card` (a deal), as `POST /leads/{id}/convert` answers. */
export const FunnelCard = Schema.Struct({
  id: Schema.Int,
  funnel_id: Schema.Int,
  funnel_stage_id: Schema.Int,
  position: Nullable(Schema.Int),
  created_at: Schema.optional(Schema.String),
  updated_at: Schema.optional(Schema.String),
})
export type FunnelCard = typeof FunnelCard.Type

/** `lead_note`. */
export const Note = Schema.Struct({
  id: Schema.Int,
  content: Schema.String,
  author: Nullable(AgentSummary),
  created_at: Schema.String,
})
export type Note = typeof Note.Type

/** `DELETE /leads/{id}` answers 204 with no body (read as `null`). */
export const NoContent = Schema.Unknown

/** What an error body says: a message and the fields it names (for 422s). */
export interface ErrorDetail {
  readonly message: string
  readonly fields: ReadonlyArray<string>
}

const messages = (value: unknown): Array<string> =>
  Array.isArray(value)
    ? value.filter((m): m is string => typeof m === "string")
    : typeof value === "string"
      ? [value]
      : []

/**
 * Reads an error body defensively: the CRM's `{ error }` and `{ errors: { field: [messages] } }`,
 * and the shapes other Voxys/Chatwoot APIs use, `{ errors: ["…"] }`, `{ errors: [{ field, message }] }`
 * and `{ description }`.
 */
export const errorDetail = (body: unknown): ErrorDetail => {
  if (typeof body === "string")
    return { message: body.trim() === "" ? "no detail given" : body.slice(0, 200), fields: [] }
  if (typeof body !== "object" || body === null) return { message: "no detail given", fields: [] }
  const record = body as Record<string, unknown>
  const parts: Array<string> = []
  const fields: Array<string> = []
  for (const key of ["error", "message", "description"]) {
    const v = record[key]
    if (typeof v === "string" && v !== "") parts.push(v)
  }
  const errors = record.errors
  if (Array.isArray(errors)) {
    for (const e of errors) {
      if (typeof e === "string") parts.push(e)
      else if (typeof e === "object" && e !== null) {
        const { field, message } = e as Record<string, unknown>
        if (typeof field === "string") fields.push(field)
        const text = [typeof field === "string" ? field : "", typeof message === "string" ? message : ""]
        parts.push(text.join(" ").trim())
      }
    }
  } else if (typeof errors === "object" && errors !== null) {
    for (const [field, value] of Object.entries(errors)) {
      fields.push(field)
      const list = messages(value)
      parts.push(list.length === 0 ? field : list.map((m) => `${field} ${m}`).join(", "))
    }
  } else if (typeof errors === "string") parts.push(errors)
  const message = parts.filter((p) => p !== "").join("; ")
  return { message: message === "" ? "no detail given" : message.slice(0, 300), fields }
}

// ---------------------------------------------------------------------------------------------
// The leadstate tag in `notes`
// ---------------------------------------------------------------------------------------------

/** The prefix of the first line of `notes` when leadstate wrote them. */
export const TAG = "[leadstate]"

/** What leadstate's tag line in `notes` says, and the free note that follows it. */
export interface LeadstateNotes {
  /** The exact lifecycle state leadstate wrote (several states may share one status). */
  readonly state: string | undefined
  /** The (vendor-mapped) disposition written with it. */
  readonly disposition: string | undefined
  /** The id of the write that set it (`LeadRef.writeId`), when the engine gave one. */
  readonly writeId: string | undefined
  /** The text after the tag line (or the whole `notes` when there is no tag). */
  readonly note: string | undefined
}

/**
 * The `notes` leadstate sends with a status change:
 * `[leadstate] state=<state>[ disposition=<d>][ write=<write id>]`, then the note on the
 * following lines. Values are URI-encoded (names never need it; a mapped disposition might, and
 * a write id's `/` is).
 *
 * @example
 * formatNotes("lost", "wrong_number", "a bakery") // "[leadstate] state=lost disposition=wrong_number\na bakery"
 * formatNotes("lost", undefined, undefined, "L-1/4/0") // "[leadstate] state=lost write=L-1%2F4%2F0"
 */
export const formatNotes = (
  state: string,
  disposition: string | undefined,
  note: string | undefined,
  writeId?: string,
): string => {
  const tag = `${TAG} state=${encodeURIComponent(state)}${disposition === undefined ? "" : ` disposition=${encodeURIComponent(disposition)}`}${writeId === undefined ? "" : ` write=${encodeURIComponent(writeId)}`}`
  return note === undefined ? tag : `${tag}\n${note}`
}

const decode = (value: string): string | undefined => {
  try {
    return decodeURIComponent(value)
  } catch {
    return undefined
  }
}

/** Reads a lead's `notes`: the leadstate tag when the first line is one, and the note. */
export const parseNotes = (notes: string | null | undefined): LeadstateNotes => {
  if (notes === null || notes === undefined) {
    return { state: undefined, disposition: undefined, writeId: undefined, note: undefined }
  }
  const newline = notes.indexOf("\n")
  const first = newline === -1 ? notes : notes.slice(0, newline)
  if (!first.startsWith(`${TAG} `)) {
    return {
      state: undefined,
      disposition: undefined,
      writeId: undefined,
      note: notes.trim() === "" ? undefined : notes,
    }
  }
  const values = new Map<string, string>()
  for (const token of first.slice(TAG.length).trim().split(/\s+/)) {
    const eq = token.indexOf("=")
    const value = eq === -1 ? undefined : decode(token.slice(eq + 1))
    if (value !== undefined && value !== "") values.set(token.slice(0, eq), value)
  }
  const rest = newline === -1 ? "" : notes.slice(newline + 1)
  return {
    state: values.get("state"),
    disposition: values.get("disposition"),
    writeId: values.get("write"),
    note: rest === "" ? undefined : rest,
  }
}
