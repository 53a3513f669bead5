/* url_chunks.h: a mount's memory of URL-source bytes, a chunk at a time.
 *
 * A URL source read through a chunk store (url_options.h) fetches whole
 * chunks: IRPA_URL_CHUNK bytes of the object, aligned, sent as parallel
 * ranges (http.h). Requests are then well above the kernel's 1 MiB reads,
 * and a streaming reader's next reads are served from memory; a fetch
 * ahead (irpa_url_chunks_fetch_ahead, run by the mount's network threads
 * in the archive's order) has the next chunks ready before they are asked
 * for.
 *
 * The store has a fixed number of slots for all sources: the memory bound.
 * A chunk leaves when as many bytes as it holds have been served from it
 * (the kernel's page cache holds them then), or when a read needs its slot
 * (least recently used first; a fetch ahead takes only free slots or
 * chunks already read from). A slot's memory is kept for its next chunk
 * while reads go on, and given back by irpa_url_chunks_trim. A fetch ahead
 * skips a chunk read through lately (reads run out of order; it would
 * fetch it twice). A chunk being fetched is waited for by its
 * other readers, never fetched twice; when that fetch fails, its waiters
 * fail with it, so a read takes at most one fetch's time (the source's
 * timeout). With no slot to take, a read fetches just its own bytes.
 * Chunks are keyed by their source (an owner pointer), forgotten when it
 * closes; a source's identity checks (http.h) keep bytes of two versions
 * of an object from ever meeting. */
#ifndef IRPA_URL_CHUNKS_H
#define IRPA_URL_CHUNKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IRPA_URL_CHUNK (16u << 20) /* bytes per chunk, aligned in the object */
#define IRPA_URL_CHUNK_SLOTS 8     /* chunks held at most per mount (128 MiB) */

typedef struct irpa_url_chunks irpa_url_chunks;

/* Reads `length` bytes at `offset` of `owner`'s object into `buffer`:
 * 0, or -1 with errno set. */
typedef int (*irpa_chunk_fetch)(void *owner, void *buffer, uint64_t length, uint64_t offset);

/* A store of `slots` chunks; NULL on ENOMEM. */
irpa_url_chunks *irpa_url_chunks_new(size_t slots);

/* Frees the store; every owner must have been forgotten. NULL is fine. */
void irpa_url_chunks_free(irpa_url_chunks *chunks);

/* Copies bytes [offset, offset + length) of `owner`'s object (`size`
 * bytes long) into `buffer` through the chunks, fetching the missing ones
 * with `fetch`. 0, or -1 with errno set (by `fetch`, or by the fetch of
 * another reader this one waited for). */
int irpa_url_chunks_read(irpa_url_chunks *chunks, void *owner, uint64_t size,
                         irpa_chunk_fetch fetch, void *buffer, uint64_t length, uint64_t offset);

/* Copies bytes [offset, offset + length) into `buffer` when one held chunk
 * has them all, without waiting or fetching: whether it did. (A small
 * read, such as a tensor of a few KiB between larger ones, then costs no
 * request.) */
bool irpa_url_chunks_copy_held(irpa_url_chunks *chunks, const void *owner, void *buffer,
                               uint64_t length, uint64_t offset);

/* Counts bytes [offset, offset + length) of `owner`'s object as served
 * from its chunks (a read served them from elsewhere: the on-disk cache
 * holds a chunk's bytes once it is fetched through it), so the chunks
 * that hold them leave once read through. */
void irpa_url_chunks_served(irpa_url_chunks *chunks, const void *owner, uint64_t size,
                            uint64_t offset, uint64_t length);

/* Whether every chunk of bytes [offset, offset + length) is held, being
 * fetched, or was read through in the last 2 s (nothing to fetch ahead
 * there). */
bool irpa_url_chunks_covered(irpa_url_chunks *chunks, const void *owner, uint64_t size,
                             uint64_t offset, uint64_t length);

/* Fetches the chunks of bytes [offset, offset + length) that are neither
 * held nor being fetched, one after another, while free slots last. 0, or
 * -1 with errno set by the fetch that failed. */
int irpa_url_chunks_fetch_ahead(irpa_url_chunks *chunks, void *owner, uint64_t size,
                                irpa_chunk_fetch fetch, uint64_t offset, uint64_t length);

/* Bytes [offset, offset + length) of `owner`'s object in place, in the
 * chunk that holds them (fetched first if need be), which stays until
 * irpa_url_chunks_unpin(*pin): the mount replies straight from there. 0
 * with *bytes and *pin set; 1 when the bytes span two chunks or no slot
 * can be taken (read them with irpa_url_chunks_read); -1 with errno set
 * when the fetch failed. */
int irpa_url_chunks_pin(irpa_url_chunks *chunks, void *owner, uint64_t size, irpa_chunk_fetch fetch,
                        uint64_t length, uint64_t offset, const uint8_t **bytes, void **pin);

/* irpa_url_chunks_pin when a ready chunk holds the bytes already: never
 * waits or fetches. Whether it pinned them. */
bool irpa_url_chunks_pin_held(irpa_url_chunks *chunks, const void *owner, uint64_t length,
                              uint64_t offset, const uint8_t **bytes, void **pin);

void irpa_url_chunks_unpin(irpa_url_chunks *chunks, void *pin);

/* Gives back the memory of slots empty for a second, and empties chunks
 * nobody read from for five: a store no read uses any more holds no
 * memory after calls a second apart for six seconds. Whether memory is
 * still held (call again later). */
bool irpa_url_chunks_trim(irpa_url_chunks *chunks);

/* Drops `owner`'s chunks (its source closes; no read of it runs; waits
 * for fetches and pins of them to end). */
void irpa_url_chunks_forget(irpa_url_chunks *chunks, const void *owner);

#endif
