/**
 * A short B2B inside-sales lifecycle: qualify, send a proposal, win or lose; a lost deal may
 * be reopened into qualification. Free ordering, no snooze, no follow-up sequence.
 *
 * @since 0.1.0
 */
import type { LifecycleDefinition } from "../LifecycleDefinition.js"

export const b2b = {
  name: "b2b-inside-sales",
  initial: "new",
  states: [
    { name: "new" },
    { name: "qualified" },
    { name: "proposal_sent" },
    { name: "won", final: true },
    { name: "lost", final: true },
  ],
  transitions: [
    { from: "new", to: "qualified" },
    { from: "qualified", to: "proposal_sent" },
    { from: "proposal_sent", to: "qualified" },
    { from: "proposal_sent", to: "won" },
    { from: "*", to: "lost" },
  ],
  dispositions: {
    won: { required: false, allowed: ["signed", "signed_with_discount"] },
    lost: { required: true, allowed: ["no_budget", "no_fit", "competitor", "no_response"] },
  },
  reopen: [{ from: "lost", to: "qualified" }],
} as const satisfies typeof LifecycleDefinition.Encoded
