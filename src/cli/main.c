/*
 * NAME
 *	ravelin - mail, calendar and contacts server
 * SYNOPSIS
 *	ravelin serve [--config FILE] [--data DIR]
 *	ravelin domain add|del|list [DOMAIN] [--postmaster ADDRESS]
 *	ravelin domain dkim DOMAIN [--rotate | --retire SELECTOR]
 *	ravelin account add|del|passwd|show|list [ADDRESS] [--password-file F]
 *	ravelin account quota ADDRESS SIZE
 *	ravelin alias add|del|list [ALIAS [TARGET...]]
 *	ravelin queue list|show|retry|delete [ID|all] [--bounce]
 *	ravelin config
 *	ravelin --version
 * DESCRIPTION
 *	One binary for the administrator's commands and for every server
 *	process: master re-executes it with --role for each child.
 * SECURITY
 *	The administrative commands act on the data directory directly and
 *	need the rights of its owner.  --role is for master only: a child
 *	expects the descriptors master sets up and refuses to run without.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "cli.h"
#include "cli/cli-version.h"
#include "front/spawner.h"
#include "keys/keys.h"
#include "lib/log.h"
#include "lib/process.h"
#include "lib/sqlite-vfs.h"
#include "lib/str.h"
#include "queue/queue.h"
#include "resolver/resolver.h"
#include "relay/relay.h"
#include "park/park.h"
#include "spam/spam.h"
#include "worker/worker.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ravelin COMMAND [ARGS] [--config FILE] [--data DIR]\n"
		"\n"
		"  serve                           run the server (foreground; Ctrl-C stops it)\n"
		"  domain add|del DOMAIN           add or remove a mail domain; postmaster@DOMAIN\n"
		"                                  goes to --postmaster ADDRESS, else to the\n"
		"                                  domain's first account\n"
		"  domain list\n"
		"  domain dkim DOMAIN [--rotate | --retire SELECTOR]\n"
		"                                  make DOMAIN's DKIM keys (RSA and Ed25519) and print\n"
		"                                  the DNS records to publish (DKIM, SPF, DMARC,\n"
		"                                  MTA-STS); --rotate adds newer keys\n"
		"  account add ADDRESS             add an account (password from the terminal,\n"
		"                                  --password-file F, or standard input)\n"
		"  account passwd ADDRESS          set a new password\n"
		"  account del ADDRESS             remove an account (its mail is kept aside)\n"
		"  account show ADDRESS            mailboxes with message counts, sizes, quota\n"
		"  account quota ADDRESS SIZE      storage quota, e.g. 500M, 2G or none\n"
		"  account list\n"
		"  alias add ALIAS TARGET...       deliver ALIAS to local addresses;\n"
		"                                  ALIAS '@domain' catches all unknown users\n"
		"  alias del ALIAS\n"
		"  alias list\n"
		"  queue list                      mail accepted but not yet delivered\n"
		"  queue show ID                   its envelope and each recipient's state\n"
		"  queue retry ID|all              try now (on a running server)\n"
		"  queue delete ID [--bounce]      remove it; the sender told only with --bounce\n"
		"  config                          list the configuration keys and defaults\n"
		"\n"
		"  --version                       print the version\n"
		"\n"
		"--data DIR (default ./data) and --config FILE work with every command.\n"
		"The data folder must exist: 'ravelin serve' makes it on its first start,\n"
		"and so does 'ravelin domain add', the first step of a set-up.\n");
}

static int run_role(int argc, char **argv)
{
	const char *role = argv[2];
	uint64_t n = 0;

	/* A role runs only under master: the link must be there. */
	struct stat st;
	if (fstat(PROCESS_FD_MASTER, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "ravelin: --role is started by 'ravelin serve' only\n");
		return 2;
	}
	if (argc == 5 && str_to_u64(str_c(argv[4]), UINT32_MAX, &n) < 0)
		return 2;
	/* The roles' databases are opened relative to DATA (process_child_init
	 * enters it).  Here, not in process_child_init: the spawners'
	 * executable (ravelin-front) links no SQLite. */
	if (sqlite_vfs_keep_relative() < 0) {
		fprintf(stderr, "ravelin: setting up SQLite for relative paths failed\n");
		return 1;
	}
	if (strcmp(role, "spawner") == 0 && argc == 5 && strcmp(argv[3], "--index") == 0)
		return spawner_main((unsigned)n);
	if (strcmp(role, "auth") == 0 && argc == 3)
		return auth_main();
	if (strcmp(role, "keys") == 0 && argc == 3)
		return keys_main();
	if (strcmp(role, "queue") == 0 && argc == 3)
		return queue_main();
	if (strcmp(role, "resolver") == 0 && argc == 3)
		return resolver_main();
	if (strcmp(role, "relay") == 0 && argc == 3)
		return relay_main();
	if (strcmp(role, "spam") == 0 && argc == 3)
		return spam_main();
	if (strcmp(role, "park") == 0 && argc == 3)
		return park_main();
	if (strcmp(role, "worker") == 0 && argc == 5 && strcmp(argv[3], "--account") == 0 && n > 0)
		return worker_main(n);
	fprintf(stderr, "ravelin: unknown role\n");
	return 2;
}

