/**
 * The database's table types. Each module adds its own tables by module augmentation:
 *
 *   declare module '../../platform/db/tables.js' {
 *     interface Database { recipients: RecipientTable }
 *   }
 *
 * so that no module edits another's file. Conventions for both dialects: times are integer
 * milliseconds since the epoch (`bigint` in PostgreSQL, parsed back to number), booleans are
 * integers 0/1, ids are integers from the database's own sequence.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by module augmentation
export interface Database {}
