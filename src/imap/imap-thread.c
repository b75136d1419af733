/*
 * imap-thread: THREAD=REFERENCES and THREAD=ORDEREDSUBJECT (RFC 5256
 * section 3) over records (see imap-thread.h).
 *
 * The tree is an array of nodes linked by index (parent, first and last
 * child, previous and next sibling), so a node can be moved in constant
 * time and the array can grow without dangling pointers.  Dummy messages
 * are nodes without a message.  REFERENCES step 1 runs as each message is
 * added (it depends only on the messages before it); steps 2-6 run in
 * imap_thread_write, each a loop over the array or an explicit stack.
 */
#include "imap-thread.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <sodium.h>

#include "imap-sort.h"
#include "lib/pool.h"

#define NONE UINT32_MAX
/* Dummies allowed on top of the per-message average, so that a small
 * folder of replies whose originals are elsewhere still threads fully. */
#define THREAD_DUMMIES_BASE 1024
/* The ID table starts with this many slots and doubles at half full. */
#define THREAD_SLOTS_MIN 256

struct thread_node {
	const char *id;          /* Message-ID in t->ids; NULL when it has none */
	uint32_t id_len;
	uint32_t parent, first_child, last_child, prev, next;
	uint32_t uid, seq;
	int64_t date;
	size_t subject_off;      /* collation key of the base subject in t->subjects */
	uint32_t subject_len;
	bool dummy;
	bool refwd;              /* the subject marks a reply or forward */
};

/* One slot of the Message-ID table (open addressing, linear probing). */
struct id_slot {
	uint64_t hash;
	uint32_t node;           /* NONE: empty */
};

struct imap_thread {
	enum imap_thread_algorithm algorithm;
	size_t max_messages, messages;
	size_t max_nodes, dummies, max_dummies;
	struct thread_node *nodes;
	size_t node_count, node_cap;
	struct id_slot *slots;
	size_t slot_cap, slot_used;
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	struct pool *ids;        /* Message-ID text */
	struct buf subjects;     /* collation keys, end to end */
	struct buf base;         /* scratch: one base subject */
	uint32_t last_seq;
	bool written;
};

/* ---------- nodes and links ---------- */

/* node_new appends an unlinked node; NONE when the bound or memory is hit. */
static uint32_t node_new(struct imap_thread *t)
{
	if (t->node_count >= t->max_nodes)
		return NONE;
	if (t->node_count == t->node_cap) {
		size_t cap = t->node_cap < 64 ? 64 : t->node_cap * 2;
		if (cap > t->max_nodes)
			cap = t->max_nodes;
		struct thread_node *nodes = realloc(t->nodes, cap * sizeof(*nodes));
		if (nodes == NULL)
			return NONE;
		t->nodes = nodes;
		t->node_cap = cap;
	}
	uint32_t n = (uint32_t)t->node_count++;
	t->nodes[n] = (struct thread_node){
		.parent = NONE, .first_child = NONE, .last_child = NONE, .prev = NONE, .next = NONE,
	};
	return n;
}

/* link_child makes c (unlinked) the last child of p. */
static void link_child(struct imap_thread *t, uint32_t p, uint32_t c)
{
	struct thread_node *pn = &t->nodes[p], *cn = &t->nodes[c];

	assert(cn->parent == NONE && p != c);
	cn->parent = p;
	cn->prev = pn->last_child;
	cn->next = NONE;
	if (pn->last_child != NONE)
		t->nodes[pn->last_child].next = c;
	else
		pn->first_child = c;
	pn->last_child = c;
}

/* link_before makes c (unlinked) a child of before's parent, just ahead
 * of before. */
static void link_before(struct imap_thread *t, uint32_t c, uint32_t before)
{
	struct thread_node *bn = &t->nodes[before], *cn = &t->nodes[c];
	uint32_t p = bn->parent;

	assert(cn->parent == NONE && p != NONE);
	cn->parent = p;
	cn->next = before;
	cn->prev = bn->prev;
	if (bn->prev != NONE)
		t->nodes[bn->prev].next = c;
	else
		t->nodes[p].first_child = c;
	bn->prev = c;
}

