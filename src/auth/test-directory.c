/* Unit tests for directory: domains, accounts, aliases, resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth/auth-account.h"
#include "auth/auth-forward.h"
#include "auth/auth-submit.h"
#include "auth/directory.h"
#include "lib/ipc.h"

static char tmpdir[64];

static int setup(void **state)
{
	struct directory *dir;
	const char *error;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ravelin-dir-XXXXXX");
	if (mkdtemp(tmpdir) == NULL || directory_open(tmpdir, true, &dir, &error) < 0)
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	struct directory *dir = *state;
	char cmd[128];
	directory_close(&dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_accounts_and_resolve(void **state)
{
	struct directory *dir = *state;
	const char *error;
	uint64_t id1, id2, ids[8], got;
	size_t n;

	assert_int_equal(directory_domain_add(dir, "Example.ORG", &error), 0);
	assert_int_equal(directory_domain_add(dir, "example.org", &error), -1);
	assert_int_equal(directory_domain_add(dir, "nodot", &error), -1);
	/* An account needs its domain. */
	assert_int_equal(directory_account_add(dir, "a@other.org", STR("pw"), &id1, &error), -1);
	assert_int_equal(directory_account_add(dir, "Alice@example.org", STR("secret"), &id1, &error), 0);
	assert_int_equal(directory_account_add(dir, "bob@example.org", STR("pw2"), &id2, &error), 0);
	assert_int_equal(directory_account_add(dir, "alice@EXAMPLE.org", STR("x"), &got, &error), -1);

	assert_int_equal(directory_resolve(dir, STR("ALICE@example.org"), ids, 8, &n, &error), 1);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], id1);
	/* Plus addressing. */
	assert_int_equal(directory_resolve(dir, STR("alice+lists@example.org"), ids, 8, &n, &error), 1);
	assert_int_equal(ids[0], id1);
	assert_int_equal(directory_resolve(dir, STR("carol@example.org"), ids, 8, &n, &error), 0);

	const char *targets[] = { "alice@example.org", "bob@example.org", "alice@example.org" };
	assert_int_equal(directory_alias_add(dir, "team@example.org", targets, 3, &error), 0);
	assert_int_equal(directory_resolve(dir, STR("team@example.org"), ids, 8, &n, &error), 1);
	assert_int_equal(n, 2);
	/* An alias of an alias. */
	const char *t2[] = { "team@example.org" };
	assert_int_equal(directory_alias_add(dir, "all@example.org", t2, 1, &error), 0);
	assert_int_equal(directory_resolve(dir, STR("all@example.org"), ids, 8, &n, &error), 1);
	assert_int_equal(n, 2);
	/* Targets must exist here, or be elsewhere (forwarded). */
	const char *bad[] = { "nobody@example.org" };
	assert_int_equal(directory_alias_add(dir, "x@example.org", bad, 1, &error), -1);
	/* A mixed alias: accounts here, and addresses elsewhere that only
	 * directory_resolve_forwards names. */
	static struct directory_forwards fw;
	const char *mixed[] = { "team@example.org", "x@elsewhere.net", "X@elsewhere.net" };
	assert_int_equal(directory_alias_add(dir, "mixed@example.org", mixed, 3, &error), 0);
	assert_int_equal(directory_resolve(dir, STR("mixed@example.org"), ids, 8, &n, &error), 1);
	assert_int_equal(n, 2);
	assert_int_equal(directory_resolve_forwards(dir, STR("mixed@example.org"), ids, 8, &n, &fw,
						    &error), 1);
	assert_int_equal(n, 2);
	assert_int_equal(fw.count, 1);
	assert_string_equal(fw.address[0], "x@elsewhere.net");
	const char *away[] = { "y@elsewhere.net" };
	assert_int_equal(directory_alias_add(dir, "away@example.org", away, 1, &error), 0);
	assert_int_equal(directory_resolve(dir, STR("away@example.org"), ids, 8, &n, &error),
			 DIRECTORY_RESOLVE_UNKNOWN);
	assert_int_equal(directory_resolve_forwards(dir, STR("away@example.org"), ids, 8, &n, &fw,
						    &error), DIRECTORY_RESOLVE_FOUND);
	assert_int_equal(n, 0);
	assert_int_equal(fw.count, 1);
	/* DIRECTORY_MAX_FORWARDS remote targets are taken, one more is not. */
	static char many[DIRECTORY_MAX_FORWARDS + 1][32];
	const char *mp[DIRECTORY_MAX_FORWARDS + 1];
	for (int i = 0; i <= DIRECTORY_MAX_FORWARDS; i++) {
		snprintf(many[i], sizeof(many[i]), "r%d@elsewhere.net", i);
		mp[i] = many[i];
	}
	assert_int_equal(directory_alias_add(dir, "many@example.org", mp, DIRECTORY_MAX_FORWARDS,
					     &error), 0);
	assert_int_equal(directory_alias_add(dir, "more@example.org", mp,
					     DIRECTORY_MAX_FORWARDS + 1, &error), -1);
	assert_int_equal(directory_resolve_forwards(dir, STR("more@example.org"), ids, 8, &n, &fw,
						    &error), DIRECTORY_RESOLVE_UNKNOWN);
	/* Catch-all. */
	const char *t3[] = { "bob@example.org" };
	int catchall = directory_alias_add(dir, "@example.org", t3, 1, &error);
	if (catchall != 0)
		fprintf(stderr, "catch-all: %s\n", error);
	assert_int_equal(catchall, 0);
	assert_int_equal(directory_resolve(dir, STR("whoever@example.org"), ids, 8, &n, &error), 1);
	assert_int_equal(ids[0], id2);

	assert_int_equal(directory_verify_password(dir, STR("alice@example.org"), STR("secret"), &got, &error), 1);
	assert_int_equal(got, id1);
	assert_int_equal(directory_verify_password(dir, STR("alice@example.org"), STR("wrong"), &got, &error), 0);
	assert_int_equal(directory_verify_password(dir, STR("nobody@example.org"), STR("x"), &got, &error), 0);

	/* A domain with accounts cannot go. */
	assert_int_equal(directory_domain_del(dir, "example.org", &error), -1);
	assert_int_equal(directory_account_del(dir, "alice@example.org", &got, &error), 0);
	assert_int_equal(got, id1);
	assert_int_equal(directory_resolve(dir, STR("alice@example.org"), ids, 8, &n, &error), 1);
	assert_int_equal(ids[0], id2); /* now caught by the catch-all */
}

