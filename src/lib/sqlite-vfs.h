#ifndef RAVELIN_SQLITE_VFS_H
#define RAVELIN_SQLITE_VFS_H
/*
 * sqlite-vfs: in a child of master, SQLite keeps the relative paths it is
 * given.  Children work inside DATA (entered while they still had the
 * rights they started with) and then run as uids of their own, which the
 * folders above DATA need not let through; SQLite's own unix VFS would turn
 * "accounts/7/store.db" into an absolute path (and resolve its symbolic
 * links) and so walk through those folders again.  This VFS is the unix
 * one with that one step left out.
 */

/* sqlite_vfs_keep_relative makes it SQLite's default; 0 or -1. */
int sqlite_vfs_keep_relative(void);

#endif
