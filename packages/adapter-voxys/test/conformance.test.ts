import { FetchHttpClient } from "@effect/platform"
import { VoxysAdapter } from "@leadstate/adapter-voxys"
import { startFakeVoxysServer } from "@leadstate/adapter-voxys/testing"
import { type Lifecycle, StateMap } from "@leadstate/core"
import { conformanceSuite } from "@leadstate/testkit/conformance"
import { Effect, Either } from "effect"
import { ACCOUNT, b2bLifecycle, dealer, mapFor, options, TOKEN } from "./fixtures.js"

const harness = (lifecycle: Lifecycle.Lifecycle) =>
  Effect.gen(function* () {
    const fake = yield* startFakeVoxysServer({ apiAccessToken: TOKEN, accountId: ACCOUNT })
    const convert = { state: lifecycle.name === dealer.name ? "converted" : "won", funnelId: 3, funnelStageId: 7 }
    const adapter = yield* VoxysAdapter.make(
      options(fake.url, { lifecycle, stateMap: mapFor(lifecycle), convert }),
    ).pipe(Effect.provide(FetchHttpClient.layer))
    const stateMap = Either.getOrThrow(StateMap.make(lifecycle, mapFor(lifecycle), { vendor: "voxys", inbound: true }))
    return {
      fake,
      adapter,
      webhooks: undefined,
      stateMap,
      secrets: [TOKEN],
      leadMetadata: (leadId: string) => ({ name: `Lead ${leadId}`, source: "web" }),
      vendorState: (ref: { readonly vendorLeadId?: string | undefined }) =>
        Effect.sync(() => (ref.vendorLeadId === undefined ? undefined : fake.lead(Number(ref.vendorLeadId))?.status)),
    }
  })

conformanceSuite({
  vendor: "voxys",
  lifecycles: [dealer, b2bLifecycle],
  harness,
  documentedRequests: [
    {
      name: "SetState with disposition and note",
      intent: (ref) => ({
        _tag: "SetState",
        leadId: ref.leadId,
        from: "new",
        to: "lost",
        disposition: "wrong_number",
        note: "number belongs to a bakery",
        at: Date.parse("2026-11-02T10:00:00.000Z"),
      }),
      method: "PATCH",
      path: (ref) => `/api/v1/accounts/${ACCOUNT}/leads/${ref.vendorLeadId}/status`,
      body: () => ({
        status: "lost",
        notes: "[leadstate] state=lost disposition=wrong_number\nnumber belongs to a bakery",
      }),
    },
    {
      name: "SetState to the converted state (status, then convert to a deal)",
      intent: (ref) => ({ _tag: "SetState", leadId: ref.leadId, from: "test_drive_booked", to: "converted", at: 0 }),
      method: "POST",
      path: (ref) => `/api/v1/accounts/${ACCOUNT}/leads/${ref.vendorLeadId}/convert`,
      body: () => ({ funnel_id: 3, funnel_stage_id: 7 }),
    },
  ],
  errorCases: [
    {
      name: "422 on status",
      fault: { _tag: "Status", status: 422, body: { errors: { status: ["is not included in the list"] } } },
      reason: "InvalidRequest",
      fields: ["status"],
    },
    { name: "401", fault: { _tag: "Status", status: 401, body: { error: "Unauthorized" } }, reason: "Unauthorized" },
    { name: "404", fault: { _tag: "Status", status: 404, body: { error: "Lead not found" } }, reason: "NotFound" },
    { name: "429 with Retry-After", fault: { _tag: "RateLimit", retryAfterSeconds: 0 }, reason: "RateLimited" },
    {
      name: "503",
      fault: { _tag: "Status", status: 503, body: { error: "Service Unavailable" } },
      reason: "VendorUnavailable",
    },
    { name: "a dropped connection", fault: { _tag: "Drop" }, reason: "Transport" },
  ],
  retryableFaults: [
    { _tag: "Status", status: 502, body: { error: "Bad Gateway" } },
    { _tag: "RateLimit", retryAfterSeconds: 1 },
    { _tag: "Drop" },
    { _tag: "Latency", ms: 800 },
  ],
})
