/**
 * `leadstate simulate`: applies an events file, in order, to the leads it names, and with an
 * adapter plans (dry run) or sends (base URL) the vendor requests each accepted step needs.
 * One line per step (or one JSON object with `--json`), then a summary; every line printed
 * is scrubbed of the adapter's secrets.
 *
 * @since 0.1.0
 */
import {
  type CrmAdapter,
  type CrmError,
  type LeadSnapshot,
  type Lifecycle,
  type Metadata,
  type SyncIntent,
  simulate,
  start,
} from "@leadstate/core"
import { Console, Effect, Either } from "effect"
import type { BuiltAdapter } from "./AdapterConfig.js"
import type { Exchange } from "./Http.js"
import type { EventLine } from "./Input.js"
import * as Output from "./Output.js"

/** The adapter side of a run: how intents reach the vendor, and what is counted. */
export interface VendorRun {
  readonly adapter: BuiltAdapter
  readonly mode: "dry-run" | "send"
  /** The exchanges recorded since the last call (send mode). */
  readonly takeExchanges: () => ReadonlyArray<Exchange>
  /** Retries so far (the retry policy's `onRetry` counts them). */
  readonly retries: () => number
}

/** Options of {@link run}. */
export interface SimulateOptions {
  readonly lifecycle: Lifecycle.Lifecycle
  readonly lines: ReadonlyArray<EventLine>
  readonly vendor: VendorRun | undefined
  readonly json: boolean
  /** Show a progress line on stderr (the caller decides: only for a terminal and a big file). */
  readonly progress: boolean
}

/** The counts a run ends with. */
export interface Summary {
  readonly events: number
  readonly leads: number
  readonly applied: number
  readonly deadlines: number
  readonly rejected: number
  readonly rejectedByReason: Readonly<Record<string, number>>
  readonly vendorCalls: number
  readonly retries: number
  readonly vendorErrors: number
  readonly vendorErrorsByReason: Readonly<Record<string, number>>
  readonly ms: number
}

interface LeadState {
  snapshot: LeadSnapshot.LeadSnapshot
  vendorLeadId: string | undefined
}

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json | undefined }

/** Replaces every secret value in `text` with `<redacted>`. */
export const scrubber =
  (secrets: ReadonlyArray<string>) =>
  (text: string): string =>
    secrets.filter((s) => s.length >= 4).reduce((t, s) => t.split(s).join("<redacted>"), text)

const count = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1
}

const targetOf = (event: unknown): string => {
  if (typeof event !== "object" || event === null) return "?"
  const { type, to } = event as { readonly type?: unknown; readonly to?: unknown }
  return typeof to === "string" ? to : `(${String(type)})`
}

const crmErrorJson = (e: CrmError.CrmError): Json => ({
  _tag: e._tag,
  reason: e.reason._tag,
  retryable: e.retryable,
  message: e.message,
})

const parsed = (text: string): Json => {
  try {
    return JSON.parse(text) as Json
  } catch {
    return text
  }
}

const compact = (body: unknown): string => (body === undefined ? "" : JSON.stringify(body))

const receiptText = (intent: SyncIntent.SyncIntent, receipt: CrmAdapter.SyncReceipt): string => {
  if (receipt._tag === "Accepted") {
    return `✓ ${intent._tag} accepted (${receipt.correlationId}); the vendor confirms it later by webhook`
  }
  const details = [
    ...(receipt.vendorLeadId === undefined ? [] : [`vendor lead ${receipt.vendorLeadId}`]),
    ...(receipt.vendorState === undefined ? [] : [`vendor state "${receipt.vendorState}"`]),
  ]
  return `✓ ${intent._tag} confirmed${details.length === 0 ? "" : ` (${details.join(", ")})`}`
}

/** Indentation of the vendor lines under a step. */
const IN = " ".repeat(7)

/** The status, with the answer's text when it is an error. */
const answerText = (x: Exchange): string => {
  if (x.status === undefined) return x.error ?? "no answer"
  const detail = x.status >= 400 && x.answer !== undefined && x.answer !== "" ? ` ${x.answer.slice(0, 200)}` : ""
  return `${x.status}${detail}`
}

const formatMs = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`)

const byReason = (record: Readonly<Record<string, number>>): string =>
  Object.entries(record)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n}`)
    .join(", ")

