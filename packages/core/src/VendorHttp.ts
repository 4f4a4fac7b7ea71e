/**
 * The HTTP boundary shared by adapters: builds planned requests (secrets redacted), sends them
 * through the app's `HttpClient` with a per-request timeout and the retry policy, and maps
 * every failure to a `CrmError` reason so `HttpClientError` and parse errors never leak.
 * Secret header values are read (`Redacted.value`) only to set the header of a request being
 * sent and to scrub a vendor's echo of them (whole or cut short) out of an error body before
 * it is classified, and out of every error reason; HttpClient spans redact them.
 *
 * @since 0.1.0
 */
import { Headers, HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, ParseResult, Redacted, Schema } from "effect"
import type { PlannedRequest } from "./CrmAdapter.js"
import { CrmError, type CrmErrorReason } from "./CrmError.js"
import * as InputLimits from "./InputLimits.js"
import type { Json } from "./Metadata.js"
import * as RetryPolicy from "./RetryPolicy.js"

/** A header whose value is a secret. The plan shows `prefix + "<redacted>"`. */
export interface SecretHeader {
  readonly name: string
  readonly value: Redacted.Redacted<string>
  readonly prefix?: string
}

/** What the adapter sees of an error response, to classify it. */
export interface ErrorResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The body parsed as JSON, or its text when it is not JSON. */
  readonly body: unknown
}

/** Configuration of one vendor's HTTP boundary. */
export interface VendorHttpConfig {
  readonly vendor: string
  readonly baseUrl: string
  readonly secretHeaders: ReadonlyArray<SecretHeader>
  readonly headers?: Readonly<Record<string, string>>
  readonly policy: RetryPolicy.RetryPolicy
  /** Maps an error response to a reason; defaults to {@link defaultReason}. */
  readonly classify?: (response: ErrorResponse) => CrmErrorReason
  readonly onRetry?: RetryPolicy.OnRetry
}

/** A response that passed its schema. */
export interface Decoded<A> {
  readonly value: A
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
}

/** A vendor's HTTP boundary, built by {@link make}. */
export interface VendorHttp {
  readonly vendor: string
  /** A planned request for `path` (relative to the base URL), secrets redacted. */
  readonly plan: (
    method: PlannedRequest["method"],
    path: string,
    options?: { readonly query?: Readonly<Record<string, string | number | undefined>>; readonly body?: Json },
  ) => PlannedRequest
  /** Sends a planned request (retrying as the policy says) and decodes a 2xx body with `schema`. */
  readonly execute: <A, I>(
    request: PlannedRequest,
    context: { readonly operation: string; readonly leadId?: string | undefined; readonly schema: Schema.Schema<A, I> },
  ) => Effect.Effect<Decoded<A>, CrmError>
}

const REDACTED = "<redacted>"

/** Secrets shorter than this are not scrubbed (they would erase ordinary words). */
const MIN_SECRET = 4
/** A piece of a secret this long or longer is scrubbed on its own (a secret cut by a truncation). */
const MIN_PIECE = 8
/** An error body is classified from its first this many characters. */
const MAX_ERROR_BODY = 256 * 1024

/**
 * A function that removes `secrets` from a text: every whole secret, and every piece of 8 or
 * more characters of one, which is what is left of a secret cut short by a truncation (ours, an
 * adapter's, or the vendor's echo). Each run of removed characters becomes `<redacted>`.
 * Secrets shorter than 4 characters are ignored.
 *
 * @example
 * const scrub = VendorHttp.scrubber(["sk-SECRET-CANARY-1234"])
 * scrub("bad token Bearer sk-SECRET-CANARY-12") // "bad token Bearer <redacted>"
 */