/* take_options removes --config, --data, --password-file and --postmaster (anywhere on
 * the line) into opts; returns the remaining argc, or -1 (printed) for an
 * option it does not know or one without its value. */
static int take_options(int argc, char **argv, struct cli_options *opts)
{
	int out = 0;
	for (int i = 0; i < argc; i++) {
		const char **slot = NULL;
		if (strcmp(argv[i], "--bounce") == 0) {
			opts->bounce = true;   /* queue delete */
			continue;
		}
		if (strcmp(argv[i], "--config") == 0)
			slot = &opts->config_path;
		else if (strcmp(argv[i], "--data") == 0)
			slot = &opts->data;
		else if (strcmp(argv[i], "--password-file") == 0)
			slot = &opts->password_file;
		else if (strcmp(argv[i], "--postmaster") == 0)
			slot = &opts->postmaster;
		else if (strcmp(argv[i], "--retire") == 0)
			slot = &opts->retire;
		if (strcmp(argv[i], "--rotate") == 0) {
			opts->rotate = true;
			continue;
		}
		if (slot == NULL && argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "ravelin: unknown option '%s'\n", argv[i]);
			return -1;
		}
		if (slot == NULL) {
			argv[out++] = argv[i];
			continue;
		}
		if (i + 1 == argc) {
			fprintf(stderr, "ravelin: %s needs a value\n", argv[i]);
			return -1;
		}
		*slot = argv[++i];
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	struct cli_options opts = { 0 };

	process_set_argv(argc, argv);
	if (argc >= 3 && strcmp(argv[1], "--role") == 0)
		return run_role(argc, argv);
	log_init("ravelin");
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("ravelin %s\n", RAVELIN_VERSION);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	argc = take_options(argc, argv, &opts);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "config") == 0 && argc == 2) {
		config_describe(STDOUT_FILENO);
		return 0;
	}
	/* Only these make the data folder; every other command refuses one
	 * that does not exist rather than act on an empty one. */
	bool makes_data = (strcmp(cmd, "serve") == 0 && argc == 2) ||
			  (strcmp(cmd, "domain") == 0 && argc == 4 && strcmp(argv[2], "add") == 0);
	if (cli_load_config(&opts, makes_data) < 0)
		return 1;
	if (strcmp(cmd, "serve") == 0 && argc == 2)
		return cli_serve(&opts);
	if (strcmp(cmd, "domain") == 0)
		return cli_domain(&opts, argc - 2, argv + 2);
	if (strcmp(cmd, "account") == 0)
		return cli_account(&opts, argc - 2, argv + 2);
	if (strcmp(cmd, "alias") == 0)
		return cli_alias(&opts, argc - 2, argv + 2);
	if (strcmp(cmd, "queue") == 0)
		return cli_queue(&opts, argc - 2, argv + 2);
	usage(stderr);
	return 2;
}
