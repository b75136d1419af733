/* worker-spam: training the spam filter from Junk moves (see
 * worker-spam.h).  The worker's link to spam carries IPC_SPAM_LEARN and
 * nothing else: spam closes it on any other kind, and never sends on it. */
#include "worker-spam.h"

#include <fcntl.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/log.h"

static struct ipc *spam_link;

static void spam_message(struct ipc *ipc, const struct ipc_msg *msg, void *ctx)
{
	(void)ctx;
	spam_link = NULL;
	ipc_reject(&ipc, msg);
}

static void spam_closed(struct ipc *ipc, void *ctx)
{
	(void)ipc;
	(void)ctx;
	spam_link = NULL;
}

/* worker_spam_link: see worker-spam.h. */
void worker_spam_link(struct ev *ev, const struct ipc_msg *msg)
{
	struct ipc_reader r;
	ipc_reader_init(&r, msg);
	uint64_t role = ipc_get_u64(&r);
	(void)ipc_get_u64(&r); /* its index */
	if (!ipc_reader_ok(&r) || role != IPC_ROLE_SPAM || msg->fd < 0) {
		if (msg->fd >= 0)
			close(msg->fd);
		return;
	}
	if (spam_link != NULL)
		ipc_close(&spam_link);
	spam_link = ipc_new(ev, msg->fd, "spam", spam_message, spam_closed, NULL);
	if (spam_link == NULL)
		close(msg->fd);
}

/* is_junk: the mailbox with the \Junk special use, or one named Junk. */
static bool is_junk(struct store *store, const char *name)
{
	struct store_mailbox box;
	const char *error;
	if (strcasecmp(name, "Junk") == 0)
		return true;
	if (store_mailbox_get(store, name, &box, &error) != STORE_OK)
		return false;
	bool junk = box.special_use == STORE_SPECIAL_JUNK;
	free(box.name);
	return junk;
}

/* message_memfd copies one message into a sealed memfd; -1 on failure. */
static int message_memfd(struct store *store, const char *mailbox, uint32_t uid)
{
	struct store_reader *reader;
	uint64_t size, off = 0;
	const char *error;
	char chunk[16384];

	if (store_reader_open(store, mailbox, uid, &reader, &size, &error) != STORE_OK)
		return -1;
	int fd = memfd_create("ravelin-learn", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	while (fd >= 0 && off < size) {
		size_t got;
		if (store_reader_read(reader, off, chunk, sizeof(chunk), &got, &error) != STORE_OK ||
		    got == 0 || io_write_all(fd, chunk, got) < 0) {
			close(fd);
			fd = -1;
			break;
		}
		off += got;
	}
	store_reader_close(&reader);
	if (fd >= 0 &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* worker_spam_copied: see worker-spam.h. */
void worker_spam_copied(void *ctx, struct store *store, const char *from, const char *to,
			const uint32_t *uids, size_t count)
{
	(void)ctx;
	if (spam_link == NULL)
		return;
	bool into = is_junk(store, to), out_of = is_junk(store, from);
	if (into == out_of)
		return;
	uint64_t spam = into ? 1 : 0;
	size_t sent = 0;
	for (size_t i = 0; i < count && i < WORKER_SPAM_MAX_LEARN && spam_link != NULL; i++) {
		int fd = message_memfd(store, to, uids[i]);
		if (fd < 0)
			continue;
		if (ipc_send(spam_link, IPC_SPAM_LEARN, 0, &spam, sizeof(spam), fd) == 0)
			sent++;
		close(fd);
	}
	log_info("%zu of %zu messages sent to be learnt as %s", sent, count, spam ? "spam" : "ham");
}
