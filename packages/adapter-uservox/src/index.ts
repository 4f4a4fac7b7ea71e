/**
 * @leadstate/adapter-uservox: leadstate on uservox, the AI voice-calling CRM. State changes are
 * asynchronous: accepted at once, confirmed (or rolled back) by the process's update webhook.
 *
 * @since 0.1.0
 */
export * as UservoxAdapter from "./UservoxAdapter.js"
export * as UservoxSchema from "./UservoxSchema.js"
export * as UservoxWebhooks from "./UservoxWebhooks.js"
