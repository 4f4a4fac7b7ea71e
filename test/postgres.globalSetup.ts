/**
 * vitest globalSetup: provides `inject("pgUrl")`, the admin URL of a PostgreSQL server for the
 * whole run: `LEADSTATE_PG_URL` when set (a server of your own; its user needs CREATEDB), else a
 * throwaway server started here (installed from Debian's package when missing and root) and
 * stopped at teardown.
 */
import type { TestProject } from "vitest/node"
// The Effect-free module directly: `@leadstate/testkit/postgres` also loads effect and
// @effect/sql-pg, which costs about a second before any test can start.
import { pgUrlFromEnv, startPostgres } from "../packages/testkit/src/postgresServer.js"

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = pgUrlFromEnv()
  if (fromEnv !== undefined) {
    project.provide("pgUrl", fromEnv)
    return async () => {}
  }
  const server = await startPostgres()
  project.provide("pgUrl", server.url)
  return server.stop
}
