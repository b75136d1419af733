/* blob: message files named by content hash (see blob.h). */
#include "blob.h"

#include "lib/io.h"
#include "lib/str.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <openssl/evp.h>

/* A temporary older than this belongs to a delivery that crashed (a real
 * write takes seconds at most); younger ones may be another process's. */
#define BLOB_TMP_STALE_SECONDS 3600
/* "<seconds hex>.<pid>.<counter>": 16 + 1 + 10 + 1 + 8 and the NUL. */
#define BLOB_TMP_NAME_MAX 40
/* "ab/" + 64 hex digits and the NUL. */
#define BLOB_REL_PATH_MAX (3 + BLOB_HASH_SIZE)

/* fail formats an error into bs (errno is read by %m before anything
 * changes it) and returns -1. */
static int fail(struct blob_store *bs, const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct blob_store *bs, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bs->error, sizeof(bs->error), fmt, ap);
	va_end(ap);
	*error_r = bs->error;
	return -1;
}

/* fail_in formats an error into error (a sync's own buffer: it may run
 * beside the loop, which owns bs->error) and returns -1. */
static int fail_in(char error[BLOB_ERROR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail_in(char error[BLOB_ERROR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, BLOB_ERROR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* open_subdir opens name below parent as a directory (creating it with mode
 * 0700 if create is set and it is missing; *created_r says whether it was
 * made now).  It opens first and creates only on ENOENT: the directories
 * exist almost always, and a mkdir that fails costs more than an open.
 * Returns the descriptor or -1 with errno. */
static int open_subdir(int parent, const char *name, bool create, bool *created_r)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;
	bool created = false;

	int fd = openat(parent, name, flags);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(parent, name, 0700) == 0)
			created = true;
		else if (errno != EEXIST)
			return -1;
		fd = openat(parent, name, flags);
	}
	if (created_r != NULL)
		*created_r = created;
	return fd;
}

/* dir_stream reads the entries of the directory fd through a duplicate
 * of it (closedir closes the duplicate, fd stays open).  NULL with errno. */
static DIR *dir_stream(int fd)
{
	int dup_fd = dup(fd);
	if (dup_fd < 0)
		return NULL;
	DIR *d = fdopendir(dup_fd);
	if (d == NULL) {
		int saved = errno;
		close(dup_fd);
		errno = saved;
	}
	return d;
}

/* remove_stale_tmp unlinks the temporaries older than the stale age.  Errors
 * are ignored: a leftover costs disk space, never correctness. */
static void remove_stale_tmp(struct blob_store *bs)
{
	DIR *d = dir_stream(bs->tmp_fd);
	if (d == NULL)
		return;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(bs->tmp_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (now - st.st_mtime > BLOB_TMP_STALE_SECONDS)
			unlinkat(bs->tmp_fd, e->d_name, 0);
	}
	closedir(d);
}

/* blob_preinit: see blob.h. */
int blob_preinit(const char **error_r)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (md == NULL) {
		*error_r = "openssl: SHA256 not available";
		return -1;
	}
	EVP_MD_free(md);
	return 0;
}

/* blob_store_open: see blob.h. */
int blob_store_open(int account_fd, bool create, struct blob_store *bs, const char **error_r)
{
	memset(bs, 0, sizeof(*bs));
	bs->tmp_fd = -1;
	bs->blobs_fd = open_subdir(account_fd, "blobs", create, NULL);
	if (bs->blobs_fd < 0)
		return fail(bs, error_r, "open(blobs) failed: %m");
	bs->tmp_fd = open_subdir(bs->blobs_fd, "tmp", create, NULL);
	if (bs->tmp_fd < 0) {
		fail(bs, error_r, "open(blobs/tmp) failed: %m");
		blob_store_close(bs);
		return -1;
	}
	/* The fan-out directories are made with the store: made on demand,
	 * the first file into each would cost a sync of blobs/ too (about
	 * one APPEND in two of a new account's first few hundred). They are
	 * made in order and synced after, so the last one there means all
	 * are (BLOB_LAST_DIR). */
	for (unsigned i = 0; create && i < BLOB_DIRS; i++) {
		char name[3];
		snprintf(name, sizeof(name), "%02x", i);
		if (mkdirat(bs->blobs_fd, name, 0700) < 0 && errno != EEXIST) {
			fail(bs, error_r, "mkdir(blobs/%s) failed: %m", name);
			blob_store_close(bs);
			return -1;
		}
	}
	if (create && (fsync(bs->blobs_fd) < 0 || fsync(account_fd) < 0)) {
		fail(bs, error_r, "fsync(blobs) failed: %m");
		blob_store_close(bs);
		return -1;
	}
	remove_stale_tmp(bs);
	return 0;
}

