/**
 * @leadstate/core: describe a sales lead's lifecycle once, run it as a pure transition table
 * or an XState machine with typed errors, and sync it with any CRM through adapters.
 *
 * @since 0.1.0
 */

export * as AmbiguousWrites from "./AmbiguousWrites.js"
export { type AvailableAction, availableActions } from "./AvailableActions.js"
export * as CrmAdapter from "./CrmAdapter.js"
export * as CrmError from "./CrmError.js"
export * as CrmWebhooks from "./CrmWebhooks.js"
export * as Diagram from "./Diagram.js"
export { autoDealer } from "./examples/autoDealer.js"
export { b2b } from "./examples/b2b.js"
export * as InputLimits from "./InputLimits.js"
export * as InvalidLifecycle from "./InvalidLifecycle.js"
export * as LeadEngine from "./LeadEngine.js"
export * as LeadEvent from "./LeadEvent.js"
export * as LeadSnapshot from "./LeadSnapshot.js"
export * as LeadStore from "./LeadStore.js"
export * as Lifecycle from "./Lifecycle.js"
export * as LifecycleDefinition from "./LifecycleDefinition.js"
export * as LifecycleError from "./LifecycleError.js"
export * as Metadata from "./Metadata.js"
export * as Paths from "./Paths.js"
export * as RetryPolicy from "./RetryPolicy.js"
export * as Scheduler from "./Scheduler.js"
export * as StateMap from "./StateMap.js"
export * as SyncIntent from "./SyncIntent.js"
export { type SimulateOptions, type Simulation, type SimulationStep, simulate } from "./simulate.js"
export { type StartOptions, start, type Transitioned, transition } from "./transition.js"
export * as VendorHttp from "./VendorHttp.js"
export * as WebhookBody from "./WebhookBody.js"
export * as WebhookInbox from "./WebhookInbox.js"
export * as WriteId from "./WriteId.js"
