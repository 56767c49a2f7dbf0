/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixed-size byte rings for socket buffers. Writes may land at any offset
 * from the head (out-of-order data goes straight to its final place), reads
 * and spans never copy more than asked.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/*
 * What a ring keeps resident after its connection ends: request/response
 * connections come and go without a system call, while the memory a bulk
 * transfer touched (up to tcp_rmem[2]/tcp_wmem[2]) goes back to the system,
 * as the kernel frees a closed socket's buffers.
 */
#define RING_KEEP (256u << 10)

void ring_init(struct ring *r, uint8_t *mem, uint32_t cap)
{
	r->buf = mem;
	r->cap = cap;
	r->head = 0;
	r->len = 0;
	r->hiwat = 0;
}

void ring_spans(const struct ring *r, uint32_t off, uint32_t n,
		const uint8_t **p1, uint32_t *l1, const uint8_t **p2, uint32_t *l2)
{
	uint32_t start = (r->head + off) % r->cap;
	uint32_t first = MIN(n, r->cap - start);

	*p1 = r->buf + start;
	*l1 = first;
	*p2 = r->buf;
	*l2 = n - first;
}

/* Copies n bytes at off (clamped to capacity); grows len to cover them. */
uint32_t ring_write_at(struct ring *r, uint32_t off, const void *src, uint32_t n)
{
	const uint8_t *p1, *p2;
	uint32_t l1, l2, end;

	if (off >= r->cap)
		return 0;
	n = MIN(n, r->cap - off);
	ring_spans(r, off, n, &p1, &l1, &p2, &l2);
	memcpy((uint8_t *)p1, src, l1);
	memcpy((uint8_t *)p2, (const uint8_t *)src + l1, l2);
	end = l2 ? r->cap : (uint32_t)(p1 - r->buf) + l1;
	if (end > r->hiwat)
		r->hiwat = end;
	return n;
}

void ring_read_at(const struct ring *r, uint32_t off, void *dst, uint32_t n)
{
	const uint8_t *p1, *p2;
	uint32_t l1, l2;

	ring_spans(r, off, n, &p1, &l1, &p2, &l2);
	memcpy(dst, p1, l1);
	memcpy((uint8_t *)dst + l1, p2, l2);
}

void ring_pop(struct ring *r, uint32_t n)
{
	n = MIN(n, r->len);
	r->head = (r->head + n) % r->cap;
	r->len -= n;
}

/* The pages past RING_KEEP that the ring wrote go back to the system. */
void ring_release(struct ring *r)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = ((uintptr_t)r->buf + RING_KEEP + page - 1) & ~(page - 1);
	uintptr_t to = ((uintptr_t)r->buf + r->hiwat) & ~(page - 1);

	if (r->hiwat > RING_KEEP && to > from)
		madvise((void *)from, to - from, MADV_DONTNEED);
	r->hiwat = MIN(r->hiwat, RING_KEEP);
}