/* blob_store_close: see blob.h. */
void blob_store_close(struct blob_store *bs)
{
	if (bs->deferred_count > 0 && bs->blobs_fd >= 0 && bs->tmp_fd >= 0) {
		const char *ignored;
		(void)blob_sync_deferred(bs, &ignored);
	}
	free(bs->deferred);
	bs->deferred = NULL;
	bs->deferred_count = 0;
	bs->deferred_cap = 0;
	/* A flight not ended (its sync never ran): not promised, removed. */
	blob_flight_end(bs, false);
	free(bs->flight);
	bs->flight = NULL;
	if (bs->tmp_fd >= 0)
		close(bs->tmp_fd);
	if (bs->blobs_fd >= 0)
		close(bs->blobs_fd);
	bs->tmp_fd = -1;
	bs->blobs_fd = -1;
}

/* blob_hash: see blob.h. */
int blob_hash(const struct iovec *iov, int iovcnt, char hash_r[BLOB_HASH_SIZE],
	      uint64_t *size_r, const char **error_r)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	uint64_t size = 0;
	int ok;

	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	for (int i = 0; ok && i < iovcnt; i++) {
		ok = EVP_DigestUpdate(ctx, iov[i].iov_base, iov[i].iov_len) == 1;
		size += iov[i].iov_len;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1 && digest_len == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		*error_r = "openssl: SHA256 failed";
		return -1;
	}
	for (unsigned i = 0; i < digest_len; i++) {
		hash_r[2 * i] = hex[digest[i] >> 4];
		hash_r[2 * i + 1] = hex[digest[i] & 0xf];
	}
	hash_r[2 * digest_len] = '\0';
	*size_r = size;
	return 0;
}