/** Runs the simulation, printing as it goes; returns the summary (already printed). */
export const run = (options: SimulateOptions): Effect.Effect<Summary> =>
  Effect.gen(function* () {
    const { lifecycle, lines, vendor, json } = options
    const scrub = scrubber(vendor?.adapter.secrets ?? [])
    const out = (text: string) => Console.log(scrub(text))
    const emit = (value: Json) => out(JSON.stringify(value))
    const started = Date.now()
    const leads = new Map<string, LeadState>()
    const rejectedByReason: Record<string, number> = {}
    const vendorErrorsByReason: Record<string, number> = {}
    let applied = 0
    let deadlines = 0
    let rejected = 0
    let vendorCalls = 0
    let vendorErrors = 0
    let lastProgress = 0
    const progress = (done: number) =>
      Effect.sync(() => {
        const now = Date.now()
        if (!options.progress || (now - lastProgress < 100 && done < lines.length)) return
        lastProgress = now
        const pct = Math.floor((done / lines.length) * 100)
        process.stderr.write(`\r\x1b[K  ${done}/${lines.length} events (${pct}%), ${rejected} rejected`)
      })

    /** Plans or sends one intent; returns what to print or emit about it. */
    const sync = (intent: SyncIntent.SyncIntent, lead: LeadState, leadNumber: number) =>
      Effect.gen(function* () {
        if (vendor === undefined) return { text: [] as Array<string>, json: null as Json }
        const { adapter } = vendor
        const ref: CrmAdapter.LeadRef = {
          leadId: intent.leadId,
          vendorLeadId:
            lead.vendorLeadId ??
            (vendor.mode === "dry-run" && intent._tag !== "CreateLead" ? adapter.placeholderId(leadNumber) : undefined),
        }
        if (vendor.mode === "dry-run") {
          const plan = adapter.service.plan(intent, ref)
          if (Either.isLeft(plan)) {
            vendorErrors++
            count(vendorErrorsByReason, plan.left.reason._tag)
            return {
              text: [`${IN}↳ ${intent._tag} ✗ ${plan.left.message}`],
              json: { intent: intent._tag, error: crmErrorJson(plan.left) },
            }
          }
          vendorCalls += plan.right.length
          if (intent._tag === "CreateLead") lead.vendorLeadId = adapter.placeholderId(leadNumber)
          const text = plan.right.flatMap((r) => [
            `${IN}↳ ${intent._tag} ${r.method} ${r.url}`,
            `${IN}  ${Object.entries(r.headers)
              .map(([k, v]) => `${k}: ${v}`)
              .join("; ")}`,
            ...(r.body === undefined ? [] : [`${IN}  ${compact(r.body)}`]),
          ])
          return {
            text,
            json: {
              intent: intent._tag,
              planned: plan.right.map((r) => ({ method: r.method, url: r.url, headers: r.headers, body: r.body })),
            },
          }
        }
        const result = yield* Effect.either(adapter.service.send(intent, ref))
        const exchanges = vendor.takeExchanges()
        vendorCalls += exchanges.length
        const sent = exchanges.map((x) => ({
          method: x.method,
          url: x.url,
          body: x.body === undefined ? undefined : parsed(x.body),
          status: x.status,
          answer: x.answer,
          error: x.error,
          ms: x.ms,
        }))
        const printed = exchanges.flatMap((x) => [
          `${IN}↳ ${intent._tag} ${x.method} ${x.url}${x.body === undefined ? "" : ` ${x.body}`}`,
          `${IN}  ← ${answerText(x)} (${x.ms} ms)`,
        ])
        if (Either.isLeft(result)) {
          vendorErrors++
          count(vendorErrorsByReason, result.left.reason._tag)
          return {
            text: [...printed, `${IN}  ✗ ${result.left.message}`],
            json: { intent: intent._tag, sent, error: crmErrorJson(result.left) },
          }
        }
        const receipt = result.right
        if (receipt.vendorLeadId !== undefined) lead.vendorLeadId = receipt.vendorLeadId
        return {
          text: [...printed, `${IN}  ${receiptText(intent, receipt)}`],
          json: {
            intent: intent._tag,
            sent,
            receipt:
              receipt._tag === "Confirmed"
                ? {
                    _tag: receipt._tag,
                    vendorLeadId: receipt.vendorLeadId ?? null,
                    vendorState: receipt.vendorState ?? null,
                  }
                : {
                    _tag: receipt._tag,
                    vendorLeadId: receipt.vendorLeadId ?? null,
                    correlationId: receipt.correlationId,
                  },
          },
        }
      })

    const syncAll = (intents: ReadonlyArray<SyncIntent.SyncIntent>, lead: LeadState, leadNumber: number) =>
      Effect.map(
        Effect.forEach(intents, (intent) => sync(intent, lead, leadNumber)),
        (results) => ({
          text: results.flatMap((r) => r.text),
          json: results.map((r) => r.json).filter((j) => j !== null),
        }),
      )

    const width = Math.min(
      24,
      lines.reduce((w, l) => Math.max(w, l.lead.length), 0),
    )
    const who = (line: number, lead: string) => `${String(line).padStart(5)}  ${lead.padEnd(width)}`
    const leadNumbers = new Map<string, number>()
    const numberOf = (lead: string) => {
      const known = leadNumbers.get(lead)
      if (known !== undefined) return known
      const n = leadNumbers.size + 1
      leadNumbers.set(lead, n)
      return n
    }

    const startLead = (line: number, lead: string, at: number, metadata: Metadata.Metadata) =>
      Effect.gen(function* () {
        const begun = start(lifecycle, { leadId: lead, at, metadata })
        const state: LeadState = { snapshot: begun.snapshot, vendorLeadId: undefined }
        leads.set(lead, state)
        const synced = yield* syncAll(begun.intents, state, numberOf(lead))
        if (json) {
          yield* emit({
            kind: "step",
            line,
            lead,
            event: "start",
            from: null,
            to: begun.snapshot.state,
            scheduled: false,
            result: "started",
            ...(vendor === undefined ? {} : { vendor: synced.json }),
          })
        } else {
          yield* out(`${who(line, lead)}  (start) → ${begun.snapshot.state}  started`)
          for (const t of synced.text) yield* out(t)
        }
        return state
      })

    let index = 0
    for (const line of lines) {
      index++
      if (index % 200 === 0) {
        yield* progress(index)
        yield* Output.breathe // a long run stays stoppable (Ctrl-C, SIGTERM)
      }
      if (line._tag === "Start") {
        yield* startLead(line.line, line.lead, line.at ?? 0, line.metadata)
        continue
      }
      const state = leads.get(line.lead) ?? (yield* startLead(line.line, line.lead, line.event.at ?? 0, {}))
      const result = simulate(lifecycle, [line.event], { from: state.snapshot, fireDeadlines: true })
      for (const step of result.steps) {
        if (step._tag === "Rejected") {
          rejected++
          count(rejectedByReason, step.error._tag)
          if (json) {
            yield* emit({
              kind: "step",
              line: line.line,
              lead: line.lead,
              event: line.event.type,
              from: step.from,
              to: targetOf(step.event),
              scheduled: false,
              result: "rejected",
              error: { _tag: step.error._tag, message: step.error.message },
            })
          } else {
            yield* out(
              `${who(line.line, line.lead)}  ${step.from} → ${targetOf(step.event)}  ✗ ${step.error._tag}: ${step.error.message}`,
            )
          }
          continue
        }
        applied++
        if (step.scheduled) deadlines++
        state.snapshot = step.snapshot
        const setState = step.intents.find((i): i is SyncIntent.SetState => i._tag === "SetState")
        const disposition = setState?.disposition
        const synced = yield* syncAll(step.intents, state, numberOf(line.lead))
        const event =
          typeof step.event === "object" && step.event !== null
            ? (step.event as { readonly type?: unknown }).type
            : undefined
        if (json) {
          yield* emit({
            kind: "step",
            line: line.line,
            lead: line.lead,
            event: typeof event === "string" ? event : null,
            from: step.from,
            to: step.to,
            ...(disposition === undefined ? {} : { disposition }),
            scheduled: step.scheduled,
            result: "applied",
            ...(vendor === undefined ? {} : { vendor: synced.json }),
          })
        } else {
          const move = step.from === step.to ? `${step.to} (${String(event)})` : `${step.from} → ${step.to}`
          const how = step.scheduled ? `  (deadline passed: ${String(event)})` : ""
          yield* out(
            `${who(line.line, line.lead)}  ${move}${disposition === undefined ? "" : ` [${disposition}]`}  ok${how}`,
          )
          for (const t of synced.text) yield* out(t)
        }
      }
    }
    if (options.progress) yield* Effect.sync(() => process.stderr.write("\r\x1b[K"))

    const summary: Summary = {
      events: lines.length,
      leads: leads.size,
      applied,
      deadlines,
      rejected,
      rejectedByReason,
      vendorCalls,
      retries: vendor?.retries() ?? 0,
      vendorErrors,
      vendorErrorsByReason,
      ms: Date.now() - started,
    }
    if (json) {
      yield* emit({
        kind: "summary",
        ...summary,
        ...(vendor === undefined
          ? {}
          : { vendor: { name: vendor.adapter.vendor, mode: vendor.mode, baseUrl: vendor.adapter.baseUrl } }),
      })
    } else {
      const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`
      yield* out("")
      yield* out(
        `Summary: ${n(summary.events, "event")} for ${n(summary.leads, "lead")} in ${formatMs(summary.ms)}: ${summary.applied} applied${summary.deadlines > 0 ? ` (${summary.deadlines} by deadlines that passed)` : ""}, ${summary.rejected} rejected${summary.rejected > 0 ? ` (${byReason(rejectedByReason)})` : ""}.`,
      )
      if (vendor !== undefined) {
        const what =
          vendor.mode === "dry-run" ? "requests planned (dry run, nothing sent)" : `calls to ${vendor.adapter.baseUrl}`
        yield* out(
          `Vendor ${vendor.adapter.vendor}: ${summary.vendorCalls} ${what}, ${summary.retries} ${summary.retries === 1 ? "retry" : "retries"}, ${n(summary.vendorErrors, "error")}${summary.vendorErrors > 0 ? ` (${byReason(vendorErrorsByReason)})` : ""}.`,
        )
      }
    }
    return summary
  })
