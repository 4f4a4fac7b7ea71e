/**
 * The errors a lead can meet when an event is applied to it. Each is data (a Schema tagged
 * error), so it can be logged, stored, sent over the wire and matched with `catchTag`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const list = (items: ReadonlyArray<string>): string =>
  items.length === 0 ? "none" : items.map((s) => `"${s}"`).join(", ")

/** The lead cannot move from `from` to `to`; `allowed` lists the moves that are open. */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
  leadId: Schema.String,
  from: Schema.String,
  to: Schema.String,
  allowed: Schema.Array(Schema.String),
  reason: Schema.optional(Schema.String),
}) {
  override get message(): string {
    const why = this.reason === undefined ? "" : ` (${this.reason})`
    return `Lead "${this.leadId}" cannot move from "${this.from}" to "${this.to}"${why}. Moves open from "${this.from}": ${list(this.allowed)}.`
  }
}

/** The target state requires a disposition and the event carried none. */
export class DispositionRequired extends Schema.TaggedError<DispositionRequired>()("DispositionRequired", {
  leadId: Schema.String,
  state: Schema.String,
  allowed: Schema.Array(Schema.String),
}) {
  override get message(): string {
    return `Lead "${this.leadId}" needs a disposition to enter "${this.state}". Pass one of: ${list(this.allowed)}.`
  }
}

/** The disposition is not one the target state accepts (`allowed` is empty when it takes none). */
export class UnknownDisposition extends Schema.TaggedError<UnknownDisposition>()("UnknownDisposition", {
  leadId: Schema.String,
  state: Schema.String,
  disposition: Schema.String,
  allowed: Schema.Array(Schema.String),
}) {
  override get message(): string {
    return this.allowed.length === 0
      ? `Lead "${this.leadId}": state "${this.state}" takes no disposition, but "${this.disposition}" was given. Leave the disposition out.`
      : `Lead "${this.leadId}": "${this.disposition}" is not a disposition of "${this.state}". Use one of: ${list(this.allowed)}.`
  }
}

/** The lead is in a final state; only a declared reopen (`reopenTo`) can move it. */
export class LeadIsFinal extends Schema.TaggedError<LeadIsFinal>()("LeadIsFinal", {
  leadId: Schema.String,
  state: Schema.String,
  event: Schema.String,
  reopenTo: Schema.Array(Schema.String),
}) {
  override get message(): string {
    const how =
      this.reopenTo.length === 0
        ? "This lifecycle declares no reopen rule for it."
        : `Send a "reopen" event to one of: ${list(this.reopenTo)}.`
    return `Lead "${this.leadId}" is in final state "${this.state}" and does not accept "${this.event}". ${how}`
  }
}

/** A state named by an event or a snapshot is not part of the lifecycle. */
export class UnknownState extends Schema.TaggedError<UnknownState>()("UnknownState", {
  leadId: Schema.String,
  state: Schema.String,
  known: Schema.Array(Schema.String),
}) {
  override get message(): string {
    return `Lead "${this.leadId}": "${this.state}" is not a state of this lifecycle. Known states: ${list(this.known)}.`
  }
}

/** The event is not one the lifecycle understands, or a field of it has the wrong shape. */
export class InvalidEvent extends Schema.TaggedError<InvalidEvent>()("InvalidEvent", {
  leadId: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `Lead "${this.leadId}": invalid event: ${this.detail}`
  }
}

/** Every error the pure transition can return. */
export type LifecycleError =
  | InvalidTransition
  | DispositionRequired
  | UnknownDisposition
  | LeadIsFinal
  | UnknownState
  | InvalidEvent

/** Schema of {@link LifecycleError}, for storing or sending errors as data. */
export const LifecycleError: Schema.Union<
  [
    typeof InvalidTransition,
    typeof DispositionRequired,
    typeof UnknownDisposition,
    typeof LeadIsFinal,
    typeof UnknownState,
    typeof InvalidEvent,
  ]
> = Schema.Union(InvalidTransition, DispositionRequired, UnknownDisposition, LeadIsFinal, UnknownState, InvalidEvent)