static void test_limits(void **state)
{
	struct directory *dir = *state;
	const char *error;
	char out[DIRECTORY_MAX_ADDRESS + 1];
	char addr[DIRECTORY_MAX_ADDRESS + 2];
	uint64_t id;

	/* 254 bytes is the longest address; one more is refused. */
	memset(addr, 'a', sizeof(addr));
	memcpy(addr + DIRECTORY_MAX_ADDRESS - 8, "@abc.org", 8);
	addr[DIRECTORY_MAX_ADDRESS] = '\0';
	assert_int_equal(directory_normalize(str_c(addr), out, &error), 0);
	memset(addr, 'a', sizeof(addr));
	memcpy(addr + DIRECTORY_MAX_ADDRESS + 1 - 8, "@abc.org", 8);
	addr[DIRECTORY_MAX_ADDRESS + 1] = '\0';
	assert_int_equal(directory_normalize(str_c(addr), out, &error), -1);
	assert_int_equal(directory_normalize(STR("a b@c.org"), out, &error), -1);
	assert_int_equal(directory_normalize(STR("nodomain"), out, &error), -1);

	assert_int_equal(directory_domain_add(dir, "loop.org", &error), 0);
	/* Passwords: one past the maximum is refused. */
	char *pw = malloc(DIRECTORY_MAX_PASSWORD + 1);
	memset(pw, 'p', DIRECTORY_MAX_PASSWORD + 1);
	assert_int_equal(directory_account_add(dir, "u@loop.org", str_from(pw, DIRECTORY_MAX_PASSWORD + 1), &id, &error), -1);
	assert_int_equal(directory_account_add(dir, "u@loop.org", str_from(pw, DIRECTORY_MAX_PASSWORD), &id, &error), 0);
	free(pw);

	/* Aliases nested DIRECTORY_MAX_ALIAS_DEPTH deep resolve; one more is
	 * an error, never a loop. */
	char name[64], target[64];
	uint64_t ids[4];
	size_t n;
	for (int i = 0; i <= DIRECTORY_MAX_ALIAS_DEPTH; i++) {
		snprintf(name, sizeof(name), "a%d@loop.org", i);
		snprintf(target, sizeof(target), i == 0 ? "u@loop.org" : "a%d@loop.org", i - 1);
		const char *t[] = { target };
		assert_int_equal(directory_alias_add(dir, name, t, 1, &error), 0);
	}
	snprintf(name, sizeof(name), "a%d@loop.org", DIRECTORY_MAX_ALIAS_DEPTH - 1);
	assert_int_equal(directory_resolve(dir, str_c(name), ids, 4, &n, &error), 1);
	snprintf(name, sizeof(name), "a%d@loop.org", DIRECTORY_MAX_ALIAS_DEPTH);
	assert_int_equal(directory_resolve(dir, str_c(name), ids, 4, &n, &error), -1);
}

