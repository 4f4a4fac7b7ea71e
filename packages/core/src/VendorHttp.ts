/**
 * The HTTP boundary shared by adapters: builds planned requests (secrets redacted), sends them
 * through the app's `HttpClient` with a per-request timeout and the retry policy, and maps
 * every failure to a `CrmError` reason so `HttpClientError` and parse errors never leak.
 * Secret header values are read (`Redacted.value`) only to set the header of a request being
 * sent and to scrub a vendor's echo of them out of error details; HttpClient spans redact them.
 *
 * @since 0.1.0
 */
import { Headers, HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, ParseResult, Redacted, Schema } from "effect"
import type { PlannedRequest } from "./CrmAdapter.js"
import { CrmError, type CrmErrorReason } from "./CrmError.js"
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

    // A vendor may echo the credential in an error body: scrub every secret from every detail.
    const secretValues = config.secretHeaders.map((h) => Redacted.value(h.value)).filter((v) => v.length >= 4)
    const scrub = (text: string) => secretValues.reduce((t, secret) => t.split(secret).join(REDACTED), text)
    const fail = (operation: string, leadId: string | undefined, reason: CrmErrorReason) =>
      new CrmError({
        vendor: config.vendor,
        operation,
        ...(leadId === undefined ? {} : { leadId }),
        reason: { ...reason, detail: scrub(reason.detail) },
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
          const code = causeCode(e.cause)
          return fail(operation, leadId, {
            _tag: "Transport",
            kind: transportKind(e.cause),
            detail: `${request.method} ${request.url.split("?")[0]} did not complete${code === undefined ? "" : ` (${code})`}: ${e.reason}`,
          })
        }),
        Effect.timeoutFail({
          duration: Duration.millis(config.policy.requestTimeoutMs),
          onTimeout: () =>
            fail(operation, leadId, {
              _tag: "Transport",
              kind: "Timeout",
              detail: `no answer within ${config.policy.requestTimeoutMs} ms`,
            }),
        }),
        Effect.flatMap(({ status, headers, body }) => {
          let parsed: unknown = body
          if (body.trim() !== "") {
            try {
              parsed = JSON.parse(body)
            } catch {
              parsed = body
            }
          } else parsed = null
          if (status < 200 || status >= 300) {
            return Effect.fail(fail(operation, leadId, classify({ status, headers, body: parsed })))
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
          }),
        ),
    }
  })

/** Encodes a path segment (ids from users or vendors are never trusted into a URL raw). */
export const segment = (value: string | number): string => encodeURIComponent(String(value))
