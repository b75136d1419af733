/*
 * relay-tls: a relay child's MTA-STS policy fetch (RFC 8461 3.3) over a
 * connection to mta-sts.<domain> port 443 that it makes itself.  Blocking
 * with a deadline: the child serves one destination, and nothing is sent
 * there before its policy is known.
 */
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "relay/mta-sts-fetch.h"

/* connect_within connects to t within timeout_ms; the socket, or -1. */
static int connect_within(const struct relay_target *t, int timeout_ms)
{
	int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&t->addr, t->addr_len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);
	if (poll(&pfd, 1, timeout_ms) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int relay_tls_fetch_policy(SSL_CTX *ctx, const struct relay_sts_lookup *sts, const char *domain,
			   int connect_timeout_ms, struct mta_sts_policy *p)
{
	if (ctx == NULL || !sts->published)
		return -1;
	if (sts->addr_count == 0)
		log_warn("%s: MTA-STS record (id %s) but no address for mta-sts.%s", domain,
			 sts->id.id, domain);
	for (size_t i = 0; i < sts->addr_count; i++) {
		const char *err = "";
		int fd = connect_within(&sts->addrs[i], connect_timeout_ms);
		if (fd < 0) {
			log_warn("%s: MTA-STS policy host mta-sts.%s: connect failed", domain, domain);
			continue;
		}
		int ok = mta_sts_fetch_run(ctx, fd, str_c(domain), MTA_STS_FETCH_TIMEOUT_MS, p, &err);
		close(fd);
		if (ok == 0) {
			log_info("%s: MTA-STS policy id %s: mode %s, %zu mx, max_age %u", domain,
				 sts->id.id, mta_sts_mode_name(p->mode), p->mx_count, p->max_age);
			return 0;
		}
		log_warn("%s: MTA-STS policy fetch failed: %s", domain, err);
	}
	return -1;
}
