#ifndef RAVELIN_CONNCOUNT_H
#define RAVELIN_CONNCOUNT_H
/*
 * conncount: connections per client address, counted across all spawners
 * (called fronts here).  Master makes a shared memory table (a memfd) with
 * one row per front; each front adds and removes only in its own row and
 * checks the sum of all rows.  A front that dies leaves its row behind; the
 * front that replaces it clears the row first, so nothing leaks.  Processes
 * a front forks do not get the table.  Addresses are hashed
 * into slots: two addresses in one slot share a count (stricter, never
 * looser).  Two fronts racing for an address's last place may both get it,
 * so the limit can be passed by at most the number of fronts minus one.
 */
#include <stdbool.h>
#include <stdint.h>

/* Slots per row: collisions stay rare for thousands of client addresses. */
#define CONNCOUNT_SLOTS 16384
/* Rows: one per front (config front.processes is at most this). */
#define CONNCOUNT_MAX_FRONTS 64

struct conncount;

/* conncount_create makes the table for fronts rows; returns its fd or -1. */
int conncount_create(unsigned fronts);
/* conncount_attach maps the table (fd stays the caller's) as front index,
 * clearing that front's row; NULL on failure. */
struct conncount *conncount_attach(int fd, unsigned fronts, unsigned index);
/* conncount_detach unmaps the table and sets *cc to NULL. */
void conncount_detach(struct conncount **cc);
/* conncount_slot gives the slot of a client address (text). */
uint32_t conncount_slot(const char *ip);
/* conncount_acquire counts one more connection in slot unless all fronts
 * together hold limit already; true if counted. */
bool conncount_acquire(struct conncount *cc, uint32_t slot, unsigned limit);
void conncount_release(struct conncount *cc, uint32_t slot);
/* conncount_held is the connections all fronts together hold in slot. */
unsigned conncount_held(const struct conncount *cc, uint32_t slot);

#endif
