/*
 * Diagnosis only (bench/gcks-registration.bench.ts, GCKS_BENCH_TRIM=path/to/malloc-trim.so):
 * a SQLite extension whose loading calls glibc's malloc_trim(0), which hands every free page
 * of every malloc arena back to the kernel. Comparing the GCKS's RSS before and after tells
 * free-but-resident allocator memory from memory in use. Build (Linux, glibc):
 *
 *   gcc -O2 -fPIC -shared -I node_modules/better-sqlite3/deps/sqlite3 \
 *       -o /tmp/malloc-trim.so bench/lib/malloc-trim.c
 */
#include <malloc.h>
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  (void)db;
  (void)err;
  SQLITE_EXTENSION_INIT2(api);
  malloc_trim(0);
  return SQLITE_OK;
}
