/**
 * @leadstate/adapter-generic: leadstate for a configurable REST lead API in the style of
 * PollyBot (`PUT /api/v1/leads/{id}`, Bearer keys, statuses new|contacted|qualified|converted|lost|follow_up).
 *
 * @since 0.1.0
 */
export * as GenericAdapter from "./GenericAdapter.js"
export * as GenericSchema from "./GenericSchema.js"
export * as GenericWebhooks from "./GenericWebhooks.js"
