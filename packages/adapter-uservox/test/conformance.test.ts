import type { Lifecycle } from "@leadstate/core"
import { StateMap } from "@leadstate/core"
import { conformanceSuite } from "@leadstate/testkit/conformance"
import { Effect, Either } from "effect"
import { API_TOKEN, b2bLifecycle, CALLBACK_TOKEN, dealer, mapFor, PROCESS, setup } from "./fixtures.js"

const json = (body: unknown) => new TextEncoder().encode(JSON.stringify(body))
const auth = { authorization: `Bearer ${CALLBACK_TOKEN}`, "content-type": "application/json" }

const harness = (lifecycle: Lifecycle.Lifecycle) =>
  Effect.gen(function* () {
    const { fake, crm, webhooks } = yield* setup(lifecycle)
    return {
      fake,
      adapter: crm,
      webhooks,
      stateMap: Either.getOrThrow(StateMap.make(lifecycle, mapFor(lifecycle), { vendor: "uservox", inbound: true })),
      secrets: [API_TOKEN, CALLBACK_TOKEN],
      leadMetadata: (leadId: string) => ({ name: `Lead ${leadId}`, email: `${leadId}@example.org`, city: "Pune" }),
      vendorState: (ref: { readonly leadId: string }) =>
        Effect.sync(() => fake.leadByReference(ref.leadId, PROCESS)?.currentState),
      settle: crm.awaitConfirmation,
      webhookFixtures: [
        {
          name: "update succeeded",
          raw: {
            headers: auth,
            body: json({
              action_type: "update",
              updateId: "6651c0de0000000000000001",
              success: true,
              error: null,
              leadId: "6650b0000000000000000abc",
              referenceId: "L-1",
              timestamp: 1768300000000,
              data: {},
            }),
          },
          expect: "SyncConfirmed" as const,
        },
        {
          name: "update refused: call in progress",
          raw: {
            headers: auth,
            body: json({
              action_type: "update",
              updateId: "6651c0de0000000000000002",
              success: false,
              error: "Lead update is not allowed while a call is in progress for this lead",
              leadId: "6650b0000000000000000abc",
              referenceId: "L-1",
              timestamp: 1768300000000,
              data: null,
            }),
          },
          expect: "SyncFailed" as const,
        },
        {
          name: "call moved the lead",
          raw: {
            headers: auth,
            body: json({
              action_type: "update",
              activityId: "6651aa000000000000000010",
              lastActivityId: "6651aa00000000000000000f",
              leadId: "6650b0000000000000000abc",
              processId: PROCESS,
              referenceId: "L-1",
              timestamp: 1768301000000,
              activity: {
                type: "call",
                status: "success",
                fromState: "make_first_call",
                toState: "interested",
                scheduledAt: 1768300500000,
                result: {
                  success: true,
                  type: "call",
                  status: "completed",
                  analysis: {
                    success: true,
                    disposition: "Interested - Follow Up",
                    dispositionType: "neutral",
                    summary: "Wants a test drive.",
                  },
                },
              },
            }),
          },
          expect: "LeadChanged" as const,
        },
      ],
      webhookAuthHeaders: ["authorization"],
    }
  })

conformanceSuite({
  vendor: "uservox",
  lifecycles: [dealer, b2bLifecycle],
  harness,
  documentedRequests: [
    {
      name: "SetState by referenceId, with disposition, actor and explicit metadata",
      intent: (ref) => ({
        _tag: "SetState",
        leadId: ref.leadId,
        from: "new",
        to: "lost",
        disposition: "bought_elsewhere",
        actor: "sales-ops-bot",
        metadata: { lostReasonSource: "crm-sync" },
        at: 0,
      }),
      method: "POST",
      path: () => "/api/v1/leads/update",
      body: (ref) => ({
        referenceId: ref.leadId,
        projectId: "6650aa11bb22cc33dd44ee55",
        processId: PROCESS,
        targetState: "lost",
        disposition: "Lost to Co-dealer",
        userId: "sales-ops-bot",
        metadata: { lostReasonSource: "crm-sync" },
      }),
    },
    {
      name: "MergeMetadata",
      intent: (ref) => ({ _tag: "MergeMetadata", leadId: ref.leadId, metadata: { budget: "10L" }, at: 0 }),
      method: "POST",
      path: () => "/api/v1/leads/update",
      body: (ref) => ({
        referenceId: ref.leadId,
        projectId: "6650aa11bb22cc33dd44ee55",
        processId: PROCESS,
        metadata: { budget: "10L" },
      }),
    },
  ],
  errorCases: [
    {
      name: "400 repeating digits",
      fault: { _tag: "Status", status: 400, body: { error: "Phone number contains repeating digits pattern" } },
      reason: "InvalidRequest",
      fields: ["phone"],
    },
    {
      name: "400 already exists",
      fault: {
        _tag: "Status",
        status: 400,
        body: { error: "Lead with referenceId L-1 already exists for this project and process" },
      },
      reason: "DuplicateLead",
    },
    {
      name: "403 project mismatch",
      fault: { _tag: "Status", status: 403, body: { error: "projectId does not match authenticated project" } },
      reason: "Unauthorized",
    },
    {
      name: "404",
      fault: { _tag: "Status", status: 404, body: { success: false, error: "Lead with ID x not found" } },
      reason: "NotFound",
    },
    {
      name: "429 duplicate block",
      fault: {
        _tag: "Status",
        status: 429,
        body: { success: false, error: "API key temporarily blocked due to repeated duplicate submissions" },
      },
      reason: "RateLimited",
    },
    { name: "429 rate limit", fault: { _tag: "RateLimit", retryAfterSeconds: 0 }, reason: "RateLimited" },
    {
      name: "500",
      fault: { _tag: "Status", status: 500, body: { error: "Internal Server Error" } },
      reason: "VendorUnavailable",
    },
    { name: "a dropped connection", fault: { _tag: "Drop" }, reason: "Transport" },
  ],
  // `{"success": true}` is a valid "accepted" answer here and `{"success": false}` a refusal.
  malformedBodies: ["not json", "{}", '{"success": "yes"}', "[1,2,3]", "null"],
  retryableFaults: [
    { _tag: "Status", status: 503, body: { error: "unavailable" } },
    { _tag: "RateLimit", retryAfterSeconds: 1 },
    { _tag: "Drop" },
    { _tag: "Latency", ms: 800 },
  ],
})
