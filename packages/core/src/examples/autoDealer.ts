/**
 * A realistic auto-dealer voice-calling lifecycle: a new lead is called, followed up up to
 * three times (every two days) before it is given up as unreachable, can become interested,
 * book a test drive and buy; it can be lost from anywhere with a reason, snoozed for a week,
 * and reopened when the customer calls back.
 *
 * @since 0.1.0
 */
import type { LifecycleDefinition } from "../LifecycleDefinition.js"

const DAY = 24 * 60 * 60 * 1000

export const autoDealer = {
  name: "auto-dealer-voice",
  description: "Inbound car-sales leads worked by a voice agent and the showroom team.",
  initial: "new",
  ordering: "forward-only",
  states: [
    { name: "new", rank: 0, description: "Lead received, not yet reached." },
    { name: "contacted", rank: 1, description: "Reached by phone at least once." },
    { name: "followup_1", rank: 2 },
    { name: "followup_2", rank: 3 },
    { name: "followup_3", rank: 4 },
    { name: "interested", rank: 5, description: "Wants to hear more or visit." },
    { name: "test_drive_booked", rank: 6 },
    { name: "converted", rank: 7, final: true, description: "Bought a car." },
    { name: "lost", final: true },
    { name: "snoozed", description: "Asked to be called back later." },
  ],
  transitions: [
    { from: "new", to: "contacted" },
    { from: ["contacted", "followup_1", "followup_2", "followup_3"], to: "interested" },
    { from: "interested", to: "test_drive_booked" },
    { from: ["interested", "test_drive_booked"], to: "converted" },
    { from: "*", to: "lost" },
  ],
  dispositions: {
    interested: { required: false, allowed: ["wants_callback", "price_inquiry", "trade_in_inquiry"] },
    test_drive_booked: { required: false, allowed: ["showroom", "home_delivery"] },
    converted: { required: false, allowed: ["purchased", "leased", "financed"] },
    lost: {
      required: true,
      allowed: ["not_interested", "wrong_number", "bought_elsewhere", "unreachable", "do_not_call"],
    },
  },
  snooze: { state: "snoozed", defaultMs: 7 * DAY },
  followUps: {
    states: ["followup_1", "followup_2", "followup_3"],
    startFrom: ["contacted"],
    intervalMs: 2 * DAY,
    exhausted: { to: "lost", disposition: "unreachable" },
  },
  reopen: [{ from: "lost", to: "contacted", reasons: ["customer_called_back", "new_inquiry"] }],
} as const satisfies typeof LifecycleDefinition.Encoded