export const scrubber = (secrets: ReadonlyArray<string>): ((text: string) => string) => {
  const needles = new Set<string>()
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET) continue
    needles.add(secret)
    for (let i = 0; i + MIN_PIECE <= secret.length; i++) needles.add(secret.slice(i, i + MIN_PIECE))
  }
  if (needles.size === 0) return (text) => text
  /** The ranges of `text` covered by a secret or a piece of one, merged, in order. */
  const covered = (text: string): Array<[number, number]> => {
    const ranges: Array<[number, number]> = []
    for (const needle of needles) {
      for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) ranges.push([i, i + needle.length])
    }
    ranges.sort((a, b) => a[0] - b[0])
    const merged: Array<[number, number]> = []
    for (const [start, end] of ranges) {
      const last = merged[merged.length - 1]
      if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end)
      else merged.push([start, end])
    }
    return merged
  }
  const once = (text: string, ranges: ReadonlyArray<[number, number]>): string => {
    let out = ""
    let at = 0
    for (const [start, end] of ranges) {
      out += `${text.slice(at, start)}${REDACTED}`
      at = end
    }
    return out + text.slice(at)
  }
  return (text) => {
    let out = text
    // The placeholder next to what is left could spell a piece again (a secret containing
    // "<redacted>" or parts of it): scrub until nothing is found, or give the text up.
    for (let pass = 0; pass < 3; pass++) {
      const ranges = covered(out)
      if (ranges.length === 0) return out
      out = once(out, ranges)
    }
    return covered(out).length === 0 ? out : covered(REDACTED).length === 0 ? REDACTED : ""
  }
}

/** `value` with `scrub` applied to every string in it, keys included (parsed JSON). */
const scrubJson = (value: unknown, scrub: (text: string) => string): unknown => {
  if (typeof value === "string") return scrub(value)
  if (Array.isArray(value)) return value.map((item) => scrubJson(item, scrub))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [scrub(k), scrubJson(v, scrub)]))
  }
  return value
}

/** `reason` with `scrub` applied to each of its texts. */
const scrubReason = (reason: CrmErrorReason, scrub: (text: string) => string): CrmErrorReason => {
  const detail = scrub(reason.detail)
  switch (reason._tag) {
    case "InvalidRequest":
      return { ...reason, detail, fields: reason.fields.map(scrub) }
    case "DuplicateLead":
      return reason.existingId === undefined
        ? { ...reason, detail }
        : { ...reason, detail, existingId: scrub(reason.existingId) }
    case "VendorIgnoredWrite":
      return { ...reason, detail, expected: scrub(reason.expected), actual: scrub(reason.actual) }
    default:
      return { ...reason, detail }
  }
}

/** Seconds or an HTTP date, as milliseconds from `now`; undefined when absent or unreadable. */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

const text = (body: unknown): string => {
  if (typeof body === "string") return body.slice(0, 200)
  if (typeof body === "object" && body !== null) {
    for (const key of ["error", "message", "detail"]) {
      const v = (body as Record<string, unknown>)[key]
      if (typeof v === "string") return v.slice(0, 200)
    }
  }
  return "no detail given"
}

/** The usual mapping of HTTP statuses to reasons; adapters refine it with the vendor's codes. */
export const defaultReason = (response: ErrorResponse): CrmErrorReason => {
  const detail = `HTTP ${response.status}: ${text(response.body)}`
  const s = response.status
  if (s === 401 || s === 403) return { _tag: "Unauthorized", detail }
  if (s === 404) return { _tag: "NotFound", detail }
  if (s === 409) return { _tag: "Conflict", detail }
  if (s === 429) {
    const retryAfterMs = parseRetryAfter(response.headers["retry-after"], Date.now())
    return retryAfterMs === undefined ? { _tag: "RateLimited", detail } : { _tag: "RateLimited", detail, retryAfterMs }
  }
  if (s === 408) return { _tag: "Transport", kind: "Timeout", detail }
  if (s >= 500) return { _tag: "VendorUnavailable", status: s, detail }
  return { _tag: "InvalidRequest", detail, fields: [] }
}

/** The Node error code (ECONNRESET, ECONNREFUSED, ...) under a transport error, if any. */
const causeCode = (cause: unknown): string | undefined => {
  // fetch wraps the socket error: walk the `cause` chain.
  let current: unknown = cause
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string") return code
    current = (current as { readonly cause?: unknown }).cause
  }
  return undefined
}