/* unlink_node detaches c from its parent (a no-op without one). */
static void unlink_node(struct imap_thread *t, uint32_t c)
{
	struct thread_node *cn = &t->nodes[c];
	uint32_t p = cn->parent;

	if (p == NONE)
		return;
	if (cn->prev != NONE)
		t->nodes[cn->prev].next = cn->next;
	else
		t->nodes[p].first_child = cn->next;
	if (cn->next != NONE)
		t->nodes[cn->next].prev = cn->prev;
	else
		t->nodes[p].last_child = cn->prev;
	cn->parent = cn->prev = cn->next = NONE;
}

/*
 * in_subtree: is a inside the subtree of b (a == b included)?  Climbs at
 * most IMAP_THREAD_MAX_DEPTH parents; a deeper chain answers yes, which
 * refuses the link the caller asks about (see imap-thread.h).
 */
static bool in_subtree(const struct imap_thread *t, uint32_t a, uint32_t b)
{
	for (unsigned steps = 0; a != NONE; steps++) {
		if (a == b || steps == IMAP_THREAD_MAX_DEPTH)
			return true;
		a = t->nodes[a].parent;
	}
	return false;
}

/* ---------- the Message-ID table ---------- */

static uint64_t id_hash(const struct imap_thread *t, struct str id)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)id.ptr, id.len, t->hash_key);
	memcpy(&v, h, sizeof(v));
	return v;
}

/* id_lookup finds the node with this Message-ID (case-sensitive, RFC
 * 5256), or NONE. */
static uint32_t id_lookup(const struct imap_thread *t, struct str id, uint64_t hash)
{
	if (t->slot_cap == 0)
		return NONE;
	for (size_t i = hash & (t->slot_cap - 1);; i = (i + 1) & (t->slot_cap - 1)) {
		const struct id_slot *s = &t->slots[i];
		if (s->node == NONE)
			return NONE;
		const struct thread_node *n = &t->nodes[s->node];
		if (s->hash == hash && n->id_len == id.len && memcmp(n->id, id.ptr, id.len) == 0)
			return s->node;
	}
}

/* slot_put places node in the table without growing it. */
static void slot_put(struct id_slot *slots, size_t cap, uint64_t hash, uint32_t node)
{
	size_t i = hash & (cap - 1);
	while (slots[i].node != NONE)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].node = node;
}

/* id_insert gives node (unnamed) the Message-ID id, copied, and enters it
 * in the table.  Returns 0, or -1 when memory is exhausted. */
static int id_insert(struct imap_thread *t, uint32_t node, struct str id, uint64_t hash)
{
	if ((t->slot_used + 1) * 2 > t->slot_cap) {
		size_t cap = t->slot_cap == 0 ? THREAD_SLOTS_MIN : t->slot_cap * 2;
		struct id_slot *slots = malloc(cap * sizeof(*slots));
		if (slots == NULL)
			return -1;
		for (size_t i = 0; i < cap; i++)
			slots[i].node = NONE;
		for (size_t i = 0; i < t->slot_cap; i++)
			if (t->slots[i].node != NONE)
				slot_put(slots, cap, t->slots[i].hash, t->slots[i].node);
		free(t->slots);
		t->slots = slots;
		t->slot_cap = cap;
	}
	char *copy = pool_strndup(t->ids, id.ptr, id.len);
	if (copy == NULL)
		return -1;
	t->nodes[node].id = copy;
	t->nodes[node].id_len = (uint32_t)id.len;
	slot_put(t->slots, t->slot_cap, hash, node);
	t->slot_used++;
	return 0;
}

/*
 * next_msgid finds the next valid msg-id ("<" left "@" right ">", no white
 * space, at most IMAP_THREAD_MAX_ID octets) in s from *pos; anything
 * between IDs (comments, junk, broken IDs) is skipped.
 */
