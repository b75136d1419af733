/*
 * NAME
 *	ravelin-front - the spawner's own executable
 * SYNOPSIS
 *	ravelin-front --role spawner --index N     (started by master only)
 * DESCRIPTION
 *	The spawner forks one pre-auth process per connection, so what it
 *	has mapped is copied (page tables, copy-on-write pages) and torn
 *	down again for every client.  This executable links only what the
 *	network front needs (OpenSSL, libsodium, libseccomp and the
 *	protocol parsers), not the store's libraries (SQLite, ICU, libical,
 *	libunbound...) that `ravelin` carries for the other roles: each fork
 *	copies fewer mappings and each child touches fewer pages.  See
 *	docs/design-notes.md, "A slim executable for the front".
 * SECURITY
 *	Like `ravelin --role`: it runs only with the descriptors master sets
 *	up, and refuses to start without them.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "front/spawner.h"
#include "lib/process.h"
#include "lib/str.h"

int main(int argc, char **argv)
{
	uint64_t n = 0;
	struct stat st;

	process_set_argv(argc, argv);
	if (fstat(PROCESS_FD_MASTER, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "ravelin-front: started by 'ravelin serve' only\n");
		return 2;
	}
	if (argc != 5 || strcmp(argv[1], "--role") != 0 || strcmp(argv[2], "spawner") != 0 ||
	    strcmp(argv[3], "--index") != 0 || str_to_u64(str_c(argv[4]), UINT32_MAX, &n) < 0) {
		fprintf(stderr, "ravelin-front: usage: ravelin-front --role spawner --index N\n");
		return 2;
	}
	return spawner_main((unsigned)n);
}
