/**
 * @leadstate/store-sql: durable `LeadStore`s over `@effect/sql`. This entry point holds the
 * dialect-neutral parts; the stores themselves are `@leadstate/store-sql/sqlite` (embedded,
 * better-sqlite3) and `@leadstate/store-sql/pg` (PostgreSQL, several workers), kept apart so
 * that importing one never loads the other's driver.
 *
 * @since 0.1.0
 */
export * as Migrations from "./Migrations.js"
export * as SqlLeadStore from "./SqlLeadStore.js"
export * as StoreTables from "./StoreTables.js"