static bool next_msgid(struct str s, size_t *pos, struct str *id_r)
{
	size_t i = *pos;

	while (i < s.len) {
		if (s.ptr[i] != '<') {
			i++;
			continue;
		}
		size_t j = i + 1;
		bool at = false;
		while (j < s.len && s.ptr[j] != '>' && s.ptr[j] != '<' && s.ptr[j] != ' ' &&
		       s.ptr[j] != '\t' && s.ptr[j] != '\r' && s.ptr[j] != '\n') {
			at |= s.ptr[j] == '@';
			j++;
		}
		if (j < s.len && s.ptr[j] == '>' && at && s.ptr[i + 1] != '@' && s.ptr[j - 1] != '@' &&
		    j + 1 - i <= IMAP_THREAD_MAX_ID) {
			*id_r = str_from(s.ptr + i, j + 1 - i);
			*pos = j + 1;
			return true;
		}
		i = j;
	}
	*pos = i;
	return false;
}

/* ---------- REFERENCES step 1 ---------- */

/*
 * message_node gives the node of a new message: the dummy that stood for
 * its Message-ID, or a new node.  A message without a valid ID, or with
 * one an earlier message has, gets a node of its own that no reference
 * finds (RFC 5256: "assign a unique Message ID").  NONE on failure.
 */
static uint32_t message_node(struct imap_thread *t, struct str message_id)
{
	struct str id;
	size_t pos = 0;

	if (!next_msgid(message_id, &pos, &id))
		return node_new(t);
	uint64_t hash = id_hash(t, id);
	uint32_t n = id_lookup(t, id, hash);
	if (n != NONE && t->nodes[n].dummy) {
		t->nodes[n].dummy = false;
		t->dummies--;
		return n;
	}
	if (n != NONE)
		return node_new(t);
	if ((n = node_new(t)) == NONE || id_insert(t, n, id, hash) < 0)
		return NONE;
	return n;
}

/* ref_node finds or makes (a dummy) the node of a reference; *node_r is
 * NONE when the dummy budget is spent.  Returns -1 on memory failure. */
static int ref_node(struct imap_thread *t, struct str id, uint32_t *node_r)
{
	uint64_t hash = id_hash(t, id);

	*node_r = id_lookup(t, id, hash);
	if (*node_r != NONE || t->dummies >= t->max_dummies)
		return 0;
	uint32_t n = node_new(t);
	if (n == NONE || id_insert(t, n, id, hash) < 0)
		return -1;
	t->nodes[n].dummy = true;
	t->dummies++;
	*node_r = n;
	return 0;
}

/*
 * link_references is step 1 A and B for message node m: the references
 * (References:, else the first ID of In-Reply-To:) are chained parent to
 * child where the child has no parent yet, then m goes under the last
 * one, leaving any parent it had; no link that would make a loop.
 */
static int link_references(struct imap_thread *t, uint32_t m, const struct imap_thread_msg *msg)
{
	struct str refs[IMAP_THREAD_MAX_REFS], id;
	size_t total = 0, pos = 0;

	while (next_msgid(msg->references, &pos, &id))
		refs[total++ % IMAP_THREAD_MAX_REFS] = id;
	pos = 0;
	if (total == 0 && next_msgid(msg->in_reply_to, &pos, &id))
		refs[total++] = id;
	size_t n = total < IMAP_THREAD_MAX_REFS ? total : IMAP_THREAD_MAX_REFS;
	size_t first = total < IMAP_THREAD_MAX_REFS ? 0 : total % IMAP_THREAD_MAX_REFS;

	uint32_t prev = NONE;
	for (size_t k = 0; k < n; k++) {
		uint32_t r;
		if (ref_node(t, refs[(first + k) % IMAP_THREAD_MAX_REFS], &r) < 0)
			return -1;
		if (r == NONE)
			continue;
		/* A: prev becomes r's parent unless r has one or r is above prev. */
		if (prev != NONE && t->nodes[r].parent == NONE && !in_subtree(t, prev, r))
			link_child(t, prev, r);
		prev = r;
	}
	/* B: the last reference is m's parent, whatever m had before. */
	unlink_node(t, m);
	if (prev != NONE && !in_subtree(t, prev, m))
		link_child(t, prev, m);
	return 0;
}