/* blob_hash_valid: see blob.h. */
bool blob_hash_valid(const char *hash)
{
	for (int i = 0; i < BLOB_HASH_SIZE - 1; i++) {
		char c = hash[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return hash[BLOB_HASH_SIZE - 1] == '\0';
}

/* blob_write_start: see blob.h. */
int blob_write_start(struct blob_store *bs, const char *hash, uint64_t size,
		     const struct iovec *iov, int iovcnt, struct blob_pending *p,
		     const char **error_r)
{
	char rel[BLOB_REL_PATH_MAX];
	struct stat st;

	assert(blob_hash_valid(hash));
	_Static_assert(BLOB_PENDING_TMP_MAX >= BLOB_TMP_NAME_MAX, "temporary name room");
	snprintf(p->hash, sizeof(p->hash), "%s", hash);
	p->fd = -1;
	p->tmp[0] = '\0';
	snprintf(rel, sizeof(rel), "%c%c/%s", hash[0], hash[1], hash);
	if (fstatat(bs->blobs_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == size)
		return 0; /* the same content is there: only its directory is synced */
	snprintf(p->tmp, sizeof(p->tmp), "%llx.%ld.%u", (unsigned long long)time(NULL),
		 (long)getpid(), bs->counter++);
	p->fd = openat(bs->tmp_fd, p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		       0600);
	if (p->fd < 0)
		return fail(bs, error_r, "open(blobs/tmp/%s) failed: %m", p->tmp);
	if (io_writev_all(p->fd, iov, iovcnt) < 0) {
		fail(bs, error_r, "write(blobs/tmp/%s) failed: %m", p->tmp);
		blob_write_cancel(bs, p, 1);
		return -1;
	}
	/* Start the writeback now, so the batch's files go to disk together. */
	(void)sync_file_range(p->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

/* finish_files waits for each of pending's files (fdatasync), renames it
 * into place and fsyncs each directory touched once.  It reads only the
 * two directory descriptors and the names, and writes only the files'
 * descriptors (closed: -1) and error, so it may run beside the loop on
 * files the loop no longer changes (blob_flight_sync).  A name is kept
 * after its rename: a cancel's unlink of it finds nothing.  0, or -1 with
 * error. */
static int finish_files(int blobs_fd, int tmp_fd, struct blob_pending *pending, size_t count,
			char error[BLOB_ERROR_MAX])
{
	bool touched[BLOB_DIRS] = { false };
	bool created_any = false;

	for (size_t i = 0; i < count; i++) {
		struct blob_pending *p = &pending[i];
		char dir_name[3] = { p->hash[0], p->hash[1], '\0' };
		unsigned idx = (unsigned)(str_hex_digit(p->hash[0]) * 16 + str_hex_digit(p->hash[1]));
		touched[idx] = true;
		if (p->fd < 0)
			continue;
		if (fdatasync(p->fd) < 0)
			return fail_in(error, "fdatasync(blobs/tmp/%s) failed: %m", p->tmp);
		close(p->fd);
		p->fd = -1;
		bool created;
		int dir_fd = open_subdir(blobs_fd, dir_name, true, &created);
		if (dir_fd < 0)
			return fail_in(error, "open(blobs/%s) failed: %m", dir_name);
		created_any |= created;
		int r = renameat(tmp_fd, p->tmp, dir_fd, p->hash);
		close(dir_fd);
		if (r < 0)
			return fail_in(error, "rename(blobs/tmp/%s) failed: %m", p->tmp);
	}
	/* After the renames: the first directory fsync commits the journal
	 * with all of them, the others find little left to do. */
	for (unsigned idx = 0; idx < BLOB_DIRS; idx++) {
		if (!touched[idx])
			continue;
		char dir_name[3];
		snprintf(dir_name, sizeof(dir_name), "%02x", idx);
		int dir_fd = open_subdir(blobs_fd, dir_name, false, NULL);
		if (dir_fd < 0 || fsync(dir_fd) < 0) {
			if (dir_fd >= 0)
				close(dir_fd);
			return fail_in(error, "fsync(blobs/%s) failed: %m", dir_name);
		}
		close(dir_fd);
	}
	if (created_any && fsync(blobs_fd) < 0)
		return fail_in(error, "fsync(blobs) failed: %m");
	return 0;
}

/* blob_write_finish: see blob.h. */
int blob_write_finish(struct blob_store *bs, struct blob_pending *pending, size_t count,
		      const char **error_r)
{
	if (finish_files(bs->blobs_fd, bs->tmp_fd, pending, count, bs->error) < 0) {
		*error_r = bs->error;
		return -1;
	}
	return 0;
}

/* blob_write_cancel: see blob.h. */
void blob_write_cancel(struct blob_store *bs, struct blob_pending *pending, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (pending[i].fd >= 0)
			close(pending[i].fd);
		pending[i].fd = -1;
		if (pending[i].tmp[0] != '\0')
			unlinkat(bs->tmp_fd, pending[i].tmp, 0);
		pending[i].tmp[0] = '\0';
	}
}

/* blob_write_defer: see blob.h. */
int blob_write_defer(struct blob_store *bs, const struct blob_pending *pending, size_t count,
		     const char **error_r)
{
	if (count > BLOB_DEFERRED_MAX - bs->deferred_count)
		return fail(bs, error_r, "%zu message files wait for their sync already",
			    bs->deferred_count);
	if (bs->deferred_count + count > bs->deferred_cap) {
		size_t cap = BLOB_DEFERRED_MAX;
		struct blob_pending *d = reallocarray(bs->deferred, cap, sizeof(*d));
		if (d == NULL)
			return fail(bs, error_r, "out of memory");
		bs->deferred = d;
		bs->deferred_cap = cap;
	}
	memcpy(bs->deferred + bs->deferred_count, pending, count * sizeof(*pending));
	bs->deferred_count += count;
	return 0;
}

/* blob_deferred_count: see blob.h. */
size_t blob_deferred_count(const struct blob_store *bs)
{
	return bs->deferred_count;
}

/* blob_sync_deferred: see blob.h. */
int blob_sync_deferred(struct blob_store *bs, const char **error_r)
{
	if (bs->deferred_count == 0)
		return 0;
	int ret = blob_write_finish(bs, bs->deferred, bs->deferred_count, error_r);
	if (ret < 0)
		blob_write_cancel(bs, bs->deferred, bs->deferred_count);
	bs->deferred_count = 0;
	return ret;
}

/* blob_flight_take: see blob.h. */
int blob_flight_take(struct blob_store *bs, const char **error_r)
{
	if (bs->flight_count > 0)
		return fail(bs, error_r, "%zu message files are being synced already",
			    bs->flight_count);
	free(bs->flight);
	bs->flight = bs->deferred;
	bs->flight_count = bs->deferred_count;
	bs->deferred = NULL;
	bs->deferred_count = 0;
	bs->deferred_cap = 0;
	return 0;
}

/* blob_flight_count: see blob.h. */
size_t blob_flight_count(const struct blob_store *bs)
{
	return bs->flight_count;
}

/* One part of a sync_together: fds[first, first + count) synced one after
 * another by one thread (fsync below whole, fdatasync from there);
 * failed is the index of the one that failed (its errno in err), or -1. */
struct sync_part {
	const int *fds;
	size_t first, count, whole;
	ssize_t failed;
	int err;
};

static void *sync_part_run(void *arg)
{
	struct sync_part *part = arg;
	for (size_t i = part->first; i < part->first + part->count; i++) {
		if ((i < part->whole ? fsync(part->fds[i]) : fdatasync(part->fds[i])) < 0) {
			part->failed = (ssize_t)i;
			part->err = errno;
			break;
		}
	}
	return NULL;
}

/* sync_together syncs fds[0, count) (fsync below whole: directories,
 * whose entries are what matters; fdatasync from there) on up to
 * BLOB_SYNC_THREADS threads at once (the calling one among them): a
 * journaling file system joins syncs that wait at the same time into one
 * commit and one flush of the disk's cache, where syncs one after another
 * pay for one each.  A thread that cannot be made leaves its part to the
 * caller.  0, or -1 with *failed_r (the index) and errno. */
static int sync_together(const int *fds, size_t count, size_t whole, size_t *failed_r)
{
	struct sync_part parts[BLOB_SYNC_THREADS];
	pthread_t threads[BLOB_SYNC_THREADS];
	bool started[BLOB_SYNC_THREADS] = { false };
	size_t n = count < BLOB_SYNC_THREADS ? count : BLOB_SYNC_THREADS;

	for (size_t t = 0, first = 0; t < n; t++) {
		size_t size = count / n + (t < count % n);
		parts[t] = (struct sync_part){ .fds = fds, .first = first, .count = size,
					       .whole = whole, .failed = -1 };
		first += size;
		if (t > 0)
			started[t] = pthread_create(&threads[t], NULL, sync_part_run, &parts[t]) == 0;
	}
	for (size_t t = 0; t < n; t++) {
		if (!started[t])
			sync_part_run(&parts[t]);
	}
	for (size_t t = 1; t < n; t++) {
		if (started[t])
			pthread_join(threads[t], NULL);
	}
	for (size_t t = 0; t < n; t++) {
		if (parts[t].failed >= 0) {
			*failed_r = (size_t)parts[t].failed;
			errno = parts[t].err;
			return -1;
		}
	}
	return 0;
}

/* blob_flight_sync: see blob.h.  finish_files' steps, each one's syncs
 * together (sync_together): the files' data, then (after the renames)
 * the directories with also_fd. */
int blob_flight_sync(const struct blob_store *bs, int also_fd, char error[BLOB_ERROR_MAX])
{
	struct blob_pending *flight = bs->flight;
	size_t count = bs->flight_count, n = 0, failed = 0;
	bool touched[BLOB_DIRS] = { false };
	int fds[BLOB_DEFERRED_MAX + BLOB_DIRS + 1] = { 0 };
	bool created_any = false;

	for (size_t i = 0; i < count; i++) {
		if (flight[i].fd >= 0)
			fds[n++] = flight[i].fd;
	}
	if (sync_together(fds, n, 0, &failed) < 0) {
		for (size_t i = 0; i < count; i++) {
			if (flight[i].fd == fds[failed])
				return fail_in(error, "fdatasync(blobs/tmp/%s) failed: %m", flight[i].tmp);
		}
	}
	for (size_t i = 0; i < count; i++) {
		struct blob_pending *p = &flight[i];
		char dir_name[3] = { p->hash[0], p->hash[1], '\0' };
		touched[str_hex_digit(p->hash[0]) * 16 + str_hex_digit(p->hash[1])] = true;
		if (p->fd < 0)
			continue;
		close(p->fd);
		p->fd = -1;
		bool created;
		int dir_fd = open_subdir(bs->blobs_fd, dir_name, true, &created);
		if (dir_fd < 0)
			return fail_in(error, "open(blobs/%s) failed: %m", dir_name);
		created_any |= created;
		int r = renameat(bs->tmp_fd, p->tmp, dir_fd, p->hash);
		close(dir_fd);
		if (r < 0)
			return fail_in(error, "rename(blobs/tmp/%s) failed: %m", p->tmp);
	}
	n = 0;
	int ret = 0;
	for (unsigned idx = 0; ret == 0 && idx < BLOB_DIRS; idx++) {
		char dir_name[3];
		snprintf(dir_name, sizeof(dir_name), "%02x", idx);
		if (touched[idx] && (fds[n] = open_subdir(bs->blobs_fd, dir_name, false, NULL)) < 0)
			ret = fail_in(error, "open(blobs/%s) failed: %m", dir_name);
		n += touched[idx] && ret == 0;
	}
	size_t dirs = n;
	if (ret == 0 && created_any)
		fds[n++] = bs->blobs_fd;
	size_t whole = n;
	if (ret == 0 && also_fd >= 0)
		fds[n++] = also_fd;
	if (ret == 0 && sync_together(fds, n, whole, &failed) < 0)
		ret = fail_in(error, "%s failed: %m",
			      failed < dirs    ? "fsync(blobs/xx)" :
			      failed < whole ? "fsync(blobs)" :
						 "fdatasync(the store's WAL)");
	for (size_t i = 0; i < dirs; i++)
		close(fds[i]);
	return ret;
}

/* blob_flight_end: see blob.h. */
void blob_flight_end(struct blob_store *bs, bool ok)
{
	if (!ok)
		blob_write_cancel(bs, bs->flight, bs->flight_count);
	bs->flight_count = 0;
}

/* blob_waiting: see blob.h. */
bool blob_waiting(const struct blob_store *bs, const char *hash)
{
	for (size_t i = 0; i < bs->deferred_count; i++) {
		if (strcmp(bs->deferred[i].hash, hash) == 0)
			return true;
	}
	for (size_t i = 0; i < bs->flight_count; i++) {
		if (strcmp(bs->flight[i].hash, hash) == 0)
			return true;
	}
	return false;
}

/* blob_exists: see blob.h. */
bool blob_exists(struct blob_store *bs, const char *hash, uint64_t size)
{
	char rel[BLOB_REL_PATH_MAX];
	struct stat st;

	if (!blob_hash_valid(hash))
		return false;
	snprintf(rel, sizeof(rel), "%c%c/%s", hash[0], hash[1], hash);
	return fstatat(bs->blobs_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_size == size;
}

/* deferred_open opens a file still waiting under its temporary name
 * (blob_write_defer); -1 when hash is not waiting. */
static int deferred_open(struct blob_store *bs, const char *hash)
{
	for (size_t i = bs->deferred_count; i-- > 0;) {
		const struct blob_pending *p = &bs->deferred[i];
		if (p->tmp[0] != '\0' && strcmp(p->hash, hash) == 0)
			return openat(bs->tmp_fd, p->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	/* Being synced beside the loop: under its temporary name until the
	 * sync renames it (the caller then finds it in place). */
	for (size_t i = bs->flight_count; i-- > 0;) {
		const struct blob_pending *p = &bs->flight[i];
		if (p->tmp[0] != '\0' && strcmp(p->hash, hash) == 0)
			return openat(bs->tmp_fd, p->tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	return -1;
}

/* blob_open: see blob.h. */
int blob_open(struct blob_store *bs, const char *hash, const char **error_r)
{
	char rel[BLOB_REL_PATH_MAX];

	if (!blob_hash_valid(hash))
		return fail(bs, error_r, "store: invalid blob name in database");
	snprintf(rel, sizeof(rel), "%c%c/%s", hash[0], hash[1], hash);
	int fd = openat(bs->blobs_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && (bs->deferred_count > 0 || bs->flight_count > 0)) {
		fd = deferred_open(bs, hash);
		/* Renamed into place between the two opens by the sync beside
		 * the loop: it is there now. */
		if (fd < 0 && bs->flight_count > 0)
			fd = openat(bs->blobs_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			errno = ENOENT;
	}
	if (fd < 0)
		return fail(bs, error_r, "open(blobs/%s) failed: %m", rel);
	return fd;
}

/* blob_remove: see blob.h. */
int blob_remove(struct blob_store *bs, const char *hash, const char **error_r)
{
	char rel[BLOB_REL_PATH_MAX];

	if (!blob_hash_valid(hash))
		return fail(bs, error_r, "store: invalid blob name in database");
	snprintf(rel, sizeof(rel), "%c%c/%s", hash[0], hash[1], hash);
	if (unlinkat(bs->blobs_fd, rel, 0) < 0 && errno != ENOENT)
		return fail(bs, error_r, "unlink(blobs/%s) failed: %m", rel);
	return 0;
}

/* open_dir_stream opens blobs/<name> for reading its entries; NULL with
 * errno (ENOENT: no such directory). */
static DIR *open_dir_stream(struct blob_store *bs, const char *name, int *fd_r)
{
	int fd = open_subdir(bs->blobs_fd, name, false, NULL);
	if (fd < 0)
		return NULL;
	DIR *d = dir_stream(fd);
	if (d == NULL) {
		int saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	*fd_r = fd;
	return d;
}

/* blob_dir_list: see blob.h. */
int blob_dir_list(struct blob_store *bs, unsigned dir, int64_t since, blob_list_fn *fn,
		  void *ctx, const char **error_r)
{
	char name[3];
	struct stat st;
	int fd;

	assert(dir < BLOB_DIRS);
	snprintf(name, sizeof(name), "%02x", dir);
	DIR *d = open_dir_stream(bs, name, &fd);
	if (d == NULL)
		return errno == ENOENT ? 0 : fail(bs, error_r, "open(blobs/%s) failed: %m", name);
	int ret = 0;
	if (fstat(fd, &st) < 0)
		ret = fail(bs, error_r, "fstat(blobs/%s) failed: %m", name);
	else if (since > 0 && (int64_t)st.st_mtime < since)
		goto done; /* nothing added or removed since */
	struct dirent *e;
	while (ret == 0 && (e = readdir(d)) != NULL) {
		if (strlen(e->d_name) != BLOB_HASH_SIZE - 1 || !blob_hash_valid(e->d_name) ||
		    e->d_name[0] != name[0] || e->d_name[1] != name[1])
			continue;
		if (since > 0) {
			if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT)
					continue;
				ret = fail(bs, error_r, "stat(blobs/%s/%s) failed: %m", name,
					   e->d_name);
				break;
			}
			if ((int64_t)st.st_mtime < since)
				continue;
		}
		ret = fn(e->d_name, ctx);
	}
done:
	closedir(d);
	close(fd);
	return ret;
}

/* usage_add adds the regular files of the directory fd to the counts. */
static int usage_add(int fd, uint64_t *files, uint64_t *bytes)
{
	DIR *d = dir_stream(fd);
	if (d == NULL)
		return -1;
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
		    fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		*files += 1;
		*bytes += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return 0;
}

/* blob_usage: see blob.h. */
int blob_usage(struct blob_store *bs, uint64_t *files_r, uint64_t *bytes_r,
	       const char **error_r)
{
	uint64_t files = 0, bytes = 0;

	if (usage_add(bs->tmp_fd, &files, &bytes) < 0)
		return fail(bs, error_r, "reading blobs/tmp failed: %m");
	for (unsigned i = 0; i < BLOB_DIRS; i++) {
		char name[3];
		snprintf(name, sizeof(name), "%02x", i);
		int fd = open_subdir(bs->blobs_fd, name, false, NULL);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return fail(bs, error_r, "open(blobs/%s) failed: %m", name);
		}
		int r = usage_add(fd, &files, &bytes);
		close(fd);
		if (r < 0)
			return fail(bs, error_r, "reading blobs/%s failed: %m", name);
	}
	*files_r = files;
	*bytes_r = bytes;
	return 0;
}
