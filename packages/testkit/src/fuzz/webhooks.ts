/**
 * Fuzz target family: an adapter's webhook decoder (`CrmWebhooks` service) on hostile
 * deliveries: byte soup, broken JSON, hostile JSON and the vendor's documented payloads with
 * hostile parts, mostly authenticated (so decoding gets past the signature or token), with
 * hostile extra headers now and then. `decode` must succeed or fail with `WebhookError`.
 *
 * @since 0.1.0
 */
import { CrmWebhooks } from "@leadstate/core"
import { Effect, FastCheck as fc } from "effect"
import * as FuzzTarget from "./FuzzTarget.js"
import { awkwardString, hostileBody, hostileKey, hugeString, preview, setOwn } from "./Hostile.js"

/** One adapter's webhook decoder, and how its vendor authenticates and shapes deliveries. */
export interface WebhookDecoder {
  readonly name: string
  readonly service: CrmWebhooks.CrmWebhooksService
  /** The headers that authenticate a delivery of `body` (a signature, a token). */
  readonly authenticate: (body: Uint8Array) => Readonly<Record<string, string>>
  /** Valid deliveries, as the vendor documents them (before hostile edits). */
  readonly payloads: fc.Arbitrary<unknown>
}

interface Input {
  readonly body: Uint8Array
  readonly auth: "valid" | "none" | "wrong"
  readonly extra: ReadonlyArray<readonly [string, string]>
}

const eventTags = new Set(["SyncConfirmed", "SyncFailed", "LeadChanged"])

const headerValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: awkwardString },
  { weight: 1, arbitrary: hugeString(100_000) },
)

/** The decoder's target, "webhooks: <name>". */
export const make = (decoder: WebhookDecoder): FuzzTarget.FuzzTarget =>
  FuzzTarget.make<Input>({
    name: `webhooks: ${decoder.name}`,
    arbitrary: fc.record({
      body: hostileBody(decoder.payloads),
      auth: fc.constantFrom<Input["auth"]>("valid", "valid", "valid", "valid", "valid", "valid", "none", "wrong"),
      extra: fc.array(fc.tuple(hostileKey, headerValue), { maxLength: 2 }),
    }),
    open: () => ({
      check: async ({ body, auth, extra }) => {
        const headers: Record<string, string | undefined> = {}
        for (const [k, v] of extra) setOwn(headers, k, v)
        const valid = decoder.authenticate(body)
        if (auth !== "none") {
          for (const [k, v] of Object.entries(valid)) setOwn(headers, k, auth === "valid" ? v : `${v}x`)
        }
        const exit = await Effect.runPromiseExit(decoder.service.decode({ headers, body }))
        const problem = FuzzTarget.fromExit(exit, (e) => e instanceof CrmWebhooks.WebhookError)
        if (problem !== undefined || exit._tag !== "Success") return problem
        const bad = exit.value.find((e) => !eventTags.has(e._tag) || !Number.isFinite(e.at))
        return bad === undefined ? undefined : { kind: "unusable result", error: new Error(preview(bad)) }
      },
    }),
    show: ({ body, auth, extra }) =>
      `auth ${auth}, extra headers ${preview(extra, 120)}, body ${body.length} bytes: ${preview(body)}`,
  })