/* ---------- public: new, add, free ---------- */

struct imap_thread *imap_thread_new(enum imap_thread_algorithm algorithm, size_t max_messages)
{
	struct imap_thread *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->algorithm = algorithm;
	t->max_messages = max_messages;
	t->max_dummies = max_messages * IMAP_THREAD_DUMMIES_PER_MESSAGE + THREAD_DUMMIES_BASE;
	/* Messages, step 1 dummies, the root and at most one step 5 dummy
	 * per message; indices stay below NONE. */
	t->max_nodes = 2 * max_messages + t->max_dummies + 1;
	if (max_messages > UINT32_MAX / 8 || t->max_nodes >= NONE)
		t->max_nodes = NONE - 1;
	t->ids = pool_new((max_messages + t->max_dummies) * (IMAP_THREAD_MAX_ID + 16));
	buf_init(&t->subjects, max_messages * IMAP_SORT_KEY_MAX + 1);
	buf_init(&t->base, 4 * IMAP_SORT_KEY_MAX + 1);
	/* A key no sender can predict; without the kernel's randomness the
	 * zero key still threads correctly, only hashes predictably. */
	if (getrandom(t->hash_key, sizeof(t->hash_key), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->hash_key))
		memset(t->hash_key, 0, sizeof(t->hash_key));
	if (t->ids == NULL) {
		imap_thread_free(&t);
		return NULL;
	}
	return t;
}

void imap_thread_free(struct imap_thread **t)
{
	if (*t == NULL)
		return;
	free((*t)->nodes);
	free((*t)->slots);
	pool_free(&(*t)->ids);
	buf_free(&(*t)->subjects);
	buf_free(&(*t)->base);
	free(*t);
	*t = NULL;
}

int imap_thread_add(struct imap_thread *t, const struct imap_thread_msg *msg)
{
	bool refwd;

	assert(!t->written);
	assert(t->messages == 0 || msg->seq > t->last_seq);
	if (t->messages >= t->max_messages)
		return -1;
	buf_reset(&t->base);
	if (imap_sort_base_subject(msg->subject, &t->base, &refwd) < 0)
		return -1;
	size_t off = t->subjects.len;
	if (imap_sort_collate_key(buf_str(&t->base), &t->subjects) < 0)
		return -1;

	uint32_t m = t->algorithm == IMAP_THREAD_REFERENCES ? message_node(t, msg->message_id)
							    : node_new(t);
	if (m == NONE)
		return -1;
	struct thread_node *n = &t->nodes[m];
	n->uid = msg->uid;
	n->seq = msg->seq;
	n->date = msg->sent_date;
	n->subject_off = off;
	n->subject_len = (uint32_t)(t->subjects.len - off);
	n->refwd = refwd;
	if (t->algorithm == IMAP_THREAD_REFERENCES && link_references(t, m, msg) < 0)
		return -1;
	t->messages++;
	t->last_seq = msg->seq;
	return 0;
}

/* ---------- sorting siblings ---------- */

/* dated follows dummies to their first child (a dummy sorts as it). */
static const struct thread_node *dated(const struct imap_thread *t, uint32_t n)
{
	while (t->nodes[n].dummy && t->nodes[n].first_child != NONE)
		n = t->nodes[n].first_child;
	return &t->nodes[n];
}

static int compare_dates(const void *pa, const void *pb, void *ctx)
{
	const struct imap_thread *t = ctx;
	const struct thread_node *a = dated(t, *(const uint32_t *)pa);
	const struct thread_node *b = dated(t, *(const uint32_t *)pb);
	return imap_sort_compare_date(a->date, a->seq, b->date, b->seq);
}