/* Relay, loops and postmaster: what the recipient answer tells apart. */
static void test_relay_loops_postmaster(void **state)
{
	struct directory *dir = *state;
	const char *error;
	uint64_t ids[8], first, second;
	size_t n;

	assert_int_equal(directory_domain_add(dir, "here.org", &error), 0);
	assert_int_equal(directory_domain_add(dir, "empty.org", &error), 0);
	/* No account at all: postmaster has nowhere to go yet. */
	assert_int_equal(directory_resolve(dir, STR("postmaster@here.org"), ids, 8, &n, &error),
			 DIRECTORY_RESOLVE_UNKNOWN);
	assert_int_equal(directory_account_add(dir, "zed@here.org", STR("pw"), &first, &error), 0);
	assert_int_equal(directory_account_add(dir, "amy@here.org", STR("pw"), &second, &error), 0);
	assert_int_equal(directory_resolve(dir, STR("someone@elsewhere.net"), ids, 8, &n, &error),
			 DIRECTORY_RESOLVE_NOT_LOCAL);
	assert_int_equal(directory_resolve(dir, STR("nobody@here.org"), ids, 8, &n, &error),
			 DIRECTORY_RESOLVE_UNKNOWN);
	/* postmaster@: the domain's first account, else the server's. */
	assert_int_equal(directory_resolve(dir, STR("PostMaster@here.org"), ids, 8, &n, &error),
			 DIRECTORY_RESOLVE_FOUND);
	assert_true(n == 1 && ids[0] == first);
	assert_int_equal(directory_resolve(dir, STR("postmaster@empty.org"), ids, 8, &n, &error),
			 DIRECTORY_RESOLVE_FOUND);
	assert_true(n == 1 && ids[0] == first);
	/* ... unless the administrator names one. */
	const char *amy[] = { "amy@here.org" };
	assert_int_equal(directory_alias_add(dir, "postmaster@here.org", amy, 1, &error), 0);
	assert_int_equal(directory_resolve(dir, STR("postmaster@here.org"), ids, 8, &n, &error),
			 DIRECTORY_RESOLVE_FOUND);
	assert_true(n == 1 && ids[0] == second);
	/* a -> b, then b -> a: refused when made. */
	const char *to_amy[] = { "amy@here.org" }, *to_b[] = { "b@here.org" },
		   *to_a[] = { "a@here.org" };
	assert_int_equal(directory_alias_add(dir, "b@here.org", to_amy, 1, &error), 0);
	assert_int_equal(directory_alias_add(dir, "a@here.org", to_b, 1, &error), 0);
	assert_int_equal(directory_alias_add(dir, "b@here.org", to_a, 1, &error), -1);
	assert_non_null(strstr(error, "loop"));
	assert_int_equal(directory_resolve(dir, STR("a@here.org"), ids, 8, &n, &error),
			 DIRECTORY_RESOLVE_FOUND);
	/* A catch-all that leads back to itself is refused too. */
	const char *to_c[] = { "c@here.org" };
	assert_int_equal(directory_alias_add(dir, "c@here.org", to_amy, 1, &error), 0);
	assert_int_equal(directory_alias_add(dir, "@here.org", to_c, 1, &error), 0);
	assert_int_equal(directory_alias_add(dir, "@here.org", to_b, 1, &error), 0);
}

/* An alias whose targets are gone leads nowhere: unknown, not a failure
 * to retry. */
