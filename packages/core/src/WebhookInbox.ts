/**
 * Receives a vendor's webhooks: decodes them with the adapter's `CrmWebhooks`, refuses events
 * dated too far ahead of our clock, drops duplicates (by the vendor's event id; durably when
 * given a store), ignores stale lead changes (older than the last one applied for the same
 * lead, so a late delivery never regresses a lead), and hands the rest to `onEvent`. Also a
 * plain `Request -> Response` handler for any server (bodies over `maxBodyBytes` are answered
 * 413 unread), and an adapter for `node:http` that streams the body to it.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Cause, Clock, Effect, Exit } from "effect"
import { type CrmWebhooksService, type RawWebhook, WebhookError, type WebhookEvent } from "./CrmWebhooks.js"
import type { LeadStoreService, StoreError } from "./LeadStore.js"
import * as WebhookBody from "./WebhookBody.js"

/** What one delivery brought. */
export interface Received {
  readonly accepted: ReadonlyArray<WebhookEvent>
  readonly duplicates: number
  readonly stale: number
}

/** Records a vendor event id: true the first time, false for a duplicate. */
export type Remember = (vendorEventId: string) => Effect.Effect<boolean, StoreError>

/** Options of {@link make}. */
export interface InboxOptions {
  readonly webhooks: CrmWebhooksService
  /** Called for every new, fresh event, in delivery order. */
  readonly onEvent: (event: WebhookEvent) => Effect.Effect<void>
  /**
   * Where event ids are recorded for deduplication. Default: in memory (the last `memory` ids),
   * so a replay after a restart is accepted again; pass {@link rememberIn}`(store)` to keep them
   * in a `LeadStore`. An id is recorded before `onEvent` runs: a crash in between loses that
   * event (the vendor's retry is then a duplicate).
   */
  readonly remember?: Remember
  /** How many event ids the in-memory default remembers. Default 10,000. */
  readonly memory?: number
  /** The largest body read, in bytes (default 1 MiB, {@link WebhookBody.defaultMaxBytes}); larger is 413. */
  readonly maxBodyBytes?: number
  /**
   * How far ahead of our clock (Effect's `Clock`) an event may be dated, in ms (default 5
   * minutes). A delivery with an event beyond is refused (`ClockSkew`, 400): accepted, a forged
   * or mis-dated far-future event would make every later genuine event of its lead stale.
   */
  readonly maxClockSkewMs?: number
}

/** A webhook inbox. */
export interface WebhookInbox {
  readonly receive: (raw: RawWebhook) => Effect.Effect<Received, WebhookError | StoreError>
  /**
   * `POST` handler: 200 when taken (or ignored as duplicate/stale/unsupported), 401 bad auth,
   * 400 malformed (or dated too far ahead), 413 body too large, 500 when the store failed (the
   * vendor retries).
   */
  readonly handler: (request: Request) => Promise<Response>
}

/** 5 minutes: how far ahead of our clock an event may be dated, by default. */
export const defaultMaxClockSkewMs = 5 * 60_000

/**
 * The error refusing `event` when it is dated more than `maxClockSkewMs` after `now` (or its
 * time is not a number), else `undefined`. Pure; `now` is the receiver's clock in epoch ms.
 *
 * @example
 * const now = yield* Clock.currentTimeMillis
 * for (const event of events) {
 *   const refused = WebhookInbox.checkClockSkew(webhooks.vendor, event, now)
 *   if (refused !== undefined) return yield* refused
 * }
 */
export const checkClockSkew = (
  vendor: string,
  event: { readonly vendorEventId: string; readonly at: number },
  now: number,
  maxClockSkewMs: number = defaultMaxClockSkewMs,
): WebhookError | undefined => {
  if (!Number.isFinite(event.at)) {
    return new WebhookError({
      vendor,
      reason: "Malformed",
      detail: `event ${JSON.stringify(event.vendorEventId)} has no valid time (${event.at})`,
    })
  }
  const ahead = event.at - now
  if (ahead <= maxClockSkewMs) return undefined
  return new WebhookError({
    vendor,
    reason: "ClockSkew",
    detail: `event ${JSON.stringify(event.vendorEventId)} is dated ${new Date(event.at).toISOString()}, ${Math.ceil(ahead / 1000)} s ahead of this receiver's clock (${new Date(now).toISOString()}; at most ${maxClockSkewMs / 1000} s are accepted), so the delivery was refused`,
  })
}

/** {@link Remember} over a `LeadStore`'s `rememberEvent`: deduplication that survives restarts. */
export const rememberIn =
  (store: Pick<LeadStoreService, "rememberEvent">): Remember =>
  (vendorEventId) =>
    store.rememberEvent(vendorEventId)