const transportKind = (cause: unknown): "Reset" | "Refused" | "Other" => {
  let current: unknown = cause
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const { code, message } = current as { readonly code?: unknown; readonly message?: unknown }
    const text = `${String(code)} ${String(message)}`
    if (text.includes("ECONNREFUSED")) return "Refused"
    if (/ECONNRESET|UND_ERR_SOCKET|socket hang up|other side closed/.test(text)) return "Reset"
    current = (current as { readonly cause?: unknown }).cause
  }
  return "Other"
}

/** A response body: parsed JSON, else its text; `null` when empty. */
/**
 * Deepest nesting accepted in a vendor's answer. Choice: twice the metadata limit, for the
 * envelopes vendors wrap leads in (`{ data: { lead: { metadata: … } } }`).
 */
const MAX_ANSWER_DEPTH = 2 * InputLimits.maxDepth

const parseBody = (text: string): unknown => {
  if (text.trim() === "") return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Where a request goes, for error details: `host:port` and `METHOD /path` (no credentials, no query). */
const endpoint = (request: PlannedRequest): { readonly hostPort: string; readonly target: string } => {
  try {
    const url = new URL(request.url)
    const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : url.protocol === "http:" ? "80" : ""
    return {
      hostPort: port === "" ? url.hostname : `${url.hostname}:${port}`,
      target: `${request.method} ${url.pathname}`,
    }
  } catch {
    return { hostPort: "the vendor", target: `${request.method} ${request.url.split("?")[0]}` }
  }
}

/** What happened to a request that got no response: refused, dropped, unresolvable, or else. */
const transportDetail = (
  request: PlannedRequest,
  kind: "Reset" | "Refused" | "Other",
  error: { readonly reason: string; readonly cause?: unknown },
): string => {
  const { hostPort, target } = endpoint(request)
  const code = causeCode(error.cause)
  switch (kind) {
    case "Refused":
      return `connection refused by ${hostPort} (${target})`
    case "Reset":
      return `the connection to ${hostPort} closed before the answer (${target}${code === undefined ? "" : `, ${code}`})`
    case "Other":
      if (code === "ENOTFOUND" || code === "EAI_AGAIN")
        return `the host of ${hostPort} was not found (${target}, ${code})`
      if (error.reason === "InvalidUrl") return `the request URL is not valid (${target})`
      return `${target} to ${hostPort} did not complete (${code ?? error.reason.toLowerCase()})`
  }
}

/** Builds the HTTP boundary; needs the app's `HttpClient`. */
export const make = (config: VendorHttpConfig): Effect.Effect<VendorHttp, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client): VendorHttp => {
    const base = config.baseUrl.replace(/\/+$/, "")
    // The one place a secret is read: the header value of a request being sent.
    const secretHeaderValue = (h: SecretHeader) => `${h.prefix ?? ""}${Redacted.value(h.value)}`
    const classify = config.classify ?? defaultReason
    const secretNames = new Set(config.secretHeaders.map((h) => h.name.toLowerCase()))
    const plannedHeaders: Record<string, string> = { ...config.headers }
    for (const h of config.secretHeaders) plannedHeaders[h.name] = `${h.prefix ?? ""}${REDACTED}`

    // A vendor may echo the credential in an error body, whole or cut short: the body is scrubbed
    // before the classifier sees (and truncates) it, and every reason's texts once more after.
    const scrub = scrubber(config.secretHeaders.map((h) => Redacted.value(h.value)))
    const fail = (operation: string, leadId: string | undefined, reason: CrmErrorReason) =>
      new CrmError({
        vendor: config.vendor,
        operation,
        ...(leadId === undefined ? {} : { leadId }),
        reason: scrubReason(reason, scrub),
      })

    const attempt = <A, I>(
      request: PlannedRequest,
      operation: string,
      leadId: string | undefined,
      schema: Schema.Schema<A, I>,
    ): Effect.Effect<Decoded<A>, CrmError> => {
      let req = HttpClientRequest.make(request.method)(request.url)
      for (const [name, value] of Object.entries(request.headers)) {
        if (!secretNames.has(name.toLowerCase())) req = HttpClientRequest.setHeader(req, name, value)
      }
      for (const h of config.secretHeaders) req = HttpClientRequest.setHeader(req, h.name, secretHeaderValue(h))
      if (request.body !== undefined) req = HttpClientRequest.bodyUnsafeJson(req, request.body)
      return client.execute(req).pipe(
        Effect.flatMap((response) =>
          Effect.map(response.text, (body) => ({ status: response.status, headers: response.headers, body })),
        ),
        Effect.scoped,
        Effect.mapError((e) => {
          const kind = transportKind(e.cause)
          return fail(operation, leadId, { _tag: "Transport", kind, detail: transportDetail(request, kind, e) })
        }),
        Effect.timeoutFail({
          duration: Duration.millis(config.policy.requestTimeoutMs),
          onTimeout: () => {
            const { hostPort, target } = endpoint(request)
            return fail(operation, leadId, {
              _tag: "Transport",
              kind: "Timeout",
              detail: `no answer from ${hostPort} within ${config.policy.requestTimeoutMs} ms (${target})`,
            })
          },
        }),
        Effect.flatMap(({ status, headers, body }) => {
          const ok = status >= 200 && status < 300
          // Choice: an error body is classified from its first 256 KiB (vendors' error bodies are
          // small; a bigger one is a proxy's page, classified by its status alone).
          const raw = parseBody(ok ? body : body.slice(0, MAX_ERROR_BODY))
          // Walked without recursion before anything recursive (scrubbing, Schema) sees it: an
          // answer nested past any vendor's shape is malformed, not a stack overflow.
          const tooDeep = InputLimits.checkJson(raw, { maxDepth: MAX_ANSWER_DEPTH, name: "the answer" })
          if (tooDeep !== undefined && ok) {
            return Effect.fail(
              fail(operation, leadId, { _tag: "MalformedResponse", status, detail: scrub(tooDeep.message) }),
            )
          }
          // An error body that is no usable JSON is classified by its status alone.
          const parsed = tooDeep === undefined ? raw : null
          if (!ok) {
            const scrubbedHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, scrub(v)]))
            return Effect.fail(
              fail(operation, leadId, classify({ status, headers: scrubbedHeaders, body: scrubJson(parsed, scrub) })),
            )
          }
          return Schema.decodeUnknown(schema)(parsed).pipe(
            Effect.map((value) => ({ value, status, headers })),
            Effect.mapError((e) =>
              fail(operation, leadId, {
                _tag: "MalformedResponse",
                status,
                detail: `the ${status} body does not match the documented shape: ${ParseResult.TreeFormatter.formatErrorSync(e).split("\n").slice(0, 4).join(" ")}`,
              }),
            ),
          )
        }),
      )
    }

    return {
      vendor: config.vendor,
      plan: (method, path, options = {}) => {
        const query = Object.entries(options.query ?? {}).filter(
          (entry): entry is [string, string | number] => entry[1] !== undefined,
        )
        const search =
          query.length === 0
            ? ""
            : `?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString()}`
        return {
          method,
          url: `${base}${path}${search}`,
          headers:
            options.body === undefined ? plannedHeaders : { ...plannedHeaders, "content-type": "application/json" },
          ...(options.body === undefined ? {} : { body: options.body }),
        }
      },
      execute: (request, context) =>
        attempt(request, context.operation, context.leadId, context.schema).pipe(
          // HttpClient's own spans record request headers: redact ours there too.
          Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...secretNames]),
          RetryPolicy.retrying(config.policy, config.onRetry),
          Effect.withSpan(`${config.vendor}.${context.operation}`, {
            attributes: {
              "leadstate.vendor": config.vendor,
              "leadstate.operation": context.operation,
              "leadstate.lead_id": context.leadId ?? "",
              "http.method": request.method,
            },
            // A stack trace per request costs more than the span; the attributes locate it.
            captureStackTrace: false,
          }),
        ),
    }
  })

/** Encodes a path segment (ids from users or vendors are never trusted into a URL raw). */
export const segment = (value: string | number): string => encodeURIComponent(String(value))
