/* blob: message files named by content hash (see blob.h). */
#include "blob.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* open_subdir opens name below parent as a directory (creating it with mode
 * 0700 if create is set; *created_r says whether it was made now).  Returns
 * the descriptor or -1 with errno. */
static int open_subdir(int parent, const char *name, bool create, bool *created_r)
{
	bool created = false;

	if (create) {
		if (mkdirat(parent, name, 0700) == 0)
			created = true;
		else if (errno != EEXIST)
			return -1;
	}
	if (created_r != NULL)
		*created_r = created;
	return openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/* remove_stale_tmp unlinks the temporaries older than the stale age.  Errors
 * are ignored: a leftover costs disk space, never correctness. */
static void remove_stale_tmp(struct blob_store *bs)
{
	int fd = dup(bs->tmp_fd);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
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

/* write_all writes every byte of iov to fd, resuming short writes.
 * Returns 0, or -1 with errno. */
static int write_all(int fd, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left > 0) {
			ssize_t n = write(fd, p, left);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			p += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

/* write_tmp writes the content to a new file in blobs/tmp and fsyncs it;
 * the name goes to name_r.  Returns 0, or -1 with the error in bs. */
static int write_tmp(struct blob_store *bs, const struct iovec *iov, int iovcnt,
		     char name_r[BLOB_TMP_NAME_MAX], const char **error_r)
{
	/* Unique among this account's writers: time, pid and a counter. */
	snprintf(name_r, BLOB_TMP_NAME_MAX, "%llx.%ld.%u", (unsigned long long)time(NULL),
		 (long)getpid(), bs->counter++);
	int fd = openat(bs->tmp_fd, name_r, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			0600);
	if (fd < 0)
		return fail(bs, error_r, "open(blobs/tmp/%s) failed: %m", name_r);
	if (write_all(fd, iov, iovcnt) < 0) {
		fail(bs, error_r, "write(blobs/tmp/%s) failed: %m", name_r);
		goto failed;
	}
	if (fsync(fd) < 0) {
		fail(bs, error_r, "fsync(blobs/tmp/%s) failed: %m", name_r);
		goto failed;
	}
	if (close(fd) < 0) {
		fd = -1;
		fail(bs, error_r, "close(blobs/tmp/%s) failed: %m", name_r);
		goto failed;
	}
	return 0;
failed:
	if (fd >= 0)
		close(fd);
	unlinkat(bs->tmp_fd, name_r, 0);
	return -1;
}

/* blob_write: see blob.h. */
int blob_write(struct blob_store *bs, const char *hash, uint64_t size,
	       const struct iovec *iov, int iovcnt, const char **error_r)
{
	char dir_name[3] = { hash[0], hash[1], '\0' };
	char rel[BLOB_REL_PATH_MAX];
	char tmp_name[BLOB_TMP_NAME_MAX];
	bool created;
	struct stat st;
	int ret = -1;

	assert(blob_hash_valid(hash));
	snprintf(rel, sizeof(rel), "%s/%s", dir_name, hash);
	int dir_fd = open_subdir(bs->blobs_fd, dir_name, true, &created);
	if (dir_fd < 0)
		return fail(bs, error_r, "open(blobs/%s) failed: %m", dir_name);

	if (fstatat(dir_fd, hash, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == size) {
		/* Same hash, same size: the same content, complete (only
		 * fsynced files are ever renamed into place).  Its entry may
		 * come from a delivery that crashed before the directory
		 * fsync, so that fsync is repeated. */
		if (fsync(dir_fd) < 0)
			fail(bs, error_r, "fsync(blobs/%s) failed: %m", dir_name);
		else
			ret = 0;
		close(dir_fd);
		return ret;
	}

	if (write_tmp(bs, iov, iovcnt, tmp_name, error_r) < 0) {
		close(dir_fd);
		return -1;
	}
	/* rename replaces a damaged file of the wrong size atomically. */
	if (renameat(bs->tmp_fd, tmp_name, dir_fd, hash) < 0) {
		fail(bs, error_r, "rename(blobs/tmp/%s, blobs/%s) failed: %m", tmp_name, rel);
		unlinkat(bs->tmp_fd, tmp_name, 0);
	} else if (fsync(dir_fd) < 0) {
		fail(bs, error_r, "fsync(blobs/%s) failed: %m", dir_name);
	} else if (created && fsync(bs->blobs_fd) < 0) {
		fail(bs, error_r, "fsync(blobs) failed: %m");
	} else {
		ret = 0;
	}
	close(dir_fd);
	return ret;
}

/* blob_open: see blob.h. */
int blob_open(struct blob_store *bs, const char *hash, const char **error_r)
{
	char rel[BLOB_REL_PATH_MAX];

	if (!blob_hash_valid(hash))
		return fail(bs, error_r, "store: invalid blob name in database");
	snprintf(rel, sizeof(rel), "%c%c/%s", hash[0], hash[1], hash);
	int fd = openat(bs->blobs_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fail(bs, error_r, "open(blobs/%s) failed: %m", rel);
	return fd;
}
