#ifndef RAVELIN_BLOB_H
#define RAVELIN_BLOB_H
/*
 * blob: an account's message files, named by the SHA-256 of their content.
 *
 *   <account>/blobs/ab/ab12...ef   one file per distinct content (64 hex)
 *   <account>/blobs/tmp/           files being written
 *
 * A file is written under a temporary name, fsynced, renamed into place and
 * its directory fsynced, so a final name always holds complete, durable
 * content.  Names are made from hashes only, never from request data.
 * Everything is opened relative to directory descriptors held here, so the
 * module touches nothing outside the account directory.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Hex SHA-256: 64 digits and the NUL. */
#define BLOB_HASH_SIZE 65
/* Room for one error message with a system error in it. */
#define BLOB_ERROR_MAX 256

struct blob_pending;

struct blob_store {
	int blobs_fd;   /* <account>/blobs */
	int tmp_fd;     /* <account>/blobs/tmp */
	uint32_t counter;
	struct blob_pending *deferred;   /* written, not synced (blob_write_defer) */
	size_t deferred_count, deferred_cap;
	struct blob_pending *flight;     /* being synced beside the loop (blob_flight_take) */
	size_t flight_count;
	char error[BLOB_ERROR_MAX];
};

/*
 * blob_preinit fetches SHA-256 from OpenSSL once, so that OpenSSL reads its
 * configuration before the process is confined rather than inside the jail.
 * Returns 0, or -1 with *error_r (static).
 */
int blob_preinit(const char **error_r);

/*
 * blob_store_open opens <account>/blobs below account_fd (the account
 * directory), creating blobs/, blobs/tmp/ and blobs/00 .. blobs/ff if
 * create is set, and removes
 * temporaries left by a crash more than BLOB_TMP_STALE_SECONDS ago.
 * Returns 0, or -1 with *error_r pointing into bs (valid until the next
 * call on bs).  On -1 nothing stays open.
 */
int blob_store_open(int account_fd, bool create, struct blob_store *bs, const char **error_r);
/* blob_store_close puts the deferred files in place (blob_write_defer;
 * best effort, unsynced) and closes the directories (safe on a closed
 * store). */
void blob_store_close(struct blob_store *bs);

/*
 * blob_hash computes the hex SHA-256 of the concatenation of iov[0..iovcnt)
 * into hash_r and its length into size_r.  Returns 0, or -1 with *error_r
 * (static) if OpenSSL fails.
 */
int blob_hash(const struct iovec *iov, int iovcnt, char hash_r[BLOB_HASH_SIZE],
	      uint64_t *size_r, const char **error_r);

/* blob_hash_valid says whether hash is exactly 64 lower-case hex digits. */
bool blob_hash_valid(const char *hash);

/*
 * Writing: blob_write_start writes the content to a temporary file and
 * starts its writeback without waiting; blob_write_finish then waits for
 * every pending file (fdatasync, their writebacks overlap), renames each
 * into place and fsyncs each directory touched once, so a batch of n
 * messages costs n file syncs that run together and one sync per distinct
 * blobs/xx directory (about 57 for n = 64: the hashes spread over 256).
 * Nothing of a batch is durable before blob_write_finish returns 0.
 * When the file of hash exists already with the same size (the same content
 * delivered before) it is reused and only its directory is synced.
 * blob_write_cancel throws pending files away.
 */
#define BLOB_PENDING_TMP_MAX 40
struct blob_pending {
	int fd;                          /* -1: content already stored */
	char tmp[BLOB_PENDING_TMP_MAX];
	char hash[BLOB_HASH_SIZE];
};
int blob_write_start(struct blob_store *bs, const char *hash, uint64_t size,
		     const struct iovec *iov, int iovcnt, struct blob_pending *pending,
		     const char **error_r);
int blob_write_finish(struct blob_store *bs, struct blob_pending *pending, size_t count,
		      const char **error_r);
void blob_write_cancel(struct blob_store *bs, struct blob_pending *pending, size_t count);

/*
 * Deferred syncs (the group commit of APPEND, store-sqlite-sync.c): a
 * batch's files, written by blob_write_start, are handed over with
 * blob_write_defer instead of being finished, and stay under their
 * temporary names; blob_sync_deferred later finishes all of them at once
 * (blob_write_finish: their file syncs overlap, each directory touched is
 * synced once however many files went into it).  Until then nothing of
 * them is durable and blob_open finds them under their temporary names.
 * At most BLOB_DEFERRED_MAX wait: blob_write_defer refuses more (and on
 * lack of memory), returning -1 with *error_r and keeping nothing, and the
 * caller then finishes the batch itself.  blob_deferred_count says how
 * many wait.  blob_sync_deferred returns 0 (none waits any more), or -1
 * with *error_r pointing into bs: the files not finished are removed.
 *
 * blob_exists says whether the file of hash is in place with size bytes
 * (a file in place is durable: it is renamed there only once synced).
 */
