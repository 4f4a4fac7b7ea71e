/**
 * Serves a `Request -> Response` handler (a webhook endpoint, e.g. `WebhookInbox.handler`) on a
 * real HTTP server on 127.0.0.1 with an ephemeral port, closed with the scope. For tests and
 * demos where a fake vendor must call back.
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, type Scope } from "effect"
import { nodeListener } from "../WebhookInbox.js"

/** A served handler: `url` is `http://127.0.0.1:<port><path>`. */
export interface ServedHandler {
  readonly url: string
}

/**
 * @example
 * const receiver = yield* serveHandler((request) => inbox.handler(request), "/webhooks/uservox")
 * // give receiver.url to the fake vendor as its callback URL
 */
export const serveHandler = (
  handler: (request: Request) => Promise<Response>,
  path = "/webhooks",
): Effect.Effect<ServedHandler, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly close: () => void }>((resume) => {
      const server = createServer(nodeListener(handler))
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}${path}`, close: () => server.close() }))
      })
    }),
    (served) => Effect.sync(() => served.close()),
  )
