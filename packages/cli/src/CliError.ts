/**
 * The CLI's own failures, each with its exit code: a usage mistake or an input that cannot be
 * read (2), or a run that finished with lifecycle or vendor errors already reported (1).
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** The command line is wrong (a missing or conflicting option). Exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** A file is missing, not JSON or not of the expected shape. Exit code 2. */
export class InputError extends Data.TaggedError("InputError")<{ readonly message: string }> {}

/** The command ran and reported lifecycle or vendor errors (or an invalid lifecycle). Exit code 1. */
export class Failed extends Data.TaggedError("Failed")<{ readonly message: string }> {}

/** Any failure of a command. */
export type CliError = UsageError | InputError | Failed

/** The exit codes: 0 success, 1 a lifecycle or vendor error occurred, 2 usage or unreadable input. */
export const exitCode = (error: CliError): 1 | 2 => (error._tag === "Failed" ? 1 : 2)