static void test_dangling_alias(void **state)
{
	struct directory *dir = *state;
	const char *error;
	uint64_t ids[8], id;
	size_t n;

	assert_int_equal(directory_domain_add(dir, "old.org", &error), 0);
	assert_int_equal(directory_account_add(dir, "u@old.org", STR("pw"), &id, &error), 0);
	const char *to_u[] = { "u@old.org" }, *to_x[] = { "x@old.org" };
	assert_int_equal(directory_alias_add(dir, "x@old.org", to_u, 1, &error), 0);
	assert_int_equal(directory_alias_add(dir, "y@old.org", to_x, 1, &error), 0);
	assert_int_equal(directory_alias_del(dir, "x@old.org", &error), 0);
	assert_int_equal(directory_resolve(dir, STR("y@old.org"), ids, 8, &n, &error),
			 DIRECTORY_RESOLVE_UNKNOWN);
}

/* The senders: the account's address and the aliases leading to it alone
 * (a list alias with another member is not one), each sealed for the
 * serial as a sender (never valid as a recipient seal). */
/* auth_submit_senders (auth-submit.c) over directory_sender_addresses. */
static void test_senders(void **state)
{
	struct directory *dir = *state;
	const char *error;
	uint64_t alice, bob;
	unsigned char key[TICKET_KEY_SIZE] = { 1, 2, 3 };

	assert_int_equal(directory_domain_add(dir, "example.org", &error), 0);
	assert_int_equal(directory_account_add(dir, "alice@example.org", STR("pw"), &alice, &error), 0);
	assert_int_equal(directory_account_add(dir, "bob@example.org", STR("pw"), &bob, &error), 0);
	const char *to_alice[] = { "alice@example.org" };
	const char *to_both[] = { "alice@example.org", "bob@example.org" };
	const char *to_al[] = { "al@example.org" };
	assert_int_equal(directory_alias_add(dir, "al@example.org", to_alice, 1, &error), 0);
	assert_int_equal(directory_alias_add(dir, "a.l@example.org", to_al, 1, &error), 0);
	assert_int_equal(directory_alias_add(dir, "team@example.org", to_both, 2, &error), 0);

	struct buf out;
	buf_init(&out, IPC_MAX_PAYLOAD);
	assert_int_equal(auth_submit_senders(dir, key, 42, alice, 1000, &out, &error), 0);
	struct ipc_msg msg = { .payload = (const unsigned char *)out.data, .len = out.len };
	struct ipc_reader r;
	ipc_reader_init(&r, &msg);
	assert_int_equal(ipc_get_u64(&r), alice);
	assert_int_equal(ipc_get_u64(&r), 1000);
	uint64_t n = ipc_get_u64(&r);
	assert_int_equal(n, 3);
	bool seen_alice = false, seen_al = false, seen_a_l = false;
	for (uint64_t i = 0; i < n; i++) {
		struct str a = ipc_get_str(&r, IPC_MAX_ADDRESS);
		struct str mac = ipc_get_str(&r, TICKET_RCPT_MAC_SIZE);
		seen_alice |= str_eq(a, STR("alice@example.org"));
		seen_al |= str_eq(a, STR("al@example.org"));
		seen_a_l |= str_eq(a, STR("a.l@example.org"));
		assert_false(str_eq(a, STR("team@example.org")));
		struct ticket_rcpt seal = { .serial = 42, .txn = IPC_SENDER_SEAL_TXN, .expires = 1000,
					    .address = a, .accounts = &alice, .account_count = 1 };
		assert_int_equal(ticket_rcpt_check(key, &seal, (const unsigned char *)mac.ptr, mac.len, 999), 0);
		/* Not for another process, nor as a recipient seal. */
		seal.serial = 43;
		assert_int_equal(ticket_rcpt_check(key, &seal, (const unsigned char *)mac.ptr, mac.len, 999), -1);
		seal.serial = 42;
		seal.txn = 0;
		assert_int_equal(ticket_rcpt_check(key, &seal, (const unsigned char *)mac.ptr, mac.len, 999), -1);
	}
	assert_true(ipc_reader_ok(&r));
	assert_true(seen_alice && seen_al && seen_a_l);
	buf_free(&out);

	/* One past IPC_SUBMIT_MAX_SENDERS addresses: the first ones only. */
	for (int i = 0; i < IPC_SUBMIT_MAX_SENDERS - 2; i++) {
		char alias[64];
		snprintf(alias, sizeof(alias), "alice%02d@example.org", i);
		assert_int_equal(directory_alias_add(dir, alias, to_alice, 1, &error), 0);
	}
	buf_init(&out, IPC_MAX_PAYLOAD);
	assert_int_equal(auth_submit_senders(dir, key, 42, alice, 1000, &out, &error), 0);
	msg.payload = (const unsigned char *)out.data;
	msg.len = out.len;
	ipc_reader_init(&r, &msg);
	ipc_get_u64(&r);
	ipc_get_u64(&r);
	assert_int_equal(ipc_get_u64(&r), IPC_SUBMIT_MAX_SENDERS);
	/* The account's own address comes first. */
	assert_true(str_eq(ipc_get_str(&r, IPC_MAX_ADDRESS), STR("alice@example.org")));
	buf_free(&out);

	/* Bob's: his address only (team@ leads to alice too). */
	buf_init(&out, IPC_MAX_PAYLOAD);
	assert_int_equal(auth_submit_senders(dir, key, 42, bob, 1000, &out, &error), 0);
	msg.payload = (const unsigned char *)out.data;
	msg.len = out.len;
	ipc_reader_init(&r, &msg);
	ipc_get_u64(&r);
	ipc_get_u64(&r);
	assert_int_equal(ipc_get_u64(&r), 1);
	assert_true(str_eq(ipc_get_str(&r, IPC_MAX_ADDRESS), STR("bob@example.org")));
	buf_free(&out);
}

