/**
 * Receives a vendor's webhooks: decodes them with the adapter's `CrmWebhooks`, drops
 * duplicates (by the vendor's event id), ignores stale lead changes (older than the last one
 * applied for the same lead, so a late delivery never regresses a lead), and hands the rest
 * to `onEvent`. Also a plain `Request -> Response` handler for any server, and an adapter
 * for `node:http`.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Cause, Effect, Exit } from "effect"
import type { CrmWebhooksService, RawWebhook, WebhookError, WebhookEvent } from "./CrmWebhooks.js"

/** What one delivery brought. */
export interface Received {
  readonly accepted: ReadonlyArray<WebhookEvent>
  readonly duplicates: number
  readonly stale: number
}

/** Options of {@link make}. */
export interface InboxOptions {
  readonly webhooks: CrmWebhooksService
  /** Called for every new, fresh event, in delivery order. */
  readonly onEvent: (event: WebhookEvent) => Effect.Effect<void>
  /** How many event ids are remembered for deduplication. Default 10,000. */
  readonly memory?: number
}

/** A webhook inbox. */
export interface WebhookInbox {
  readonly receive: (raw: RawWebhook) => Effect.Effect<Received, WebhookError>
  /** `POST` handler: 200 when taken (or ignored as duplicate/stale/unsupported), 401 bad auth, 400 malformed. */
  readonly handler: (request: Request) => Promise<Response>
}

/** Builds an inbox. State (seen ids, last event time per lead) lives in memory. */
export const make = (options: InboxOptions): WebhookInbox => {
  const memory = options.memory ?? 10_000
  const seen = new Set<string>()
  const lastChange = new Map<string, number>()
  const remember = (id: string) => {
    seen.add(id)
    if (seen.size > memory) {
      const oldest = seen.values().next()
      if (oldest.done !== true) seen.delete(oldest.value)
    }
  }
  const receive = (raw: RawWebhook) =>
    Effect.gen(function* () {
      const events = yield* options.webhooks.decode(raw)
      const accepted: Array<WebhookEvent> = []
      let duplicates = 0
      let stale = 0
      for (const event of events) {
        if (seen.has(event.vendorEventId)) {
          duplicates++
          continue
        }
        remember(event.vendorEventId)
        if (event._tag === "LeadChanged") {
          const last = lastChange.get(event.ref.leadId)
          if (last !== undefined && event.at < last) {
            stale++
            continue
          }
          lastChange.set(event.ref.leadId, event.at)
        }
        yield* options.onEvent(event)
        accepted.push(event)
      }
      return { accepted, duplicates, stale } satisfies Received
    })
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })
  return {
    receive,
    handler: async (request) => {
      if (request.method !== "POST") return json(405, { error: "webhooks are POSTed" })
      const headers: Record<string, string> = {}
      request.headers.forEach((value, key) => {
        headers[key] = value
      })
      const body = new Uint8Array(await request.arrayBuffer())
      const exit = await Effect.runPromiseExit(receive({ headers, body }))
      if (Exit.isSuccess(exit)) {
        const { accepted, duplicates, stale } = exit.value
        return json(200, { accepted: accepted.length, duplicates, stale })
      }
      const failure = Cause.failureOption(exit.cause)
      if (failure._tag === "None") return json(500, { error: "internal error while handling the webhook" })
      const error = failure.value
      // Unsupported and stale deliveries are acknowledged, so the vendor does not retry them.
      const status = error.reason === "InvalidSignature" ? 401 : error.reason === "Malformed" ? 400 : 200
      return json(status, { error: error.message, reason: error.reason })
    },
  }
}

/** Serves a `Request -> Response` handler from `node:http` (`createServer(nodeListener(inbox.handler))`). */
export const nodeListener =
  (handler: (request: Request) => Promise<Response>) =>
  (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const headers = new Headers()
      for (const [key, value] of Object.entries(req.headers)) {
        if (typeof value === "string") headers.set(key, value)
        else if (Array.isArray(value)) headers.set(key, value.join(", "))
      }
      const method = req.method ?? "GET"
      const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
        method,
        headers,
        ...(method === "GET" || method === "HEAD" ? {} : { body: Buffer.concat(chunks) }),
      })
      handler(request)
        .then(async (response) => {
          res.writeHead(response.status, Object.fromEntries(response.headers))
          res.end(Buffer.from(await response.arrayBuffer()))
        })
        .catch(() => {
          res.writeHead(500).end()
        })
    })
  }
