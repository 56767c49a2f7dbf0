/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small hash table of fixed-size records, keyed by their first key_len
 * bytes. The control plane's caches (links, addresses, neighbours) are
 * tables of this kind; they change at control-plane pace, so records are
 * individually allocated.
 */
#ifndef VELO_CTRL_TABLE_H
#define VELO_CTRL_TABLE_H

#include <stddef.h>

struct ctrl_table {
	size_t key_len;
	size_t record_len;
	size_t nbuckets;	/* power of two */
	size_t count;
	struct ctrl_record **buckets;
};

int ctrl_table_init(struct ctrl_table *t, size_t key_len, size_t record_len);
void ctrl_table_fini(struct ctrl_table *t);
void ctrl_table_clear(struct ctrl_table *t);
void *ctrl_table_find(const struct ctrl_table *t, const void *key);
/* Inserts or overwrites the record whose key starts @record; -ENOMEM. */
int ctrl_table_put(struct ctrl_table *t, const void *record);
/* Returns 1 when a record was removed, 0 when there was none. */
int ctrl_table_del(struct ctrl_table *t, const void *key);
/* Calls @fn on each record until it returns non-zero; returns that. */
int ctrl_table_each(const struct ctrl_table *t, int (*fn)(const void *record, void *arg),
		    void *arg);

#endif /* VELO_CTRL_TABLE_H */