/** The last `memory` ids, in memory. */
const rememberInMemory = (memory: number): Remember => {
  const seen = new Set<string>()
  return (id) =>
    Effect.sync(() => {
      if (seen.has(id)) return false
      seen.add(id)
      if (seen.size > memory) {
        const oldest = seen.values().next()
        if (oldest.done !== true) seen.delete(oldest.value)
      }
      return true
    })
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

/** Builds an inbox. The last event time per lead lives in memory; event ids where `remember` keeps them. */
export const make = (options: InboxOptions): WebhookInbox => {
  const remember = options.remember ?? rememberInMemory(options.memory ?? 10_000)
  const maxBodyBytes = options.maxBodyBytes ?? WebhookBody.defaultMaxBytes
  const maxClockSkewMs = options.maxClockSkewMs ?? defaultMaxClockSkewMs
  const lastChange = new Map<string, number>()
  const receive = (raw: RawWebhook) =>
    Effect.gen(function* () {
      const events = yield* options.webhooks.decode(raw)
      const now = yield* Clock.currentTimeMillis
      for (const event of events) {
        const refused = checkClockSkew(options.webhooks.vendor, event, now, maxClockSkewMs)
        if (refused !== undefined) return yield* refused
      }
      const accepted: Array<WebhookEvent> = []
      let duplicates = 0
      let stale = 0
      for (const event of events) {
        if (!(yield* remember(event.vendorEventId))) {
          duplicates++
          continue
        }
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
  return {
    receive,
    handler: async (request) => {
      if (request.method !== "POST") return json(405, { error: "webhooks are POSTed" })
      const body = await WebhookBody.read(request, maxBodyBytes)
      if (body._tag === "TooLarge") return WebhookBody.tooLarge(body.maxBytes)
      if (body._tag === "Unreadable") return json(400, { error: `the body could not be read: ${body.detail}` })
      const headers: Record<string, string> = {}
      request.headers.forEach((value, key) => {
        headers[key] = value
      })
      const exit = await Effect.runPromiseExit(receive({ headers, body: body.bytes }))
      if (Exit.isSuccess(exit)) {
        const { accepted, duplicates, stale } = exit.value
        return json(200, { accepted: accepted.length, duplicates, stale })
      }
      const failure = Cause.failureOption(exit.cause)
      if (failure._tag === "None") return json(500, { error: "internal error while handling the webhook" })
      const error = failure.value
      // The vendor retries a 500: the store may be back by then.
      if (error._tag === "StoreError") return json(500, { error: "the webhook could not be recorded; retry later" })
      // Unsupported and stale deliveries are acknowledged, so the vendor does not retry them.
      const status =
        error.reason === "InvalidSignature"
          ? 401
          : error.reason === "Malformed" || error.reason === "ClockSkew"
            ? 400
            : 200
      return json(status, { error: error.message, reason: error.reason })
    },
  }
}

/**
 * The body of a `node:http` request as a web stream that reads from the socket only as fast
 * as it is consumed; cancelling it stops reading. `finished()` tells whether it was read to
 * the end.
 */
const streamBody = (
  req: IncomingMessage,
): { readonly body: ReadableStream<Uint8Array>; readonly finished: () => boolean } => {
  let settled = false
  let ended = false
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      req.pause()
      req.on("data", (chunk: Buffer) => {
        if (settled) return
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        if ((controller.desiredSize ?? 0) <= 0) req.pause()
      })
      req.once("end", () => {
        if (settled) return
        settled = true
        ended = true
        controller.close()
      })
      const abort = (error?: Error) => {
        if (settled) return
        settled = true
        controller.error(error ?? new Error("the client closed the connection before the body ended"))
      }
      req.once("error", abort)
      req.once("close", () => {
        if (!req.complete) abort()
      })
    },
    pull() {
      req.resume()
    },
    cancel() {
      settled = true
      req.pause()
    },
  })
  return { body, finished: () => ended }
}

/** Serves a `Request -> Response` handler from `node:http` (`createServer(nodeListener(inbox.handler))`). */
export const nodeListener =
  (handler: (request: Request) => Promise<Response>) =>
  (req: IncomingMessage, res: ServerResponse): void => {
    const headers = new Headers()
    for (const [key, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(key, value)
      else if (Array.isArray(value)) headers.set(key, value.join(", "))
    }
    const method = req.method ?? "GET"
    const hasBody = method !== "GET" && method !== "HEAD"
    const stream = hasBody ? streamBody(req) : undefined
    const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
      method,
      headers,
      ...(stream === undefined ? {} : { body: stream.body, duplex: "half" }),
    })
    handler(request)
      .then(async (response) => {
        const out = Object.fromEntries(response.headers)
        // A body left unread (e.g. refused as too large) cannot be skipped on a kept-alive
        // connection: close it once the answer is sent.
        if (stream !== undefined && !stream.finished()) out.connection = "close"
        res.writeHead(response.status, out)
        res.end(Buffer.from(await response.arrayBuffer()))
      })
      .catch(() => {
        res.writeHead(500, { connection: "close" }).end()
      })
  }