/* Bounces to SRS addresses (auth-forward): a valid one at our hostname or
 * one of our domains goes on to its original sender (remote: a forward;
 * ours: its accounts); a damaged or old one, or any without the key, is
 * unknown; one at somebody else's domain is a relay as any. */
static void test_forward_srs(void **state)
{
	struct directory *dir = *state;
	const char *error;
	static struct directory_forwards fw;
	uint64_t ids[8], alice;
	size_t n;
	unsigned char key[SRS_KEY_SIZE] = { 7 };
	char srs[SRS_MAX_ADDRESS + 1];
	const int64_t now = 1000 * 86400;

	assert_int_equal(directory_domain_add(dir, "fwd.org", &error), 0);
	assert_int_equal(directory_account_add(dir, "alice@fwd.org", STR("secret-pass"), &alice,
					       &error), 0);
	assert_int_equal(srs_encode(key, STR("carol@c.test"), STR("mx.fwd.org"), now, srs), 0);
	assert_int_equal(auth_forward_resolve(dir, key, true, "mx.fwd.org", str_c(srs), now, ids, 8,
					      &n, &fw, &error), DIRECTORY_RESOLVE_FOUND);
	assert_int_equal(n, 0);
	assert_int_equal(fw.count, 1);
	assert_string_equal(fw.address[0], "carol@c.test");
	assert_int_equal(auth_forward_resolve(dir, key, false, "mx.fwd.org", str_c(srs), now, ids,
					      8, &n, &fw, &error), DIRECTORY_RESOLVE_UNKNOWN);
	assert_int_equal(auth_forward_resolve(dir, key, true, "mx.fwd.org", str_c(srs),
					      now + (SRS_MAX_AGE_DAYS + 1) * 86400, ids, 8, &n, &fw,
					      &error), DIRECTORY_RESOLVE_UNKNOWN);
	assert_int_equal(fw.count, 0);
	assert_int_equal(auth_forward_resolve(dir, key, true, "other.host", str_c(srs), now, ids, 8,
					      &n, &fw, &error), DIRECTORY_RESOLVE_NOT_LOCAL);
	assert_int_equal(srs_encode(key, STR("alice@fwd.org"), STR("fwd.org"), now, srs), 0);
	assert_int_equal(auth_forward_resolve(dir, key, true, "mx.fwd.org", str_c(srs), now, ids, 8,
					      &n, &fw, &error), DIRECTORY_RESOLVE_FOUND);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], alice);
	assert_int_equal(fw.count, 0);
	srs[5] = srs[5] == 'a' ? 'b' : 'a';
	assert_int_equal(auth_forward_resolve(dir, key, true, "mx.fwd.org", str_c(srs), now, ids, 8,
					      &n, &fw, &error), DIRECTORY_RESOLVE_UNKNOWN);
	/* Not SRS: as directory_resolve_forwards. */
	assert_int_equal(auth_forward_resolve(dir, key, true, "mx.fwd.org", STR("alice@fwd.org"),
					      now, ids, 8, &n, &fw, &error),
			 DIRECTORY_RESOLVE_FOUND);
}

