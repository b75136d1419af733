/* conncount: per-address connection counts shared by fronts (see conncount.h). */
#include "conncount.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct conncount {
	uint16_t *table;     /* fronts rows of CONNCOUNT_SLOTS */
	unsigned fronts;
	unsigned index;
	size_t size;
};

static size_t table_size(unsigned fronts)
{
	return (size_t)fronts * CONNCOUNT_SLOTS * sizeof(uint16_t);
}

int conncount_create(unsigned fronts)
{
	if (fronts == 0 || fronts > CONNCOUNT_MAX_FRONTS)
		return -1;
	int fd = memfd_create("ravelin-conncount", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)table_size(fronts)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct conncount *conncount_attach(int fd, unsigned fronts, unsigned index)
{
	if (fronts == 0 || fronts > CONNCOUNT_MAX_FRONTS || index >= fronts)
		return NULL;
	struct conncount *cc = calloc(1, sizeof(*cc));
	if (cc == NULL)
		return NULL;
	cc->size = table_size(fronts);
	cc->table = mmap(NULL, cc->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	/* A process forked from the spawner (a pre-auth process) must not
	 * get the table: one could then refuse every address, or none. */
	if (cc->table != MAP_FAILED && madvise(cc->table, cc->size, MADV_DONTFORK) < 0) {
		munmap(cc->table, cc->size);
		cc->table = MAP_FAILED;
	}
	if (cc->table == MAP_FAILED) {
		free(cc);
		return NULL;
	}
	cc->fronts = fronts;
	cc->index = index;
	/* This front's earlier life may have died holding counts. */
	uint16_t *row = cc->table + (size_t)index * CONNCOUNT_SLOTS;
	for (size_t i = 0; i < CONNCOUNT_SLOTS; i++)
		__atomic_store_n(&row[i], 0, __ATOMIC_RELAXED);
	return cc;
}

void conncount_detach(struct conncount **ccp)
{
	if (*ccp == NULL)
		return;
	munmap((*ccp)->table, (*ccp)->size);
	free(*ccp);
	*ccp = NULL;
}

uint32_t conncount_slot(const char *ip)
{
	uint32_t h = 2166136261u;
	while (*ip != '\0')
		h = (h ^ (unsigned char)*ip++) * 16777619u;
	return h % CONNCOUNT_SLOTS;
}

unsigned conncount_held(const struct conncount *cc, uint32_t slot)
{
	unsigned sum = 0;
	for (unsigned f = 0; f < cc->fronts; f++)
		sum += __atomic_load_n(&cc->table[(size_t)f * CONNCOUNT_SLOTS + slot],
				       __ATOMIC_RELAXED);
	return sum;
}

bool conncount_acquire(struct conncount *cc, uint32_t slot, unsigned limit)
{
	unsigned sum = conncount_held(cc, slot);
	uint16_t *own = &cc->table[(size_t)cc->index * CONNCOUNT_SLOTS + slot];
	if (sum >= limit || __atomic_load_n(own, __ATOMIC_RELAXED) == UINT16_MAX)
		return false;
	__atomic_add_fetch(own, 1, __ATOMIC_RELAXED);
	return true;
}

void conncount_release(struct conncount *cc, uint32_t slot)
{
	uint16_t *own = &cc->table[(size_t)cc->index * CONNCOUNT_SLOTS + slot];
	if (__atomic_load_n(own, __ATOMIC_RELAXED) > 0)
		__atomic_sub_fetch(own, 1, __ATOMIC_RELAXED);
}