/* sort_children orders p's children by sent date, then sequence number
 * (RFC 5256 2.2); tmp has room for every node. */
static void sort_children(struct imap_thread *t, uint32_t p, uint32_t *tmp)
{
	size_t n = 0;

	for (uint32_t c = t->nodes[p].first_child; c != NONE; c = t->nodes[c].next)
		tmp[n++] = c;
	if (n < 2)
		return;
	qsort_r(tmp, n, sizeof(*tmp), compare_dates, t);
	for (size_t i = 0; i < n; i++)
		unlink_node(t, tmp[i]);
	for (size_t i = 0; i < n; i++)
		link_child(t, p, tmp[i]);
}

static struct str subject_of(const struct imap_thread *t, const struct thread_node *n)
{
	return str_from(t->subjects.data + n->subject_off, n->subject_len);
}

static int compare_subjects(const struct imap_thread *t, const struct thread_node *a,
			    const struct thread_node *b)
{
	struct str x = subject_of(t, a), y = subject_of(t, b);
	size_t n = x.len < y.len ? x.len : y.len;
	int c = n > 0 ? memcmp(x.ptr, y.ptr, n) : 0;
	if (c != 0)
		return c;
	return x.len < y.len ? -1 : x.len > y.len;
}

/* ---------- REFERENCES steps 2-6 ---------- */

/* prune is step 3: children before parents (the reverse of a pre-order
 * walk), dummies without children go, dummies with children give them to
 * their parent, except a dummy under the root with two or more. */
static void prune(struct imap_thread *t, uint32_t root, uint32_t *order)
{
	size_t count = 0, sp = 0;
	uint32_t *stack = order + t->node_count; /* the second half of the array */

	stack[sp++] = root;
	while (sp > 0) {
		uint32_t n = stack[--sp];
		order[count++] = n;
		for (uint32_t c = t->nodes[n].first_child; c != NONE; c = t->nodes[c].next)
			stack[sp++] = c;
	}
	for (size_t i = count; i-- > 0;) {
		uint32_t n = order[i];
		if (n == root || !t->nodes[n].dummy)
			continue;
		uint32_t p = t->nodes[n].parent, first = t->nodes[n].first_child;
		if (first != NONE && p == root && t->nodes[first].next != NONE)
			continue;
		uint32_t c;
		while ((c = t->nodes[n].first_child) != NONE) {
			unlink_node(t, c);
			link_before(t, c, n);
		}
		unlink_node(t, n);
	}
}

/* A top-level thread with a subject, for step 5. */
struct subject_entry {
	uint32_t node;
	uint32_t pos;            /* place among the top-level threads */
	uint32_t subject;        /* the node whose subject it has */
};

