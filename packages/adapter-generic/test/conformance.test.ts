import { FetchHttpClient } from "@effect/platform"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { type Lifecycle, RetryPolicy, StateMap } from "@leadstate/core"
import { conformanceSuite } from "@leadstate/testkit/conformance"
import { Effect, Either, Redacted } from "effect"
import { API_KEY, b2bLifecycle, dealer, mapFor, signed, WEBHOOK_SECRET } from "./fixtures.js"

const fastRetry: RetryPolicy.RetryPolicy = {
  ...RetryPolicy.defaults,
  baseDelayMs: 2,
  maxDelayMs: 1_500,
  jitter: 0,
  requestTimeoutMs: 500,
}

const harness = (lifecycle: Lifecycle.Lifecycle) =>
  Effect.gen(function* () {
    const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
    const options: GenericAdapter.GenericOptions = {
      lifecycle,
      stateMap: mapFor(lifecycle),
      baseUrl: fake.url,
      apiKey: Redacted.make(API_KEY),
      chatbotId: "bot_1",
      webhookSecret: Redacted.make(WEBHOOK_SECRET),
      retry: fastRetry,
      ambiguous: { settleMs: 100 },
    }
    const adapter = yield* GenericAdapter.make(options).pipe(Effect.provide(FetchHttpClient.layer))
    const webhooks = Either.getOrThrow(GenericAdapter.makeWebhooks(options))
    const stateMap = Either.getOrThrow(
      StateMap.make(lifecycle, mapFor(lifecycle), { vendor: "generic", inbound: true }),
    )
    const lead = (status: string, state: string) => ({
      id: "lead_00000000000000aa",
      name: "Ana",
      email: "ana@example.org",
      status,
      metadata: { external_id: "L-1", leadstate: { leadId: "L-1", state } },
    })
    const event = (status: string, state: string) => ({
      id: "evt_1",
      event: "lead.updated",
      createdAt: "2026-11-02T10:00:00.000Z",
      data: { lead: lead(status, state) },
    })
    return {
      fake,
      adapter,
      webhooks,
      stateMap,
      secrets: [API_KEY, WEBHOOK_SECRET],
      leadMetadata: (leadId: string) => ({ name: `Lead ${leadId}`, email: `${leadId}@example.org`, source: "web" }),
      vendorState: (ref: { readonly vendorLeadId?: string | undefined }) =>
        Effect.sync(() => (ref.vendorLeadId === undefined ? undefined : fake.lead(ref.vendorLeadId)?.status)),
      webhookFixtures: [
        {
          name: "echo of our own write",
          raw: signed(event("contacted", "contacted")),
          expect: "SyncConfirmed" as const,
        },
        {
          name: "status changed at the vendor",
          raw: signed(event("lost", "contacted")),
          expect: "LeadChanged" as const,
        },
      ],
      webhookAuthHeaders: ["x-webhook-signature"],
      resign: (_raw: unknown, body: Uint8Array) => signed(body),
    }
  })

conformanceSuite({
  vendor: "generic",
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
      method: "PUT",
      path: (ref) => `/api/v1/leads/${ref.vendorLeadId}`,
      body: (ref) => ({
        status: "lost",
        metadata: {
          leadstate: {
            leadId: ref.leadId,
            state: "lost",
            disposition: "wrong_number",
            note: "number belongs to a bakery",
            at: "2026-11-02T10:00:00.000Z",
          },
        },
      }),
    },
    {
      name: "MergeMetadata",
      intent: (ref) => ({ _tag: "MergeMetadata", leadId: ref.leadId, metadata: { lead_score: 72, old: null }, at: 0 }),
      method: "PUT",
      path: (ref) => `/api/v1/leads/${ref.vendorLeadId}`,
      body: () => ({ metadata: { lead_score: 72, old: null } }),
    },
  ],
  errorCases: [
    {
      name: "400 VALIDATION_ERROR",
      fault: {
        _tag: "Status",
        status: 400,
        body: {
          success: false,
          error: "Validation failed",
          code: "VALIDATION_ERROR",
          details: {
            field: "status",
            value: "archived",
            message: "Status must be one of: new, contacted, qualified, converted, lost, follow_up",
          },
        },
      },
      reason: "InvalidRequest",
      fields: ["status"],
    },
    {
      name: "409 DUPLICATE_EMAIL",
      fault: {
        _tag: "Status",
        status: 409,
        body: {
          success: false,
          error: "Email already exists",
          code: "DUPLICATE_EMAIL",
          details: {
            email: "ana@example.org",
            existingLeadId: "lead_1",
            message: "A lead with this email already exists",
          },
        },
      },
      reason: "DuplicateLead",
    },
    {
      name: "401 INVALID_API_KEY",
      fault: {
        _tag: "Status",
        status: 401,
        body: { success: false, error: "Invalid or inactive API key", code: "INVALID_API_KEY" },
      },
      reason: "Unauthorized",
    },
    {
      name: "404",
      fault: { _tag: "Status", status: 404, body: { success: false, error: "Lead not found", code: "LEAD_NOT_FOUND" } },
      reason: "NotFound",
    },
    { name: "429 with retryAfter", fault: { _tag: "RateLimit", retryAfterSeconds: 0 }, reason: "RateLimited" },
    {
      name: "503",
      fault: { _tag: "Status", status: 503, body: { success: false, error: "down" } },
      reason: "VendorUnavailable",
    },
    { name: "a dropped connection", fault: { _tag: "Drop" }, reason: "Transport" },
  ],
  retryableFaults: [
    { _tag: "Status", status: 502, body: { success: false, error: "bad gateway" } },
    { _tag: "RateLimit", retryAfterSeconds: 1 },
    { _tag: "Drop" },
    { _tag: "Latency", ms: 800 },
  ],
})
