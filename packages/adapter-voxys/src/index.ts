/**
 * @leadstate/adapter-voxys: leadstate for the Voxys Connect CRM (leads with statuses
 * open|won|lost|snoozed, `api_access_token` auth, account-scoped paths). Voxys sends no lead
 * webhooks: `VoxysReconciler` polls for changes made in the Voxys UI.
 *
 * @since 0.1.0
 */
export * as VoxysAdapter from "./VoxysAdapter.js"
export * as VoxysReconciler from "./VoxysReconciler.js"
export * as VoxysSchema from "./VoxysSchema.js"
