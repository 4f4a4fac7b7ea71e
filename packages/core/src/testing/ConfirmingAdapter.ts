/**
 * A `CrmAdapter` with no vendor behind it: every write is confirmed at once, nothing is sent.
 * For measuring or testing the engine and a store alone (benchmarks, store tests), where HTTP
 * would only add noise. The vendor id it reports for a lead is `v-<leadId>`.
 *
 * @since 0.2.0
 */
import { Effect, Either } from "effect"
import * as CrmAdapter from "../CrmAdapter.js"
import type { SyncIntent } from "../SyncIntent.js"

const confirm = <I extends SyncIntent>(): CrmAdapter.IntentHandler<I> => ({
  plan: () => Either.right([]),
  send: (intent) => Effect.succeed({ _tag: "Confirmed", vendorLeadId: `v-${intent.leadId}`, vendorState: undefined }),
})

/** The adapter (vendor name "stub"): creates, state changes and metadata updates, all confirmed. */
export const confirmingAdapter: CrmAdapter.CrmAdapterService = CrmAdapter.make({
  vendor: "stub",
  capabilities: {
    create: true,
    readBack: false,
    asyncConfirmation: false,
    dispositions: true,
    snooze: false,
    bulk: false,
    delete: false,
    webhooks: false,
  },
  handlers: { CreateLead: confirm(), SetState: confirm(), MergeMetadata: confirm() },
})