static int compare_entries(const void *pa, const void *pb, void *ctx)
{
	const struct imap_thread *t = ctx;
	const struct subject_entry *a = pa, *b = pb;
	int c = compare_subjects(t, &t->nodes[a->subject], &t->nodes[b->subject]);
	if (c != 0)
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* merge_subject is step 5 D for one thread cur and the table's *entry. */
static int merge_subject(struct imap_thread *t, uint32_t *entry, uint32_t cur)
{
	uint32_t e = *entry;
	bool e_dummy = t->nodes[e].dummy, c_dummy = t->nodes[cur].dummy;
	uint32_t c;

	if (e_dummy && c_dummy) {
		while ((c = t->nodes[cur].first_child) != NONE) {
			unlink_node(t, c);
			link_child(t, e, c);
		}
		unlink_node(t, cur);
	} else if (e_dummy) {
		unlink_node(t, cur);
		link_child(t, e, cur);
	} else if (c_dummy) {
		/* Cannot happen (a dummy always wins the table); kept whole. */
		unlink_node(t, e);
		link_child(t, cur, e);
		*entry = cur;
	} else if (t->nodes[cur].refwd && !t->nodes[e].refwd) {
		unlink_node(t, cur);
		link_child(t, e, cur);
	} else {
		uint32_t d = node_new(t);
		if (d == NONE)
			return -1;
		t->nodes[d].dummy = true;
		link_before(t, d, e);
		unlink_node(t, e);
		link_child(t, d, e);
		unlink_node(t, cur);
		link_child(t, d, cur);
		*entry = d;
	}
	return 0;
}

/* gather_subjects is step 5: top-level threads with the same base
 * subject are merged.  Sorting by (subject, place) puts each subject's
 * threads together in the order the RFC's table walk sees them. */
static int gather_subjects(struct imap_thread *t, uint32_t root)
{
	size_t count = 0, pos = 0;

	for (uint32_t n = t->nodes[root].first_child; n != NONE; n = t->nodes[n].next)
		count++;
	struct subject_entry *e = malloc((count + 1) * sizeof(*e));
	if (e == NULL)
		return -1;
	count = 0;
	for (uint32_t n = t->nodes[root].first_child; n != NONE; n = t->nodes[n].next, pos++) {
		const struct thread_node *s = dated(t, n);
		if (s->subject_len == 0)
			continue;
		e[count++] = (struct subject_entry){ n, (uint32_t)pos, (uint32_t)(s - t->nodes) };
	}
	qsort_r(e, count, sizeof(*e), compare_entries, t);
	for (size_t g = 0; g < count;) {
		size_t end = g + 1;
		while (end < count && compare_subjects(t, &t->nodes[e[g].subject],
						       &t->nodes[e[end].subject]) == 0)
			end++;
		/* B, C: the table keeps a dummy over a message, and a message
		 * that is no reply over one that is. */
		uint32_t entry = e[g].node;
		for (size_t i = g + 1; i < end; i++) {
			const struct thread_node *in = &t->nodes[entry], *cur = &t->nodes[e[i].node];
			if (!in->dummy && (cur->dummy || (in->refwd && !cur->refwd)))
				entry = e[i].node;
		}
		for (size_t i = g; i < end; i++) {
			if (e[i].node != entry && merge_subject(t, &entry, e[i].node) < 0) {
				free(e);
				return -1;
			}
		}
		g = end;
	}
	free(e);
	return 0;
}

/* references_tree runs steps 2-6 and gives the root. */
static int references_tree(struct imap_thread *t, uint32_t *tmp, uint32_t *root_r)
{
	size_t messages_and_dummies = t->node_count;
	uint32_t root = node_new(t);

	if (root == NONE)
		return -1;
	t->nodes[root].dummy = true;
	/* Step 2: every node without a parent goes under the root. */
	for (uint32_t n = 0; n < messages_and_dummies; n++)
		if (t->nodes[n].parent == NONE)
			link_child(t, root, n);
	prune(t, root, tmp);
	/* Step 4: top-level threads by date, a dummy by its first child. */
	for (uint32_t n = t->nodes[root].first_child; n != NONE; n = t->nodes[n].next)
		if (t->nodes[n].dummy)
			sort_children(t, n, tmp);
	sort_children(t, root, tmp);
	if (gather_subjects(t, root) < 0)
		return -1;
	/* Step 6: every set of siblings by date; dummies (top level only)
	 * sort by their first child, so the top level goes last. */
	for (uint32_t n = 0; n < t->node_count; n++)
		if (n != root)
			sort_children(t, n, tmp);
	sort_children(t, root, tmp);
	*root_r = root;
	return 0;
}

/* ---------- ORDEREDSUBJECT ---------- */

static int compare_ordered(const void *pa, const void *pb, void *ctx)
{
	const struct imap_thread *t = ctx;
	const struct thread_node *a = &t->nodes[*(const uint32_t *)pa];
	const struct thread_node *b = &t->nodes[*(const uint32_t *)pb];
	int c = compare_subjects(t, a, b);
	return c != 0 ? c : imap_sort_compare_date(a->date, a->seq, b->date, b->seq);
}

/* orderedsubject_tree: messages by (base subject, date); each subject's
 * first message is the parent of the rest; threads by that first date. */
static int orderedsubject_tree(struct imap_thread *t, uint32_t *tmp, uint32_t *root_r)
{
	size_t count = t->node_count;
	uint32_t root = node_new(t);

	if (root == NONE)
		return -1;
	t->nodes[root].dummy = true;
	for (uint32_t n = 0; n < count; n++)
		tmp[n] = n;
	qsort_r(tmp, count, sizeof(*tmp), compare_ordered, t);
	uint32_t leader = NONE;
	for (size_t i = 0; i < count; i++) {
		if (leader != NONE &&
		    compare_subjects(t, &t->nodes[leader], &t->nodes[tmp[i]]) == 0) {
			link_child(t, leader, tmp[i]);
		} else {
			leader = tmp[i];
			link_child(t, root, leader);
		}
	}
	sort_children(t, root, tmp);
	*root_r = root;
	return 0;
}

/* ---------- output ---------- */

static int write_number(const struct imap_thread *t, uint32_t n, bool uid, bool space,
			struct buf *out)
{
	const struct thread_node *node = &t->nodes[n];
	return buf_printf(out, "%s%u", space ? " " : "", (unsigned)(uid ? node->uid : node->seq));
}

/*
 * write_threads writes one thread-list per top-level node (RFC 5256
 * section 4): a chain of only children is "a b c", a node with two or
 * more children ends its list with one nested list per child.  stack
 * holds, per open nested list, the sibling that comes next.
 */
static int write_threads(const struct imap_thread *t, uint32_t root, bool uid, struct buf *out,
			 uint32_t *stack)
{
	for (uint32_t top = t->nodes[root].first_child; top != NONE; top = t->nodes[top].next) {
		if (t->nodes[top].dummy && t->nodes[top].first_child == NONE)
			continue;
		if (buf_putc(out, '(') < 0)
			return -1;
		size_t sp = 0;
		uint32_t cur = top;
		bool wrote = false, more = true;
		while (more) {
			for (;;) {
				const struct thread_node *n = &t->nodes[cur];
				if (!n->dummy) {
					if (write_number(t, cur, uid, wrote, out) < 0)
						return -1;
					wrote = true;
				}
				uint32_t first = n->first_child;
				if (first == NONE)
					break;
				if (t->nodes[first].next == NONE) {
					cur = first;
					continue;
				}
				if ((wrote && buf_putc(out, ' ') < 0) || buf_putc(out, '(') < 0)
					return -1;
				stack[sp++] = t->nodes[first].next;
				cur = first;
				wrote = false;
			}
			more = false;
			while (sp > 0) {
				if (buf_putc(out, ')') < 0)
					return -1;
				uint32_t next = stack[sp - 1];
				if (next != NONE) {
					stack[sp - 1] = t->nodes[next].next;
					if (buf_putc(out, '(') < 0)
						return -1;
					cur = next;
					wrote = false;
					more = true;
					break;
				}
				sp--;
			}
		}
		if (buf_putc(out, ')') < 0)
			return -1;
	}
	return 0;
}

int imap_thread_write(struct imap_thread *t, bool uid, struct buf *out)
{
	assert(!t->written);
	t->written = true;
	if (t->messages == 0)
		return 0;
	/* Room for every node there can be (new dummies and the root
	 * included), twice: prune needs an order and a stack. */
	size_t room = t->node_count + t->messages + 1;
	uint32_t *tmp = malloc(2 * room * sizeof(*tmp));
	uint32_t root;
	int ret = -1;

	if (tmp == NULL)
		return -1;
	if (t->algorithm == IMAP_THREAD_REFERENCES)
		ret = references_tree(t, tmp, &root);
	else
		ret = orderedsubject_tree(t, tmp, &root);
	if (ret == 0) {
		assert(t->node_count <= room);
		ret = write_threads(t, root, uid, out, tmp);
	}
	free(tmp);
	return ret;
}