/* A turn of the worker's loop rarely stores more than a message per
 * session; each waiting file holds a descriptor, so the bound is also the
 * descriptors this may hold (a batch may hold STORE_BATCH_MAX = 512). */
#define BLOB_DEFERRED_MAX 256
int blob_write_defer(struct blob_store *bs, const struct blob_pending *pending, size_t count,
		     const char **error_r);
size_t blob_deferred_count(const struct blob_store *bs);
int blob_sync_deferred(struct blob_store *bs, const char **error_r);
bool blob_exists(struct blob_store *bs, const char *hash, uint64_t size);

/*
 * A sync beside the loop (store-sqlite-sync.c, store_sync_begin): the
 * deferred files are handed to a sync that runs on another thread while
 * the loop goes on (and defers new files).
 *
 * blob_flight_take moves every deferred file to the flight: 0, or -1 with
 * *error_r when a flight is out already (one at a time: its end is what
 * lets the loop answer, and the next flight starts there).
 * blob_flight_count says how many files are out.
 * blob_flight_sync is the flight's sync (fdatasync, rename, directory
 * sync, as blob_write_finish), with also_fd (-1: none; the store's WAL)
 * synced with the directories.  Each step's syncs run at the same time,
 * on up to BLOB_SYNC_THREADS threads it makes and joins (a thread it
 * cannot make leaves its part to the caller).  It may run on any thread
 * while the loop uses bs: it reads only the directory descriptors and the
 * flight's names (which the loop leaves alone until the end) and writes
 * only the files' descriptors and error.  0, or -1 with error.
 * blob_flight_end (on the loop, after blob_flight_sync returned, or when
 * it never ran): ok false closes and removes what did not go into place.
 * Until then the flight's files stay readable (blob_open).
 * blob_waiting says whether the file of hash waits for a sync (deferred
 * or in the flight): not missing, only not in place yet.
 */
int blob_flight_take(struct blob_store *bs, const char **error_r);
size_t blob_flight_count(const struct blob_store *bs);
/* Syncs that wait together cost one journal commit and one cache flush
 * (4-7 ms each here under load) where one after another each pays its
 * own; 8 covers the files a burst of an account's clients appends in one
 * sync's time, and each thread costs ~50 us to make and join. */
#define BLOB_SYNC_THREADS 8
int blob_flight_sync(const struct blob_store *bs, int also_fd, char error[BLOB_ERROR_MAX]);
void blob_flight_end(struct blob_store *bs, bool ok);
bool blob_waiting(const struct blob_store *bs, const char *hash);

/*
 * blob_open opens the file of hash read-only (O_CLOEXEC, no symlinks).
 * Returns the descriptor (the caller closes it), or -1 with *error_r
 * pointing into bs.
 */
int blob_open(struct blob_store *bs, const char *hash, const char **error_r);

/*
 * Clean-up (store-sqlite-gc.c decides what goes; these only touch files).
 * The files live in BLOB_DIRS directories blobs/00 .. blobs/ff.
 *
 * blob_remove unlinks the file of hash; one that is not there is no error
 * (a pass that crashed after the unlink runs again).  The directory is not
 * synced: an unlink a crash undoes leaves a file nothing names, which the
 * next sweep finds.  Returns 0, or -1 with *error_r pointing into bs.
 *
 * blob_dir_list calls fn(hash, ctx) for each file of blobs/<dir> (dir in
 * 0 .. BLOB_DIRS - 1) whose name is a hash and whose mtime is since or
 * later; a directory changed last before since is not read at all (no
 * file in it is that new).  A missing directory has no files.  fn returns
 * 0 to go on, -1 to stop (blob_dir_list then returns -1 and leaves
 * *error_r alone).  Returns 0, or -1 with *error_r pointing into bs.
 *
 * blob_usage counts the message files (tmp/ included) and the bytes they
 * take on disk (allocated blocks, as du counts them).
 */
#define BLOB_DIRS 256
/* The fan-out directory made last: the others exist when it does. */
#define BLOB_LAST_DIR "ff"
typedef int blob_list_fn(const char *hash, void *ctx);
int blob_remove(struct blob_store *bs, const char *hash, const char **error_r);
int blob_dir_list(struct blob_store *bs, unsigned dir, int64_t since, blob_list_fn *fn,
		  void *ctx, const char **error_r);
int blob_usage(struct blob_store *bs, uint64_t *files_r, uint64_t *bytes_r,
	       const char **error_r);

#endif
