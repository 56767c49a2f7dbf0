// SPDX-License-Identifier: GPL-2.0
/* Fixed-record hash table for the control-plane caches (see table.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl/table.h"

struct ctrl_record {
	struct ctrl_record *next;
	unsigned char data[];
};

#define CTRL_TABLE_MIN_BUCKETS 64

static size_t key_hash(const struct ctrl_table *t, const void *key)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < t->key_len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h & (t->nbuckets - 1);
}

int ctrl_table_init(struct ctrl_table *t, size_t key_len, size_t record_len)
{
	t->key_len = key_len;
	t->record_len = record_len;
	t->nbuckets = CTRL_TABLE_MIN_BUCKETS;
	t->count = 0;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

void ctrl_table_clear(struct ctrl_table *t)
{
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct ctrl_record *r = t->buckets[i];

			t->buckets[i] = r->next;
			free(r);
		}
	}
	t->count = 0;
}

void ctrl_table_fini(struct ctrl_table *t)
{
	ctrl_table_clear(t);
	free(t->buckets);
	t->buckets = NULL;
}

static struct ctrl_record **slot_of(const struct ctrl_table *t, const void *key)
{
	struct ctrl_record **pp = &t->buckets[key_hash(t, key)];

	while (*pp && memcmp((*pp)->data, key, t->key_len))
		pp = &(*pp)->next;
	return pp;
}

void *ctrl_table_find(const struct ctrl_table *t, const void *key)
{
	struct ctrl_record *r = *slot_of(t, key);

	return r ? r->data : NULL;
}

/* Doubles the bucket array when the load passes 1; failure is harmless. */
static void maybe_grow(struct ctrl_table *t)
{
	size_t old_n = t->nbuckets, i;
	struct ctrl_record **old = t->buckets;

	if (t->count < old_n)
		return;
	t->buckets = calloc(old_n * 2, sizeof(*t->buckets));
	if (!t->buckets) {
		t->buckets = old;
		return;
	}
	t->nbuckets = old_n * 2;
	for (i = 0; i < old_n; i++) {
		while (old[i]) {
			struct ctrl_record *r = old[i];
			size_t b = key_hash(t, r->data);

			old[i] = r->next;
			r->next = t->buckets[b];
			t->buckets[b] = r;
		}
	}
	free(old);
}

int ctrl_table_put(struct ctrl_table *t, const void *record)
{
	struct ctrl_record **pp = slot_of(t, record);

	if (!*pp) {
		*pp = calloc(1, sizeof(**pp) + t->record_len);
		if (!*pp)
			return -ENOMEM;
		t->count++;
	}
	memcpy((*pp)->data, record, t->record_len);
	maybe_grow(t);
	return 0;
}

int ctrl_table_del(struct ctrl_table *t, const void *key)
{
	struct ctrl_record **pp = slot_of(t, key), *r = *pp;

	if (!r)
		return 0;
	*pp = r->next;
	free(r);
	t->count--;
	return 1;
}

int ctrl_table_each(const struct ctrl_table *t, int (*fn)(const void *record, void *arg),
		    void *arg)
{
	size_t i;
	int ret;

	for (i = 0; i < t->nbuckets; i++) {
		const struct ctrl_record *r;

		for (r = t->buckets[i]; r; r = r->next) {
			ret = fn(r->data, arg);
			if (ret)
				return ret;
		}
	}
	return 0;
}