/* account_info gets auth_account_info's answer for account into out and
 * reads it up to its address count (checking id and primary address). */
static uint64_t account_info(struct directory *dir, uint64_t account, const char *primary,
			     struct buf *out, struct ipc_msg *msg, struct ipc_reader *r)
{
	const char *error;
	buf_init(out, IPC_MAX_PAYLOAD);
	assert_int_equal(auth_account_info(dir, account, out, &error), 0);
	*msg = (struct ipc_msg){ .payload = (const unsigned char *)out->data, .len = out->len };
	ipc_reader_init(r, msg);
	assert_int_equal(ipc_get_u64(r), account);
	assert_true(str_eq(ipc_get_str(r, IPC_ACCOUNT_MAX_NAME), str_c(primary)));
	assert_true(str_eq(ipc_get_str(r, IPC_ACCOUNT_MAX_NAME), str_c("")));
	return ipc_get_u64(r);
}

/* auth_account_info (auth-account.c): the account's own address first
 * (the primary, lower case as stored), then the aliases that lead to it
 * alone; a list alias with another member is not the account's. */
static void test_account_info(void **state)
{
	struct directory *dir = *state;
	const char *error;
	uint64_t alice, bob;
	struct buf out;
	struct ipc_msg msg;
	struct ipc_reader r;

	assert_int_equal(directory_domain_add(dir, "example.org", &error), 0);
	assert_int_equal(directory_account_add(dir, "Alice@Example.org", STR("pw"), &alice, &error), 0);
	assert_int_equal(directory_account_add(dir, "bob@example.org", STR("pw"), &bob, &error), 0);
	const char *to_alice[] = { "alice@example.org" };
	const char *to_both[] = { "alice@example.org", "bob@example.org" };
	assert_int_equal(directory_alias_add(dir, "a@example.org", to_alice, 1, &error), 0);
	assert_int_equal(directory_alias_add(dir, "team@example.org", to_both, 2, &error), 0);

	assert_int_equal(account_info(dir, alice, "alice@example.org", &out, &msg, &r), 2);
	assert_true(str_eq(ipc_get_str(&r, IPC_MAX_PATH), str_c("alice@example.org")));
	assert_true(str_eq(ipc_get_str(&r, IPC_MAX_PATH), str_c("a@example.org")));
	assert_true(ipc_reader_ok(&r));
	buf_free(&out);

	/* A deleted account: nothing to tell. */
	uint64_t gone;
	assert_int_equal(directory_account_del(dir, "bob@example.org", &gone, &error), 0);
	buf_init(&out, IPC_MAX_PAYLOAD);
	assert_int_equal(auth_account_info(dir, bob, &out, &error), 1);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

/* IPC_ACCOUNT_MAX_ADDRESSES: the account and as many aliases, one past
 * the limit left out, the primary address still first. */
static void test_account_info_limit(void **state)
{
	struct directory *dir = *state;
	const char *error;
	uint64_t alice;
	char name[64];
	struct buf out;
	struct ipc_msg msg;
	struct ipc_reader r;

	assert_int_equal(directory_domain_add(dir, "example.org", &error), 0);
	assert_int_equal(directory_account_add(dir, "alice@example.org", STR("pw"), &alice, &error), 0);
	const char *to_alice[] = { "alice@example.org" };
	for (int i = 0; i < IPC_ACCOUNT_MAX_ADDRESSES; i++) {
		snprintf(name, sizeof(name), "alias%03d@example.org", i);
		assert_int_equal(directory_alias_add(dir, name, to_alice, 1, &error), 0);
	}
	assert_int_equal(account_info(dir, alice, "alice@example.org", &out, &msg, &r),
			 IPC_ACCOUNT_MAX_ADDRESSES);
	assert_true(str_eq(ipc_get_str(&r, IPC_MAX_PATH), str_c("alice@example.org")));
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accounts_and_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_loops_postmaster, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dangling_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_senders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forward_srs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_info_limit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
