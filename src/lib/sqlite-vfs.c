/* sqlite-vfs: SQLite's unix VFS, keeping relative paths (see sqlite-vfs.h). */
#include "sqlite-vfs.h"

#include <string.h>

#include <sqlite3.h>

static sqlite3_vfs relative_vfs;

/* keep_path is xFullPathname: the name as given, relative or not. */
static int keep_path(sqlite3_vfs *vfs, const char *name, int size, char *out)
{
	(void)vfs;
	size_t n = strlen(name);
	if (size <= 0 || n >= (size_t)size)
		return SQLITE_CANTOPEN;
	memcpy(out, name, n + 1);
	return SQLITE_OK;
}

int sqlite_vfs_keep_relative(void)
{
	if (relative_vfs.zName != NULL)
		return 0;
	if (sqlite3_initialize() != SQLITE_OK)
		return -1;
	sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");
	if (unix_vfs == NULL)
		return -1;
	relative_vfs = *unix_vfs;
	relative_vfs.zName = "ravelin-relative";
	relative_vfs.pNext = NULL;
	relative_vfs.xFullPathname = keep_path;
	return sqlite3_vfs_register(&relative_vfs, 1) == SQLITE_OK ? 0 : -1;
}
